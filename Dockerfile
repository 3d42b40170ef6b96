# Pilotfish image: one image for the sidecar, the init container (iptables) and the control plane.
# Build stage installs exactly the lock file without dev dependencies; the runtime stage runs as uid 1337.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY bin ./bin
COPY src ./src
COPY xds ./xds

FROM node:24-slim
RUN apt-get update && apt-get install -y --no-install-recommends iptables iproute2 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
USER 1337:1337
ENTRYPOINT ["node", "/app/bin/pilotfish"]
CMD ["--help"]
