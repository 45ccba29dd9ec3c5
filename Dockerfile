# Vigil. Build from the repository root: docker build -t vigil .
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts off: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The web UI, bundled into dist/web by `npm run build`.
COPY web ./web
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY rules ./rules
COPY provisioning ./provisioning
COPY vigil.yml /etc/vigil/vigil.yml
RUN mkdir -p /var/lib/vigil && chown node:node /var/lib/vigil
# The node image's unprivileged user (uid 1000).
USER node
ENV VIGIL_CONFIG=/etc/vigil/vigil.yml VIGIL_DATA_DIR=/var/lib/vigil VIGIL_LISTEN=0.0.0.0:9470
EXPOSE 9470
VOLUME ["/var/lib/vigil"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s CMD ["node", "-e", "fetch('http://127.0.0.1:9470/-/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# `start` reads its config file from VIGIL_CONFIG.
CMD ["node", "bin/vigil.js", "start"]
