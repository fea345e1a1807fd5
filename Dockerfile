# syntax=docker/dockerfile:1
# The Ingestion Service image: Node 22, production dependencies only, a non-root user, node as
# PID 1 (signals reach it: SIGTERM drains, see docs/deploy.md). The TypeScript sources run with
# Node's own type stripping, as `npm start` runs them.

FROM node:22-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/domain/package.json packages/domain/
COPY packages/adapters/package.json packages/adapters/
COPY packages/http/package.json packages/http/
COPY packages/cli/package.json packages/cli/
COPY packages/console/package.json packages/console/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:22-bookworm-slim
WORKDIR /app
# The npm scripts' memory settings: glibc arenas capped, freed buffers returned to the system.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    INGEST_DATA_DIR=/var/lib/ingest
COPY --from=dependencies /app/node_modules node_modules
COPY package.json package-lock.json ./
COPY packages packages
RUN mkdir -p /var/lib/ingest && chown node:node /var/lib/ingest
USER node
EXPOSE 8113
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.INGEST_PORT ?? 8113}/health/live`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=20", "packages/http/src/main.ts"]
