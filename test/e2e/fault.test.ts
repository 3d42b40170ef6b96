// End-to-end fault injection: aborts (fixed, per route, header-driven, gRPC), delays (fixed and header-driven), FI/DI flags, stats, and a bad config rejected at startup.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { bootstrap, flagList, http2Upstream, httpConnectionManager, listener, route, routerFilter, staticCluster } from '../helpers/bootstrap.ts';
import { echoClient, startGrpcServer, type EchoClient, type EchoReply, type GrpcUpstream } from '../helpers/grpc-upstream.ts';
import { send, testId } from '../helpers/http-client.ts';
import { closeAll, startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { runPilotfish, startSidecar, tempDir, writeBootstrap, type Sidecar } from '../helpers/sidecar.ts';
import { withTimeout } from '../helpers/wait.ts';

const T = { timeout: 60_000 };
const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const ALL = { numerator: 100, denominator: 'HUNDRED' };
const FAULT = 'envoy.filters.http.fault';

/** The filter-level config: faults only when the client asks for them with x-envoy-fault-* headers. */
const headerControlled = {
  name: FAULT,
  typed_config: { '@type': FAULT_TYPE, max_active_faults: 100, abort: { header_abort: {}, percentage: ALL }, delay: { header_delay: {}, percentage: ALL } },
};
const perRoute = (config: object) => ({ typed_per_filter_config: { [FAULT]: { '@type': FAULT_TYPE, ...config } } });

let sc: Sidecar | undefined;
let up: HttpUpstream | undefined;
let grpcUp: GrpcUpstream | undefined;
let client: EchoClient | undefined;
let base = '';

before(async () => {
  up = await startHttpEcho('app');
  grpcUp = await startGrpcServer('grpc-app');
  sc = await startSidecar(
    bootstrap(
      [
        listener('ingress', [
          httpConnectionManager({
            virtualHosts: [{
              name: 'chaos',
              domains: ['*'],
              routes: [
                route({ prefix: '/abort-all' }, 'app', {}, perRoute({ abort: { http_status: 503, percentage: ALL } })),
                route({ prefix: '/slow' }, 'app', {}, perRoute({ delay: { fixed_delay: '0.3s', percentage: ALL } })),
                route({ prefix: '/pilotfish.test.Echo/Unary', grpc: {} }, 'grpc_app', {}, perRoute({ abort: { grpc_status: 9, percentage: ALL } })),
                route({ prefix: '/pilotfish.test.Echo/', grpc: {} }, 'grpc_app'),
                route({ prefix: '/' }, 'app'),
              ],
            }],
            extra: { http_filters: [headerControlled, routerFilter] },
          }),
        ]),
      ],
      [staticCluster('app', [up.port]), staticCluster('grpc_app', [grpcUp.port], http2Upstream())],
    ),
  );
  base = sc.url('ingress');
  client = echoClient(`127.0.0.1:${sc.port('ingress')}`);
});

after(async () => {
  client?.close();
  await sc?.stop();
  await closeAll(up, grpcUp);
});

async function get(p: string, headers: Record<string, string> = {}) {
  const id = testId(p.replace(/\W/g, ''));
  const started = performance.now();
  const res = await send(`${base}${p}`, { headers: { ...headers, 'x-test-id': id } });
  const elapsedMs = performance.now() - started;
  const line = await sc!.waitForAccess(id);
  return { res, line, flags: flagList(line), elapsedMs, id };
}

test('abort at 100 % on a route: its status, "fault filter abort", FI in the access log, upstream untouched', T, async () => {
  const { res, line, flags, id } = await get('/abort-all/x');
  assert.equal(res.status, 503);
  assert.equal(res.text, 'fault filter abort');
  assert.equal(line.code, 503);
  assert.deepEqual(flags, ['FI']);
  assert.equal(up!.seen.some((s) => s.headers['x-test-id'] === id), false);
});

test('without fault headers the header-controlled filter lets requests through (no flags)', T, async () => {
  const { res, flags } = await get('/plain');
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-upstream-name'], 'app');
  assert.deepEqual(flags, []);
});

test('header-driven abort: x-envoy-fault-abort-request picks the status', T, async () => {
  const { res, flags } = await get('/anything', { 'x-envoy-fault-abort-request': '418' });
  assert.equal(res.status, 418);
  assert.deepEqual(flags, ['FI']);
});

test('header-driven delay: x-envoy-fault-delay-request holds the request, then it is proxied (DI)', T, async () => {
  const { res, flags, elapsedMs } = await get('/delayed', { 'x-envoy-fault-delay-request': '400' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-upstream-name'], 'app');
  assert.deepEqual(flags, ['DI']);
  assert.ok(elapsedMs >= 300, `a 400 ms delay took only ${elapsedMs.toFixed(0)} ms`);
});

test('delay then abort: both flags, the abort status', T, async () => {
  const { res, flags } = await get('/both', { 'x-envoy-fault-delay-request': '50', 'x-envoy-fault-abort-request': '500' });
  assert.equal(res.status, 500);
  assert.deepEqual(flags, ['DI', 'FI']);
});

test('fixed delay on a route adds at least its duration', T, async () => {
  const { res, flags, elapsedMs } = await get('/slow/y');
  assert.equal(res.status, 200);
  assert.deepEqual(flags, ['DI']);
  assert.ok(elapsedMs >= 200, `a 300 ms delay took only ${elapsedMs.toFixed(0)} ms`);
});

function unary(c: EchoClient, md: grpc.Metadata): Promise<grpc.ServiceError | EchoReply> {
  return withTimeout(
    new Promise((resolve) => c.Unary({ message: 'hi' }, md, { deadline: Date.now() + 20_000 }, (err, v) => resolve(err ?? v!))),
    30_000, 'unary call',
  );
}

test('gRPC abort (grpc_status on the route): the client gets exactly that status', T, async () => {
  const md = new grpc.Metadata();
  const id = testId('grpc-abort');
  md.set('x-test-id', id);
  const r = await unary(client!, md);
  assert.ok(r instanceof Error, 'the call must fail');
  assert.equal((r as grpc.ServiceError).code, grpc.status.FAILED_PRECONDITION);
  assert.equal((r as grpc.ServiceError).details, 'fault filter abort');
  const line = await sc!.waitForAccess(id);
  assert.equal(line.code, 200, 'trailers-only response: HTTP 200');
  assert.deepEqual(flagList(line), ['FI']);
});

test('gRPC header-driven abort: x-envoy-fault-abort-grpc-request sets the status; without it the call reaches the server', T, async () => {
  const md = new grpc.Metadata();
  md.set('x-envoy-fault-abort-grpc-request', '14');
  const err = await withTimeout(
    new Promise<grpc.ServiceError | null>((resolve) => client!.Fail({ code: grpc.status.INVALID_ARGUMENT, message: 'from server', trailers: {} }, md, { deadline: Date.now() + 20_000 }, (e) => resolve(e))),
    30_000, 'Fail call',
  );
  assert.equal(err?.code, grpc.status.UNAVAILABLE);
  const plain = await withTimeout(
    new Promise<grpc.ServiceError | null>((resolve) => client!.Fail({ code: grpc.status.INVALID_ARGUMENT, message: 'from server', trailers: {} }, new grpc.Metadata(), { deadline: Date.now() + 20_000 }, (e) => resolve(e))),
    30_000, 'Fail call',
  );
  assert.equal(plain?.code, grpc.status.INVALID_ARGUMENT, 'reached the server');
});

test('stats: http.<prefix>.fault.* in Prometheus form', T, async () => {
  const text = (await send(`${sc!.admin}/stats/prometheus`)).text;
  const value = (name: string) => Number(new RegExp(`^${name}\\{envoy_http_conn_manager_prefix="ingress_http"\\} (\\d+)`, 'm').exec(text)?.[1]);
  assert.ok(value('envoy_http_fault_aborts_injected') >= 5, text.split('\n').filter((l) => l.includes('fault')).join('\n'));
  assert.ok(value('envoy_http_fault_delays_injected') >= 3);
  assert.equal(value('envoy_http_fault_active_faults'), 0);
});

test('a fault config with percentage denominator "BOGUS" is rejected at startup with a line naming the field', T, async () => {
  const dir = tempDir();
  try {
    const bad = bootstrap(
      [listener('chaos', [httpConnectionManager({
        virtualHosts: [{ name: 'all', domains: ['*'], routes: [route({ prefix: '/' }, 'app')] }],
        extra: { http_filters: [{ name: FAULT, typed_config: { '@type': FAULT_TYPE, abort: { http_status: 503, percentage: { numerator: 5, denominator: 'BOGUS' } } } }, routerFilter] },
      })])],
      [staticCluster('app', [1])],
    );
    const file = writeBootstrap(bad, dir);
    const r = await runPilotfish(['proxy', '-c', file, '--admin-address-path', path.join(dir, 'admin'), '--concurrency', '1']);
    assert.equal(r.timedOut, false, 'pilotfish kept running on a bad config');
    assert.notEqual(r.code, 0);
    const line = r.stderr.split('\n').find((l) => l.includes('abort.percentage.denominator'));
    assert.ok(line, `expected a line naming abort.percentage.denominator, got:\n${r.stderr.slice(0, 2000)}`);
    assert.match(line, /listener "chaos".*http_filters\[0\]\.typed_config\.abort\.percentage\.denominator.*BOGUS/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
