// A cluster's passive and active health: owns its outlier detector and health checkers across config changes and host updates.
import type { ClusterConfig } from '../model/types.ts';
import type { Clock } from './clock.ts';
import { stableStringify } from './config-key.ts';
import { HealthChecker, type HealthTransition } from './health-check.ts';
import type { ProberFactory } from './health-check-probes.ts';
import { OutlierDetector } from './outlier-detection.ts';
import type { AttemptOutcome, Host, UpstreamStatsSink } from './types.ts';

export interface ClusterHealthOptions {
  readonly cluster: string;
  /** The cluster's current hosts (every priority). */
  readonly hosts: () => readonly Host[];
  /** A host's health flags changed: the cluster re-picks its active priority. */
  readonly onChange: () => void;
  readonly stats?: UpstreamStatsSink;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly probers?: ProberFactory;
}

export class ClusterHealth {
  readonly #opts: ClusterHealthOptions;
  #detector: OutlierDetector | null = null;
  #detectorKey = 'null';
  #checkers: HealthChecker[] = [];
  #checkersKey = '[]';
  #traffic = false;

  constructor(opts: ClusterHealthOptions) {
    this.#opts = opts;
  }

  get detector(): OutlierDetector | null {
    return this.#detector;
  }

  get checkers(): readonly HealthChecker[] {
    return this.#checkers;
  }

  /** Applies a (changed) cluster config; an unchanged outlier_detection or health_checks keeps its state. */
  configure(config: ClusterConfig): void {
    const hosts = this.#opts.hosts();
    const detectorKey = stableStringify(config.outlierDetection);
    if (detectorKey !== this.#detectorKey) {
      this.#detectorKey = detectorKey;
      this.#detector?.stop();
      this.#detector = null;
      if (config.outlierDetection !== null) {
        const o = this.#opts;
        this.#detector = new OutlierDetector({ cluster: o.cluster, config: config.outlierDetection, onChange: () => o.onChange(), stats: o.stats, clock: o.clock, random: o.random });
        this.#detector.syncHosts(hosts);
      }
      this.#opts.onChange();
    }
    const checkersKey = stableStringify([config.healthChecks, config.tls, config.name]);
    if (checkersKey !== this.#checkersKey) {
      this.#checkersKey = checkersKey;
      const had = this.#checkers.length > 0;
      for (const c of this.#checkers) c.stop();
      this.#checkers = config.healthChecks.map((hc) => this.#newChecker(config, hc));
      const has = this.#checkers.length > 0;
      // Hosts a health check has never seen start unhealthy, pending their first check (Envoy's initial state).
      if (has && !had) for (const h of hosts) { h.failedActiveHc = true; h.pendingActiveHc = true; }
      if (!has) for (const h of hosts) { h.failedActiveHc = false; h.pendingActiveHc = false; }
      for (const c of this.#checkers) c.syncHosts(hosts);
      this.#opts.onChange();
    }
  }

  /** After a membership update: new hosts start pending their first health check; monitors and sessions follow. */
  hostsChanged(hosts: readonly Host[], added: readonly Host[]): void {
    if (this.#checkers.length > 0) for (const h of added) { h.failedActiveHc = true; h.pendingActiveHc = true; }
    this.#detector?.syncHosts(hosts);
    for (const c of this.#checkers) c.syncHosts(hosts);
  }

  report(host: Host, outcome: AttemptOutcome): void {
    this.#traffic = true;
    this.#detector?.report(host, outcome);
  }

  /** Success rate of the host's last outlier interval, or -1. */
  successRate(host: Host, localOrigin = false): number {
    return this.#detector?.successRate(host, localOrigin) ?? -1;
  }

  stop(): void {
    this.#detector?.stop();
    this.#detector = null;
    for (const c of this.#checkers) c.stop();
    this.#checkers = [];
  }

  #newChecker(config: ClusterConfig, hc: ClusterConfig['healthChecks'][number]): HealthChecker {
    const o = this.#opts;
    return new HealthChecker({
      cluster: config,
      config: hc,
      hasTraffic: () => this.#traffic || (this.#traffic = o.hosts().some((h) => h.rqTotal > 0)),
      onResult: (host: Host, transition: HealthTransition, passed: boolean) => {
        if (passed) this.#detector?.onHealthCheckSuccess(host);
        if (transition === 'changed') o.onChange();
      },
      stats: o.stats,
      clock: o.clock,
      random: o.random,
      probers: o.probers,
    });
  }
}
