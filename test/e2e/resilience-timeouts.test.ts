// End-to-end timeouts against stalling and slow upstreams: per_try_timeout, route timeout over retries, idle timeouts, max_stream_duration, grpc-timeout, connect_timeout, request and header timeouts.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, flagList, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { send, testId } from '../helpers/http-client.ts';
import { closeAll } from '../helpers/http-upstreams.ts';
import { promValue, seenFor, startFaultyUpstream, type FaultyUpstream } from '../helpers/faulty-upstream.ts';
import { RawConnection } from '../helpers/raw-http.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { withTimeout } from '../helpers/wait.ts';

const T = { timeout: 90_000 };
const FAST_BACKOFF = { base_interval: '0.001s', max_interval: '0.002s' };
const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

let sc: Sidecar | undefined;
let up: FaultyUpstream | undefined;
let blackhole: net.Server | undefined;
const blackholeSockets = new Set<net.Socket>();
const raws: RawConnection[] = [];

/** A TCP server that accepts connections and never says a word (a TLS handshake to it never completes). */
async function startBlackhole(): Promise<number> {
  blackhole = net.createServer((s) => {
    blackholeSockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => blackholeSockets.delete(s));
  });
  await new Promise<void>((r) => blackhole!.listen(0, '127.0.0.1', r));
  return (blackhole.address() as net.AddressInfo).port;
}

function hcmListener(name: string, extra: Record<string, unknown>): object {
  return listener(name, [
    httpConnectionManager({
      statPrefix: name,
      virtualHosts: [{ name, domains: ['*'], routes: [route({ prefix: '/' }, 'slow', { timeout: '0s' })] }],
      extra,
    }),
  ]);
}

before(async () => {
  up = await startFaultyUpstream('slow');
  const blackholePort = await startBlackhole();
  sc = await startSidecar(
    bootstrap(
      [
        listener('ingress', [
          httpConnectionManager({
            virtualHosts: [
              {
                name: 'timeouts',
                domains: ['*'],
                routes: [
                  route({ prefix: '/per-try' }, 'slow', { retry_policy: { retry_on: '5xx', num_retries: 2, per_try_timeout: '0.3s', retry_back_off: FAST_BACKOFF } }),
                  route({ prefix: '/route-timeout' }, 'slow', {
                    timeout: '0.7s',
                    retry_policy: { retry_on: '5xx', num_retries: 5, per_try_timeout: '0.3s', retry_back_off: FAST_BACKOFF },
                  }),
                  route({ prefix: '/idle' }, 'slow', { timeout: '0s', idle_timeout: '0.3s' }),
                  route({ prefix: '/msd' }, 'slow', { timeout: '0s', max_stream_duration: { max_stream_duration: '0.3s' } }),
                  route({ prefix: '/grpc-capped' }, 'slow', { timeout: '0s', max_stream_duration: { grpc_timeout_header_max: '0.5s' } }),
                  route({ prefix: '/grpc-ignored' }, 'slow', { timeout: '0.4s' }),
                  route({ prefix: '/capped-cluster' }, 'capped', { timeout: '0s' }),
                  route({ prefix: '/blackhole' }, 'blackhole'),
                ],
              },
            ],
          }),
        ]),
        hcmListener('request-timeout', { request_timeout: '0.4s' }),
        hcmListener('stream-idle', { stream_idle_timeout: '0.4s' }),
        hcmListener('headers-timeout', { request_headers_timeout: '0.3s' }),
        // HTTP1 codec: an AUTO plaintext listener first waits for bytes to tell HTTP/1 from HTTP/2.
        hcmListener('idle-conn', { codec_type: 'HTTP1', common_http_protocol_options: { idle_timeout: '0.4s' } }),
        hcmListener('hcm-msd', { common_http_protocol_options: { max_stream_duration: '0.4s' } }),
        hcmListener('max-conn-duration', { codec_type: 'HTTP1', common_http_protocol_options: { max_connection_duration: '0.4s' } }),
      ],
      [
        staticCluster('slow', [up.port]),
        staticCluster('capped', [up.port], { common_http_protocol_options: { max_stream_duration: '0.3s' } }),
        staticCluster('blackhole', [blackholePort], {
          connect_timeout: '0.3s',
          transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': UPSTREAM_TLS, sni: 'blackhole.test' } },
        }),
      ],
    ),
  );
});

after(async () => {
  for (const r of raws) r.close();
  await sc?.stop();
  await closeAll(up);
  for (const s of blackholeSockets) s.destroy();
  await new Promise<void>((r) => (blackhole ? blackhole.close(() => r()) : r()));
});

async function get(listenerName: string, path: string, headers: Record<string, string> = {}) {
  const id = testId(path.slice(1).replace(/\W/g, '-'));
  const started = performance.now();
  const res = await send(`${sc!.url(listenerName)}${path}`, { headers: { ...headers, 'x-test-id': id } });
  const elapsed = performance.now() - started;
  const line = await sc!.waitForAccess(id);
  return { id, res, line, flags: flagList(line), elapsed };
}

