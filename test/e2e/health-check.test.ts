// End-to-end active health checking against real upstreams: HTTP checks take a failing host out and bring it back, TCP and gRPC checks, and the panic threshold.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clusterStat, hostHealthFlags } from '../helpers/admin-reads.ts';
import { bootstrap, http2Upstream, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { NOT_SERVING, SERVING, startGrpcHealthServer, type GrpcHealthServer } from '../helpers/grpc-health.ts';
import { send } from '../helpers/http-client.ts';
import { closeAll, startHttpEcho, type HttpUpstream, type UpReq, type UpRes } from '../helpers/http-upstreams.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { closedPort } from '../helpers/socket-upstreams.ts';
import { pollUntil } from '../helpers/wait.ts';

const T = { timeout: 90_000 };
/** Fast checks; no_traffic_interval too, so checks do not slow down before the first request. */
const FAST = { timeout: '1s', interval: '0.1s', no_traffic_interval: '0.1s', unhealthy_threshold: 2, healthy_threshold: 2 };

let sc: Sidecar | undefined;
const ups: Record<string, HttpUpstream> = {};
let grpcHealth: GrpcHealthServer | undefined;
let deadPort = 0;
let base = '';
/** What /health answers on each upstream (200 unless set); /health-panic always answers 503. */
const health: Record<string, number> = { c: 503 };

function healthEndpoint(req: UpReq, res: UpRes, name: string): boolean {
  const url = req.url ?? '';
  if (url !== '/health' && url !== '/health-panic') return false;
  const status = url === '/health-panic' ? 503 : (health[name] ?? 200);
  req.resume();
  req.on('end', () => { res.writeHead(status, { 'content-length': '0' }); res.end(); });
  return true;
}

before(async () => {
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) ups[name] = await startHttpEcho(name, healthEndpoint);
  grpcHealth = await startGrpcHealthServer();
  grpcHealth.statuses.set('pay.Payments', SERVING);
  deadPort = await closedPort();
  const abc = [ups.a.port, ups.b.port, ups.c.port];
  const def = [ups.d.port, ups.e.port, ups.f.port];
  const panicChecks = [{ ...FAST, http_health_check: { path: '/health-panic' } }];
  sc = await startSidecar(
    bootstrap(
      [
        listener('ingress', [
          httpConnectionManager({
            virtualHosts: [{
              name: 'hc',
              domains: ['*'],
              routes: [
                route({ prefix: '/hc/' }, 'hc'),
                route({ prefix: '/panic/' }, 'panic'),
                route({ prefix: '/nopanic/' }, 'nopanic'),
                route({ prefix: '/tcp/' }, 'tcp'),
              ],
            }],
          }),
        ]),
      ],
      [
        staticCluster('hc', abc, { health_checks: [{ ...FAST, http_health_check: { path: '/health', host: 'hc.local' } }] }),
        staticCluster('panic', def, { health_checks: panicChecks }),
        staticCluster('nopanic', def, { health_checks: panicChecks, common_lb_config: { healthy_panic_threshold: { value: 0 } } }),
        staticCluster('tcp', [ups.a.port, deadPort], { health_checks: [{ ...FAST, tcp_health_check: {} }] }),
        staticCluster('grpc', [grpcHealth.port], {
          ...http2Upstream(),
          health_checks: [{ ...FAST, healthy_threshold: 1, grpc_health_check: { service_name: 'pay.Payments' } }],
        }),
      ],
    ),
  );
  base = sc.url('ingress');
});

after(async () => {
  await sc?.stop();
  await closeAll(...Object.values(ups), grpcHealth);
});

async function waitForFlags(cluster: string, port: number, flags: string): Promise<void> {
  await pollUntil(async () => (await hostHealthFlags(sc!, cluster, port)) === flags, {
    timeoutMs: 20_000, intervalMs: 50, what: `${cluster} host ${port} to show health_flags ${flags}`,
  });
}

