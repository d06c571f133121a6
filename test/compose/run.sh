#!/usr/bin/env bash
# `npm run test:compose`: the Dockerfile and docker-compose.yml, tested for real on a private
# Docker daemon. What it does, in order:
#   1. installs Debian's docker.io and docker-compose when missing (apt-get), and validates
#      the compose files with `docker-compose config` (every profile, the GPU and test overrides);
#   2. starts a private dockerd: data root, exec root, socket and pid file under one temp dir,
#      no iptables rules (--iptables=false: published ports go through docker-proxy on
#      127.0.0.1), no default bridge, its own address pool;
#   3. makes the stand-in `node:20-bookworm-slim` from this machine's files (make-base-image.sh),
#      builds the scripted Ollama image from it, and builds the real Dockerfile (host network:
#      npm and apt reach their registries; llama-server skipped unless
#      WARMGATE_COMPOSE_LLAMA_SERVER=portable|native: it adds over 10 min on 2 cores);
#   4. brings up docker-compose.yml + test/compose/docker-compose.test.yml (ollama = the fake),
#      waits for Warmgate's healthcheck, drives the client mix through the published port
#      (drive-clients.ts), checks each model loaded exactly once in the fake, then times
#      `docker-compose down` (Warmgate's exit code and stop time from the daemon's events);
#   5. the `embedded` profile alone: a chat that starts a node-llama-cpp worker inside the
#      container, then `down` again: Warmgate must stop its worker and exit 0 in < 5 s;
#   6. always: removes both stacks and their volumes, stops the daemon, deletes leftover
#      bridges, mounts and the temp dir.
# Where no daemon can start (not root, no apt, dockerd fails), it prints why, still runs
# step 1 when docker-compose exists, and exits 0: a skip with a stated reason.
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[compose-test %6ss] %s\n' "$(elapsed)" "$*"; }
FIGURES=()
figure() { FIGURES+=("$1"); say "FIGURE $1"; }
fail() { say "FAIL: $*"; exit 1; }
skip() { say "SKIP: $*"; print_figures; exit 0; }
print_figures() {
  echo "---- compose test figures ----"
  for f in "${FIGURES[@]}"; do echo "  $f"; done
  echo "  total: $(elapsed) s"
}

DOCKER_BIN=/usr/bin/docker   # Debian's client; a newer one elsewhere on PATH may want buildx
COMPOSE_BIN=$(command -v docker-compose || true)
FAKE_IMAGE=warmgate-test/fake-ollama:latest
WG_IMAGE=warmgate:compose-test
LLAMA_SERVER=${WARMGATE_COMPOSE_LLAMA_SERVER:-none}

# ---- 1. tools and static validation ----------------------------------------------------------
install_tools() {
  if [ -x /usr/sbin/dockerd ] && [ -x "$DOCKER_BIN" ] && [ -n "$COMPOSE_BIN" ]; then return 0; fi
  if [ "$(id -u)" != 0 ]; then SKIP_REASON="docker.io/docker-compose are not installed and this user is not root (cannot apt-get install)"; return 1; fi
  say "installing docker.io and docker-compose with apt-get"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io docker-compose; } > /tmp/warmgate-compose-apt.log 2>&1; then
    SKIP_REASON="apt-get could not install docker.io docker-compose: $(tail -n 2 /tmp/warmgate-compose-apt.log | tr '\n' ' ')"
    COMPOSE_BIN=$(command -v docker-compose || true)
    return 1
  fi
  COMPOSE_BIN=$(command -v docker-compose)
}

validate() {
  [ -n "$COMPOSE_BIN" ] || { say "no docker-compose: the compose files cannot be validated"; return 1; }
  local env=(WARMGATE_TEST_MODELS_DIR=/tmp) ok=0
  for args in "-f docker-compose.yml" \
              "-f docker-compose.yml --profile anythingllm --profile openwebui --profile embedded" \
              "-f docker-compose.yml -f docker-compose.gpu.yml --profile embedded" \
              "-f docker-compose.yml -f test/compose/docker-compose.test.yml --profile embedded"; do
    # shellcheck disable=SC2086
    if out=$(env "${env[@]}" "$COMPOSE_BIN" $args config 2>&1 >/dev/null); then
      say "docker-compose $args config: valid"
    else
      say "docker-compose $args config: INVALID: $out"; ok=1
    fi
  done
  # shellcheck disable=SC2086
  services=$(env "${env[@]}" "$COMPOSE_BIN" -f docker-compose.yml --profile anythingllm --profile openwebui --profile embedded config --services 2>/dev/null | sort | tr '\n' ' ')
  say "services: $services"
  return $ok
}

