// End-to-end circuit breaking: max_connections with max_pending_requests, and max_requests, against an upstream that holds requests; overflow replies, counters and gauges.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, flagList, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { send, testId, type SimpleResponse } from '../helpers/http-client.ts';
import { closeAll } from '../helpers/http-upstreams.ts';
import { promValue, startFaultyUpstream, type FaultyUpstream } from '../helpers/faulty-upstream.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { pollUntil } from '../helpers/wait.ts';

const T = { timeout: 60_000 };
const OVERFLOW_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: overflow';

let sc: Sidecar | undefined;
let up: FaultyUpstream | undefined;
let base = '';

before(async () => {
  up = await startFaultyUpstream('held');
  sc = await startSidecar(
    bootstrap(
      [
        listener('ingress', [
          httpConnectionManager({
            virtualHosts: [
              {
                name: 'breakers',
                domains: ['*'],
                routes: [route({ prefix: '/pending' }, 'pending'), route({ prefix: '/requests' }, 'requests'), route({ prefix: '/open' }, 'open')],
              },
            ],
          }),
        ]),
      ],
      [
        staticCluster('pending', [up.port], { circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1 }] } }),
        staticCluster('requests', [up.port], { circuit_breakers: { thresholds: [{ max_requests: 2 }] } }),
        staticCluster('open', [up.port]),
      ],
    ),
  );
  base = sc.url('ingress');
});

after(async () => {
  up?.release();
  await sc?.stop();
  await closeAll(up);
});

async function stats(): Promise<string> {
  return (await send(`${sc!.admin}/stats/prometheus`)).text;
}

async function stat(metric: string, cluster: string): Promise<number> {
  return promValue(await stats(), metric, { envoy_cluster_name: cluster });
}

/** Starts a request that the upstream holds until release(); resolves with the response later. */
function held(path: string): { id: string; done: Promise<SimpleResponse> } {
  const id = testId(path.slice(1).replace(/\W/g, '-'));
  return { id, done: send(`${base}${path}`, { headers: { 'x-test-id': id, 'x-hold': '1' }, timeoutMs: 30_000 }) };
}

test('max_connections 1 + max_pending_requests 1: one request active, one pending, the third gets 503 UO at once', T, async () => {
  const a = held('/pending/a');
  await up!.waitForRequest((s) => s.headers['x-test-id'] === a.id);
  const b = held('/pending/b');
  await pollUntil(async () => (await stat('envoy_cluster_upstream_rq_pending_active', 'pending')) === 1, { timeoutMs: 10_000, what: 'b to wait for the connection' });
  const text = await stats();
  const c = { envoy_cluster_name: 'pending' };
  assert.equal(promValue(text, 'envoy_cluster_circuit_breakers_default_rq_pending_open', c), 1);
  assert.equal(promValue(text, 'envoy_cluster_circuit_breakers_default_remaining_pending', c), 0);
  assert.equal(promValue(text, 'envoy_cluster_circuit_breakers_default_cx_open', c), 1);
  assert.equal(promValue(text, 'envoy_cluster_circuit_breakers_default_remaining_cx', c), 0);
  assert.equal(promValue(text, 'envoy_cluster_upstream_cx_overflow', c), 1, 'b found the only connection busy');

  const id = testId('pending-c');
  const overflow = await send(`${base}/pending/c`, { headers: { 'x-test-id': id, 'x-hold': '1' } });
  assert.equal(overflow.status, 503);
  assert.equal(overflow.headers['x-envoy-overloaded'], 'true');
  assert.equal(overflow.text, OVERFLOW_BODY);
  const line = await sc!.waitForAccess(id);
  assert.deepEqual(flagList(line), ['UO']);
  assert.equal(up!.seen.filter((s) => s.headers['x-test-id'] === id).length, 0, 'the overflowing request never reached the upstream');
  assert.equal(await stat('envoy_cluster_upstream_rq_pending_overflow', 'pending'), 1);

  // Answering a lets b use the connection; both succeed.
  up!.release();
  assert.equal((await a.done).status, 200);
  await up!.waitForRequest((s) => s.headers['x-test-id'] === b.id);
  up!.release();
  assert.equal((await b.done).status, 200);
  await pollUntil(async () => (await stat('envoy_cluster_circuit_breakers_default_rq_pending_open', 'pending')) === 0, { timeoutMs: 10_000, what: 'the pending breaker to close' });
  assert.equal(await stat('envoy_cluster_upstream_rq_pending_active', 'pending'), 0);
  assert.equal(await stat('envoy_cluster_circuit_breakers_default_remaining_pending', 'pending'), 1);
});

test('max_requests 2: the third concurrent request gets 503 UO with x-envoy-overloaded; rq_open while full', T, async () => {
  const a = held('/requests/a');
  const b = held('/requests/b');
  await up!.waitForRequest((s) => s.headers['x-test-id'] === a.id);
  await up!.waitForRequest((s) => s.headers['x-test-id'] === b.id);
  const c = { envoy_cluster_name: 'requests' };
  let text = await stats();
  assert.equal(promValue(text, 'envoy_cluster_circuit_breakers_default_rq_open', c), 1);
  assert.equal(promValue(text, 'envoy_cluster_circuit_breakers_default_remaining_rq', c), 0);

  const overflow = await send(`${base}/requests/c`, { headers: { 'x-hold': '1' } });
  assert.equal(overflow.status, 503);
  assert.equal(overflow.headers['x-envoy-overloaded'], 'true');
  assert.equal(await stat('envoy_cluster_upstream_rq_pending_overflow', 'requests'), 1);

  up!.release();
  assert.equal((await a.done).status, 200);
  assert.equal((await b.done).status, 200);
  await pollUntil(async () => (await stat('envoy_cluster_circuit_breakers_default_rq_open', 'requests')) === 0, { timeoutMs: 10_000, what: 'the request breaker to close' });
  text = await stats();
  assert.equal(promValue(text, 'envoy_cluster_circuit_breakers_default_remaining_rq', c), 2);
  const after1 = await send(`${base}/requests/d`);
  assert.equal(after1.status, 200, 'requests flow again once capacity is back');
});

test('every cluster exposes its breakers: closed, with the Envoy default capacities remaining', T, async () => {
  const text = await stats();
  const c = { envoy_cluster_name: 'open' };
  for (const g of ['cx_open', 'rq_pending_open', 'rq_open', 'rq_retry_open']) {
    assert.equal(promValue(text, `envoy_cluster_circuit_breakers_default_${g}`, c), 0, g);
  }
  assert.equal(promValue(text, 'envoy_cluster_circuit_breakers_default_remaining_rq', c), 1024);
  assert.equal(promValue(text, 'envoy_cluster_circuit_breakers_default_remaining_pending', c), 1024);
  assert.equal(promValue(text, 'envoy_cluster_circuit_breakers_default_remaining_retries', c), 3);
  assert.ok(/^# TYPE envoy_cluster_circuit_breakers_default_rq_open gauge$/m.test(text));
});
