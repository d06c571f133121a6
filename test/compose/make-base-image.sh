#!/usr/bin/env bash
# Makes a stand-in for the official `node:20-bookworm-slim` image from THIS machine's own
# files (no registry is reachable here), and `docker import`s it under that name, so the real
# Dockerfile builds unchanged. What goes in, like debian:bookworm-slim plus Node:
#   - every installed Debian package of Priority "required", plus apt and libstdc++6, and
#     (what Node links: libc6, libgcc-s1, libstdc++6) and their Depends/Pre-Depends closure (`apt-cache depends --installed`): their files
#     (`dpkg -L`, docs/man/locales left out), their dpkg status stanzas and info files, so
#     `apt-get install` inside a build sees a consistent system;
#   - the alternatives among them (awk -> mawk ...), /etc/passwd|group|shadow from
#     base-passwd's masters plus `_apt` and the image's `node` user (uid 1000), an ld.so cache;
#   - /etc/apt as configured here (the reachable mirror);
#   - Node 20 from here at /usr/local/bin/node (+ npm, npx, corepack), as in the node image;
#   - the host's CA bundle at /etc/ssl/certs/ca-certificates.crt and NODE_EXTRA_CA_CERTS
#     pointing at it: npm inside a build reaches the registry only through this machine's
#     TLS-inspecting proxy (without it: SELF_SIGNED_CERT_IN_CHAIN). The real image needs none.
# Requires: debian bookworm host (dpkg, apt-cache), Node 20 at /usr/bin/node, root, $DOCKER.
# Usage: make-base-image.sh WORKDIR [TAG]   (DOCKER: the docker command, with -H)
set -euo pipefail
WORK=${1:?work dir}
TAG=${2:-node:20-bookworm-slim}
DOCKER=${DOCKER:-docker}
ROOT="$WORK/rootfs"
rm -rf "$ROOT" && mkdir -p "$ROOT"

node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" = 20 ] || { echo "make-base-image: host Node is $(node -v), need 20" >&2; exit 1; }
grep -q 'VERSION_CODENAME=bookworm' /etc/os-release || { echo 'make-base-image: host is not Debian bookworm' >&2; exit 1; }

# 1. The package set.
required=$(dpkg-query -W -f='${Package} ${Priority} ${db:Status-Abbrev}\n' | awk '$2 == "required" && $3 == "ii" { print $1 }')
# shellcheck disable=SC2086
apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $required apt libc6 libgcc-s1 libstdc++6 2>/dev/null | grep -v '^[ <]' | sort -u > "$WORK/packages"
# Only packages really installed here (a virtual name or an alternative not chosen drops out).
{ dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $(cat "$WORK/packages") 2>/dev/null || true; } | awk '$2 == "ii" { print $1 }' | sort -u > "$WORK/packages.ok"
mv "$WORK/packages.ok" "$WORK/packages"

# 2. Their files, with merged-/usr paths (/bin -> usr/bin ...) written as the real paths.
merged=()
for d in bin sbin lib lib32 lib64 libx32; do [ -L "/$d" ] && merged+=("$d"); done
xargs dpkg -L < "$WORK/packages" 2>/dev/null | grep '^/' \
  | grep -Ev '^/usr/share/(doc|man|info|locale|lintian)/' \
  | awk -v m="${merged[*]}" 'BEGIN { n = split(m, a, " ") }
      { for (i = 1; i <= n; i++) { if ($0 == "/" a[i]) next; sub("^/" a[i] "/", "/usr/" a[i] "/") } print }' \
  | sort -u | while IFS= read -r f; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\n' "${f#/}"; fi; done > "$WORK/files"
tar -C / --no-recursion -cf - -T "$WORK/files" | tar -C "$ROOT" -xpf -
for d in "${merged[@]}"; do ln -sfn "usr/$d" "$ROOT/$d"; done

# 3. dpkg's view of exactly these packages, and apt's config (the mirror reachable from here).
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/var/lib/dpkg/alternatives" \
  "$ROOT/var/lib/apt/lists/partial" "$ROOT/var/cache/apt/archives/partial" "$ROOT/var/log/apt"
