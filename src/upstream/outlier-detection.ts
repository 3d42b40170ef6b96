// Outlier detection of one cluster (Envoy's passive health checking): counts attempt outcomes per host, ejects outliers, returns them after their time.
import type { OutlierDetectionConfig } from '../model/types.ts';
import type { Counter, Gauge } from '../observability/types.ts';
import { realClock, type Clock } from './clock.ts';
import { findRateOutliers, RequestBucket } from './outlier-success-rate.ts';
import type { AttemptOutcome, Host, UpstreamStatsSink } from './types.ts';

/** Envoy's OutlierEjectionType, spelled as its stat suffix. */
export type EjectionType =
  | 'consecutive_5xx'
  | 'consecutive_gateway_failure'
  | 'consecutive_local_origin_failure'
  | 'success_rate'
  | 'local_origin_success_rate'
  | 'failure_percentage'
  | 'local_origin_failure_percentage';

const EJECTION_TYPES: readonly EjectionType[] = [
  'consecutive_5xx', 'consecutive_gateway_failure', 'consecutive_local_origin_failure', 'success_rate',
  'local_origin_success_rate', 'failure_percentage', 'local_origin_failure_percentage',
];

/** Per-host state (Envoy's DetectorHostMonitorImpl). */
interface Monitor {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  consecutiveLocalOriginFailure: number;
  /** Multiplier of base_ejection_time: +1 per ejection, -1 per interval spent un-ejected. */
  backoff: number;
  numEjections: number;
  lastEjectionMs: number;
  jitterMs: number;
  readonly external: RequestBucket;
  readonly local: RequestBucket;
  successRate: number;
  localSuccessRate: number;
}

interface DetectorStats {
  readonly active: Gauge;
  readonly enforcedTotal: Counter;
  readonly overflow: Counter;
  readonly detected: Readonly<Record<EjectionType, Counter>>;
  readonly enforced: Readonly<Record<EjectionType, Counter>>;
}

/** Counters that exist without a registry (unit tests). */
class Tally implements Counter, Gauge {
  value = 0;
  inc(n = 1): void { this.value += n; }
  dec(n = 1): void { this.value -= n; }
  set(v: number): void { this.value = v; }
}

function detectorStats(sink: UpstreamStatsSink | undefined, cluster: string): DetectorStats {
  const l = { envoy_cluster_name: cluster };
  const p = 'envoy_cluster_outlier_detection_';
  const counter = (name: string): Counter => (sink ? sink.counter(p + name, l) : new Tally());
  const byType = (prefix: string) => Object.fromEntries(EJECTION_TYPES.map((t) => [t, counter(prefix + t)])) as Record<EjectionType, Counter>;
  return {
    active: sink ? sink.gauge(`${p}ejections_active`, l) : new Tally(),
    enforcedTotal: counter('ejections_enforced_total'),
    overflow: counter('ejections_overflow'),
    detected: byType('ejections_detected_'),
    enforced: byType('ejections_enforced_'),
  };
}

export interface OutlierDetectorOptions {
  readonly cluster: string;
  readonly config: OutlierDetectionConfig;
  /** Called after a host was ejected or returned (the cluster re-picks its active hosts). */
  readonly onChange: (host: Host) => void;
  readonly stats?: UpstreamStatsSink;
  readonly clock?: Clock;
  /** Uniform in [0, 1): decides enforcing_* percentages and the ejection jitter. */
  readonly random?: () => number;
}

export class OutlierDetector {
  readonly config: OutlierDetectionConfig;
  readonly stats: DetectorStats;
  readonly #monitors = new Map<Host, Monitor>();
  readonly #onChange: (host: Host) => void;
  readonly #clock: Clock;
  readonly #random: () => number;
  #ejected = 0;
  #cancelTimer: (() => void) | null = null;

  constructor(opts: OutlierDetectorOptions) {
    this.config = opts.config;
    this.stats = detectorStats(opts.stats, opts.cluster);
    this.#onChange = opts.onChange;
    this.#clock = opts.clock ?? realClock;
    this.#random = opts.random ?? Math.random;
    this.#arm();
  }

