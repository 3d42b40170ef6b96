// Tests healthy_panic_threshold in every load balancer: ejected and health-check-failed hosts, hosts pending their first check, and panic mode off.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LbPolicy } from '../../src/model/types.ts';
import { createLoadBalancer } from '../../src/upstream/load-balancer/index.ts';
import type { Host, LbContext } from '../../src/upstream/types.ts';
import { clusterConfig, hosts, tally } from './fixtures.ts';

const ctx: LbContext = { hash: null, avoid: null };
const POLICIES: readonly LbPolicy[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH'];

/** Keys of the hosts `policy` picks over 300 requests with the given threshold. */
function picked(policy: LbPolicy, hs: Host[], threshold = 50): string[] {
  const lb = createLoadBalancer(clusterConfig('c', [], { lbPolicy: policy, healthyPanicThreshold: threshold }), hs);
  return [...tally(() => lb.choose(ctx), 300).keys()].sort();
}

const keys = (hs: Host[]): string[] => hs.map((h) => h.key).sort();

for (const policy of POLICIES) {
  test(`${policy}: ejected and health-check-failed hosts are skipped while enough are healthy`, () => {
    const hs = hosts(4);
    hs[0].ejected = true;
    hs[1].failedActiveHc = true;
    assert.deepEqual(picked(policy, hs), keys(hs.slice(2)));
  });

  test(`${policy}: below the threshold traffic spreads over every host (panic)`, () => {
    const hs = hosts(3);
    hs[0].ejected = true;
    hs[1].failedActiveHc = true;
    assert.deepEqual(picked(policy, hs), keys(hs));
    const all = hosts(3);
    for (const h of all) h.failedActiveHc = true;
    assert.deepEqual(picked(policy, all), keys(all), 'all unhealthy: all used');
  });

  test(`${policy}: a higher threshold enters panic sooner`, () => {
    const hs = hosts(4);
    hs[0].ejected = true;
    assert.deepEqual(picked(policy, hs, 50), keys(hs.slice(1)));
    assert.deepEqual(picked(policy, hs, 80), keys(hs), '75 % healthy is below 80 %');
  });

  test(`${policy}: threshold 0 turns panic mode off — no healthy host, no pick`, () => {
    const hs = hosts(2);
    for (const h of hs) h.ejected = true;
    assert.deepEqual(picked(policy, hs, 0), ['null']);
  });

  test(`${policy}: hosts pending their first health check do not count towards the percentage`, () => {
    const hs = hosts(3);
    hs[1].failedActiveHc = hs[1].pendingActiveHc = true;
    hs[2].failedActiveHc = hs[2].pendingActiveHc = true;
    assert.deepEqual(picked(policy, hs), [hs[0].key], '1 of 1 counted hosts healthy: no panic');
    hs[0].failedActiveHc = hs[0].pendingActiveHc = true;
    assert.deepEqual(picked(policy, hs), keys(hs), 'nothing checked yet: panic, every host');
  });
}
