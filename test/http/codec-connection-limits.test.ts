// Tests the codecs' connection limits on real sockets: max_connection_duration (HTTP/1 close, HTTP/2 GOAWAY), idle_timeout and request_headers_timeout.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, test } from 'node:test';
import { Http1Codec, type Http1CodecOptions } from '../../src/http/codec/http1-codec.ts';
import { Http2Codec } from '../../src/http/codec/http2-codec.ts';
import type { DownstreamConnectionInfo, DownstreamExchange } from '../../src/http/exchange.ts';
import { RawConnection } from '../helpers/raw-http.ts';
import { onceWithin, withTimeout } from '../helpers/wait.ts';

const T = { timeout: 30_000 };
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
const raws: RawConnection[] = [];

after(async () => {
  for (const r of raws) r.close();
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** Answers 200 "ok"; a request with `x-delay-ms` is answered that much later (a slow handler). */
function answer(ex: DownstreamExchange): void {
  const delay = Number(ex.head.headers['x-delay-ms'] ?? 0);
  const reply = () => { ex.sendHeaders(200, { 'content-length': '2' }, false); ex.write(Buffer.from('ok')); ex.end(null); };
  if (delay > 0) setTimeout(reply, delay); else reply();
}

/** A TCP server on 127.0.0.1 port 0 that hands every connection to `serve`. */
async function listen(serve: (s: net.Socket, info: DownstreamConnectionInfo) => void): Promise<number> {
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    serve(s, { remoteAddress: s.remoteAddress ?? '', remotePort: s.remotePort ?? 0, localAddress: '127.0.0.1', localPort: 0, tls: false, serverName: null, peerUriSans: [] });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

async function http1(opts: Partial<Http1CodecOptions>): Promise<number> {
  const codec = new Http1Codec({
    maxHeaderBytes: 60 * 1024, maxHeadersCount: 100, requestHeadersTimeoutMs: 0, idleTimeoutMs: 3_600_000,
    onExchange: answer, onBadRequest: () => undefined, ...opts,
  });
  return listen((s, info) => codec.handleConnection(s, info));
}

async function raw(port: number): Promise<RawConnection> {
  const r = await RawConnection.open(port);
  raws.push(r);
  return r;
}

function closed(r: RawConnection): Promise<void> {
  if (r.socket.destroyed) return Promise.resolve();
  return withTimeout(new Promise<void>((resolve) => r.socket.once('close', () => resolve())), 10_000, 'the codec to close the connection');
}

test('HTTP/1 max_connection_duration: an idle keep-alive connection is closed once the duration elapsed', T, async () => {
  const port = await http1({ maxConnectionDurationMs: 300 });
  const r = await raw(port);
  await r.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
  const res = await r.readResponse();
  assert.equal(res.status, 200);
  assert.notEqual(res.headers.connection, 'close', 'before the duration the connection is kept alive');
  await closed(r);
});

test('HTTP/1 max_connection_duration: a request in flight finishes, its response says connection: close', T, async () => {
  const port = await http1({ maxConnectionDurationMs: 200 });
  const r = await raw(port);
  await r.write('GET / HTTP/1.1\r\nHost: t\r\nx-delay-ms: 600\r\n\r\n');
  const res = await r.readResponse();
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'ok');
  assert.equal(res.headers.connection, 'close');
  await closed(r);
});

test('HTTP/1 idle_timeout: a connection that never sends a request is closed', T, async () => {
  const port = await http1({ idleTimeoutMs: 300 });
  await closed(await raw(port));
});

test('HTTP/1 request_headers_timeout: incomplete headers get 408, the connection closes', T, async () => {
  const port = await http1({ requestHeadersTimeoutMs: 300 });
  const r = await raw(port);
  await r.write('GET / HTTP/1.1\r\nHost: t\r\n');
  assert.equal((await r.readResponse()).status, 408);
  await closed(r);
});

test('HTTP/2 max_connection_duration: GOAWAY once the duration elapsed; the stream in flight still completes', T, async () => {
  const codec = new Http2Codec({
    http2: { maxConcurrentStreams: 100, initialStreamWindowSize: 65535, initialConnectionWindowSize: 65535 },
    maxHeaderBytes: 60 * 1024, idleTimeoutMs: 3_600_000, maxConnectionDurationMs: 200, onExchange: answer,
  });
  const port = await listen((s, info) => codec.handleConnection(s, info));
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  const goaway = onceWithin(session, 'goaway', 10_000, 'GOAWAY from the codec');
  const stream = session.request({ ':path': '/', 'x-delay-ms': '600' });
  let body = '';
  stream.setEncoding('utf8');
  stream.on('data', (c: string) => (body += c));
  const [headers] = (await onceWithin(stream, 'response', 10_000)) as [http2.IncomingHttpHeaders];
  await goaway;
  await onceWithin(stream, 'end', 10_000);
  assert.equal(headers[':status'], 200);
  assert.equal(body, 'ok');
  session.close();
});
