// Distribution tests for the round-robin, least-request and random load balancers, plus avoid sets and panic mode.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLoadBalancer } from '../../src/upstream/load-balancer/index.ts';
import { createLeastRequest } from '../../src/upstream/load-balancer/least-request.ts';
import { createRandom } from '../../src/upstream/load-balancer/random.ts';
import { createRoundRobin } from '../../src/upstream/load-balancer/round-robin.ts';
import type { LbContext } from '../../src/upstream/types.ts';
import { clusterConfig, hosts, tally } from './fixtures.ts';

const ctx: LbContext = { hash: null, avoid: null };

test('round robin with equal weights rotates evenly', () => {
  const hs = hosts(3);
  const lb = createRoundRobin(hs);
  const counts = tally(() => lb.choose(ctx), 300);
  for (const h of hs) assert.equal(counts.get(h.key), 100);
  // Consecutive picks are distinct hosts.
  const a = lb.choose(ctx);
  const b = lb.choose(ctx);
  assert.notEqual(a, b);
});

test('round robin with weights is smooth and proportional', () => {
  const hs = hosts(3, [5, 1, 1]);
  const lb = createRoundRobin(hs);
  const counts = tally(() => lb.choose(ctx), 700);
  assert.deepEqual([...hs].map((h) => counts.get(h.key)), [500, 100, 100]);
  // Smooth: the heavy host is interleaved (nginx's 5,1,1 cycle is a a b a c a a), never 5 in a row.
  let run = 0;
  let maxRun = 0;
  for (let i = 0; i < 70; i++) {
    run = lb.choose(ctx) === hs[0] ? run + 1 : 0;
    maxRun = Math.max(maxRun, run);
  }
  assert.ok(maxRun <= 4, `max run ${maxRun}`);
});

test('empty host list chooses null', () => {
  assert.equal(createRoundRobin([]).choose(ctx), null);
  assert.equal(createLoadBalancer(clusterConfig('c', []), []).choose(ctx), null);
});

test('unhealthy hosts are skipped while at least half are healthy', () => {
  const hs = hosts(4);
  hs[1].health = 'UNHEALTHY';
  for (const lb of [createRoundRobin(hs), createRandom(hs), createLeastRequest(hs, 2)]) {
    const counts = tally(() => lb.choose(ctx), 400);
    assert.equal(counts.get(hs[1].key), undefined);
  }
});

test('panic mode: below 50% healthy every host is used', () => {
  const hs = hosts(4);
  hs[0].health = 'UNHEALTHY';
  hs[1].health = 'UNHEALTHY';
  hs[2].health = 'TIMEOUT';
  const lb = createRoundRobin(hs);
  const counts = tally(() => lb.choose(ctx), 400);
  for (const h of hs) assert.equal(counts.get(h.key), 100);
  const all = hosts(2);
  for (const h of all) h.health = 'UNHEALTHY';
  assert.ok(createRandom(all).choose(ctx));
});

test('avoid set is honoured unless it excludes everything', () => {
  const hs = hosts(3);
  const avoid = new Set([hs[0], hs[1]]);
  for (const lb of [createRoundRobin(hs), createRandom(hs), createLeastRequest(hs, 2)]) {
    for (let i = 0; i < 50; i++) assert.equal(lb.choose({ hash: null, avoid }), hs[2]);
  }
  const weighted = hosts(3, [3, 2, 1]);
  const wlb = createRoundRobin(weighted);
  for (let i = 0; i < 50; i++) assert.equal(wlb.choose({ hash: null, avoid: new Set([weighted[0], weighted[1]]) }), weighted[2]);
  const lb = createRoundRobin(hs);
  for (let i = 0; i < 30; i++) assert.equal(lb.choose({ hash: null, avoid }), hs[2]);
  assert.ok(lb.choose({ hash: null, avoid: new Set(hs) }));
});

test('least request prefers the idle host', () => {
  const hs = hosts(2);
  hs[0].activeRequests = 10;
  const lb = createLeastRequest(hs, 2);
  const counts = tally(() => lb.choose(ctx), 1000);
  // With two choices among two hosts, the busy host wins only when both samples hit it (~25%).
  assert.ok((counts.get(hs[1].key) ?? 0) > 600, JSON.stringify([...counts]));
  const lb5 = createLeastRequest(hs, 10);
  const counts5 = tally(() => lb5.choose(ctx), 1000);
  assert.ok((counts5.get(hs[1].key) ?? 0) > 990);
});

test('weighted least request still favours the less loaded host per unit of weight', () => {
  const hs = hosts(2, [3, 1]);
  hs[0].activeRequests = 30;
  const lb = createLeastRequest(hs, 2);
  const counts = tally(() => lb.choose(ctx), 1000);
  assert.ok((counts.get(hs[1].key) ?? 0) > 300);
});

test('random covers every host', () => {
  const hs = hosts(5);
  const lb = createRandom(hs);
  const counts = tally(() => lb.choose(ctx), 2000);
  for (const h of hs) assert.ok((counts.get(h.key) ?? 0) > 200, h.key);
});

test('createLoadBalancer maps every lb_policy', () => {
  const hs = hosts(2);
  for (const lbPolicy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV', 'CLUSTER_PROVIDED'] as const) {
    const lb = createLoadBalancer(clusterConfig('c', [], { lbPolicy }), hs);
    assert.ok(hs.includes(lb.choose(ctx)!), lbPolicy);
  }
});
