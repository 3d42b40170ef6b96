// Envoy's retry budget: how many retries may be in flight for a cluster, as a share of its active requests.
import type { CircuitBreakerThresholds } from '../model/types.ts';

/**
 * The most retries allowed in flight right now. Without a retry_budget this is max_retries; with one it is
 * max(min_retry_concurrency, budget_percent % of `activeRequests`), truncated like Envoy's. The circuit breaker
 * passes the active and pending requests that are not retries themselves.
 */
export function maxActiveRetries(thresholds: CircuitBreakerThresholds, activeRequests: number): number {
  const budget = thresholds.retryBudget;
  if (budget === undefined || budget === null) return thresholds.maxRetries;
  return Math.max(budget.minRetryConcurrency, Math.floor((budget.budgetPercent / 100) * activeRequests));
}
