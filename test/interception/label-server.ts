// Test helper run inside a network namespace: TCP servers that answer each connection with their label, then close.
// Usage: node label-server.ts HOST:PORT=LABEL ... (IPv6 hosts in brackets; [::] is dual-stack); prints "ready" once every server listens.
import { createServer } from 'node:net';

const specs = process.argv.slice(2).map((a) => {
  const m = /^\[?(.*?)\]?:(\d+)=(.+)$/.exec(a);
  if (!m) throw new Error(`bad server spec ${a}`);
  return { host: m[1], port: Number(m[2]), label: m[3] };
});
await Promise.all(specs.map(({ host, port, label }) => new Promise<void>((resolve, reject) => {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.end(`${label}\n`);
  });
  server.on('error', reject);
  server.listen(port, host, () => resolve());
})));
process.stdout.write('ready\n');
