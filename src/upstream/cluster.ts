// Runtime state of one upstream cluster: its host set, load balancer, lazily created pools, DNS resolver and host health.
import type { ClusterConfig, LoadAssignment } from '../model/types.ts';
import { ClusterHealth } from './cluster-health.ts';
import { clusterKey, poolKey, stableStringify } from './config-key.ts';
import { DnsResolver } from './dns-resolver.ts';
import { HostSet, specsFromLoadAssignment, type HostSpec } from './host-set.ts';
import { createLoadBalancer } from './load-balancer/index.ts';
import { DEFAULT_ORIGINAL_DST, OriginalDstHosts } from './original-dst.ts';
import type { AttemptOutcome, Host, HostPool, LbContext, LoadBalancer, PoolFactory, UpstreamCluster, UpstreamStatsSink } from './types.ts';

export interface ClusterLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** One cluster. The same object lives across config changes of its name, so references held by requests stay valid. */
export class Cluster implements UpstreamCluster {
  readonly name: string;
  config: ClusterConfig;
  /** clusterKey(config), computed when the config is set. */
  key: string;
  private poolsKey: string;
  private readonly poolFactory: PoolFactory;
  private readonly logger: ClusterLogger | undefined;
  private readonly hostSet = new HostSet();
  private lb: LoadBalancer;
  private readonly pools = new Map<Host, HostPool>();
  private readonly closing = new Set<Promise<void>>();
  private resolver: DnsResolver | null = null;
  /** Endpoints delivered by EDS (setLoadAssignment) or by the config of an EDS cluster. */
  private eds: LoadAssignment | null = null;
  private edsConfigKey = 'null';
  private readyPromise: Promise<void> = Promise.resolve();
  private closed = false;
  /** Outlier detection and active health checks (they set the hosts' ejected / failedActiveHc flags). */
  readonly health: ClusterHealth;
  /** ORIGINAL_DST: hosts made per original destination (null for other types). */
  private originalDst: OriginalDstHosts | null = null;
  private readonly stats: UpstreamStatsSink | undefined;

  constructor(config: ClusterConfig, poolFactory: PoolFactory, logger?: ClusterLogger, key = clusterKey(config), stats?: UpstreamStatsSink) {
    this.name = config.name;
    this.config = config;
    this.key = key;
    this.poolsKey = poolKey(config);
    this.poolFactory = poolFactory;
    this.logger = logger;
    this.stats = stats;
    this.lb = createLoadBalancer(config, []);
    this.health = new ClusterHealth({ cluster: config.name, stats, hosts: () => this.hostSet.all(), onChange: () => this.refreshHealth() });
    this.health.configure(config);
    this.discover();
  }

  hosts(): readonly Host[] {
    return this.originalDst !== null ? this.originalDst.all() : this.hostSet.all();
  }

  chooseHost(ctx: LbContext): Host | null {
    const od = this.originalDst;
    return od !== null ? od.choose(ctx) : this.lb.choose(ctx);
  }

  reportOutcome(host: Host, outcome: AttemptOutcome): void {
    this.health.report(host, outcome);
  }

  successRate(host: Host): number {
    return this.health.successRate(host);
  }