async function stats(): Promise<string> {
  return (await send(`${sc!.admin}/stats/prometheus`)).text;
}

/** Resolves when the raw connection's socket has closed (deadline: 10 s). */
function closed(r: RawConnection): Promise<void> {
  if (r.socket.destroyed) return Promise.resolve();
  return withTimeout(new Promise<void>((resolve) => r.socket.once('close', () => resolve())), 10_000, 'the proxy to close the connection');
}

async function raw(listenerName: string): Promise<RawConnection> {
  const r = await RawConnection.open(sc!.port(listenerName));
  raws.push(r);
  return r;
}

test('per_try_timeout: the first attempt stalls, is cut after 0.3 s and the retry answers', T, async () => {
  const c = { envoy_cluster_name: 'slow' };
  const before1 = promValue(await stats(), 'envoy_cluster_upstream_rq_per_try_timeout', c);
  const { id, res, flags, elapsed } = await get('ingress', '/per-try/once', { 'x-fail-first': '1', 'x-fail-mode': 'stall' });
  assert.equal(res.status, 200);
  assert.deepEqual(seenFor(up!, id).map((s) => s.headers['x-envoy-attempt-count']), ['1', '2']);
  assert.deepEqual(flags, []);
  assert.ok(elapsed >= 250 && elapsed < 10_000, `elapsed ${elapsed} ms`);
  assert.equal(promValue(await stats(), 'envoy_cluster_upstream_rq_per_try_timeout', c) - before1, 1);
});

test('per_try_timeout on every attempt: 3 attempts, then 504 "upstream request timeout" with UT', T, async () => {
  const { id, res, flags, line, elapsed } = await get('ingress', '/per-try/always', { 'x-always': 'stall' });
  assert.equal(res.status, 504);
  assert.equal(res.text, 'upstream request timeout');
  assert.ok(flags.includes('UT'), line.raw);
  assert.equal(seenFor(up!, id).length, 3);
  assert.ok(elapsed >= 800, `three per-try timeouts of 0.3 s took ${elapsed} ms`);
});

test('route timeout spans the retries: 0.7 s with 0.3 s per try ends after 2-3 attempts with 504 UT', T, async () => {
  const c = { envoy_cluster_name: 'slow' };
  const before1 = promValue(await stats(), 'envoy_cluster_upstream_rq_timeout', c);
  const { id, res, flags, line, elapsed } = await get('ingress', '/route-timeout/x', { 'x-always': 'stall' });
  assert.equal(res.status, 504);
  assert.ok(flags.includes('UT'), line.raw);
  const attempts = seenFor(up!, id).length;
  assert.ok(attempts >= 2 && attempts <= 3, `${attempts} attempts within the route timeout`);
  assert.ok(elapsed >= 650 && elapsed < 10_000, `elapsed ${elapsed} ms`);
  assert.equal(promValue(await stats(), 'envoy_cluster_upstream_rq_timeout', c) - before1, 1);
});

test('route idle_timeout: an upstream that never answers gets 504 "stream timeout" with SI', T, async () => {
  const { res, flags, line, elapsed } = await get('ingress', '/idle/stall', { 'x-always': 'stall' });
  assert.equal(res.status, 504, 'the request was complete, so 504 rather than 408');
  assert.equal(res.text, 'stream timeout');
  assert.ok(flags.includes('SI'), line.raw);
  assert.ok(elapsed >= 250, `elapsed ${elapsed} ms`);
  assert.ok(promValue(await stats(), 'envoy_http_downstream_rq_idle_timeout', { envoy_http_conn_manager_prefix: 'ingress_http' }) >= 1);
});

test('route idle_timeout after the response started: the stream is reset and logged with SI', T, async () => {
  const id = testId('idle-body');
  await assert.rejects(send(`${sc!.url('ingress')}/idle/body`, { headers: { 'x-test-id': id, 'x-stall-body': '1' } }));
  const line = await sc!.waitForAccess(id);
  assert.equal(line.code, 200);
  assert.ok(flagList(line).includes('SI'), line.raw);
});

test('route idle_timeout: an upstream answering within it is not cut', T, async () => {
  const { res } = await get('ingress', '/idle/slow-enough', { 'x-delay-ms': '100' });
  assert.equal(res.status, 200);
});

test('route max_stream_duration: 504 "downstream duration timeout" for a slow upstream', T, async () => {
  const { res, flags, elapsed } = await get('ingress', '/msd/slow', { 'x-delay-ms': '5000' });
  assert.equal(res.status, 504);
  assert.equal(res.text, 'downstream duration timeout');
  assert.deepEqual(flags, []);
  assert.ok(elapsed >= 250 && elapsed < 4000, `elapsed ${elapsed} ms`);
  assert.ok(promValue(await stats(), 'envoy_http_downstream_rq_max_duration_reached', { envoy_http_conn_manager_prefix: 'ingress_http' }) >= 1);
});

