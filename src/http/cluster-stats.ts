// Per-cluster upstream stats (Envoy's cluster.<name>.upstream_* family), created once per cluster name.
import type { Counter, Gauge } from '../observability/types.ts';
import type { StatsSink } from './hcm-stats.ts';

export interface BreakerGauges {
  readonly cxOpen: Gauge;
  readonly rqPendingOpen: Gauge;
  readonly rqOpen: Gauge;
  readonly rqRetryOpen: Gauge;
  readonly remainingCx: Gauge;
  readonly remainingPending: Gauge;
  readonly remainingRq: Gauge;
  readonly remainingRetries: Gauge;
}

export class ClusterStats {
  readonly rqTotal: Counter;
  readonly rqActive: Gauge;
  readonly rqXx: Counter[];
  readonly cxConnectFail: Counter;
  readonly rqTimeout: Counter;
  readonly rqPerTryTimeout: Counter;
  readonly rqRetry: Counter;
  readonly rqRetryOverflow: Counter;
  readonly rqPendingOverflow: Counter;
  readonly resetBeforeHeaders: Counter;
  readonly noHealthyHost: Counter;
  readonly rqRetrySuccess: Counter;
  readonly rqRetryLimitExceeded: Counter;
  readonly rqMaxDurationReached: Counter;
  readonly cxOverflow: Counter;
  readonly cxConnectTimeout: Counter;
  readonly rqPendingActive: Gauge;
  readonly cxActive: Gauge;
  /** circuit_breakers.default.* gauges: whether each breaker is open (0/1) and its remaining capacity. */
  readonly breaker: BreakerGauges;

  constructor(sink: StatsSink, cluster: string) {
    const l = { envoy_cluster_name: cluster };
    this.rqTotal = sink.counter('envoy_cluster_upstream_rq_total', l);
    this.rqActive = sink.gauge('envoy_cluster_upstream_rq_active', l);
    this.rqXx = [1, 2, 3, 4, 5].map((c) => sink.counter('envoy_cluster_upstream_rq_xx', { ...l, envoy_response_code_class: String(c) }));
    this.cxConnectFail = sink.counter('envoy_cluster_upstream_cx_connect_fail', l);
    this.rqTimeout = sink.counter('envoy_cluster_upstream_rq_timeout', l);
    this.rqPerTryTimeout = sink.counter('envoy_cluster_upstream_rq_per_try_timeout', l);
    this.rqRetry = sink.counter('envoy_cluster_upstream_rq_retry', l);
    this.rqRetryOverflow = sink.counter('envoy_cluster_upstream_rq_retry_overflow', l);
    this.rqPendingOverflow = sink.counter('envoy_cluster_upstream_rq_pending_overflow', l);
    this.resetBeforeHeaders = sink.counter('envoy_cluster_upstream_rq_rx_reset', l);
    this.noHealthyHost = sink.counter('envoy_cluster_upstream_cx_none_healthy', l);
    this.rqRetrySuccess = sink.counter('envoy_cluster_upstream_rq_retry_success', l);
    this.rqRetryLimitExceeded = sink.counter('envoy_cluster_upstream_rq_retry_limit_exceeded', l);
    this.rqMaxDurationReached = sink.counter('envoy_cluster_upstream_rq_max_duration_reached', l);
    this.cxOverflow = sink.counter('envoy_cluster_upstream_cx_overflow', l);
    this.cxConnectTimeout = sink.counter('envoy_cluster_upstream_cx_connect_timeout', l);
    this.rqPendingActive = sink.gauge('envoy_cluster_upstream_rq_pending_active', l);
    this.cxActive = sink.gauge('envoy_cluster_upstream_cx_active', l);
    const cb = (stat: string): Gauge => sink.gauge(`envoy_cluster_circuit_breakers_default_${stat}`, l);
    this.breaker = {
      cxOpen: cb('cx_open'), rqPendingOpen: cb('rq_pending_open'), rqOpen: cb('rq_open'), rqRetryOpen: cb('rq_retry_open'),
      remainingCx: cb('remaining_cx'), remainingPending: cb('remaining_pending'), remainingRq: cb('remaining_rq'), remainingRetries: cb('remaining_retries'),
    };
  }

  response(code: number): void {
    const cls = Math.floor(code / 100);
    if (cls >= 1 && cls <= 5) this.rqXx[cls - 1].inc();
  }
}

export class ClusterStatsCache {
  readonly #sink: StatsSink;
  readonly #byName = new Map<string, ClusterStats>();
  constructor(sink: StatsSink) { this.#sink = sink; }
  get(name: string): ClusterStats {
    let s = this.#byName.get(name);
    if (s === undefined) { s = new ClusterStats(this.#sink, name); this.#byName.set(name, s); }
    return s;
  }
}
