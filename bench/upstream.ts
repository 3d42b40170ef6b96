// The bench upstream: a minimal node:http server answering every request with a small fixed body; prints "listening PORT".
import http from 'node:http';

const BODY = Buffer.from('hello from the bench upstream\n');

const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
  res.end(BODY);
});
server.keepAliveTimeout = 120_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
process.once('SIGTERM', () => { server.close(); server.closeAllConnections(); });
