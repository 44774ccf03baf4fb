# One image, two entrypoints: the operator (default) and the serving runtime
# (`docker run IMAGE serving/main.ts`). Node 24 runs the TypeScript sources directly
# (type stripping), so there is no compile step to drift from what the tests ran.
#
# BASE_IMAGE: the official node:24 slim image on a laptop; on machines without a
# registry, the locally made Debian + Node 24 base (the real-node work builds it).
ARG BASE_IMAGE=node:24-bookworm-slim

FROM ${BASE_IMAGE} AS deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts=false --no-audit --no-fund

FROM ${BASE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY operator ./operator
COPY serving ./serving
COPY crds ./crds
# A numeric non-root user, so runAsNonRoot can verify it; nothing is written under /app.
USER 65532:65532
ENTRYPOINT ["node"]
CMD ["operator/main.ts"]
