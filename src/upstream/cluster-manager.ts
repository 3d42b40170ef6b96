// Owns every upstream cluster: reconciles them with each config snapshot, feeds EDS endpoints, and closes them gracefully.
import type { ClusterConfig, LoadAssignment } from '../model/types.ts';
import { Cluster, type ClusterLogger } from './cluster.ts';
import { clusterKey } from './config-key.ts';
import type { PoolFactory, UpstreamCluster, UpstreamStatsSink } from './types.ts';

export interface ClusterManagerOptions {
  readonly poolFactory: PoolFactory;
  readonly logger?: ClusterLogger;
  /** Where clusters put outlier detection and health check stats. */
  readonly stats?: UpstreamStatsSink;
}

export class ClusterManager {
  private readonly poolFactory: PoolFactory;
  private readonly logger: ClusterLogger | undefined;
  private readonly stats: UpstreamStatsSink | undefined;
  private readonly clusters = new Map<string, Cluster>();
  /** EDS assignments received for clusters that are not (yet) configured. */
  private readonly pendingEds = new Map<string, LoadAssignment>();
  private readonly closing = new Set<Promise<void>>();

  constructor(opts: ClusterManagerOptions) {
    this.poolFactory = opts.poolFactory;
    this.logger = opts.logger;
    this.stats = opts.stats;
  }

  /** Reconciles with a full set of clusters: unchanged ones keep their state, changed ones are updated in place, removed ones drain. */
  update(clusters: ReadonlyMap<string, ClusterConfig>): void {
    for (const [name, config] of clusters) {
      const key = clusterKey(config);
      const existing = this.clusters.get(name);
      if (!existing) {
        const cluster = new Cluster(config, this.poolFactory, this.logger, key, this.stats);
        const eds = this.pendingEds.get(name);
        if (eds) {
          this.pendingEds.delete(name);
          cluster.setLoadAssignment(eds);
        }
        this.clusters.set(name, cluster);
        this.logger?.info({ cluster: name }, 'cluster added');
      } else if (existing.key !== key) {
        existing.reconfigure(config, key);
        this.logger?.info({ cluster: name }, 'cluster updated');
      }
    }
    for (const [name, cluster] of this.clusters) {
      if (clusters.has(name)) continue;
      this.clusters.delete(name);
      this.track(cluster.close());
      this.logger?.info({ cluster: name }, 'cluster removed');
    }
  }

  /** The cluster named `name` (hot path: one Map lookup). */
  get(name: string): UpstreamCluster | undefined {
    return this.clusters.get(name);
  }

  all(): UpstreamCluster[] {
    return [...this.clusters.values()];
  }

  /** EDS hook: the endpoints of cluster `clusterName`. Kept until the cluster appears if it is not configured yet. */
  setLoadAssignment(clusterName: string, la: LoadAssignment): void {
    const cluster = this.clusters.get(clusterName);
    if (cluster) cluster.setLoadAssignment(la);
    else this.pendingEds.set(clusterName, la);
  }

  /** Resolves once every DNS cluster finished its first resolution round. */
  async ready(): Promise<void> {
    await Promise.all([...this.clusters.values()].map((c) => c.ready()));
  }

  /** Closes every cluster gracefully (pools drain) and waits for pools of earlier removals too. */
  async close(): Promise<void> {
    for (const cluster of this.clusters.values()) this.track(cluster.close());
    this.clusters.clear();
    while (this.closing.size > 0) await Promise.all(this.closing);
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch((err: unknown) => this.logger?.error({ err }, 'closing cluster failed'));
    this.closing.add(tracked);
    void tracked.finally(() => this.closing.delete(tracked));
  }
}
