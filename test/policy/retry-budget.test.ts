// Tests the retry budget arithmetic: max_retries without a budget, max(min_retry_concurrency, budget % of active requests) with one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CircuitBreakerThresholds } from '../../src/model/types.ts';
import { maxActiveRetries } from '../../src/policy/retry-budget.ts';

const base: CircuitBreakerThresholds = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };

test('without a retry_budget, max_retries is the limit whatever the load', () => {
  for (const active of [0, 10, 1000]) assert.equal(maxActiveRetries(base, active), 3);
  assert.equal(maxActiveRetries({ ...base, maxRetries: 0 }, 50), 0);
  assert.equal(maxActiveRetries({ ...base, retryBudget: null }, 50), 3);
});

test('with a retry_budget: max(min_retry_concurrency, floor(budget_percent % × active requests))', () => {
  const cases: [number, number, number, number][] = [
    // budget %, min concurrency, active requests, expected
    [20, 3, 0, 3],
    [20, 3, 10, 3],
    [20, 3, 20, 4],
    [20, 3, 24, 4], // 4.8 truncates to 4
    [20, 3, 100, 20],
    [25, 10, 100, 25],
    [25, 10, 8, 10],
    [0, 0, 1000, 0],
    [100, 0, 7, 7],
    [12.5, 1, 80, 10],
  ];
  for (const [budgetPercent, minRetryConcurrency, active, expected] of cases) {
    const t = { ...base, maxRetries: 99, retryBudget: { budgetPercent, minRetryConcurrency } };
    assert.equal(maxActiveRetries(t, active), expected, `${budgetPercent}% min ${minRetryConcurrency} of ${active}`);
  }
});
