// Per-cluster circuit breaking (circuit_breakers.thresholds): admits requests, pending requests and retries, and keeps the overflow counters and breaker gauges.
import type { Counter, Gauge } from '../observability/types.ts';
import type { CircuitBreakerThresholds } from '../model/types.ts';
import type { UpstreamCluster } from '../upstream/types.ts';
import type { PoolQueueState } from '../upstream/pool/http-pool.ts';
import { clusterConnections, type ConnectionCount } from '../upstream/pool/cluster-connections.ts';
import { maxActiveRetries } from './retry-budget.ts';

/** The stats a breaker writes (a subset of ClusterStats). */
export interface BreakerStats {
  readonly rqPendingOverflow: Counter;
  readonly rqRetryOverflow: Counter;
  readonly cxOverflow: Counter;
  readonly rqPendingActive: Gauge;
  readonly cxActive: Gauge;
  readonly breaker: {
    readonly cxOpen: Gauge; readonly rqPendingOpen: Gauge; readonly rqOpen: Gauge; readonly rqRetryOpen: Gauge;
    readonly remainingCx: Gauge; readonly remainingPending: Gauge; readonly remainingRq: Gauge; readonly remainingRetries: Gauge;
  };
}

/** Which limit refused a request: max_requests or max_pending_requests. */
export type RequestOverflow = 'requests' | 'pending';

/** One upstream attempt admitted by the breaker; release() exactly once when the attempt is over (extra calls are ignored). */
export class RequestTicket {
  readonly #breaker: CircuitBreaker;
  #pending: boolean;
  #released = false;
  constructor(breaker: CircuitBreaker, pending: boolean) { this.#breaker = breaker; this.#pending = pending; }
  get pending(): boolean { return this.#pending; }
  /** The attempt got its connection: it no longer counts as pending. */
  connected(): void {
    if (!this.#pending || this.#released) return;
    this.#pending = false;
    this.#breaker.pending--;
    this.#breaker.refresh();
  }
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#pending) this.#breaker.pending--;
    this.#breaker.requests--;
    this.#breaker.refresh();
  }
}

/** One retry in flight (from the decision to retry until that retry's outcome is known, as Envoy counts it). */
export class RetryTicket {
  readonly #breaker: CircuitBreaker;
  #released = false;
  constructor(breaker: CircuitBreaker) { this.#breaker = breaker; }
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#breaker.retries--;
    this.#breaker.refresh();
  }
}

export class CircuitBreaker {
  readonly #cluster: UpstreamCluster;
  readonly #stats: BreakerStats;
  readonly #cx: ConnectionCount;
  /** Upstream attempts in flight, pending ones included. */
  requests = 0;
  /** Attempts waiting for a connection. */
  pending = 0;
  /** Retries in flight. */
  retries = 0;

  constructor(cluster: UpstreamCluster, stats: BreakerStats) {
    this.#cluster = cluster;
    this.#stats = stats;
    this.#cx = clusterConnections(cluster.name);
    this.#cx.onChange = () => this.refresh();
    this.refresh();
  }

  /** The live thresholds: a config update of the cluster applies to the next decision. */
  get thresholds(): CircuitBreakerThresholds { return this.#cluster.config.circuitBreakers; }

  /**
   * Admits an attempt about to be sent to a pool in `queue` state, or returns which limit overflowed (the caller
   * answers 503 UO at once). Both overflows count as upstream_rq_pending_overflow, as in Envoy.
   */
  acquireRequest(queue: PoolQueueState): RequestTicket | RequestOverflow {
    const t = this.thresholds;
    if (this.requests >= t.maxRequests) { this.#stats.rqPendingOverflow.inc(); return 'requests'; }
    const pending = queue !== 'ready';
    if (pending) {
      if (this.pending >= t.maxPendingRequests) { this.#stats.rqPendingOverflow.inc(); return 'pending'; }
      if (queue === 'full') this.#stats.cxOverflow.inc();
      this.pending++;
    }
    this.requests++;
    this.refresh();
    return new RequestTicket(this, pending);
  }

  /** Admits one more retry under max_retries or the retry budget; null (and upstream_rq_retry_overflow) when full. */
  acquireRetry(): RetryTicket | null {
    if (this.retries >= maxActiveRetries(this.thresholds, this.#firstAttempts())) {
      this.#stats.rqRetryOverflow.inc();
      this.refresh();
      return null;
    }
    this.retries++;
    this.refresh();
    return new RetryTicket(this);
  }

  /**
   * The requests a retry budget is a share of: attempts in flight (pending included) minus the retries in flight.
   * Envoy counts retry attempts too, which lets a 20 % budget add up to 25 % load; leaving them out keeps the extra
   * load of a fully failing cluster within the budget percent.
   */
  #firstAttempts(): number {
    return Math.max(0, this.requests - this.retries);
  }

  /** Writes the circuit_breakers.default.* gauges (open flags and remaining capacity) and the pending/connection gauges. */
  refresh(): void {
    const t = this.thresholds;
    const g = this.#stats.breaker;
    const cx = this.#cx.open;
    const maxRetries = maxActiveRetries(t, this.#firstAttempts());
    g.cxOpen.set(cx >= t.maxConnections ? 1 : 0);
    g.rqPendingOpen.set(this.pending >= t.maxPendingRequests ? 1 : 0);
    g.rqOpen.set(this.requests >= t.maxRequests ? 1 : 0);
    g.rqRetryOpen.set(this.retries >= maxRetries ? 1 : 0);
    g.remainingCx.set(Math.max(0, t.maxConnections - cx));
    g.remainingPending.set(Math.max(0, t.maxPendingRequests - this.pending));
    g.remainingRq.set(Math.max(0, t.maxRequests - this.requests));
    g.remainingRetries.set(Math.max(0, maxRetries - this.retries));
    this.#stats.rqPendingActive.set(this.pending);
    this.#stats.cxActive.set(cx);
  }
}

const breakers = new WeakMap<UpstreamCluster, CircuitBreaker>();

/** The breaker of a cluster; the same object for the cluster's whole life (config updates keep its counts). */
export function circuitBreakerFor(cluster: UpstreamCluster, stats: BreakerStats): CircuitBreaker {
  let b = breakers.get(cluster);
  if (b === undefined) { b = new CircuitBreaker(cluster, stats); breakers.set(cluster, b); }
  return b;
}