# `dpkg-query -s` prints each package's stanza exactly as the status file has it.
xargs dpkg-query -s < "$WORK/packages" > "$ROOT/var/lib/dpkg/status"
while read -r p; do
  cp -a /var/lib/dpkg/info/"$p".* /var/lib/dpkg/info/"$p":*.* "$ROOT/var/lib/dpkg/info/" 2>/dev/null || true
done < "$WORK/packages"
touch "$ROOT/var/lib/dpkg/available" "$ROOT/var/lib/dpkg/diversions" "$ROOT/var/lib/dpkg/statoverride"
mkdir -p "$ROOT/etc/apt"
cp -a /etc/apt/. "$ROOT/etc/apt/"
find "$ROOT/etc/apt" -name '*disabled*' -delete

# 4. Alternatives whose chosen target is in the image (awk -> mawk, pager, which ...).
mkdir -p "$ROOT/etc/alternatives"
for a in /var/lib/dpkg/alternatives/*; do
  name=$(basename "$a"); link=$(sed -n 2p "$a")
  target=$(readlink "/etc/alternatives/$name" 2>/dev/null) || continue
  [ -e "$ROOT$target" ] || continue
  cp -a "$a" "$ROOT/var/lib/dpkg/alternatives/"
  ln -sfn "$target" "$ROOT/etc/alternatives/$name"
  real_link=$link
  for d in "${merged[@]}"; do real_link=${real_link/#\/$d\//\/usr\/$d\/}; done
  mkdir -p "$ROOT$(dirname "$real_link")" && ln -sfn "/etc/alternatives/$name" "$ROOT$real_link"
done

# 5. Users, groups, the usual empty directories.
{ cat /usr/share/base-passwd/passwd.master; echo '_apt:x:42:65534::/nonexistent:/usr/sbin/nologin'; echo 'node:x:1000:1000::/home/node:/bin/bash'; } > "$ROOT/etc/passwd"
{ cat /usr/share/base-passwd/group.master; echo 'node:x:1000:'; } > "$ROOT/etc/group"
cut -d: -f1 "$ROOT/etc/passwd" | sed 's/$/:*:19000:0:99999:7:::/' > "$ROOT/etc/shadow"
cut -d: -f1 "$ROOT/etc/group" | sed 's/$/:*::/' > "$ROOT/etc/gshadow"
chmod 640 "$ROOT/etc/shadow" "$ROOT/etc/gshadow"
mkdir -p "$ROOT"/{proc,sys,dev,run,tmp,var/tmp,root,home/node,etc/ssl/certs}
chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"; chmod 700 "$ROOT/root"; chown 1000:1000 "$ROOT/home/node"
echo 'stand-in' > "$ROOT/etc/hostname"
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"

# 6. Node, where the official image has it.
mkdir -p "$ROOT/usr/local/bin" "$ROOT/usr/local/lib/node_modules"
cp "$(readlink -f /usr/bin/node)" "$ROOT/usr/local/bin/node"
for m in npm corepack; do
  [ -d "/usr/lib/node_modules/$m" ] && cp -a "/usr/lib/node_modules/$m" "$ROOT/usr/local/lib/node_modules/"
done
ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"
ln -sfn ../lib/node_modules/corepack/dist/corepack.js "$ROOT/usr/local/bin/corepack"
ldconfig -r "$ROOT" 2>/dev/null || true

# 7. Import.
node_version=$(node -p 'process.versions.node')
tar -C "$ROOT" --numeric-owner -cf - . | $DOCKER import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c "ENV NODE_VERSION=$node_version" \
  -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  -c 'CMD ["node"]' \
  -m "stand-in for node:20-bookworm-slim, made from this machine's files by test/compose/make-base-image.sh" \
  - "$TAG" > /dev/null
echo "base image $TAG: $(wc -l < "$WORK/packages") Debian packages + Node $node_version, $(du -sh "$ROOT" | cut -f1) on disk"
rm -rf "$ROOT"
