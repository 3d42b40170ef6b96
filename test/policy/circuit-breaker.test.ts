// Tests the per-cluster circuit breaker: request, pending and retry limits, overflow counters, the open/remaining gauges, and live threshold updates.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterStats } from '../../src/http/cluster-stats.ts';
import type { CircuitBreakerThresholds, ClusterConfig } from '../../src/model/types.ts';
import { StatsRegistry } from '../../src/observability/stats.ts';
import { circuitBreakerFor, RequestTicket, type CircuitBreaker } from '../../src/policy/circuit-breaker.ts';
import { clusterConnections, connectionClosed, connectionOpened } from '../../src/upstream/pool/cluster-connections.ts';
import type { UpstreamCluster } from '../../src/upstream/types.ts';

let seq = 0;

interface Setup {
  cluster: { name: string; config: ClusterConfig };
  breaker: CircuitBreaker;
  stats: ClusterStats;
  /** A gauge or counter value of this cluster from /stats/prometheus text. */
  prom(name: string): number;
}

function setup(t: Partial<CircuitBreakerThresholds>): Setup {
  const name = `cb-${process.pid}-${++seq}`;
  const thresholds: CircuitBreakerThresholds = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, ...t };
  const cluster = { name, config: { name, circuitBreakers: thresholds } as unknown as ClusterConfig };
  const registry = new StatsRegistry();
  const stats = new ClusterStats(registry, name);
  const breaker = circuitBreakerFor(cluster as unknown as UpstreamCluster, stats);
  const prom = (metric: string): number => {
    const line = registry.renderPrometheus().split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(`envoy_cluster_name="${name}"`));
    assert.ok(line, `no ${metric} for ${name}`);
    return Number(line.split(' ').pop());
  };
  return { cluster, breaker, stats, prom };
}

function ticket(r: RequestTicket | string): RequestTicket {
  assert.ok(r instanceof RequestTicket, `expected admission, got overflow "${String(r)}"`);
  return r;
}

test('max_requests: the request past the limit overflows (counted as upstream_rq_pending_overflow); a release makes room', () => {
  const { breaker, prom } = setup({ maxRequests: 2 });
  const a = ticket(breaker.acquireRequest('ready'));
  ticket(breaker.acquireRequest('ready'));
  assert.equal(prom('envoy_cluster_circuit_breakers_default_rq_open'), 1);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_remaining_rq'), 0);
  assert.equal(breaker.acquireRequest('ready'), 'requests');
  assert.equal(prom('envoy_cluster_upstream_rq_pending_overflow'), 1);
  a.release();
  a.release(); // a second release is ignored
  assert.equal(breaker.requests, 1);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_rq_open'), 0);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_remaining_rq'), 1);
  ticket(breaker.acquireRequest('ready'));
});

test('max_pending_requests: only requests that wait for a connection count; connected() frees the pending slot', () => {
  const { breaker, prom } = setup({ maxPendingRequests: 1 });
  const ready = ticket(breaker.acquireRequest('ready'));
  assert.equal(ready.pending, false);
  const waiting = ticket(breaker.acquireRequest('connect'));
  assert.equal(waiting.pending, true);
  assert.equal(prom('envoy_cluster_upstream_rq_pending_active'), 1);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_rq_pending_open'), 1);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_remaining_pending'), 0);
  assert.equal(breaker.acquireRequest('full'), 'pending');
  assert.equal(prom('envoy_cluster_upstream_rq_pending_overflow'), 1);
  ticket(breaker.acquireRequest('ready')); // a request meeting a free connection is not pending
  waiting.connected();
  waiting.connected();
  assert.equal(breaker.pending, 0);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_rq_pending_open'), 0);
  const again = ticket(breaker.acquireRequest('full'));
  assert.equal(prom('envoy_cluster_upstream_cx_overflow'), 1, 'waiting because the pool is at max_connections counts a connection overflow');
  again.release();
  assert.equal(breaker.pending, 0, 'releasing a pending ticket frees its pending slot');
  assert.equal(breaker.requests, 3);
});