const served = (u: HttpUpstream, prefix: string): number => u.seen.filter((s) => s.url.startsWith(prefix)).length;

test('HTTP health check: a host whose /health answers 503 is taken out, and comes back once it answers 200', T, async () => {
  await waitForFlags('hc', ups.c.port, '/failed_active_hc');
  await waitForFlags('hc', ups.a.port, 'healthy');
  await waitForFlags('hc', ups.b.port, 'healthy');
  const probe = ups.a.seen.find((s) => s.url === '/health')!;
  assert.equal(probe.headers.host, 'hc.local');
  assert.equal(probe.headers['user-agent'], 'Envoy/HC');
  for (let i = 0; i < 12; i++) {
    const res = await send(`${base}/hc/${i}`);
    assert.equal(res.status, 200);
  }
  assert.equal(served(ups.c, '/hc/'), 0, 'no traffic to the failing host');
  assert.equal(await clusterStat(sc!, 'envoy_cluster_health_check_healthy', 'hc'), 2);
  assert.ok((await clusterStat(sc!, 'envoy_cluster_health_check_failure', 'hc'))! >= 1);

  health.c = 200;
  await waitForFlags('hc', ups.c.port, 'healthy');
  let back = false;
  for (let i = 0; i < 6 && !back; i++) back = (await send(`${base}/hc/back-${i}`)).headers['x-upstream-name'] === 'c';
  assert.ok(back, 'the recovered host serves again');
  assert.equal(await clusterStat(sc!, 'envoy_cluster_health_check_healthy', 'hc'), 3);
});

test('HTTP health check: a healthy host answering 503 once is out at once (not a retriable status)', T, async () => {
  health.b = 503;
  await waitForFlags('hc', ups.b.port, '/failed_active_hc');
  health.b = 200;
  await waitForFlags('hc', ups.b.port, 'healthy');
});

test('panic threshold: with every host failing its checks, traffic still spreads over all of them', T, async () => {
  for (const n of ['d', 'e', 'f']) await waitForFlags('panic', ups[n].port, '/failed_active_hc');
  const counts: Record<string, number> = {};
  for (let i = 0; i < 30; i++) {
    const res = await send(`${base}/panic/${i}`);
    assert.equal(res.status, 200);
    const name = String(res.headers['x-upstream-name']);
    counts[name] = (counts[name] ?? 0) + 1;
  }
  assert.deepEqual(counts, { d: 10, e: 10, f: 10 }, 'round robin over every host in panic mode');
});

test('healthy_panic_threshold 0: no panic mode, so no healthy host means 503 "no healthy upstream"', T, async () => {
  for (const n of ['d', 'e', 'f']) await waitForFlags('nopanic', ups[n].port, '/failed_active_hc');
  const res = await send(`${base}/nopanic/x`);
  assert.equal(res.status, 503);
  assert.equal(res.text, 'no healthy upstream');
});

test('TCP health check: the closed port is unhealthy, the listening one healthy, and traffic avoids the first', T, async () => {
  await waitForFlags('tcp', deadPort, '/failed_active_hc');
  await waitForFlags('tcp', ups.a.port, 'healthy');
  for (let i = 0; i < 6; i++) assert.equal((await send(`${base}/tcp/${i}`)).status, 200);
  assert.ok((await clusterStat(sc!, 'envoy_cluster_health_check_network_failure', 'tcp'))! >= 1);
});

test('gRPC health check: NOT_SERVING takes the host out, SERVING brings it back', T, async () => {
  await waitForFlags('grpc', grpcHealth!.port, 'healthy');
  assert.ok(grpcHealth!.calls.some((c) => c.service === 'pay.Payments'));
  grpcHealth!.statuses.set('pay.Payments', NOT_SERVING);
  await waitForFlags('grpc', grpcHealth!.port, '/failed_active_hc');
  grpcHealth!.statuses.set('pay.Payments', SERVING);
  await waitForFlags('grpc', grpcHealth!.port, 'healthy');
});
