// Tests a cluster's health wiring: initial health-check state of hosts, config changes, health checks returning ejected hosts, and priority failover on ejection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OUTLIER_DEFAULTS } from '../../src/model/outlier-detection.ts';
import type { ClusterConfig, HealthCheckConfig } from '../../src/model/types.ts';
import { Cluster } from '../../src/upstream/cluster.ts';
import { ClusterHealth } from '../../src/upstream/cluster-health.ts';
import { PASS, type ProbeResult } from '../../src/upstream/health-check-probes.ts';
import type { Host } from '../../src/upstream/types.ts';
import { pollUntil } from '../helpers/wait.ts';
import { FakeClock } from './fake-clock.ts';
import { clusterConfig, fakePoolFactory, hosts } from './fixtures.ts';

const HC: HealthCheckConfig = {
  timeoutMs: 1000, intervalMs: 1000, initialJitterMs: 0, intervalJitterMs: 0, intervalJitterPercent: 0, unhealthyThreshold: 1, healthyThreshold: 1,
  reuseConnection: true, noTrafficIntervalMs: 1000, noTrafficHealthyIntervalMs: 1000, unhealthyIntervalMs: 1000, unhealthyEdgeIntervalMs: 1000, healthyEdgeIntervalMs: 1000,
  checker: { kind: 'tcp', send: null, receive: [] },
};
const OD = { ...OUTLIER_DEFAULTS, consecutive5xx: 1, maxEjectionPercent: 100, intervalMs: 1000, baseEjectionTimeMs: 5000 };

function setup(members: Host[]) {
  const clock = new FakeClock();
  const results = new Map<Host, ProbeResult>();
  let changes = 0;
  let current = members;
  const health = new ClusterHealth({
    cluster: 'c',
    hosts: () => current,
    onChange: () => { changes++; },
    clock,
    random: () => 0,
    probers: (host) => ({ check: async () => results.get(host) ?? PASS, close: () => undefined }),
  });
  return {
    health, clock, results,
    changes: () => changes,
    setHosts(next: Host[], added: Host[]) { current = next; health.hostsChanged(next, added); },
  };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
const cfg = (o: Partial<ClusterConfig>): ClusterConfig => clusterConfig('c', [], o);

test('health checks configured: every host starts unhealthy and pending, until its first check', async () => {
  const hs = hosts(2);
  const s = setup(hs);
  s.health.configure(cfg({ healthChecks: [HC] }));
  assert.deepEqual(hs.map((h) => [h.failedActiveHc, h.pendingActiveHc]), [[true, true], [true, true]]);
  s.clock.advance(0);
  await settle();
  assert.deepEqual(hs.map((h) => [h.failedActiveHc, h.pendingActiveHc]), [[false, false], [false, false]]);
});

test('hosts added later start pending; health checks removed from the config clear every flag', async () => {
  const hs = hosts(3);
  const s = setup(hs.slice(0, 2));
  s.health.configure(cfg({ healthChecks: [HC] }));
  s.clock.advance(0);
  await settle();
  s.setHosts(hs, [hs[2]]);
  assert.deepEqual([hs[2].failedActiveHc, hs[2].pendingActiveHc], [true, true]);
  assert.equal(hs[0].failedActiveHc, false, 'known hosts keep their state');
  s.health.configure(cfg({ healthChecks: [] }));
  assert.equal(hs.some((h) => h.failedActiveHc || h.pendingActiveHc), false);
  assert.deepEqual(s.clock.pending(), []);
});

test('an unchanged health check config keeps its sessions; a changed one restarts them', async () => {
  const hs = hosts(1);
  const s = setup(hs);
  s.health.configure(cfg({ healthChecks: [HC] }));
  const first = s.health.checkers[0];
  s.health.configure(cfg({ healthChecks: [{ ...HC }], lbPolicy: 'RANDOM' }));
  assert.equal(s.health.checkers[0], first);
  s.health.configure(cfg({ healthChecks: [{ ...HC, intervalMs: 2000 }] }));
  assert.notEqual(s.health.checkers[0], first);
});

test('outcomes reach the detector; a passing health check returns an ejected host', async () => {
  const hs = hosts(2);
  const s = setup(hs);
  s.health.configure(cfg({ healthChecks: [HC], outlierDetection: OD }));
  s.clock.advance(0);
  await settle();
  s.health.report(hs[0], 503);
  assert.equal(hs[0].ejected, true);
  s.clock.advance(1000);
  await settle();
  assert.equal(hs[0].ejected, false, 'the check at t=1000 passed, long before base_ejection_time');
});

test('removing outlier_detection returns ejected hosts', () => {
  const hs = hosts(2);
  const s = setup(hs);
  s.health.configure(cfg({ outlierDetection: OD }));
  s.health.report(hs[1], 500);
  assert.equal(hs[1].ejected, true);
  s.health.configure(cfg({ outlierDetection: null }));
  assert.equal(hs[1].ejected, false);
  assert.equal(s.health.detector, null);
});

test('Cluster: ejecting the only priority-0 host moves traffic to priority 1, and it comes back', async () => {
  const { factory } = fakePoolFactory();
  const config = clusterConfig('c', [{ host: '10.0.0.1', port: 80, priority: 0 }, { host: '10.0.0.2', port: 80, priority: 1 }], {
    outlierDetection: { ...OD, intervalMs: 10, baseEjectionTimeMs: 10 },
  });
  const cluster = new Cluster(config, factory);
  const ctx = { hash: null, avoid: null };
  const primary = cluster.chooseHost(ctx)!;
  assert.equal(primary.key, '10.0.0.1:80');
  cluster.reportOutcome(primary, 500);
  assert.equal(cluster.chooseHost(ctx)?.key, '10.0.0.2:80');
  // The detector's real interval timer returns the host: wait for that event rather than a fixed time.
  await pollUntil(() => !primary.ejected, { timeoutMs: 5000, intervalMs: 5, what: 'the ejected host to return' });
  assert.equal(cluster.chooseHost(ctx)?.key, '10.0.0.1:80');
  await cluster.close();
});
