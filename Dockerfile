# Two stages: the build stage has the dev dependencies (typescript) and compiles src/ to dist/;
# the runtime stage has production dependencies only, the compiled code and the SQL migrations.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until package*.json change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# HOST: inside a container the server must listen on all interfaces, not loopback.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/app/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force
COPY --from=build /app/dist ./dist
# Applied by the app at start (under an advisory lock, so several replicas can start together).
COPY drizzle ./drizzle
# Embedded PGlite lives here when DATABASE_URL is unset; mount a volume on it to keep the data.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
# Slim images have no curl; Node 20 has fetch. The timeout keeps a hung server from hanging the probe.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The app drains live calls on SIGTERM (SHUTDOWN_DRAIN_MS, 30 s by default): give the container
# a stop timeout longer than that (docker run --stop-timeout, compose stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
