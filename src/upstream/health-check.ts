// Active health checking of one cluster (one HealthCheck entry): a session per host that probes it and moves its FAILED_ACTIVE_HC flag by the thresholds.
import type { ClusterConfig, HealthCheckConfig } from '../model/types.ts';
import type { Counter, Gauge } from '../observability/types.ts';
import { realClock, type Clock } from './clock.ts';
import { GrpcProber } from './health-check-grpc.ts';
import { Http1Prober, Http2Prober } from './health-check-http.ts';
import type { Prober, ProberFactory, ProbeResult } from './health-check-probes.ts';
import { TcpProber } from './health-check-tcp.ts';
import type { Host, UpstreamStatsSink } from './types.ts';

/** Envoy's HealthTransition: the host's health flipped, is on its way (threshold not reached), or stayed. */
export type HealthTransition = 'changed' | 'pending' | 'unchanged';

/** The real probes, by checker kind. */
export const defaultProbers: ProberFactory = (host, cluster, hc) => {
  const c = hc.checker;
  switch (c.kind) {
    case 'http': return c.codec === 'http2' ? new Http2Prober(host, cluster, c, hc.reuseConnection) : new Http1Prober(host, cluster, c, hc.reuseConnection);
    case 'tcp': return new TcpProber(host, cluster, c, hc.reuseConnection);
    case 'grpc': return new GrpcProber(host, cluster, c, hc.reuseConnection);
  }
};

export interface HealthCheckerOptions {
  readonly cluster: ClusterConfig;
  readonly config: HealthCheckConfig;
  /** Whether the cluster ever carried traffic (before that, no_traffic_interval applies). */
  readonly hasTraffic: () => boolean;
  /** After every check: the host, how its health moved, and whether the check passed. */
  readonly onResult: (host: Host, transition: HealthTransition, passed: boolean) => void;
  readonly stats?: UpstreamStatsSink;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly probers?: ProberFactory;
}

interface CheckerStats {
  readonly attempt: Counter;
  readonly success: Counter;
  readonly failure: Counter;
  readonly networkFailure: Counter;
  readonly healthy: Gauge;
}

class Tally implements Counter, Gauge {
  value = 0;
  inc(n = 1): void { this.value += n; }
  dec(n = 1): void { this.value -= n; }
  set(v: number): void { this.value = v; }
}

function checkerStats(sink: UpstreamStatsSink | undefined, cluster: string): CheckerStats {
  const l = { envoy_cluster_name: cluster };
  const counter = (n: string): Counter => (sink ? sink.counter(`envoy_cluster_health_check_${n}`, l) : new Tally());
  return {
    attempt: counter('attempt'),
    success: counter('success'),
    failure: counter('failure'),
    networkFailure: counter('network_failure'),
    healthy: sink ? sink.gauge('envoy_cluster_health_check_healthy', l) : new Tally(),
  };
}

export class HealthChecker {
  readonly config: HealthCheckConfig;
  readonly stats: CheckerStats;
  readonly #opts: HealthCheckerOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #sessions = new Map<Host, Session>();

  constructor(opts: HealthCheckerOptions) {
    this.#opts = opts;
    this.config = opts.config;
    this.stats = checkerStats(opts.stats, opts.cluster.name);
    this.#clock = opts.clock ?? realClock;
    this.#random = opts.random ?? Math.random;
  }

