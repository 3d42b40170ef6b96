# Pilotfish image: one image for the sidecar (pilotfish sidecar), the init container (pilotfish iptables) and the control plane.
# Build: docker build -t pilotfish:0.1.0 .   Reproducible from package-lock.json (npm ci); pin the base by digest for bit-for-bit builds.

# Stage 1: production dependencies exactly as locked, and the sources (Node 24 runs the .ts files directly).
FROM node:24-slim AS build
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# Type declarations, source maps and docs are not needed at run time (about half of node_modules).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) -delete
COPY bin ./bin
COPY src ./src
COPY xds ./xds

# Stage 2: runtime. iptables (legacy and nft backends) for the init container; nothing else is added to the base.
FROM node:24-slim
RUN apt-get update && apt-get install -y --no-install-recommends iptables && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
RUN ln -s /app/bin/pilotfish /usr/local/bin/pilotfish
# The proxy's uid: iptables exempts its traffic from capture. The init container overrides this with runAsUser 0.
USER 1337:1337
EXPOSE 15000 15001 15006 15010 15014 15017 15020 15021
ENTRYPOINT ["pilotfish"]
CMD ["--help"]