  /** Follows the cluster's membership: new hosts get a monitor, removed ones leave (and stop counting as ejected). */
  syncHosts(hosts: readonly Host[]): void {
    const keep = new Set(hosts);
    for (const [host] of this.#monitors) {
      if (keep.has(host)) continue;
      this.#monitors.delete(host);
      if (host.ejected) {
        host.ejected = false;
        this.#setEjected(this.#ejected - 1);
      }
    }
    for (const host of hosts) if (!this.#monitors.has(host)) this.#monitors.set(host, newMonitor());
  }

  /** Ejections currently in force. */
  ejectedCount(): number {
    return this.#ejected;
  }

  /** Success rate (0..100) of the last evaluated interval, or -1 (for /clusters). */
  successRate(host: Host, localOrigin = false): number {
    const m = this.#monitors.get(host);
    return m === undefined ? -1 : localOrigin ? m.localSuccessRate : m.successRate;
  }

  /** The router's report of one attempt (Envoy's putResult / putHttpResponseCode). */
  report(host: Host, outcome: AttemptOutcome): void {
    const m = this.#monitors.get(host);
    if (m === undefined || outcome === 'overflow') return;
    const split = this.config.splitExternalLocalOriginErrors;
    if (typeof outcome === 'number') {
      this.#httpStatus(host, m, outcome);
      if (split) this.#localSuccess(m);
    } else if (outcome === 'connect_success') {
      // tcp_proxy's final success (Envoy's LOCAL_ORIGIN_CONNECT_SUCCESS_FINAL): a 200 unless errors are split.
      if (split) this.#localSuccess(m);
      else this.#httpStatus(host, m, 200);
    } else if (split) {
      this.#localFailure(host, m);
    } else {
      // Without the split, local failures count as gateway errors: timeouts as 504, the rest as 503.
      this.#httpStatus(host, m, outcome === 'timeout' || outcome === 'per_try_timeout' ? 504 : 503);
    }
  }

  /** A passing active health check returns an ejected host (successful_active_health_check_uneject_host). */
  onHealthCheckSuccess(host: Host): void {
    if (!this.config.successfulActiveHealthCheckUnejectHost || !host.ejected || host.failedActiveHc) return;
    const m = this.#monitors.get(host);
    if (m !== undefined) this.#uneject(host, m);
  }

  /** One interval sweep: returns hosts whose time is up, then runs the success-rate and failure-percentage checks. */
  sweep(): void {
    const now = this.#clock.now();
    const c = this.config;
    for (const [host, m] of this.#monitors) {
      if (host.ejected) {
        const ejectionMs = Math.min(c.baseEjectionTimeMs * m.backoff, c.maxEjectionTimeMs) + m.jitterMs;
        if (ejectionMs <= now - m.lastEjectionMs) this.#uneject(host, m);
      } else if (m.backoff > 0) {
        m.backoff--;
      }
      m.external.swap();
      m.local.swap();
      m.successRate = -1;
      m.localSuccessRate = -1;
    }
    this.#rateEjections(false);
    // Local-origin buckets only fill when external and local errors are split.
    if (c.splitExternalLocalOriginErrors) this.#rateEjections(true);
  }

  stop(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    for (const host of this.#monitors.keys()) host.ejected = false;
    this.#monitors.clear();
    this.#setEjected(0);
  }

  #arm(): void {
    this.#cancelTimer = this.#clock.after(this.config.intervalMs, () => {
      this.sweep();
      this.#arm();
    });
  }

  #httpStatus(host: Host, m: Monitor, status: number): void {
    const c = this.config;
    if (status >= 500 && status <= 599) {
      m.external.record(false);
      if (status >= 502 && status <= 504) {
        if (++m.consecutiveGatewayFailure === c.consecutiveGatewayFailure) this.#consecutive(host, m, 'consecutive_gateway_failure');
      } else {
        m.consecutiveGatewayFailure = 0;
      }
      if (++m.consecutive5xx === c.consecutive5xx) this.#consecutive(host, m, 'consecutive_5xx');
    } else {
      m.external.record(true);
      m.consecutive5xx = 0;
      m.consecutiveGatewayFailure = 0;
    }
  }

  #localFailure(host: Host, m: Monitor): void {
    m.local.record(false);
    if (++m.consecutiveLocalOriginFailure === this.config.consecutiveLocalOriginFailure) this.#consecutive(host, m, 'consecutive_local_origin_failure');
  }

  #localSuccess(m: Monitor): void {
    m.local.record(true);
    m.consecutiveLocalOriginFailure = 0;
  }

  /** A consecutive-errors threshold was reached: try to eject, then restart that count either way (as Envoy does). */
  #consecutive(host: Host, m: Monitor, type: EjectionType): void {
    if (host.ejected) return;
    this.stats.detected[type].inc();
    this.#eject(host, m, type);
    if (type === 'consecutive_5xx') m.consecutive5xx = 0;
    else if (type === 'consecutive_gateway_failure') m.consecutiveGatewayFailure = 0;
    else m.consecutiveLocalOriginFailure = 0;
  }

  #rateEjections(localOrigin: boolean): void {
    const c = this.config;
    const inputs = [];
    for (const [host, m] of this.#monitors) {
      if (host.ejected) continue;
      const b = localOrigin ? m.local : m.external;
      inputs.push({ host, total: b.lastTotal, success: b.lastSuccess });
    }
    const verdict = findRateOutliers(this.#monitors.size, inputs, c);
    for (const [host, rate] of verdict.rates) {
      const m = this.#monitors.get(host)!;
      if (localOrigin) m.localSuccessRate = rate;
      else m.successRate = rate;
    }
    const eject = (hosts: readonly Host[], type: EjectionType): void => {
      for (const host of hosts) {
        if (host.ejected) continue;
        this.stats.detected[type].inc();
        this.#eject(host, this.#monitors.get(host)!, type);
      }
    };
    eject(verdict.successRateOutliers, localOrigin ? 'local_origin_success_rate' : 'success_rate');
    eject(verdict.failurePercentageOutliers, localOrigin ? 'local_origin_failure_percentage' : 'failure_percentage');
  }

  /** Envoy's ejectHost: max_ejection_percent first (at least one host with always_eject_one_host), then enforcing_*. */
  #eject(host: Host, m: Monitor, type: EjectionType): void {
    const c = this.config;
    const ejectedPercent = (100 * this.#ejected) / this.#monitors.size;
    if (!(ejectedPercent < c.maxEjectionPercent || (c.alwaysEjectOneHost && this.#ejected === 0))) {
      this.stats.overflow.inc();
      return;
    }
    if (this.#random() * 100 >= this.#enforcing(type)) return;
    this.stats.enforcedTotal.inc();
    this.stats.enforced[type].inc();
    host.ejected = true;
    this.#setEjected(this.#ejected + 1);
    m.numEjections++;
    m.lastEjectionMs = this.#clock.now();
    if (m.backoff * c.baseEjectionTimeMs < c.maxEjectionTimeMs + c.baseEjectionTimeMs) m.backoff++;
    m.jitterMs = c.maxEjectionTimeJitterMs > 0 ? Math.floor(this.#random() * c.maxEjectionTimeJitterMs) : 0;
    this.#onChange(host);
  }

  #uneject(host: Host, m: Monitor): void {
    host.ejected = false;
    this.#setEjected(this.#ejected - 1);
    // Fresh counts, so a count close to its threshold does not eject the host again after a few errors.
    m.consecutive5xx = 0;
    m.consecutiveGatewayFailure = 0;
    m.consecutiveLocalOriginFailure = 0;
    this.#onChange(host);
  }

  #enforcing(type: EjectionType): number {
    const c = this.config;
    switch (type) {
      case 'consecutive_5xx': return c.enforcingConsecutive5xx;
      case 'consecutive_gateway_failure': return c.enforcingConsecutiveGatewayFailure;
      case 'consecutive_local_origin_failure': return c.enforcingConsecutiveLocalOriginFailure;
      case 'success_rate': return c.enforcingSuccessRate;
      case 'local_origin_success_rate': return c.enforcingLocalOriginSuccessRate;
      case 'failure_percentage': return c.enforcingFailurePercentage;
      case 'local_origin_failure_percentage': return c.enforcingFailurePercentageLocalOrigin;
    }
  }

  #setEjected(n: number): void {
    this.#ejected = n;
    this.stats.active.set(n);
  }
}

function newMonitor(): Monitor {
  return {
    consecutive5xx: 0,
    consecutiveGatewayFailure: 0,
    consecutiveLocalOriginFailure: 0,
    backoff: 0,
    numEjections: 0,
    lastEjectionMs: 0,
    jitterMs: 0,
    external: new RequestBucket(),
    local: new RequestBucket(),
    successRate: -1,
    localSuccessRate: -1,
  };
}
