// End-to-end retries against misbehaving upstreams: exact attempt counts, the host each attempt hit, flags, stats, the retry breaker and the retry budget bound.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { bootstrap, flagList, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { send, testId } from '../helpers/http-client.ts';
import { closeAll } from '../helpers/http-upstreams.ts';
import { promValue, seenFor, startFaultyUpstream, type FaultyUpstream } from '../helpers/faulty-upstream.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { closedPort } from '../helpers/socket-upstreams.ts';

const T = { timeout: 90_000 };
const FAST_BACKOFF = { base_interval: '0.001s', max_interval: '0.002s' };

let sc: Sidecar | undefined;
let solo: FaultyUpstream | undefined;
let trio: FaultyUpstream[] = [];
let failing: FaultyUpstream | undefined;
let deadPort = 0;
let base = '';

before(async () => {
  solo = await startFaultyUpstream('solo');
  const shared = new Map<string, number>();
  trio = [await startFaultyUpstream('a', shared), await startFaultyUpstream('b', shared), await startFaultyUpstream('c', shared)];
  failing = await startFaultyUpstream('failing');
  deadPort = await closedPort();
  const retry = (extra: Record<string, unknown> = {}) => ({ retry_on: '5xx,reset,connect-failure', num_retries: 3, retry_back_off: FAST_BACKOFF, ...extra });
  sc = await startSidecar(
    bootstrap(
      [
        listener('ingress', [
          httpConnectionManager({
            virtualHosts: [
              {
                name: 'retries',
                domains: ['*'],
                routes: [
                  route({ prefix: '/solo' }, 'solo', { retry_policy: retry() }),
                  route({ prefix: '/hosts' }, 'trio', {
                    retry_policy: retry({ num_retries: 2, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }] }),
                  }),
                  route({ prefix: '/refused' }, 'refused', { retry_policy: retry({ num_retries: 2 }) }),
                  route({ prefix: '/tight' }, 'tight', { retry_policy: retry() }),
                  // The budget routes keep Envoy's default back-off (25 ms base) and retry only on 5xx.
                  route({ prefix: '/budget' }, 'budget', { retry_policy: { retry_on: '5xx', num_retries: 3 } }),
                  route({ prefix: '/unbounded' }, 'unbounded', { retry_policy: { retry_on: '5xx', num_retries: 3 } }),
                ],
              },
            ],
          }),
        ]),
      ],
      [
        staticCluster('solo', [solo.port]),
        staticCluster('trio', trio.map((u) => u.port)),
        staticCluster('refused', [deadPort]),
        staticCluster('tight', [solo.port], { circuit_breakers: { thresholds: [{ max_retries: 0 }] } }),
        staticCluster('budget', [failing.port], {
          circuit_breakers: { thresholds: [{ max_retries: 1000, retry_budget: { budget_percent: { value: 20 }, min_retry_concurrency: 3 } }] },
        }),
        staticCluster('unbounded', [failing.port], { circuit_breakers: { thresholds: [{ max_retries: 1000 }] } }),
      ],
    ),
  );
  base = sc.url('ingress');
});

after(async () => {
  await sc?.stop();
  await closeAll(solo, failing, ...trio);
});

async function get(path: string, headers: Record<string, string> = {}) {
  const id = testId(path.slice(1).replace(/\W/g, '-'));
  const res = await send(`${base}${path}`, { headers: { ...headers, 'x-test-id': id } });
  const line = await sc!.waitForAccess(id);
  return { id, res, line, flags: flagList(line) };
}

async function stats(): Promise<string> {
  return (await send(`${sc!.admin}/stats/prometheus`)).text;
}

test('the first 2 attempts fail with 503: the third succeeds; the upstream saw attempts 1, 2, 3', T, async () => {
  const { id, res, flags } = await get('/solo/fail-first', { 'x-fail-first': '2' });
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.text).name, 'solo');
  const seen = seenFor(solo!, id);
  assert.deepEqual(seen.map((s) => s.headers['x-envoy-attempt-count']), ['1', '2', '3']);
  assert.deepEqual(flags, []);
});

test('every attempt fails: 1 + num_retries attempts, the last 503 is forwarded with URX', T, async () => {
  const { id, res, flags, line } = await get('/solo/always', { 'x-fail-first': '99' });
  assert.equal(res.status, 503);
  assert.equal(res.text, 'failed');
  assert.equal(seenFor(solo!, id).length, 4);
  assert.ok(flags.includes('URX'), line.raw);
});