test('connection manager max_stream_duration applies to routes without their own', T, async () => {
  const { res, elapsed } = await get('hcm-msd', '/slow', { 'x-delay-ms': '5000' });
  assert.equal(res.status, 504);
  assert.equal(res.text, 'downstream duration timeout');
  assert.ok(elapsed >= 350 && elapsed < 4000, `elapsed ${elapsed} ms`);
});

const GRPC = { 'content-type': 'application/grpc', te: 'trailers' };

test('grpc-timeout is honoured when the route sets grpc_timeout_header_max: DEADLINE_EXCEEDED (grpc-status 4)', T, async () => {
  const { res, elapsed } = await get('ingress', '/grpc-capped/Svc/Call', { ...GRPC, 'grpc-timeout': '200m', 'x-delay-ms': '5000' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['grpc-status'], '4');
  assert.ok(elapsed >= 150 && elapsed < 4000, `elapsed ${elapsed} ms`);
});

test('grpc-timeout above grpc_timeout_header_max is capped at it', T, async () => {
  const { res, elapsed } = await get('ingress', '/grpc-capped/Svc/Call', { ...GRPC, 'grpc-timeout': '60S', 'x-delay-ms': '5000' });
  assert.equal(res.headers['grpc-status'], '4');
  assert.ok(elapsed >= 450 && elapsed < 4500, `capped at 0.5 s, took ${elapsed} ms`);
});

test('without grpc_timeout_header_max, grpc-timeout is ignored and the route timeout decides (UNAVAILABLE, UT)', T, async () => {
  const { res, flags, line, elapsed } = await get('ingress', '/grpc-ignored/Svc/Call', { ...GRPC, 'grpc-timeout': '50m', 'x-delay-ms': '5000' });
  assert.equal(res.headers['grpc-status'], '14');
  assert.ok(flags.includes('UT'), line.raw);
  assert.ok(elapsed >= 350, `the 50 ms grpc-timeout was not used (took ${elapsed} ms)`);
});

test('cluster max_stream_duration: the attempt is cut, 504 with UMSDR and upstream_rq_max_duration_reached', T, async () => {
  const { res, flags, line } = await get('ingress', '/capped-cluster/x', { 'x-delay-ms': '5000' });
  assert.equal(res.status, 504);
  assert.equal(res.text, 'upstream max stream duration reached');
  assert.ok(flags.includes('UMSDR'), line.raw);
  assert.equal(promValue(await stats(), 'envoy_cluster_upstream_rq_max_duration_reached', { envoy_cluster_name: 'capped' }), 1);
});

test('connect_timeout: a TLS handshake that never completes fails after 0.3 s with 503 UF "connection timeout"', T, async () => {
  const { res, flags, line, elapsed } = await get('ingress', '/blackhole/x');
  assert.equal(res.status, 503);
  assert.match(res.text, /reset reason: connection timeout/);
  assert.ok(flags.includes('UF'), line.raw);
  assert.ok(elapsed >= 250 && elapsed < 10_000, `elapsed ${elapsed} ms`);
  const text = await stats();
  assert.equal(promValue(text, 'envoy_cluster_upstream_cx_connect_timeout', { envoy_cluster_name: 'blackhole' }), 1);
  assert.equal(promValue(text, 'envoy_cluster_upstream_cx_connect_fail', { envoy_cluster_name: 'blackhole' }), 1);
});

test('request_timeout: a request body that stops arriving gets 408 "request timeout"', T, async () => {
  const r = await raw('request-timeout');
  await r.write('POST /upload HTTP/1.1\r\nHost: t\r\ncontent-length: 10\r\n\r\nhello');
  const res = await r.readResponse();
  assert.equal(res.status, 408);
  assert.equal(res.body.toString(), 'request timeout');
});

test('stream_idle_timeout: a request body that stops arriving gets 408 "stream timeout"', T, async () => {
  const r = await raw('stream-idle');
  await r.write('POST /upload HTTP/1.1\r\nHost: t\r\ncontent-length: 10\r\n\r\nhello');
  const res = await r.readResponse();
  assert.equal(res.status, 408);
  assert.equal(res.body.toString(), 'stream timeout');
});

test('request_headers_timeout: headers that never finish get 408 and the connection closes', T, async () => {
  const r = await raw('headers-timeout');
  await r.write('GET / HTTP/1.1\r\nHost: t\r\n');
  const res = await r.readResponse();
  assert.equal(res.status, 408);
  await closed(r);
});

test('idle_timeout: a keep-alive connection without requests is closed, before and after a request', T, async () => {
  const fresh = await raw('idle-conn');
  const used = await raw('idle-conn');
  await used.write('GET /one HTTP/1.1\r\nHost: t\r\n\r\n');
  const res = await used.readResponse();
  assert.equal(res.status, 200);
  await Promise.all([closed(fresh), closed(used)]);
});

test('max_connection_duration: a busy keep-alive connection is closed once it is older than the limit', T, async () => {
  const r = await raw('max-conn-duration');
  await r.write('GET /first HTTP/1.1\r\nHost: t\r\n\r\n');
  assert.equal((await r.readResponse()).status, 200);
  // Idle timeout is 1 h on this listener: only max_connection_duration can close the connection.
  await closed(r);
});