  /** Starts a session for each new host (first probe now, or after initial_jitter) and stops those of removed hosts. */
  syncHosts(hosts: readonly Host[]): void {
    const keep = new Set(hosts);
    for (const [host, session] of this.#sessions) {
      if (keep.has(host)) continue;
      session.stop();
      this.#sessions.delete(host);
    }
    for (const host of hosts) {
      if (this.#sessions.has(host)) continue;
      const prober = (this.#opts.probers ?? defaultProbers)(host, this.#opts.cluster, this.config);
      const session = new Session(this, host, prober);
      this.#sessions.set(host, session);
      const jitter = this.config.initialJitterMs;
      session.schedule(jitter > 0 ? Math.floor(this.#random() * jitter) : 0);
    }
    this.refreshHealthyStat();
  }

  stop(): void {
    for (const s of this.#sessions.values()) s.stop();
    this.#sessions.clear();
  }

  /** Envoy's HealthCheckerImplBase::interval: by traffic, the check's verdict and whether a change is pending, plus jitter. */
  interval(passed: boolean, transition: HealthTransition): number {
    const c = this.config;
    let base: number;
    if (this.#opts.hasTraffic()) {
      if (passed) base = transition === 'pending' ? c.healthyEdgeIntervalMs : c.intervalMs;
      else base = transition === 'pending' ? c.unhealthyEdgeIntervalMs : c.unhealthyIntervalMs;
    } else {
      base = passed && transition !== 'pending' ? c.noTrafficHealthyIntervalMs : c.noTrafficIntervalMs;
    }
    const percentJitter = Math.floor((c.intervalJitterPercent * base) / 100);
    if (percentJitter > 0) base += Math.floor(this.#random() * percentJitter);
    if (c.intervalJitterMs > 0) base += Math.floor(this.#random() * c.intervalJitterMs);
    return base;
  }

  after(ms: number, fn: () => void): () => void {
    return this.#clock.after(ms, fn);
  }

  report(host: Host, transition: HealthTransition, passed: boolean): void {
    this.refreshHealthyStat();
    this.#opts.onResult(host, transition, passed);
  }

  refreshHealthyStat(): void {
    let n = 0;
    for (const host of this.#sessions.keys()) if (!host.failedActiveHc) n++;
    this.stats.healthy.set(n);
  }
}

/** Envoy's ActiveHealthCheckSession: counts consecutive passes and failures of one host. */
class Session {
  readonly #checker: HealthChecker;
  readonly #host: Host;
  readonly #prober: Prober;
  #numHealthy = 0;
  #numUnhealthy = 0;
  #firstCheck = true;
  #cancel: (() => void) | null = null;
  #stopped = false;

  constructor(checker: HealthChecker, host: Host, prober: Prober) {
    this.#checker = checker;
    this.#host = host;
    this.#prober = prober;
  }

  schedule(ms: number): void {
    this.#cancel = this.#checker.after(ms, () => void this.#run());
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
    this.#prober.close();
  }

  async #run(): Promise<void> {
    if (this.#stopped) return;
    const stats = this.#checker.stats;
    stats.attempt.inc();
    const result: ProbeResult = await this.#prober.check(this.#checker.config.timeoutMs);
    if (this.#stopped) return;
    if (result.ok) this.#onSuccess();
    else this.#onFailure(result.network || result.retriable, result.network);
  }

  #onSuccess(): void {
    const host = this.#host;
    this.#numUnhealthy = 0;
    let transition: HealthTransition = 'unchanged';
    if (host.failedActiveHc) {
      // The very first result counts alone, so a starting cluster gets healthy hosts quickly (as in Envoy).
      if (this.#firstCheck || ++this.#numHealthy === this.#checker.config.healthyThreshold) {
        host.failedActiveHc = false;
        transition = 'changed';
      } else {
        transition = 'pending';
      }
    }
    transition = this.#clearPending(transition);
    this.#checker.stats.success.inc();
    this.#finish(true, transition);
  }

  /** `counted`: network failures and retriable statuses count towards unhealthy_threshold; others are immediate. */
  #onFailure(counted: boolean, network: boolean): void {
    const host = this.#host;
    this.#numHealthy = 0;
    let transition: HealthTransition = 'unchanged';
    if (!host.failedActiveHc) {
      if (!counted || ++this.#numUnhealthy === this.#checker.config.unhealthyThreshold) {
        host.failedActiveHc = true;
        transition = 'changed';
      } else {
        transition = 'pending';
      }
    }
    transition = this.#clearPending(transition);
    this.#checker.stats.failure.inc();
    if (network) this.#checker.stats.networkFailure.inc();
    this.#finish(false, transition);
  }

  /** The first result clears PENDING_ACTIVE_HC, which changes the panic computation even when health stays. */
  #clearPending(transition: HealthTransition): HealthTransition {
    if (!this.#host.pendingActiveHc) return transition;
    this.#host.pendingActiveHc = false;
    return 'changed';
  }

  #finish(passed: boolean, transition: HealthTransition): void {
    this.#firstCheck = false;
    this.#checker.report(this.#host, transition, passed);
    if (!this.#stopped) this.schedule(this.#checker.interval(passed, transition));
  }
}