SKIP_REASON=""
install_tools || true
if ! validate; then
  [ -n "$COMPOSE_BIN" ] && fail "the compose files do not validate"
fi
[ -n "$SKIP_REASON" ] && skip "$SKIP_REASON"
[ "$(id -u)" = 0 ] || skip "a private dockerd needs root (this is uid $(id -u)); the compose files were validated only"

# ---- 2. the private daemon -----------------------------------------------------------------
WORK=$(mktemp -d /tmp/warmgate-compose.XXXXXX)
SOCK="$WORK/docker.sock"
DOCKER=("$DOCKER_BIN" -H "unix://$SOCK")
export DOCKER_HOST="unix://$SOCK"
PROJECTS=(wgtest wgtest-embedded)
DOCKERD_PID=""

compose() { local project=$1; shift; env WARMGATE_IMAGE="$WG_IMAGE" WARMGATE_TEST_FAKE_IMAGE="$FAKE_IMAGE" \
  WARMGATE_TEST_MODELS_DIR="$WORK/models" WARMGATE_PORT="$PORT" WARMGATE_EMBEDDED_PORT="$PORT" \
  "$COMPOSE_BIN" -p "$project" -f docker-compose.yml -f test/compose/docker-compose.test.yml "$@"; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    say "cleanup: stacks, volumes, networks"
    for p in "${PROJECTS[@]}"; do compose "$p" --profile embedded down -v -t 5 >/dev/null 2>&1 || true; done
    bridges=$("${DOCKER[@]}" network ls -q --filter driver=bridge 2>/dev/null | sed 's/^/br-/' | cut -c1-15)
    "${DOCKER[@]}" network prune -f >/dev/null 2>&1 || true
    say "cleanup: stopping dockerd (pid $DOCKERD_PID)"
    kill "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$DOCKERD_PID" 2>/dev/null && kill -9 "$DOCKERD_PID" 2>/dev/null
    for b in $bridges; do ip link show "$b" >/dev/null 2>&1 && ip link delete "$b" 2>/dev/null; done
    say "cleanup: dockerd stopped"
  fi
  if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
    # Anything the daemon left mounted under the temp dir (overlays, netns), deepest first.
    awk -v w="$WORK" '$2 ~ "^" w { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$WORK" 2>/dev/null || say "cleanup: could not remove all of $WORK"
    say "cleanup: removed $WORK"
  fi
  leftover=$(pgrep -f -- "--exec-root $WORK/exec" 2>/dev/null || true)
  [ -n "$leftover" ] && say "cleanup: WARNING processes left: $leftover"
  say "cleanup: done (no iptables rules were created: the daemon ran with --iptables=false)"
  print_figures
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK/data" "$WORK/exec" "$WORK/models" "$WORK/fake"
chmod 755 "$WORK" "$WORK/models"
# A /24 out of 10.213-10.244 picked per run, so two runs on one machine do not collide.
POOL="10.$((213 + RANDOM % 32)).$((RANDOM % 256)).0/24"
say "starting dockerd: $WORK (pool $POOL)"
/usr/sbin/dockerd --data-root "$WORK/data" --exec-root "$WORK/exec" -H "unix://$SOCK" --pidfile "$WORK/dockerd.pid" \
  --iptables=false --ip6tables=false --ip-masq=false --bridge=none --userland-proxy=true \
  --default-address-pool "base=$POOL,size=28" > "$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 1 60); do
  "${DOCKER[@]}" version >/dev/null 2>&1 && break
  kill -0 "$DOCKERD_PID" 2>/dev/null || break
  sleep 0.5
done
if ! "${DOCKER[@]}" version >/dev/null 2>&1; then
  reason=$(grep -iE 'level=(error|fatal)|failed' "$WORK/dockerd.log" | tail -n 3 | tr '\n' ' ')
  DOCKERD_PID=""
  skip "no Docker daemon could be started here: ${reason:-no error logged}. The compose files were validated with docker-compose config"
fi
say "dockerd $("${DOCKER[@]}" version -f '{{.Server.Version}}') up, storage $("${DOCKER[@]}" info -f '{{.Driver}}')"

# ---- 3. images -----------------------------------------------------------------------------
t=$(date +%s.%N)
DOCKER="${DOCKER[*]}" bash test/compose/make-base-image.sh "$WORK/base" node:20-bookworm-slim || fail "could not make the stand-in base image"
figure "stand-in base image: $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

node_modules/.bin/esbuild test/compose/fake-ollama-main.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile="$WORK/fake/fake-ollama.mjs" --log-level=warning || fail "could not bundle the scripted Ollama"
DOCKER_BUILDKIT=0 "${DOCKER[@]}" build -q -t "$FAKE_IMAGE" -f test/compose/fake-ollama.Dockerfile "$WORK/fake" >/dev/null || fail "could not build the scripted Ollama image"

say "building the Warmgate image (CUDA=none, LLAMA_SERVER=$LLAMA_SERVER; log: $WORK/build.log)"
t=$(date +%s.%N)
if ! DOCKER_BUILDKIT=0 "${DOCKER[@]}" build --network host --build-arg CUDA=none --build-arg "LLAMA_SERVER=$LLAMA_SERVER" \
     -t "$WG_IMAGE" . > "$WORK/build.log" 2>&1; then
  tail -n 30 "$WORK/build.log"
  fail "docker build failed"
fi
build_s=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
size=$("${DOCKER[@]}" image inspect -f '{{.Size}}' "$WG_IMAGE")
figure "image $WG_IMAGE (CUDA=none, LLAMA_SERVER=$LLAMA_SERVER): $((size / 1000000)) MB ($(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1073741824 }') GiB), built in $build_s s"
"${DOCKER[@]}" run --rm --entrypoint sh "$WG_IMAGE" -c 'id -un; ls /app/node_modules/@node-llama-cpp' | tr '\n' ' ' | sed 's/^/[image] user, node-llama-cpp binaries: /'; echo

PORT=$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")

# Waits for a container's healthcheck; prints the seconds it took.
wait_healthy() {
  local id=$1 limit=$2 s
  s=$(date +%s.%N)
  for _ in $(seq 1 $((limit * 4))); do
    state=$("${DOCKER[@]}" inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id" 2>/dev/null)
    [ "$state" = healthy ] && { awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; return 0; }
    [ "$state" = unhealthy ] && break
    sleep 0.25
  done
  "${DOCKER[@]}" logs --tail 30 "$id" 2>&1
  return 1
}

# Runs `docker-compose down` for a project (its duration goes to $WORK/down-s) and reports, from the daemon's own events, how long
# after the down began each container died and with which exit code.
timed_down() {
  local project=$1 since
  since=$(date +%s.%N)
  compose "$project" --profile embedded down -v -t 10 > "$WORK/down-$project.log" 2>&1 || { cat "$WORK/down-$project.log"; return 1; }
  awk -v a="$since" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }' > "$WORK/down-s"
  "${DOCKER[@]}" events --since "$since" --until "$(date +%s.%N)" --filter event=die \
    --format '{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}} {{.TimeNano}}' \
    | awk -v s="$since" '{ printf "%s exit=%s after=%.2fs\n", $1, $2, $3 / 1e9 - s }'
}

# Brings a stack down (`timed_down`) and checks its Warmgate container: the first die event
# matching `pattern` must say exit 0 (it stopped itself on SIGTERM) within 5 s.
# Args: project, label (the figure's), container name, pattern, figure remark, why exit != 0 fails.
down_and_check() {
  local project=$1 label=$2 name=$3 pattern=$4 remark=$5 why=$6 deaths line code after
  deaths=$(timed_down "$project") || fail "docker-compose down ($label) failed"
  echo "$deaths" | sed 's/^/  died: /'
  line=$(echo "$deaths" | grep -E "$pattern" | head -n1)
  figure "$label: docker-compose down took $(cat "$WORK/down-s") s; $name: ${line:-no die event}$remark"
  code=$(echo "$line" | sed -n 's/.*exit=\([0-9]*\).*/\1/p'); after=$(echo "$line" | sed -n 's/.*after=\([0-9.]*\)s.*/\1/p')
  [ "$code" = 0 ] || fail "$name exited with ${code:-?}$why"
  awk -v s="$after" 'BEGIN { exit !(s < 5) }' || fail "$name took ${after}s to stop (limit 5 s)"
}

# ---- 4. the Ollama stack ---------------------------------------------------------------------
say "compose up: ollama (scripted) + warmgate on 127.0.0.1:$PORT"
compose wgtest up -d --no-build > "$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "docker-compose up failed"; }
WG=$(compose wgtest ps -q warmgate)
healthy_s=$(wait_healthy "$WG" 90) || fail "warmgate never turned healthy"
figure "warmgate healthy $healthy_s s after up returned (state: $("${DOCKER[@]}" inspect -f '{{.State.Health.Status}}' "$WG"))"
published=$("${DOCKER[@]}" port "$WG" 11435)
[ "$published" = "127.0.0.1:$PORT" ] || fail "warmgate is published on '$published', expected 127.0.0.1:$PORT only"
[ -z "$("${DOCKER[@]}" port "$(compose wgtest ps -q ollama)")" ] || fail "ollama must not publish a port"
say "published: warmgate on $published only"

mix=$(node_modules/.bin/tsx test/compose/drive-clients.ts "http://127.0.0.1:$PORT" 3) || { echo "$mix"; compose wgtest logs --tail 40 warmgate; fail "the client mix failed"; }
say "client mix through the published port: $mix"
loads=$(compose wgtest exec -T ollama node -e "fetch('http://127.0.0.1:11434/__fake/loads').then((r) => r.json()).then((b) => console.log(JSON.stringify(b.per_model)))")
figure "loads per model in the scripted Ollama: $loads"
node -e "const l = JSON.parse(process.argv[1]); const ok = ['llama3.2:latest', 'nomic-embed-text:latest'].every((m) => l[m] === 1); process.exit(ok ? 0 : 1)" "$loads" \
  || fail "every model must load exactly once, got $loads"
timings=$(node -e "fetch('http://127.0.0.1:$PORT/warmgate/requests?limit=500').then((r) => r.json()).then(({ requests }) => {
  const by = {}; for (const r of requests) { const k = r.route; by[k] ??= { n: 0, total_ms: 0 }; by[k].n++; by[k].total_ms += r.total_ms ?? 0; }
  for (const k of Object.keys(by)) by[k].total_ms = Math.round(by[k].total_ms * 100) / 100;
  console.log(JSON.stringify(by)); })")
