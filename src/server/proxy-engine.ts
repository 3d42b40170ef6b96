// The proxy engine of one process: applies snapshots to listeners and clusters, and drains them on shutdown.
import { isIPv6, SocketAddress } from 'node:net';
import type { Logger } from 'pino';
import type { ClusterConfig, ListenerConfig, Snapshot } from '../model/types.ts';
import { createAccessLoggers } from '../observability/access-log.ts';
import { MeshTelemetry } from '../observability/mesh-telemetry.ts';
import type { StatsRegistry } from '../observability/stats.ts';
import { ClusterStatsCache } from '../http/cluster-stats.ts';
import { circuitBreakerFor } from '../policy/circuit-breaker.ts';
import { RouteTable } from '../http/route-table.ts';
import { ListenerRuntime } from '../listener/listener.ts';
import { processSecretStore } from '../secrets/process-secrets.ts';
import { ClusterManager } from '../upstream/cluster-manager.ts';
import type { HostPool } from '../upstream/types.ts';
import { createHostPool } from '../upstream/pool/host-pool-factory.ts';
import type { BoundListener, ProxyEngine } from './types.ts';
import { stableKey } from './stable-key.ts';

export interface ProxyEngineOptions {
  readonly stats: StatsRegistry;
  readonly logger: Logger;
}

export function createProxyEngine(opts: ProxyEngineOptions): ProxyEngine {
  return new Engine(opts);
}

class Engine implements ProxyEngine {
  readonly #log: Logger;
  readonly #clusters: ClusterManager;
  readonly #listeners = new Map<string, { runtime: ListenerRuntime; key: string }>();
  readonly #retiring = new Set<ListenerRuntime>();
  /** Listeners by "address|port" (bound or not), for use_original_dst handoff; rebuilt after each apply. */
  #byAddress = new Map<string, ListenerRuntime>();
  /** RDS route tables by name; replaced as a whole on apply so a request sees one consistent set. */
  #routes = new Map<string, RouteTable>();
  readonly #deps;
  #snapshot: Snapshot | null = null;
  #inflight = 0;
  #idleWaiters: (() => void)[] = [];
  #applying: Promise<void> = Promise.resolve();

