// Upstream answers that HTTP/2 cannot carry as given (a :status above 599, repeated single-value headers and trailers) and drain of idle keep-alive connections: the sidecar answers or resets, and never crashes.
import assert from 'node:assert/strict';
import http from 'node:http';
import type http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, http2Upstream, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { h2connect, h2request } from '../helpers/h2-client.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { withTimeout } from '../helpers/wait.ts';

const T = { timeout: 60_000 };
let sc: Sidecar | undefined;
const servers: net.Server[] = [];
const sessions: http2.ClientHttp2Session[] = [];

/** A raw HTTP/2 server (prior knowledge) that answers stream 1 with HEADERS `:status: 700`, which node:http2 cannot send. */
async function startStatus700Upstream(): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let answered = false;
    s.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])); // our SETTINGS (empty)
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      let p = buf.indexOf('\r\n\r\nSM\r\n\r\n') >= 0 ? 24 : 0;
      while (p + 9 <= buf.length) {
        const len = buf.readUIntBE(p, 3);
        const type = buf[p + 3];
        const flags = buf[p + 4];
        const stream = buf.readUInt32BE(p + 5) & 0x7fffffff;
        if (p + 9 + len > buf.length) break;
        if (type === 4 && (flags & 1) === 0) s.write(Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 0])); // SETTINGS ACK
        if (type === 1 && !answered) {
          answered = true;
          // HPACK: literal header field without indexing, new name ":status" = "700".
          const block = Buffer.concat([Buffer.from([0x00, 7]), Buffer.from(':status'), Buffer.from([3]), Buffer.from('700')]);
          const head = Buffer.alloc(9);
          head.writeUIntBE(block.length, 0, 3);
          head[3] = 1;
          head[4] = 0x5; // END_HEADERS | END_STREAM
          head.writeUInt32BE(stream, 5);
          s.write(Buffer.concat([head, block]));
        }
        p += 9 + len;
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** An HTTP/1.1 upstream that repeats single-value headers and trailers (legal in HTTP/1, not in HTTP/2). */
async function startRepeatingUpstream(): Promise<number> {
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/trailers') {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'content-md5, etag' });
      res.write('body with trailers');
      res.addTrailers([['etag', '"a"'], ['etag', '"b"'], ['x-ok', 'yes']]);
      res.end();
      return;
    }
    res.writeHead(200, [['content-type', 'text/plain'], ['content-type', 'text/html'], ['etag', '"1"'], ['etag', '"2"']]);
    res.end('repeated headers');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

before(async () => {
  const p700 = await startStatus700Upstream();
  const repeat = await startRepeatingUpstream();
  sc = await startSidecar(
    bootstrap(
      [
        listener('ingress', [
          httpConnectionManager({
            accessLog: false,
            extra: { drain_timeout: '30s' },
            virtualHosts: [{
              name: 'hostile', domains: ['*'],
              routes: [route({ prefix: '/status700' }, 'status700'), route({ prefix: '/' }, 'repeat')],
            }],
          }),
        ]),
      ],
      [staticCluster('status700', [p700], http2Upstream()), staticCluster('repeat', [repeat])],
    ),
    { args: ['--drain-time-s', '30'] },
  );
});

after(async () => {
  for (const s of sessions) s.destroy();
  if (sc && !sc.hasExited()) await sc.stop();
  for (const s of servers) s.close();
});

test('an HTTP/2 upstream answering :status 700 gets 502 (UPE) and the sidecar keeps serving', T, async () => {
  const session = await h2connect(`http://127.0.0.1:${sc!.port('ingress')}`);
  sessions.push(session);
  const r = await h2request(session, { ':path': '/status700', ':method': 'GET' });
  assert.equal(r.status, 502);
  const again = await h2request(session, { ':path': '/repeat', ':method': 'GET' });
  assert.equal(again.status, 200);
  assert.equal(sc!.hasExited(), false);
});

test('repeated single-value headers from an HTTP/1 upstream reach an HTTP/2 client as one value', T, async () => {
  const session = await h2connect(`http://127.0.0.1:${sc!.port('ingress')}`);
  sessions.push(session);
  const r = await h2request(session, { ':path': '/headers', ':method': 'GET' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/plain');
  assert.equal(r.headers.etag, '"1"');
  assert.equal(r.text, 'repeated headers');
});

test('repeated single-value trailers do not crash the sidecar; the body arrives', T, async () => {
  const session = await h2connect(`http://127.0.0.1:${sc!.port('ingress')}`);
  sessions.push(session);
  const r = await h2request(session, { ':path': '/trailers', ':method': 'GET', te: 'trailers' });
  assert.equal(r.status, 200);
  assert.equal(r.text, 'body with trailers');
  const after = await h2request(session, { ':path': '/headers', ':method': 'GET' });
  assert.equal(after.status, 200);
  assert.equal(sc!.hasExited(), false);
});

test('drain closes an idle HTTP/1.1 keep-alive connection at once (not at the end of the 30 s drain time)', T, async () => {
  const s = net.connect({ port: sc!.port('ingress'), host: '127.0.0.1' });
  s.on('error', () => undefined);
  await withTimeout(new Promise<void>((r) => s.once('connect', () => r())), 10_000, 'connect');
  s.write('GET /headers HTTP/1.1\r\nHost: t\r\n\r\n');
  await withTimeout(new Promise<void>((r) => s.once('data', () => r())), 10_000, 'first response');
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  sc!.signal('SIGTERM');
  await withTimeout(closed, 15_000, 'the idle keep-alive connection to be closed by the drain');
  assert.equal((await withTimeout(sc!.exited, 15_000, 'the sidecar to exit once nothing is in flight')).code, 0);
});
