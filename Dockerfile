# ospab-vps-sync container image.
#   docker build -t ospab-vps-sync .
#   docker run -d --name vps-sync \
#     -v /etc/ospab-vps-sync/config.yaml:/etc/ospab-vps-sync/config.yaml:ro \
#     -v vps-sync-state:/var/lib/ospab-vps-sync \
#     -e VPS_SYNC_API_KEY_FILE=/run/secrets/vps_sync_api_key ... \
#     -p 127.0.0.1:9477:9477 ospab-vps-sync
# Inside a container set `http.listen: 0.0.0.0:9477` in config.yaml: the default (127.0.0.1)
# is the container's own loopback, unreachable through -p. See docs/operations.md#docker.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compiles TypeScript and better-sqlite3's native addon -------------------------
FROM ${NODE_IMAGE} AS build
# node-gyp needs these when no prebuilt better-sqlite3 binary matches (or downloads are blocked).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Dependencies first, so source edits do not re-run the native build.
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` (tsc) cannot run before src/ is copied;
# better-sqlite3's install script is then run explicitly.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production dependencies and dist/ only ----------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM/SIGHUP to Node and reaps zombies (same as `docker run --init`).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 vpssync \
 && useradd --system --uid 10001 --gid vpssync --home-dir /var/lib/ospab-vps-sync --shell /usr/sbin/nologin vpssync \
 && mkdir -p /var/lib/ospab-vps-sync /etc/ospab-vps-sync \
 && chown vpssync:vpssync /var/lib/ospab-vps-sync \
 && chmod 0700 /var/lib/ospab-vps-sync
WORKDIR /opt/ospab-vps-sync
# MALLOC_MMAP_THRESHOLD_: keeps large freed blocks from staying resident (DAEMON_ENV in src/util/heap.ts).
ENV NODE_ENV=production \
    MALLOC_MMAP_THRESHOLD_=131072 \
    VPS_SYNC_HEALTHCHECK_URL=http://127.0.0.1:9477/healthz
# Root owns the code; the service user can only write its state volume.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER vpssync:vpssync
VOLUME ["/var/lib/ospab-vps-sync"]
EXPOSE 9477
# No curl in the slim image: Node's own fetch asks /healthz (set VPS_SYNC_HEALTHCHECK_URL if
# http.listen uses another port).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.VPS_SYNC_HEALTHCHECK_URL,{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# The config is read from /etc/ospab-vps-sync/config.yaml (mount it read-only).
CMD ["node", "--max-semi-space-size=8", "dist/cli.js", "run"]
