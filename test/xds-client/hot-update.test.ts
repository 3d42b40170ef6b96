// End to end with the real engine: steady HTTP traffic through a listener delivered over ADS while endpoints, routes, listeners and clusters change.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { test } from 'node:test';
import { StatsRegistry } from '../../src/observability/stats.ts';
import { createProxyEngine } from '../../src/server/proxy-engine.ts';
import { startXdsSource } from '../../src/xds/xds-source.ts';
import { closeAll, startHttpEcho } from '../helpers/http-upstreams.ts';
import { withTimeout } from '../helpers/wait.ts';
import { startControlPlane } from './fake-control-plane.ts';
import { CDS, EDS, LDS, RDS, cla, compileStatic, edsCluster, rdsListener, routeConfig, testLogger, xdsBootstrap } from './fixtures.ts';

interface Outcome { status: number; upstream: string; error: string | null }

/** Request loops against one port until stopped: half on keep-alive connections, half on a new connection each. */
function startTraffic(port: number, loops = 4): { results: Outcome[]; progress(n: number): Promise<void>; stop(): Promise<void> } {
  const results: Outcome[] = [];
  const events = new EventEmitter();
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 2 });
  let running = true;
  const one = (agent: http.Agent | false): Promise<Outcome> => new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/hot', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, upstream: String(res.headers['x-upstream-name'] ?? res.headers['x-direct'] ?? ''), error: null }));
      res.on('error', (e) => resolve({ status: 0, upstream: '', error: e.message }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, upstream: '', error: e.message }));
    req.end();
  });
  const loopsDone = Array.from({ length: loops }, async (_, i) => {
    while (running) {
      results.push(await one(i % 2 === 0 ? keepAlive : false));
      events.emit('result');
    }
  });
  return {
    results,
    progress(n) {
      const target = results.length + n;
      return withTimeout(new Promise<void>((resolve) => {
        const on = (): void => { if (results.length >= target) { events.off('result', on); resolve(); } };
        events.on('result', on);
      }), 10_000, `${n} more responses`);
    },
    async stop() {
      running = false;
      await Promise.all(loopsDone);
      keepAlive.destroy();
    },
  };
}

test('hot updates over ADS: zero failed requests while endpoints, routes, listeners and clusters change', async () => {
  const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map((n) => startHttpEcho(n)));
  const cp = await startControlPlane();
  const engine = createProxyEngine({ stats: new StatsRegistry(), logger: testLogger() });
  const doc = xdsBootstrap(cp.port);
  const source = await startXdsSource({ bootstrap: doc, staticSnapshot: compileStatic(doc), engine, logger: testLogger(), backoff: { initialMs: 20, maxMs: 100 } });
  let traffic: ReturnType<typeof startTraffic> | null = null;
  try {
    await cp.waitForRequest((r) => r.typeUrl === LDS);
    const ack = async (nonce: Promise<string>): Promise<void> => {
      const reply = await cp.reply(await nonce);
      assert.equal(reply.msg.error_detail, null, `update rejected: ${JSON.stringify(reply.msg.error_detail)}`);
    };
    await ack(cp.sendSotw(CDS, 'c1', [edsCluster('backend'), edsCluster('canary')]));
    await ack(cp.sendSotw(EDS, 'e1', [cla('backend', [a.port]), cla('canary', [c.port])]));
    await ack(cp.sendSotw(LDS, 'l1', [rdsListener('ingress', 'routes')]));
    await ack(cp.sendSotw(RDS, 'r1', [routeConfig('routes', { cluster: 'backend' })]));
    await withTimeout(source.ready, 10_000, 'ready');
    const bound = engine.listeners().find((l) => l.name === 'ingress');
    assert.ok(bound, 'the ADS listener is bound');

    traffic = startTraffic(bound.port);
    await traffic.progress(20);
    const steps: [string, () => Promise<void>][] = [
      ['endpoints move to b', () => ack(cp.sendSotw(EDS, 'e2', [cla('backend', [b.port])]))],
      ['route moves to canary', () => ack(cp.sendSotw(RDS, 'r2', [routeConfig('routes', { cluster: 'canary' })]))],
      ['endpoints grow to a+b, route back to backend', async () => {
        await ack(cp.sendSotw(EDS, 'e3', [cla('backend', [a.port, b.port])]));
        await ack(cp.sendSotw(RDS, 'r3', [routeConfig('routes', { cluster: 'backend' })]));
      }],
      ['a new cluster warms, then the listener switches to a new route configuration using it', async () => {
        await ack(cp.sendSotw(CDS, 'c2', [edsCluster('backend'), edsCluster('canary'), edsCluster('fresh')]));
        await ack(cp.sendSotw(EDS, 'e4', [cla('fresh', [d.port])]));
        await ack(cp.sendSotw(LDS, 'l2', [rdsListener('ingress', 'routes-2')]));
        await ack(cp.sendSotw(RDS, 'r4', [routeConfig('routes-2', { cluster: 'fresh' })]));
      }],
      ['unused clusters are removed', () => ack(cp.sendSotw(CDS, 'c3', [edsCluster('fresh')]))],
    ];
    for (const [what, step] of steps) {
      await step();
      await traffic.progress(20);
      assert.equal(engine.listeners().find((l) => l.name === 'ingress')?.port, bound.port, `${what}: the listener was not rebound`);
    }
    await traffic.stop();
    const failed = traffic.results.filter((r) => r.status !== 200);
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${traffic.results.length} requests failed`);
    const served = new Set(traffic.results.map((r) => r.upstream));
    assert.deepEqual([...served].sort(), ['a', 'b', 'c', 'd'], 'every upstream served while config changed');
    assert.equal(traffic.results.at(-1)?.upstream, 'd');
    assert.deepEqual([...engine.current()!.clusters.keys()].sort(), ['fresh', 'xds_cluster']);
  } finally {
    await traffic?.stop();
    await source.close();
    await engine.drain(1000);
    await cp.stop();
    await closeAll(a, b, c, d);
  }
});
