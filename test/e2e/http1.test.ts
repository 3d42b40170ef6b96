// End-to-end HTTP/1.1 through the sidecar: keep-alive, streaming, large bodies, pipelining, bodiless responses, 100-continue, request ids and malformed input.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { Client } from 'undici';
import { bootstrap, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { send, sendJson } from '../helpers/http-client.ts';
import { closeAll, patternBytes, sha256, startHttpEcho, type EchoReply, type HttpUpstream, type UpReq, type UpRes } from '../helpers/http-upstreams.ts';
import { RawConnection } from '../helpers/raw-http.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { gate, withTimeout } from '../helpers/wait.ts';

const T = { timeout: 60_000 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let sc: Sidecar | undefined;
let echoUp: HttpUpstream | undefined;
let streamUp: HttpUpstream | undefined;
let base = '';
let port = 0;
const clients: Client[] = [];
const raws: RawConnection[] = [];

// Gates for the streaming upstream, replaced by each streaming test.
let secondChunk = gate();
let firstRequestChunk = gate<string>();

function streamingHandler(req: UpReq, res: UpRes): boolean {
  if (req.url === '/stream/response') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first;');
    void secondChunk.promise.then(() => res.end('second;'));
    req.resume();
    return true;
  }
  if (req.url === '/stream/request') {
    const chunks: string[] = [];
    req.on('data', (c: Buffer) => {
      if (chunks.length === 0) firstRequestChunk.open(c.toString());
      chunks.push(c.toString());
    });
    req.on('end', () => {
      const body = JSON.stringify({ body: chunks.join(''), headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    return true;
  }
  return false;
}

function client(): { c: Client; connects: () => number } {
  let n = 0;
  const c = new Client(base, { headersTimeout: 20_000, bodyTimeout: 20_000, pipelining: 1 });
  c.on('connect', () => (n += 1));
  clients.push(c);
  return { c, connects: () => n };
}

async function raw(): Promise<RawConnection> {
  const r = await RawConnection.open(port);
  raws.push(r);
  return r;
}

before(async () => {
  echoUp = await startHttpEcho('echo');
  streamUp = await startHttpEcho('stream', streamingHandler);
  sc = await startSidecar(
    bootstrap(
      [
        listener('ingress', [
          httpConnectionManager({
            virtualHosts: [{ name: 'all', domains: ['*'], routes: [route({ prefix: '/stream/' }, 'stream'), route({ prefix: '/' }, 'echo')] }],
          }),
        ]),
      ],
      [staticCluster('echo', [echoUp.port]), staticCluster('stream', [streamUp.port])],
    ),
  );
  port = sc.port('ingress');
  base = sc.url('ingress');
});

after(async () => {
  for (const r of raws) r.close();
  await Promise.all(clients.map((c) => c.destroy().catch(() => undefined)));
  await sc?.stop();
  await closeAll(echoUp, streamUp);
});

test('a proxied request reaches the upstream and carries x-envoy-upstream-service-time', T, async () => {
  const { res, json } = await sendJson<EchoReply>(`${base}/hello?x=1`);
  assert.equal(res.status, 200);
  assert.equal(json.name, 'echo');
  assert.equal(json.url, '/hello?x=1');
  assert.match(String(res.headers['x-envoy-upstream-service-time']), /^\d+$/);
});

test('keep-alive: two requests on one client connection use one socket', T, async () => {
  const { c, connects } = client();
  for (const path of ['/ka/1', '/ka/2']) {
    const r = await c.request({ path, method: 'GET' });
    const body = (await r.body.json()) as EchoReply;
    assert.equal(r.statusCode, 200);
    assert.equal(body.url, path);
    assert.notEqual(String(r.headers.connection ?? '').toLowerCase(), 'close');
  }
  assert.equal(connects(), 1, 'both requests must travel on the same downstream connection');
});

test('chunked response body is streamed: the first chunk arrives before the upstream writes the second', T, async () => {
  secondChunk = gate();
  const { c } = client();
  const r = await c.request({ path: '/stream/response', method: 'GET' });
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['transfer-encoding']), /chunked/);
  let got = '';
  const it = r.body[Symbol.asyncIterator]();
  while (!got.includes('first;')) {
    const n = await withTimeout(it.next(), 15_000, 'the first response chunk before the upstream finished');
    assert.ok(!n.done, 'response ended before the first chunk');
    got += Buffer.from(n.value as Uint8Array).toString();
  }
  assert.ok(!got.includes('second;'));
  secondChunk.open();
  for (;;) {
    const n = await withTimeout(it.next(), 15_000, 'the rest of the response');
    if (n.done) break;
    got += Buffer.from(n.value as Uint8Array).toString();
  }
  assert.equal(got, 'first;second;');
});

test('chunked request body is streamed: the upstream gets the first chunk before the client sends the second', T, async () => {
  firstRequestChunk = gate<string>();
  const { c } = client();
  async function* body() {
    yield Buffer.from('part-one;');
    const first = await withTimeout(firstRequestChunk.promise, 15_000, 'the upstream to receive the first request chunk');
    assert.equal(first, 'part-one;');
    yield Buffer.from('part-two;');
  }
  const r = await c.request({ path: '/stream/request', method: 'POST', body: Readable.from(body()) });
  const json = (await r.body.json()) as { body: string; headers: Record<string, string> };
  assert.equal(r.statusCode, 200);
  assert.equal(json.body, 'part-one;part-two;');
  assert.equal(json.headers['transfer-encoding'], 'chunked');
  assert.equal(json.headers['content-length'], undefined);
});

test('5 MB request body and 5 MB response body arrive intact', T, async () => {
  const size = 5 * 1024 * 1024;
  const payload = patternBytes(size);
  const { c } = client();
  const up = await c.request({ path: '/large/upload', method: 'POST', body: payload, headers: { 'content-type': 'application/octet-stream' } });
  const upText = await up.body.text();
  assert.equal(up.statusCode, 200, upText.slice(0, 300));
  const upJson = JSON.parse(upText) as EchoReply;
  assert.equal(upJson.bodyLength, size);
  assert.equal(upJson.bodySha256, sha256(payload));

  const down = await c.request({ path: '/large/download', method: 'GET', headers: { 'x-echo-body-size': String(size) } });
  const bytes = Buffer.from(await down.body.arrayBuffer());
  assert.equal(down.statusCode, 200);
  assert.equal(bytes.length, size);
  assert.equal(sha256(bytes), sha256(payload));
});

test('pipelining: two requests written back to back get two responses in order', T, async () => {
  const r = await raw();
  await r.write('GET /pipe/1 HTTP/1.1\r\nHost: pipe.test\r\n\r\nGET /pipe/2 HTTP/1.1\r\nHost: pipe.test\r\n\r\n');
  const first = await r.readResponse();
  const second = await r.readResponse();
  assert.equal(first.status, 200);
  assert.equal(second.status, 200);
  assert.equal((JSON.parse(first.body.toString()) as EchoReply).url, '/pipe/1');
  assert.equal((JSON.parse(second.body.toString()) as EchoReply).url, '/pipe/2');
});

test('HEAD gets headers and no body; the connection stays usable', T, async () => {
  const r = await raw();
  await r.write('HEAD /head HTTP/1.1\r\nHost: head.test\r\n\r\n');
  const head = await r.readResponse({ noBody: true });
  assert.equal(head.status, 200);
  await r.write('GET /after-head HTTP/1.1\r\nHost: head.test\r\n\r\n');
  const next = await r.readResponse();
  assert.equal(next.status, 200, 'a body sent after HEAD would corrupt the next response');
  assert.equal((JSON.parse(next.body.toString()) as EchoReply).url, '/after-head');
});

for (const status of [204, 304]) {
  test(`${status} from upstream is forwarded without a body`, T, async () => {
    const r = await raw();
    await r.write(`GET /status/${status} HTTP/1.1\r\nHost: s.test\r\nx-echo-status: ${status}\r\n\r\n`);
    const res = await r.readResponse();
    assert.equal(res.status, status);
    assert.equal(res.headers['transfer-encoding'], undefined);
    await r.write('GET /after-status HTTP/1.1\r\nHost: s.test\r\n\r\n');
    const next = await r.readResponse();
    assert.equal(next.status, 200);
    assert.equal((JSON.parse(next.body.toString()) as EchoReply).url, '/after-status');
  });
}

test('Expect: 100-continue gets "100 Continue" before the body is sent, then the response', T, async () => {
  const r = await raw();
  await r.write('POST /continue HTTP/1.1\r\nHost: c.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  const interim = await r.readResponse();
  assert.equal(interim.status, 100);
  await r.write('hello');
  const final = await r.readResponse();
  assert.equal(final.status, 200);
  const json = JSON.parse(final.body.toString()) as EchoReply;
  assert.equal(json.body, 'hello');
});

test('x-request-id is generated (UUID) when absent and preserved when present', T, async () => {
  const gen = await sendJson<EchoReply>(`${base}/rid`);
  assert.match(String(gen.json.headers['x-request-id']), UUID);
  const kept = await sendJson<EchoReply>(`${base}/rid`, { headers: { 'x-request-id': 'client-chosen-id-42' } });
  assert.equal(kept.json.headers['x-request-id'], 'client-chosen-id-42');
});

test('x-forwarded-proto is set to http for a plaintext listener', T, async () => {
  const { json } = await sendJson<EchoReply>(`${base}/xfp`);
  assert.equal(json.headers['x-forwarded-proto'], 'http');
});

test('malformed request gets 400 and its connection is closed; other connections are unaffected', T, async () => {
  const { c, connects } = client();
  const before1 = await c.request({ path: '/before-garbage', method: 'GET' });
  await before1.body.dump();
  assert.equal(before1.statusCode, 200);

  const r = await raw();
  await r.write('GARBAGE\r\n\r\n');
  const res = await r.readResponse();
  assert.equal(res.status, 400);
  assert.ok(await r.waitClosed(), 'the connection that sent garbage must be closed');

  const after1 = await c.request({ path: '/after-garbage', method: 'GET' });
  const body = (await after1.body.json()) as EchoReply;
  assert.equal(after1.statusCode, 200);
  assert.equal(body.url, '/after-garbage');
  assert.equal(connects(), 1, 'the healthy keep-alive connection must survive');
});

test('request headers larger than 60 KiB get 431', T, async () => {
  const r = await raw();
  const big = 'a'.repeat(62 * 1024);
  r.write(`GET /big-header HTTP/1.1\r\nHost: big.test\r\nx-big: ${big}\r\n\r\n`).catch(() => undefined);
  const res = await r.readResponse();
  assert.equal(res.status, 431);
});

test('both Content-Length and Transfer-Encoding get 400', T, async () => {
  const r = await raw();
  await r.write('POST /smuggle HTTP/1.1\r\nHost: s.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  const res = await r.readResponse();
  assert.equal(res.status, 400);
  assert.ok(await r.waitClosed(), 'the connection must be closed after a framing error');
  assert.ok(!echoUp!.seen.some((s) => s.url === '/smuggle'), 'the ambiguous request must not reach the upstream');
});

test('the sidecar is still healthy after the error cases', T, async () => {
  const res = await send(`${base}/final`);
  assert.equal(res.status, 200);
  const ready = await send(`${sc!.admin}/ready`);
  assert.equal(ready.status, 200);
});
