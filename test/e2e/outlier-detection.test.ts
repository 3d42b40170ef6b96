// End-to-end outlier detection: a real upstream that fails deterministically is ejected after exactly N failures, gets no traffic, and returns after its ejection time.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clusterStat, hostHealthFlags } from '../helpers/admin-reads.ts';
import { bootstrap, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { send } from '../helpers/http-client.ts';
import { closeAll, startHttpEcho, type HttpUpstream, type UpReq, type UpRes } from '../helpers/http-upstreams.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { closedPort } from '../helpers/socket-upstreams.ts';
import { pollUntil } from '../helpers/wait.ts';

const T = { timeout: 90_000 };
let sc: Sidecar | undefined;
let a: HttpUpstream | undefined;
let b: HttpUpstream | undefined;
let bad: HttpUpstream | undefined;
let deadPort = 0;
let base = '';
/** While true, "bad" answers /short/* with 503 too. */
let shortBroken = true;

/** "bad": 503 on /long/ and (while broken) /short/, 502 on /gw/; echo otherwise. */
function misbehave(req: UpReq, res: UpRes): boolean {
  const url = req.url ?? '';
  let status = 0;
  if (url.startsWith('/long/') || (url.startsWith('/short/') && shortBroken)) status = 503;
  else if (url.startsWith('/gw/')) status = 502;
  if (status === 0) return false;
  req.resume();
  req.on('end', () => { res.writeHead(status, { 'content-length': '0' }); res.end(); });
  return true;
}

before(async () => {
  a = await startHttpEcho('a');
  b = await startHttpEcho('b');
  bad = await startHttpEcho('bad', misbehave);
  deadPort = await closedPort();
  const ports = [a.port, b.port, bad.port];
  sc = await startSidecar(
    bootstrap(
      [
        listener('ingress', [
          httpConnectionManager({
            virtualHosts: [{
              name: 'outlier',
              domains: ['*'],
              routes: [
                route({ prefix: '/long/' }, 'long'),
                route({ prefix: '/short/' }, 'short'),
                route({ prefix: '/gw/' }, 'gw'),
                route({ prefix: '/local/' }, 'local'),
              ],
            }],
          }),
        ]),
      ],
      [
        staticCluster('long', ports, { outlier_detection: { consecutive_5xx: 3, interval: '1s', base_ejection_time: '300s' } }),
        staticCluster('short', ports, { outlier_detection: { consecutive_5xx: 3, interval: '0.1s', base_ejection_time: '0.5s' } }),
        staticCluster('gw', ports, {
          outlier_detection: { consecutive_5xx: 100, consecutive_gateway_failure: 2, enforcing_consecutive_gateway_failure: 100, base_ejection_time: '300s' },
        }),
        staticCluster('local', [a.port, deadPort], {
          outlier_detection: { split_external_local_origin_errors: true, consecutive_local_origin_failure: 2, max_ejection_percent: 50, base_ejection_time: '300s' },
        }),
      ],
    ),
  );
  base = sc.url('ingress');
});

after(async () => {
  await sc?.stop();
  await closeAll(a, b, bad);
});

const seenBy = (u: HttpUpstream | undefined, prefix: string): number => u!.seen.filter((s) => s.url.startsWith(prefix)).length;

/** Sends sequential requests under `prefix` until `failures` responses had status `status` (at most `limit` requests). */
async function sendUntilFailures(prefix: string, status: number, failures: number, limit = 30): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < limit && statuses.filter((s) => s === status).length < failures; i++) {
    statuses.push((await send(`${base}${prefix}${i}`)).status);
  }
  return statuses;
}

test('consecutive_5xx: 3 consecutive 503s eject the host; it then gets no traffic and /clusters and stats show it', T, async () => {
  const statuses = await sendUntilFailures('/long/', 503, 3);
  assert.equal(statuses.filter((s) => s === 503).length, 3);
  assert.equal(seenBy(bad, '/long/'), 3, 'exactly consecutive_5xx requests reached the failing host');
  assert.equal(await clusterStat(sc!, 'envoy_cluster_outlier_detection_ejections_enforced_consecutive_5xx', 'long'), 1);
  assert.equal(await clusterStat(sc!, 'envoy_cluster_outlier_detection_ejections_detected_consecutive_5xx', 'long'), 1);
  assert.equal(await clusterStat(sc!, 'envoy_cluster_outlier_detection_ejections_enforced_total', 'long'), 1);
  assert.equal(await clusterStat(sc!, 'envoy_cluster_outlier_detection_ejections_active', 'long'), 1);
  assert.equal(await hostHealthFlags(sc!, 'long', bad!.port), '/failed_outlier_check');
  assert.equal(await hostHealthFlags(sc!, 'long', a!.port), 'healthy');
  for (let i = 0; i < 20; i++) {
    const res = await send(`${base}/long/after-${i}`);
    assert.equal(res.status, 200);
    assert.notEqual(res.headers['x-upstream-name'], 'bad');
  }
  assert.equal(seenBy(bad, '/long/'), 3, 'no request reached the ejected host');
});

test('base_ejection_time: the ejected host returns after its time and serves again', T, async () => {
  const statuses = await sendUntilFailures('/short/', 503, 3);
  assert.equal(statuses.filter((s) => s === 503).length, 3);
  assert.equal(await clusterStat(sc!, 'envoy_cluster_outlier_detection_ejections_enforced_consecutive_5xx', 'short'), 1);
  shortBroken = false;
  await pollUntil(async () => (await clusterStat(sc!, 'envoy_cluster_outlier_detection_ejections_active', 'short')) === 0, {
    timeoutMs: 20_000, intervalMs: 50, what: 'the short cluster to return its ejected host',
  });
  assert.equal(await hostHealthFlags(sc!, 'short', bad!.port), 'healthy');
  const before = seenBy(bad, '/short/');
  let servedByBad = false;
  for (let i = 0; i < 6 && !servedByBad; i++) {
    const res = await send(`${base}/short/back-${i}`);
    assert.equal(res.status, 200);
    servedByBad = res.headers['x-upstream-name'] === 'bad';
  }
  assert.ok(servedByBad, 'round robin reached the returned host');
  assert.equal(seenBy(bad, '/short/'), before + 1);
});

test('consecutive_gateway_failure with enforcing 100: two 502s eject the host', T, async () => {
  const statuses = await sendUntilFailures('/gw/', 502, 2);
  assert.equal(statuses.filter((s) => s === 502).length, 2);
  assert.equal(await clusterStat(sc!, 'envoy_cluster_outlier_detection_ejections_enforced_consecutive_gateway_failure', 'gw'), 1);
  assert.equal(await clusterStat(sc!, 'envoy_cluster_outlier_detection_ejections_enforced_consecutive_5xx', 'gw'), 0);
  for (let i = 0; i < 9; i++) assert.equal((await send(`${base}/gw/after-${i}`)).status, 200);
  assert.equal(seenBy(bad, '/gw/'), 2);
});

test('consecutive_local_origin_failure (split errors): a refusing host is ejected after two connect failures', T, async () => {
  const statuses = await sendUntilFailures('/local/', 503, 2);
  assert.equal(statuses.filter((s) => s === 503).length, 2);
  assert.equal(await clusterStat(sc!, 'envoy_cluster_outlier_detection_ejections_enforced_consecutive_local_origin_failure', 'local'), 1);
  assert.equal(await hostHealthFlags(sc!, 'local', deadPort), '/failed_outlier_check');
  for (let i = 0; i < 10; i++) assert.equal((await send(`${base}/local/after-${i}`)).status, 200);
});
