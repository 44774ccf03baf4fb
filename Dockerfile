# One image, two entry points, each one JavaScript bundle made by scripts/build-dist.ts: the
# operator (the default command) and the serving runtime (`docker run IMAGE dist/serving/main.js`);
# operator/resources/image.ts names them. The tests run the TypeScript sources, and
# test/integration/image/containers.test.ts runs this image, so the two cannot drift.
#
# BASE_IMAGE: the official node:24 slim image on a laptop; on machines without a
# registry, the locally made Debian + Node 24 base (the real-node work builds it).
ARG BASE_IMAGE=node:24-bookworm-slim

# The bundles, and the node_modules they still import: onnxruntime-node (a native addon the
# bundles cannot inline) with its dependencies and only this platform's binaries. Copied from
# this lock-exact install rather than a second `npm ci --omit=dev`: the bundles inline every
# other production dependency, so those ~125 MB would never be loaded.
FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# No install scripts: the build needs none (esbuild's binary is its own package), and
# onnxruntime-node's would only fetch CUDA libraries, which the image does not use.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build-dist.ts ./scripts/
# contract/ is the one code operator/ and serving/ share (environment, routing file, metrics).
COPY contract ./contract
COPY operator ./operator
COPY serving ./serving
RUN node scripts/build-dist.ts --node-modules /image/node_modules

# The base's filesystem without what only installing needs (npm, corepack, yarn, docs, man
# pages, locales). Deleting files in a later layer leaves them in the image, so the final
# stage copies this tree whole into one layer.
FROM ${BASE_IMAGE} AS runtime-root
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
      /usr/share/man/* /usr/share/info/* /usr/share/locale/* /usr/share/lintian \
      /var/cache/apt/* /var/cache/debconf/*-old /var/lib/apt/lists/* /root/.npm \
  && find /usr/share/doc -type f ! -name copyright -delete

FROM scratch
# DL3067 warns that a whole-filesystem copy loses the base's layers and config; here that is
# the point (the base's npm and locales alone are ~45 MB), and the config is restated below.
# hadolint ignore=DL3067
COPY --from=runtime-root / /
# A flattened tree carries no ENV of its base: what the runtime needs is set here. The
# local base's NODE_EXTRA_CA_CERTS is for image builds (npm ci through the host's TLS
# egress) and stays in the build stage.
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_ENV=production
WORKDIR /app
COPY --from=build /app/dist ./dist
COPY --from=build /image/node_modules ./node_modules
# A numeric non-root user, so runAsNonRoot can verify it; nothing is written under /app.
USER 65532:65532
ENTRYPOINT ["node"]
CMD ["dist/operator/main.js"]
