# The sample apps' image: the pilotfish image plus the demo sources (src/demo is kept out of the pilotfish image).
# Build from the repository root: docker build -f deploy/sample/demo.Dockerfile -t pilotfish-demo:0.1.0 .
# (BuildKit reads demo.Dockerfile.dockerignore next to this file instead of the root .dockerignore.)
FROM pilotfish:0.1.0
COPY src/demo /app/src/demo
USER 1000:1000
ENTRYPOINT []
CMD ["node", "src/demo/apps/orders.ts"]