  constructor(opts: ProxyEngineOptions) {
    this.#log = opts.logger;
    this.#clusters = new ClusterManager({
      poolFactory: (host, cluster: ClusterConfig): HostPool => createHostPool(host, cluster),
      logger: opts.logger,
      stats: opts.stats,
    });
    const clusters = this.#clusters;
    this.#deps = {
      clusters: { get: (name: string) => clusters.get(name) },
      stats: opts.stats,
      clusterStats: new ClusterStatsCache(opts.stats),
      routes: { get: (name: string) => this.#routes.get(name) },
      accessLoggers: createAccessLoggers,
      onActive: (delta: number) => {
        this.#inflight += delta;
        if (this.#inflight === 0) for (const w of this.#idleWaiters.splice(0)) w();
      },
      log: opts.logger,
      // SDS-configured TLS reads the process's secrets (identity agent, static_resources.secrets, SDS over ADS).
      secrets: processSecretStore(),
      telemetry: new MeshTelemetry({ stats: opts.stats, clusters: { get: (name: string) => clusters.get(name) }, log: opts.logger }),
      listenerFor: (ip: string, port: number) => this.#listenerFor(ip, port),
    };
  }

  apply(snapshot: Snapshot): Promise<void> {
    // Snapshots apply one at a time, in order.
    const run = this.#applying.then(() => this.#apply(snapshot));
    this.#applying = run.catch(() => undefined);
    return run;
  }

  async #apply(snapshot: Snapshot): Promise<void> {
    // Static and SDS secrets first: TLS contexts read them at handshake time.
    this.#deps.secrets.sync(snapshot.secrets);
    // Clusters first, so new routes never point at a cluster that does not exist yet.
    this.#clusters.update(snapshot.clusters);
    await this.#deps.telemetry.prepare(snapshot);
    // Every cluster shows its circuit breaker gauges from the start, and new thresholds at once.
    for (const name of snapshot.clusters.keys()) {
      const cluster = this.#clusters.get(name);
      if (cluster !== undefined) circuitBreakerFor(cluster, this.#deps.clusterStats.get(name)).refresh();
    }
    const routes = new Map<string, RouteTable>();
    for (const [name, rc] of snapshot.routeConfigs ?? []) {
      const old = this.#routes.get(name);
      routes.set(name, old !== undefined && old.config === rc ? old : new RouteTable(rc));
    }
    this.#routes = routes;
    const wanted = new Map<string, ListenerConfig>(snapshot.listeners.map((l) => [l.name, l]));
    const started: ListenerRuntime[] = [];
    try {
      for (const [name, cfg] of wanted) {
        const key = stableKey(cfg);
        const existing = this.#listeners.get(name);
        if (existing && existing.key === key) continue;
        if (existing && sameAddress(existing.runtime.config, cfg)) {
          existing.runtime.update(cfg);
          existing.key = key;
          this.#log.info({ listener: name }, 'listener updated');
          continue;
        }
        const runtime = new ListenerRuntime(cfg, this.#deps);
        await runtime.listen();
        started.push(runtime);
        if (existing) this.#retire(existing.runtime);
        this.#listeners.set(name, { runtime, key });
        this.#log.info({ listener: name, address: runtime.address }, existing ? 'listener replaced' : 'listener added');
      }
    } catch (err) {
      for (const r of started) { await r.stopListening(); this.#listeners.delete(r.name); }
      throw err;
    }
    for (const [name, { runtime }] of this.#listeners) {
      if (wanted.has(name)) continue;
      this.#listeners.delete(name);
      this.#retire(runtime);
      this.#log.info({ listener: name }, 'listener removed');
    }
    const byAddress = new Map<string, ListenerRuntime>();
    for (const { runtime } of this.#listeners.values()) {
      const a = runtime.address ?? runtime.config.address; // port 0 resolved to the bound port
      byAddress.set(addressKey(a.host, a.port), runtime);
    }
    this.#byAddress = byAddress;
    this.#snapshot = snapshot;
  }

  /** Envoy's handoff target: the listener on exactly ip:port, else the wildcard listener on the port (IPv4 also tries [::]). */
  #listenerFor(ip: string, port: number): ListenerRuntime | undefined {
    const exact = this.#byAddress.get(addressKey(ip, port));
    if (exact !== undefined) return exact;
    if (isIPv6(ip)) return this.#byAddress.get(`::|${port}`);
    return this.#byAddress.get(`0.0.0.0|${port}`) ?? this.#byAddress.get(`::|${port}`);
  }

  #retire(runtime: ListenerRuntime): void {
    this.#retiring.add(runtime);
    void runtime.stopListening().then(() => {
      runtime.drain(false);
      const done = (): void => {
        if (runtime.connectionCount() === 0) { this.#retiring.delete(runtime); return; }
        setTimeout(done, 1000).unref();
      };
      done();
    });
  }

  current(): Snapshot | null { return this.#snapshot; }

  listeners(): readonly BoundListener[] {
    const out: BoundListener[] = [];
    for (const [name, { runtime }] of this.#listeners) {
      const a = runtime.address;
      if (a) out.push({ name, host: a.host, port: a.port });
    }
    return out;
  }

  clusters() { return this.#clusters.all(); }

  async stopListening(): Promise<void> {
    await Promise.all([...this.#listeners.values()].map(({ runtime }) => runtime.stopListening()));
  }

  async drainListeners(opts: { readonly inboundOnly: boolean; readonly graceful: boolean }): Promise<void> {
    const chosen = [...this.#listeners.values()].map((l) => l.runtime)
      .filter((r) => !opts.inboundOnly || r.config.trafficDirection === 'INBOUND');
    await Promise.all(chosen.map((r) => r.stopListening()));
    if (opts.graceful) for (const r of chosen) r.drain(true);
  }

  async drain(timeoutMs: number): Promise<void> {
    await this.stopListening();
    const all = [...[...this.#listeners.values()].map((l) => l.runtime), ...this.#retiring];
    for (const r of all) r.drain(true);
    if (this.#inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        this.#idleWaiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    for (const r of all) r.destroyConnections();
    await this.#deps.telemetry.shutdown(Math.max(1000, Math.min(timeoutMs, 5000)));
    await this.#clusters.close();
  }

  inflight(): number { return this.#inflight; }
}

function sameAddress(a: ListenerConfig, b: ListenerConfig): boolean {
  return a.address.host === b.address.host && a.address.port === b.address.port && (a.bindToPort !== false) === (b.bindToPort !== false);
}

/** "address|port" with IPv6 in its canonical text form, so "0:0::1" and "::1" are one key. */
function addressKey(host: string, port: number): string {
  if (!isIPv6(host)) return `${host}|${port}`;
  try { return `${new SocketAddress({ address: host, family: 'ipv6' }).address}|${port}`; } catch { return `${host}|${port}`; }
}