test('max_retries: retries past the limit overflow (upstream_rq_retry_overflow) and the gauges follow', () => {
  const { breaker, prom } = setup({ maxRetries: 2 });
  const r1 = breaker.acquireRetry();
  const r2 = breaker.acquireRetry();
  assert.ok(r1 && r2);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_rq_retry_open'), 1);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_remaining_retries'), 0);
  assert.equal(breaker.acquireRetry(), null);
  assert.equal(prom('envoy_cluster_upstream_rq_retry_overflow'), 1);
  r1.release();
  r1.release();
  assert.equal(breaker.retries, 1);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_remaining_retries'), 1);
  assert.ok(breaker.acquireRetry());
});

test('max_retries 0 allows no retry at all', () => {
  const { breaker } = setup({ maxRetries: 0 });
  assert.equal(breaker.acquireRetry(), null);
});

test('retry budget: max(min_retry_concurrency, budget % of the first attempts in flight) retries, instead of max_retries', () => {
  const { breaker, prom } = setup({ maxRetries: 1000, retryBudget: { budgetPercent: 20, minRetryConcurrency: 3 } });
  // No active requests: the minimum concurrency applies.
  const first = [breaker.acquireRetry(), breaker.acquireRetry(), breaker.acquireRetry()];
  assert.ok(first.every((r) => r !== null));
  assert.equal(breaker.acquireRetry(), null, 'max_retries 1000 is replaced by the budget');
  for (const r of first) r!.release();
  // 25 first attempts in flight: 20 % is 5. Each retry's own attempt does not grow the budget.
  const firsts = Array.from({ length: 25 }, () => ticket(breaker.acquireRequest('ready')));
  const retries = [];
  for (let i = 0; i < 5; i++) {
    const r = breaker.acquireRetry();
    assert.ok(r, `retry ${i + 1} of 5`);
    retries.push(r);
    ticket(breaker.acquireRequest('ready')); // the retry's attempt
  }
  assert.equal(breaker.requests, 30);
  assert.equal(breaker.acquireRetry(), null);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_rq_retry_open'), 1);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_remaining_retries'), 0);
  // Fewer first attempts shrink the budget, never below the minimum.
  for (const t of firsts.slice(0, 20)) t.release();
  for (const r of retries) r.release();
  assert.equal(prom('envoy_cluster_circuit_breakers_default_remaining_retries'), 3);
  assert.equal(prom('envoy_cluster_upstream_rq_retry_overflow'), 2);
});

test('thresholds are read live: a config update of the same cluster object applies to the next decision and keeps the counts', () => {
  const { cluster, breaker } = setup({ maxRequests: 1 });
  const a = ticket(breaker.acquireRequest('ready'));
  assert.equal(breaker.acquireRequest('ready'), 'requests');
  cluster.config = { ...cluster.config, circuitBreakers: { ...cluster.config.circuitBreakers, maxRequests: 2 } };
  const again = circuitBreakerFor(cluster as unknown as UpstreamCluster, setup({}).stats);
  assert.equal(again, breaker, 'the breaker is kept per cluster object');
  assert.equal(breaker.requests, 1);
  ticket(breaker.acquireRequest('ready'));
  a.release();
});

test('connection gauges follow the pools: cx_open at max_connections, remaining_cx, upstream_cx_active', () => {
  const { cluster, prom } = setup({ maxConnections: 2 });
  const count = clusterConnections(cluster.name);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_remaining_cx'), 2);
  connectionOpened(count);
  connectionOpened(count);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_cx_open'), 1);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_remaining_cx'), 0);
  assert.equal(prom('envoy_cluster_upstream_cx_active'), 2);
  connectionClosed(count);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_cx_open'), 0);
  assert.equal(prom('envoy_cluster_circuit_breakers_default_remaining_cx'), 1);
  connectionClosed(count);
  connectionClosed(count); // never below zero
  assert.equal(prom('envoy_cluster_upstream_cx_active'), 0);
});
