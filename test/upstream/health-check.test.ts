// Tests the active health checker's per-host state machine with scripted probe results and a manual clock: thresholds, first check, intervals, jitter, stats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HealthCheckConfig } from '../../src/model/types.ts';
import { HealthChecker, type HealthTransition } from '../../src/upstream/health-check.ts';
import { activeFailure, networkFailure, PASS, type Prober, type ProbeResult } from '../../src/upstream/health-check-probes.ts';
import type { Host } from '../../src/upstream/types.ts';
import { FakeClock } from './fake-clock.ts';
import { clusterConfig, hosts } from './fixtures.ts';

const BASE: HealthCheckConfig = {
  timeoutMs: 1000,
  intervalMs: 1000,
  initialJitterMs: 0,
  intervalJitterMs: 0,
  intervalJitterPercent: 0,
  unhealthyThreshold: 2,
  healthyThreshold: 3,
  reuseConnection: true,
  noTrafficIntervalMs: 60_000,
  noTrafficHealthyIntervalMs: 90_000,
  unhealthyIntervalMs: 2000,
  unhealthyEdgeIntervalMs: 500,
  healthyEdgeIntervalMs: 300,
  checker: { kind: 'tcp', send: null, receive: [] },
};

interface Setup {
  checker: HealthChecker;
  clock: FakeClock;
  host: Host;
  /** Results the probe returns next (PASS when empty). */
  script: ProbeResult[];
  results: { transition: HealthTransition; passed: boolean }[];
  closed: number;
  traffic: { on: boolean };
}

/** A checker over one host that starts the way ClusterHealth leaves it: failed and pending its first check. */
function setup(config: Partial<HealthCheckConfig> = {}, random = () => 0): Setup {
  const clock = new FakeClock();
  const [host] = hosts(1);
  host.failedActiveHc = true;
  host.pendingActiveHc = true;
  const s: Setup = { checker: null as unknown as HealthChecker, clock, host, script: [], results: [], closed: 0, traffic: { on: true } };
  const prober: Prober = {
    check: async () => s.script.shift() ?? PASS,
    close: () => { s.closed++; },
  };
  s.checker = new HealthChecker({
    cluster: clusterConfig('backend', []),
    config: { ...BASE, ...config },
    hasTraffic: () => s.traffic.on,
    onResult: (_h, transition, passed) => s.results.push({ transition, passed }),
    clock,
    random,
    probers: () => prober,
  });
  return s;
}

/** Lets the probe promise of a fired timer settle. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Runs the next scheduled check: advance to it, then let the result land. */
async function next(s: Setup): Promise<void> {
  const [due] = s.clock.pending();
  assert.notEqual(due, undefined, 'a check is scheduled');
  s.clock.advance(due);
  await settle();
}

test('the first check runs at once; one pass makes a new host healthy whatever healthy_threshold says', async () => {
  const s = setup();
  s.checker.syncHosts([s.host]);
  assert.deepEqual(s.clock.pending(), [0]);
  await next(s);
  assert.equal(s.host.failedActiveHc, false);
  assert.equal(s.host.pendingActiveHc, false);
  assert.deepEqual(s.results, [{ transition: 'changed', passed: true }]);
});

test('a failing first check keeps the host unhealthy but ends its pending state', async () => {
  const s = setup();
  s.script.push(networkFailure('ECONNREFUSED'));
  s.checker.syncHosts([s.host]);
  await next(s);
  assert.deepEqual([s.host.failedActiveHc, s.host.pendingActiveHc], [true, false]);
  assert.deepEqual(s.results, [{ transition: 'changed', passed: false }]);
});

test('network failures count towards unhealthy_threshold', async () => {
  const s = setup();
  s.checker.syncHosts([s.host]);
  await next(s);
  s.script.push(networkFailure('timeout'), networkFailure('timeout'));
  await next(s);
  assert.equal(s.host.failedActiveHc, false);
  await next(s);
  assert.equal(s.host.failedActiveHc, true);
  assert.deepEqual(s.results.map((r) => r.transition), ['changed', 'pending', 'changed']);
});

test('a bad status is immediate; a retriable status counts like a network failure', async () => {
  const s = setup();
  s.checker.syncHosts([s.host]);
  await next(s);
  s.script.push(activeFailure('status 503'));
  await next(s);
  assert.equal(s.host.failedActiveHc, true, 'immediately unhealthy');
  const r = setup();
  r.checker.syncHosts([r.host]);
  await next(r);
  r.script.push(activeFailure('status 503', true));
  await next(r);
  assert.equal(r.host.failedActiveHc, false, 'retriable: one of two');
});

test('an unhealthy host needs healthy_threshold passes in a row', async () => {
  const s = setup();
  s.checker.syncHosts([s.host]);
  s.script.push(PASS, activeFailure('status 500'), PASS, PASS, activeFailure('status 500', true), PASS, PASS);
  for (let i = 0; i < 7; i++) await next(s);
  assert.equal(s.host.failedActiveHc, true, 'a failure restarted the count');
  await next(s);
  assert.equal(s.host.failedActiveHc, false);
  assert.deepEqual(s.results.map((r) => r.transition), ['changed', 'changed', 'pending', 'pending', 'unchanged', 'pending', 'pending', 'changed']);
});

test('intervals: by traffic, verdict and pending transitions', async () => {
  const s = setup();
  s.traffic.on = false;
  s.checker.syncHosts([s.host]);
  await next(s);
  assert.deepEqual(s.clock.pending(), [90_000], 'no traffic, healthy: no_traffic_healthy_interval');
  s.script.push(networkFailure('x'));
  await next(s);
  assert.deepEqual(s.clock.pending(), [60_000], 'no traffic, otherwise: no_traffic_interval');
  s.traffic.on = true;
  await next(s);
  assert.deepEqual(s.clock.pending(), [1000], 'interval');
  s.script.push(networkFailure('x'));
  await next(s);
  assert.deepEqual(s.clock.pending(), [500], 'failure pending: unhealthy_edge_interval');
  s.script.push(networkFailure('x'));
  await next(s);
  assert.deepEqual(s.clock.pending(), [2000], 'unhealthy: unhealthy_interval');
  await next(s);
  assert.deepEqual(s.clock.pending(), [300], 'pass pending: healthy_edge_interval');
});

test('interval_jitter, interval_jitter_percent and initial_jitter', async () => {
  const s = setup({ intervalJitterMs: 100, intervalJitterPercent: 10, initialJitterMs: 400 }, () => 0.5);
  s.checker.syncHosts([s.host]);
  assert.deepEqual(s.clock.pending(), [200]);
  await next(s);
  await next(s);
  assert.deepEqual(s.clock.pending(), [1000 + 50 + 50]);
});

test('stats: attempts, successes, failures, network failures and the healthy gauge', async () => {
  const s = setup();
  s.checker.syncHosts([s.host]);
  s.script.push(PASS, networkFailure('x'), activeFailure('status 500'));
  await next(s);
  assert.equal(s.checker.stats.healthy.value, 1);
  await next(s);
  await next(s);
  const st = s.checker.stats;
  assert.deepEqual([st.attempt.value, st.success.value, st.failure.value, st.networkFailure.value, st.healthy.value], [3, 1, 2, 1, 0]);
});

test('a removed host stops being checked and its probe is closed', async () => {
  const s = setup();
  s.checker.syncHosts([s.host]);
  await next(s);
  s.checker.syncHosts([]);
  assert.deepEqual(s.clock.pending(), []);
  assert.equal(s.closed, 1);
});