  pool(host: Host): HostPool {
    const existing = this.pools.get(host);
    if (existing) return existing;
    const pool = this.poolFactory(host, this.config);
    if (this.closed || !(this.hostSet.has(host) || this.originalDst?.has(host) === true)) {
      // The host (or cluster) went away after it was chosen: serve this request, then drain the pool.
      this.track(new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.closePool(pool)));
      return pool;
    }
    this.pools.set(host, pool);
    return pool;
  }

  /** Resolves when the first DNS round finished (immediately for other types). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Applies a changed config: hosts that remain keep their Host objects; pools too unless connection settings changed. */
  reconfigure(config: ClusterConfig, key = clusterKey(config)): void {
    this.config = config;
    this.key = key;
    const nextPoolsKey = poolKey(config);
    if (nextPoolsKey !== this.poolsKey) {
      this.poolsKey = nextPoolsKey;
      for (const pool of this.pools.values()) this.closePool(pool);
      this.pools.clear();
    }
    this.health.configure(config);
    this.discover();
  }

  /** EDS: replaces the endpoints of the cluster. */
  setLoadAssignment(la: LoadAssignment): void {
    this.eds = la;
    if (this.config.type === 'EDS' && !this.closed) this.applySpecs(specsFromLoadAssignment(la), true);
  }

  /** Stops discovery and closes every pool gracefully. */
  async close(): Promise<void> {
    this.closed = true;
    this.health.stop();
    this.resolver?.stop();
    this.resolver = null;
    this.originalDst?.close();
    this.originalDst = null;
    for (const pool of this.pools.values()) this.closePool(pool);
    this.pools.clear();
    while (this.closing.size > 0) await Promise.all(this.closing);
  }

  private discover(): void {
    this.resolver?.stop();
    this.resolver = null;
    this.readyPromise = Promise.resolve();
    const config = this.config;
    if (config.type !== 'ORIGINAL_DST' && this.originalDst !== null) {
      this.originalDst.close();
      this.originalDst = null;
    }
    switch (config.type) {
      case 'STATIC':
        this.applySpecs(specsFromLoadAssignment(config.loadAssignment), true);
        break;
      case 'EDS': {
        // A load assignment in the config counts only when it changed; otherwise the latest EDS push wins.
        const configKey = stableStringify(config.loadAssignment);
        if (config.loadAssignment !== null && configKey !== this.edsConfigKey) this.eds = config.loadAssignment;
        this.edsConfigKey = configKey;
        this.applySpecs(specsFromLoadAssignment(this.eds), true);
        break;
      }
      case 'STRICT_DNS':
      case 'LOGICAL_DNS': {
        // Current hosts stay until the new resolver reports; the balancer is rebuilt for the new policy now.
        this.lb = createLoadBalancer(config, this.hostSet.active());
        const resolver = new DnsResolver({ config, logger: this.logger, onHosts: (specs) => this.applySpecs(specs, false) });
        this.resolver = resolver;
        this.readyPromise = resolver.start();
        break;
      }
      case 'ORIGINAL_DST':
        this.applySpecs([], true);
        (this.originalDst ??= this.createOriginalDst()).configure(config.originalDst ?? DEFAULT_ORIGINAL_DST);
        break;
    }
  }

  private createOriginalDst(): OriginalDstHosts {
    const invalid = this.stats?.counter('envoy_cluster_original_dst_host_invalid', { envoy_cluster_name: this.name });
    let warned = false;
    return new OriginalDstHosts({
      onRemoved: (host) => {
        const pool = this.pools.get(host);
        if (pool) {
          this.pools.delete(host);
          this.closePool(pool);
        }
      },
      onInvalidHeader: (value) => {
        invalid?.inc();
        // Clients control the header: warn once, count always (original_dst_host_invalid).
        if (warned) return;
        warned = true;
        this.logger?.warn({ cluster: this.name, value: value.slice(0, 100) },
          'invalid original destination header (expected ip:port); using the connection\'s original destination, if any');
      },
    });
  }

  private applySpecs(specs: readonly HostSpec[], forceRebuild: boolean): void {
    const before = new Set(this.hostSet.all());
    const { removed, changed } = this.hostSet.update(specs);
    this.health.hostsChanged(this.hostSet.all(), this.hostSet.all().filter((h) => !before.has(h)));
    const activeMoved = this.hostSet.refreshActive();
    for (const host of removed) {
      const pool = this.pools.get(host);
      if (pool) {
        this.pools.delete(host);
        this.closePool(pool);
      }
    }
    if (changed || forceRebuild || activeMoved) this.lb = createLoadBalancer(this.config, this.hostSet.active());
  }

  /** Health flags changed (ejection, health check): another priority may now be the active one. */
  private refreshHealth(): void {
    if (this.hostSet.refreshActive()) this.lb = createLoadBalancer(this.config, this.hostSet.active());
  }

  /** Starts a graceful close of the pool (never destroy) and tracks it for close(). */
  private closePool(pool: HostPool): Promise<void> {
    let closing: Promise<void>;
    try {
      closing = pool.close();
    } catch (err) {
      closing = Promise.reject(err);
    }
    return this.track(closing);
  }

  private track(closing: Promise<void>): Promise<void> {
    const p = closing.catch((err: unknown) => {
      this.logger?.error({ err, cluster: this.name }, 'closing upstream pool failed');
    });
    this.closing.add(p);
    void p.finally(() => this.closing.delete(p));
    return p;
  }
}
