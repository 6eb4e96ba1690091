# Sluice container server: the same gateway handler as Lambda, served by the local runtime
# hardened for production (functions/local/container.ts; see docs/deploy.md "Container").
# Committed untested: no Docker engine was available where it was written (client only).
# CI starts the server exactly as CMD does (test/integration/container-server.test.ts).

# 1. Console frontend, prebuilt (esbuild is a dev dependency and stays out of the image).
FROM node:24-bookworm-slim AS console
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY functions ./functions
COPY console ./console
RUN node --import tsx functions/console/build.ts /out

# 2. Production dependencies only.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

# 3. Runtime: non-root, no build tools, no npm cache.
FROM node:24-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 SLUICE_DATA_DIR=/tmp/sluice
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY functions ./functions
COPY --from=console /out/static ./functions/console/static
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "functions/local/container.ts"]