test('the upstream resets the first attempt: retried on "reset", the second attempt answers', T, async () => {
  const { id, res } = await get('/solo/reset', { 'x-fail-first': '1', 'x-fail-mode': 'reset' });
  assert.equal(res.status, 200);
  assert.equal(seenFor(solo!, id).length, 2);
});

test('previous_hosts: each attempt goes to a host not tried before, the third host answers', T, async () => {
  const { id, res, line } = await get('/hosts/spread', { 'x-fail-first': '2' });
  assert.equal(res.status, 200);
  const byAttempt = new Map<string, string>();
  for (const up of trio) for (const s of seenFor(up, id)) byAttempt.set(String(s.headers['x-envoy-attempt-count']), up.name);
  assert.equal(byAttempt.size, 3, `attempts: ${JSON.stringify([...byAttempt])}`);
  assert.equal(new Set(byAttempt.values()).size, 3, 'three attempts, three different hosts');
  const last = trio.find((u) => u.name === byAttempt.get('3'))!;
  assert.equal(JSON.parse(res.text).name, last.name);
  assert.equal(line.upstreamHost, `127.0.0.1:${last.port}`, 'the access log names the host of the last attempt');
});

test('connection refused on every attempt: 3 connect attempts, 503 UF with URX, counted in stats', T, async () => {
  const before1 = await stats();
  const cluster = { envoy_cluster_name: 'refused' };
  const { res, flags, line } = await get('/refused/x');
  assert.equal(res.status, 503);
  assert.match(res.text, /connection failure/);
  assert.ok(flags.includes('UF') && flags.includes('URX'), line.raw);
  const after1 = await stats();
  assert.equal(promValue(after1, 'envoy_cluster_upstream_cx_connect_fail', cluster) - promValue(before1, 'envoy_cluster_upstream_cx_connect_fail', cluster), 3);
  assert.equal(promValue(after1, 'envoy_cluster_upstream_rq_retry', cluster) - promValue(before1, 'envoy_cluster_upstream_rq_retry', cluster), 2);
});

test('max_retries 0: no retry happens; the 503 is forwarded with UO and counted as upstream_rq_retry_overflow', T, async () => {
  const { id, res, flags, line } = await get('/tight/x', { 'x-fail-first': '1' });
  assert.equal(res.status, 503);
  assert.equal(seenFor(solo!, id).length, 1);
  assert.ok(flags.includes('UO'), line.raw);
  assert.ok(!flags.includes('URX'), line.raw);
  assert.equal(promValue(await stats(), 'envoy_cluster_upstream_rq_retry_overflow', { envoy_cluster_name: 'tight' }), 1);
});

/**
 * Sends `total` requests with `concurrency` in flight to a backend that fails every request with 503 after 20 ms,
 * so about `concurrency` requests are active at the proxy all along (steady load); returns the statuses.
 */
async function load(path: string, total: number, concurrency: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses: number[] = [];
  let next = 0;
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const req = http.get(`${base}${path}`, { agent, headers: { 'x-always': '503', 'x-delay-ms': '20' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.setTimeout(15_000, () => req.destroy(new Error('load request timed out')));
    });
  const worker = async () => {
    while (next < total) {
      next++;
      statuses.push(await one());
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return statuses;
}

test('retry budget 20 %: a fully failing backend under steady load sees at most 1.2x the client requests', T, async () => {
  const before1 = failing!.seen.length;
  const statuses = await load('/budget/storm', 200, 20);
  assert.equal(statuses.length, 200);
  assert.ok(statuses.every((s) => s === 503));
  const upstreamSaw = failing!.seen.length - before1;
  assert.ok(upstreamSaw >= 200, `every client request reached the upstream once (saw ${upstreamSaw})`);
  assert.ok(upstreamSaw <= 240, `with a 20 % budget the upstream saw ${upstreamSaw} requests for 200 client requests`);
  const text = await stats();
  assert.ok(promValue(text, 'envoy_cluster_upstream_rq_retry_overflow', { envoy_cluster_name: 'budget' }) > 0, 'the budget refused retries');
  assert.equal(promValue(text, 'envoy_cluster_upstream_rq_retry', { envoy_cluster_name: 'budget' }), upstreamSaw - 200);
});

test('control: without a budget (max_retries 1000) the same load becomes a 4x retry storm', T, async () => {
  const before1 = failing!.seen.length;
  await load('/unbounded/storm', 100, 20);
  const upstreamSaw = failing!.seen.length - before1;
  assert.equal(upstreamSaw, 400, 'every request made 1 + 3 attempts');
});
