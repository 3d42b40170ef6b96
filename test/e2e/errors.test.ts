// End-to-end upstream failures: refused connections (UF), resets (UC), garbage (UPE/502), timeouts (UT), no hosts (UH), retries (URX), client disconnects (DC), and /clusters.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, flagList, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { send, testId } from '../helpers/http-client.ts';
import { closeAll, startHttpEcho, type HttpUpstream, type UpReq } from '../helpers/http-upstreams.ts';
import { RawConnection } from '../helpers/raw-http.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { closedPort, startGarbageServer, startResetServer, type SocketUpstream } from '../helpers/socket-upstreams.ts';

const T = { timeout: 60_000 };
const BEFORE_HEADERS = 'upstream connect error or disconnect/reset before headers';

let sc: Sidecar | undefined;
let ok: HttpUpstream | undefined;
let reset: SocketUpstream | undefined;
let garbage: SocketUpstream | undefined;
let deadPort = 0;
let base = '';
const raws: RawConnection[] = [];

/** The ok upstream never answers /timeout and /dc (the sidecar or the client gives up first). */
function neverAnswer(req: UpReq): boolean {
  return req.url === '/timeout' || req.url?.startsWith('/dc') === true;
}

before(async () => {
  ok = await startHttpEcho('ok', neverAnswer);
  reset = await startResetServer();
  garbage = await startGarbageServer();
  deadPort = await closedPort();
  sc = await startSidecar(
    bootstrap(
      [
        listener('ingress', [
          httpConnectionManager({
            virtualHosts: [
              {
                name: 'errors',
                domains: ['*'],
                routes: [
                  route({ path: '/closed' }, 'closed'),
                  route({ path: '/reset' }, 'reset'),
                  route({ path: '/garbage' }, 'garbage'),
                  route({ path: '/timeout' }, 'ok', { timeout: '1s' }),
                  route({ path: '/empty' }, 'empty'),
                  route({ path: '/retry' }, 'ok', { retry_policy: { retry_on: '5xx', num_retries: 2 } }),
                  route({ prefix: '/dc' }, 'ok', { timeout: '0s' }),
                  route({ prefix: '/' }, 'ok'),
                ],
              },
            ],
          }),
        ]),
      ],
      [
        staticCluster('ok', [ok.port]),
        staticCluster('closed', [deadPort]),
        staticCluster('reset', [reset.port]),
        staticCluster('garbage', [garbage.port]),
        staticCluster('empty', []),
      ],
    ),
  );
  base = sc.url('ingress');
});

after(async () => {
  for (const r of raws) r.close();
  await sc?.stop();
  await closeAll(ok, reset, garbage);
});

async function get(path: string, headers: Record<string, string> = {}) {
  const id = testId(path.slice(1));
  const res = await send(`${base}${path}`, { headers: { ...headers, 'x-test-id': id } });
  const line = await sc!.waitForAccess(id);
  return { res, line, flags: flagList(line) };
}

test('closed upstream port → 503 with UF, and the sidecar keeps serving', T, async () => {
  const { res, line, flags } = await get('/closed');
  assert.equal(res.status, 503);
  assert.ok(res.text.startsWith(BEFORE_HEADERS), res.text);
  assert.ok(flags.includes('UF'), line.raw);
  assert.equal(line.code, 503);
  const after1 = await send(`${base}/still-up`);
  assert.equal(after1.status, 200);
  assert.match(String(after1.headers['x-envoy-upstream-service-time']), /^\d+$/);
});

test('upstream resets the connection before answering → 503 with UC', T, async () => {
  const { res, line, flags } = await get('/reset');
  assert.equal(res.status, 503);
  assert.ok(res.text.startsWith(BEFORE_HEADERS), res.text);
  assert.match(res.text, /connection termination/);
  assert.ok(flags.includes('UC'), line.raw);
  assert.ok(reset!.connections() >= 1);
});

test('upstream answers garbage instead of HTTP → 502 with UPE', T, async () => {
  const { res, line, flags } = await get('/garbage');
  assert.equal(res.status, 502);
  assert.ok(res.text.startsWith(BEFORE_HEADERS), res.text);
  assert.match(res.text, /protocol error/);
  assert.ok(flags.includes('UPE'), line.raw);
});

test('route timeout elapses → 504 "upstream request timeout" with UT', T, async () => {
  const { res, line, flags } = await get('/timeout');
  assert.equal(res.status, 504);
  assert.equal(res.text, 'upstream request timeout');
  assert.ok(flags.includes('UT'), line.raw);
});

test('cluster without hosts → 503 "no healthy upstream" with UH', T, async () => {
  const { res, line, flags } = await get('/empty');
  assert.equal(res.status, 503);
  assert.equal(res.text, 'no healthy upstream');
  assert.ok(flags.includes('UH'), line.raw);
});

test('retries exhausted on 5xx → the upstream 503 is returned with URX after 1 + num_retries attempts', T, async () => {
  const before1 = ok!.seen.filter((s) => s.url === '/retry').length;
  const { res, line, flags } = await get('/retry', { 'x-echo-status': '503' });
  assert.equal(res.status, 503);
  assert.equal(res.headers['x-upstream-name'], 'ok', 'the last upstream response is forwarded');
  assert.equal(ok!.seen.filter((s) => s.url === '/retry').length - before1, 3, 'attempts seen by the upstream');
  assert.ok(flags.includes('URX'), `expected URX in ${line.raw}`);
});

test('client disconnects before the response → DC and response code 0 in the access log', T, async () => {
  const id = testId('dc');
  const r = await RawConnection.open(sc!.port('ingress'));
  raws.push(r);
  await r.write(`GET /dc/${id} HTTP/1.1\r\nHost: dc.test\r\nx-test-id: ${id}\r\n\r\n`);
  await ok!.waitForRequest((s) => s.url === `/dc/${id}`);
  r.close();
  const line = await sc!.waitForAccess(id);
  assert.ok(flagList(line).includes('DC'), line.raw);
  assert.equal(line.code, 0);
});

test('/clusters lists every static host with its stats', T, async () => {
  const res = await send(`${sc!.admin}/clusters`);
  assert.equal(res.status, 200);
  const text = res.text;
  for (const [cluster, port] of [
    ['ok', ok!.port],
    ['closed', deadPort],
    ['reset', reset!.port],
    ['garbage', garbage!.port],
  ] as const) {
    assert.ok(text.includes(`${cluster}::127.0.0.1:${port}::`), `/clusters lacks ${cluster}::127.0.0.1:${port}\n${text.slice(0, 2000)}`);
  }
  const fail = new RegExp(`^closed::127\\.0\\.0\\.1:${deadPort}::cx_connect_fail::(\\d+)$`, 'm').exec(text);
  assert.ok(fail, 'closed host has a cx_connect_fail line');
  assert.ok(Number(fail[1]) >= 1, `cx_connect_fail is ${fail[1]}`);
  const rq = new RegExp(`^ok::127\\.0\\.0\\.1:${ok!.port}::rq_total::(\\d+)$`, 'm').exec(text);
  assert.ok(rq && Number(rq[1]) >= 1, 'ok host counts its requests in rq_total');
});