figure "/warmgate/requests (records and summed total_ms per route): $timings"

say "docker-compose down (Ollama stack)"
down_and_check wgtest 'Ollama stack' warmgate '(^|_)warmgate(_|-)1 ' '' ' (0 = it shut down on SIGTERM itself)'

# ---- 5. the embedded profile: Warmgate alone, with a worker to stop --------------------------
say "compose up: --profile embedded warmgate-embedded (Warmgate alone, its own engine)"
compose wgtest-embedded --profile embedded up -d --no-build warmgate-embedded > "$WORK/up-embedded.log" 2>&1 \
  || { cat "$WORK/up-embedded.log"; fail "docker-compose up (embedded) failed"; }
[ -z "$(compose wgtest-embedded ps -q ollama 2>/dev/null)" ] || fail "the embedded profile must run Warmgate alone"
WGE=$(compose wgtest-embedded ps -q warmgate-embedded)
healthy_e=$(wait_healthy "$WGE" 120) || fail "warmgate-embedded never turned healthy"
figure "warmgate-embedded healthy $healthy_e s after up returned"
chat=$(node -e "fetch('http://127.0.0.1:$PORT/api/chat', { method: 'POST', body: JSON.stringify({ model: 'warmgate-chat', stream: false, messages: [{ role: 'user', content: 'hi' }], options: { num_predict: 8 } }) })
  .then(async (r) => { const b = await r.json(); console.log(r.status, b.eval_count ?? '', b.error ?? '', b.load_duration ?? ''); process.exit(r.ok ? 0 : 1); })") \
  || { compose wgtest-embedded logs --tail 40 warmgate-embedded; fail "chat on the embedded engine failed: $chat"; }
procs=$("${DOCKER[@]}" top "$WGE" -eo pid,args | tail -n +2)
workers=$(echo "$procs" | grep -c 'worker' || true)
echo "$procs" | sed 's/^/  [container] /' | cut -c1-160
figure "embedded chat: status/eval_count/error/load_ns = $chat; worker processes in the container: $workers"
[ "$workers" -ge 1 ] || fail "no worker process found in the container"
say "docker-compose down (embedded)"
down_and_check wgtest-embedded embedded warmgate-embedded 'warmgate-embedded' ' (its worker stopped by Warmgate)' ': it did not shut its worker down on SIGTERM'
[ -z "$("${DOCKER[@]}" ps -aq)" ] || fail "containers left after down: $("${DOCKER[@]}" ps -a)"

say "PASS"
