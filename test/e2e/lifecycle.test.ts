// End-to-end process lifecycle: graceful SIGTERM with a request in flight, --concurrency 2 with stats summed across workers, POST /quitquitquit.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { bootstrap, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { send } from '../helpers/http-client.ts';
import { closeAll, echo, startHttpEcho, type EchoReply, type HttpUpstream, type UpReq, type UpRes } from '../helpers/http-upstreams.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { gate, pollUntil, withTimeout } from '../helpers/wait.ts';

const T = { timeout: 90_000 };

const sidecars: Sidecar[] = [];
const upstreams: HttpUpstream[] = [];
after(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  await closeAll(...upstreams);
});

let release = gate();
function slow(req: UpReq, res: UpRes, name: string): boolean {
  if (req.url !== '/slow') return false;
  void release.promise.then(() => echo(req, res, name));
  return true;
}

function config(upstreamPort: number, statPrefix: string): object {
  return bootstrap(
    [
      listener('ingress', [
        httpConnectionManager({
          statPrefix,
          virtualHosts: [{ name: 'all', domains: ['*'], routes: [route({ prefix: '/' }, 'backend', { timeout: '0s' })] }],
        }),
      ]),
    ],
    [staticCluster('backend', [upstreamPort])],
  );
}

/** Resolves true when a TCP connect to `port` is refused, false when it is accepted (then closed). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** Sums the Prometheus samples of `metric` whose labels include `label`. */
function promValue(text: string, metric: string, label: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== metric || !(m[2] ?? '').includes(label)) continue;
    sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

test('SIGTERM with a slow request in flight: it completes with 200, new connections are refused, exit code 0', T, async () => {
  release = gate();
  const up = await startHttpEcho('slow', slow);
  upstreams.push(up);
  const sc = await startSidecar(config(up.port, 'drain'));
  sidecars.push(sc);
  const port = sc.port('ingress');

  const inflight = send(`${sc.url('ingress')}/slow`, { timeoutMs: 60_000 });
  inflight.catch(() => undefined);
  await up.waitForRequest((r) => r.url === '/slow', 20_000);

  sc.signal('SIGTERM');
  await pollUntil(() => refused(port), { timeoutMs: 20_000, intervalMs: 50, what: 'the listener to refuse new connections after SIGTERM' });
  assert.equal(sc.hasExited(), false, 'must not exit while a request is in flight');

  release.open();
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal((JSON.parse(res.text) as EchoReply).url, '/slow');

  const exit = await withTimeout(sc.exited, 30_000, 'pilotfish to exit after draining');
  assert.deepEqual(exit, { code: 0, signal: null });
});

let multi: Sidecar | undefined;

test('--concurrency 2 serves, and /stats/prometheus counts the requests of both workers', T, async () => {
  const up = await startHttpEcho('multi');
  upstreams.push(up);
  multi = await startSidecar(config(up.port, 'workers'), { concurrency: 2 });
  sidecars.push(multi);
  const url = multi.url('ingress');

  // 20 requests, each on its own connection, so the kernel spreads them over the workers.
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => send(`${url}/req/${i}`, { headers: { connection: 'close' } })));
  for (const r of results) assert.equal(r.status, 200);

  const label = 'envoy_http_conn_manager_prefix="workers"';
  const stats = await pollUntil(
    async () => {
      const r = await send(`${multi!.admin}/stats/prometheus`);
      const v = promValue(r.text, 'envoy_http_downstream_rq_total', label);
      return v !== undefined && v >= 20 ? r.text : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: 'envoy_http_downstream_rq_total{prefix="workers"} to reach 20' },
  );
  assert.equal(promValue(stats, 'envoy_http_downstream_rq_total', label), 20);
  assert.equal(promValue(stats, 'envoy_http_downstream_cx_total', label), 20);
});

test('POST /quitquitquit makes the process exit with code 0', T, async () => {
  assert.ok(multi, 'needs the sidecar of the previous test');
  const res = await send(`${multi.admin}/quitquitquit`, { method: 'POST' });
  assert.equal(res.status, 200);
  const exit = await withTimeout(multi.exited, 30_000, 'pilotfish to exit after /quitquitquit');
  assert.deepEqual(exit, { code: 0, signal: null });
});

test('POST /drain_listeners?inboundonly&graceful stops only INBOUND listeners; outbound keeps serving and the process stays up', T, async () => {
  const up = await startHttpEcho('split');
  upstreams.push(up);
  const hcm = (statPrefix: string) => httpConnectionManager({
    statPrefix,
    virtualHosts: [{ name: 'all', domains: ['*'], routes: [route({ prefix: '/' }, 'backend')] }],
  });
  const cfg = bootstrap(
    [
      { ...(listener('inbound', [hcm('in')]) as Record<string, unknown>), traffic_direction: 'INBOUND' },
      { ...(listener('outbound', [hcm('out')]) as Record<string, unknown>), traffic_direction: 'OUTBOUND' },
    ],
    [staticCluster('backend', [up.port])],
  );
  for (const concurrency of [1, 2]) {
    const sc = await startSidecar(cfg, { concurrency });
    sidecars.push(sc);
    assert.equal((await send(`${sc.url('inbound')}/before`)).status, 200);
    const res = await send(`${sc.admin}/drain_listeners?inboundonly&graceful`, { method: 'POST' });
    assert.equal(res.status, 200);
    await pollUntil(() => refused(sc.port('inbound')), { timeoutMs: 20_000, intervalMs: 50, what: `concurrency ${concurrency}: the inbound listener to refuse connections` });
    const out = await send(`${sc.url('outbound')}/after`, { headers: { connection: 'close' } });
    assert.equal(out.status, 200, `concurrency ${concurrency}: the outbound listener still serves after an inbound-only drain`);
    assert.equal(sc.hasExited(), false);
    await sc.stop();
  }
});
