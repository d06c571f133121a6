# Warmgate: the gateway, with node-llama-cpp (the `embedded` backend) and a llama-server
# built from the llama.cpp source node-llama-cpp ships.
#
#   docker build -t warmgate .                                  # CPU + CUDA 13 runtime, llama-server (portable)
#   docker build -t warmgate --build-arg CUDA=none .            # CPU only: the smallest image
#   docker build -t warmgate --build-arg LLAMA_SERVER=none .    # skip the llama-server build (~4 min on 2 cores)
#
# Build args:
#   LLAMA_SERVER  portable (default) | native | none
#                 Built with the project's own `npm run setup:llama-server -- --flavour X`, which
#                 checks the binary for real (a completion and an embedding) before it is kept.
#                 `portable` has no -march=native and never AMX, but it enables the AVX/AVX2/
#                 AVX-512 options THE BUILD MACHINE has: build on the oldest CPU family the image
#                 will run on (README, "Run as a sidecar"). The `embedded` backend has no such
#                 limit: node-llama-cpp's prebuilt binaries pick their CPU kernels at run time.
#   CUDA          13 (default) | 12 | none
#                 node-llama-cpp's prebuilt CUDA binaries plus the CUDA runtime they link (cudart,
#                 cuBLAS, from NVIDIA's Debian 12 repository). 13: `@node-llama-cpp/linux-x64-cuda`
#                 (built against CUDA 13). 12: also `@node-llama-cpp/linux-x64-cuda-ext`, which
#                 node-llama-cpp falls back to when only a CUDA 12 runtime loads. none: no CUDA at
#                 all; node-llama-cpp uses `@node-llama-cpp/linux-x64` (CPU). Run with `--gpus all`
#                 (or a compose GPU reservation) for the GPU: the NVIDIA container toolkit adds
#                 the driver (libcuda); without a GPU the same image runs on the CPU.
#   NODE_IMAGE    the base image (default node:20-bookworm-slim)
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- production node_modules, pruned to this platform's node-llama-cpp binaries ----------
FROM ${NODE_IMAGE} AS deps
ARG CUDA=13
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm install --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && arch="$(node -p process.arch)" \
 && cd node_modules/@node-llama-cpp \
 && for d in *; do \
      case "$d:$CUDA" in \
        "linux-$arch:"*) ;; \
        "linux-$arch-cuda:12"|"linux-$arch-cuda:13"|"linux-$arch-cuda-ext:12") ;; \
        *) rm -rf "$d" ;; \
      esac; \
    done \
 && ls /app/node_modules/@node-llama-cpp

# ---- llama-server, built and checked by `warmgate setup-llama-server` (skippable) ----------
FROM deps AS llama-server
ARG LLAMA_SERVER=portable
ENV WARMGATE_CACHE_DIR=/tmp/warmgate-cache
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
RUN set -e; mkdir -p /out/usr/local/bin /out/usr/local/share/warmgate; \
    if [ "$LLAMA_SERVER" != none ]; then \
      apt-get update; \
      apt-get install -y --no-install-recommends cmake make g++ git; \
      npm run setup:llama-server -- --flavour "$LLAMA_SERVER"; \
      slot="$(dirname "$(find "$WARMGATE_CACHE_DIR/llama-server" -path "*/$LLAMA_SERVER-*/llama-server" -type f | head -n1)")"; \
      cp "$slot/llama-server" /out/usr/local/bin/llama-server; \
      cp "$slot/build.json" /out/usr/local/share/warmgate/llama-server.build.json; \
    fi

# ---- the image ------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS warmgate
ARG CUDA=13
COPY --from=llama-server /out/ /
RUN set -e; apt-get update; \
    extra=""; if [ -x /usr/local/bin/llama-server ]; then extra="libgomp1"; fi; \
    apt-get install -y --no-install-recommends tini $extra; \
    if [ -x /usr/local/bin/llama-server ] && ldd /usr/local/bin/llama-server | grep 'not found'; then \
      echo "llama-server needs libraries this image lacks (above)" >&2; exit 1; \
    fi; \
    if [ "$CUDA" != none ]; then \
      apt-get install -y --no-install-recommends ca-certificates; \
      node -e "fetch('https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb').then(async (r) => { if (!r.ok) throw new Error('HTTP ' + r.status); require('fs').writeFileSync('/tmp/cuda-keyring.deb', Buffer.from(await r.arrayBuffer())); })"; \
      dpkg -i /tmp/cuda-keyring.deb; rm /tmp/cuda-keyring.deb; apt-get update; \
      if [ "$CUDA" = 12 ]; then v=12-8; else v=13-0; fi; \
      apt-get install -y --no-install-recommends "cuda-cudart-$v" "libcublas-$v"; \
      dirname "$(find /usr/local -name 'libcublas.so.*' | head -n1)" > /etc/ld.so.conf.d/warmgate-cuda.conf; \
      ldconfig; \
    fi; \
    rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY config/docker.yaml /etc/warmgate/docker.yaml
RUN mkdir -p /data /models && chown node:node /data /models
# The driver comes from the NVIDIA container toolkit when a GPU is requested (--gpus, deploy.resources).
ENV NODE_ENV=production \
    WARMGATE_HOST=0.0.0.0 \
    WARMGATE_PORT=11435 \
    WARMGATE_CONFIG=/etc/warmgate/docker.yaml \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER node
VOLUME ["/data", "/models"]
EXPOSE 11435
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.WARMGATE_PORT || 11435) + '/warmgate/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# tini is PID 1: it forwards SIGTERM to Warmgate (Node as PID 1 would ignore it), which stops
# its worker processes and exits; tini also reaps any orphan.
ENTRYPOINT ["tini", "--", "node", "/app/bin/warmgate.js"]
CMD ["serve"]
