// The xDS configuration state: validates responses into the stores, publishes snapshots to the engine, tracks warming and readiness.
import type { Logger } from 'pino';
import type { Snapshot } from '../model/types.ts';
import type { ProxyEngine } from '../server/types.ts';
import { ResourceStore, type FailedResource, type IncomingResource } from './resource-store.ts';
import { KIND_SERVICE, KIND_TYPE_URL, KINDS, isWildcardKind, label, type XdsKind, type XdsModelApi } from './resource-types.ts';
import { buildSnapshot, type ActiveSet } from './snapshot-builder.ts';
import { dumpState, type KindFailure, type XdsDump, type XdsNack } from './xds-dump.ts';

/** One response of a type, decoded, as both protocol variants hand it over. */
export interface ResourceUpdate {
  readonly kind: XdsKind;
  readonly resources: readonly IncomingResource[];
  readonly removed: readonly string[];
  /** SotW LDS/CDS: the response is the complete set, absent resources are removed. */
  readonly complete: boolean;
  /** SotW version_info, or delta system_version_info ('' when the server sets none). */
  readonly versionInfo: string;
  readonly nonce: string;
  /** Delta: versions are per resource. */
  readonly perResourceVersions: boolean;
}

export type UpdateOutcome = { readonly ok: true } | { readonly ok: false; readonly message: string };

export interface XdsStateOptions {
  readonly staticSnapshot: Snapshot;
  readonly engine: ProxyEngine;
  readonly model: XdsModelApi;
  readonly io: { readFile(path: string): string };
  readonly logger: Logger;
  readonly lds: boolean;
  readonly cds: boolean;
  /** 0 waits forever. */
  readonly initialFetchTimeoutMs: number;
  /** How long a route configuration no listener references any more stays usable by draining connections (default 600 s, Envoy's drain time). */
  readonly routeRetentionMs?: number;
}

const DEFAULT_ROUTE_RETENTION_MS = 600_000;

export class XdsState {
  readonly #o: XdsStateOptions;
  readonly #stores: { [K in XdsKind]: ResourceStore<K> } = {
    listener: new ResourceStore('listener'),
    route_configuration: new ResourceStore('route_configuration'),
    cluster: new ResourceStore('cluster'),
    cluster_load_assignment: new ResourceStore('cluster_load_assignment'),
    secret: new ResourceStore('secret'),
  };
  #active: ActiveSet = { listeners: new Map(), clusters: new Map() };
  #interest = { routes: new Set<string>() as ReadonlySet<string>, endpoints: new Set<string>() as ReadonlySet<string>, secrets: new Set<string>() as ReadonlySet<string> };
  #warming = { listeners: [] as readonly string[], clusters: [] as readonly string[] };
  #missing = { routes: [] as readonly string[], endpoints: [] as readonly string[] };
  readonly #expired = { routes: new Set<string>(), endpoints: new Set<string>() };
  readonly #expiryTimers = new Map<string, NodeJS.Timeout>();
  /** Route configuration names in the snapshot in force. */
  #appliedRoutes: ReadonlySet<string> = new Set();
  /** Unreferenced route configuration name → when it stops being kept for draining connections. */
  readonly #lingerUntil = new Map<string, number>();
  readonly #lingerTimers = new Set<NodeJS.Timeout>();
  #queue: Promise<unknown> = Promise.resolve();
  #lastNack: XdsNack | null = null;
  readonly #failures = new Map<XdsKind, KindFailure>();
  #ready = false;
  #resolveReady!: () => void;
  readonly ready: Promise<void>;
  readonly #readyTimer: NodeJS.Timeout | null = null;
  #closed = false;
  /** Called after a rebuild that changed the RDS/EDS names of interest outside of a response (an expiry). */
  onInterestChange: () => void = () => {};

  constructor(opts: XdsStateOptions) {
    this.#o = opts;
    this.ready = new Promise<void>((r) => { this.#resolveReady = r; });
    if (opts.initialFetchTimeoutMs > 0) {
      this.#readyTimer = setTimeout(() => this.#markReady('initial fetch timeout'), opts.initialFetchTimeoutMs);
      this.#readyTimer.unref();
    }
  }

  /** Publishes the static part of the bootstrap (what serves until xDS delivers). */
  start(): Promise<void> {
    return this.#enqueue(async () => {
      await this.#rebuild();
      this.#checkReady();
    });
  }

  isReady(): boolean { return this.#ready; }

  /** Accepted listeners/clusters whose latest version waits for RDS/EDS. */
  warming(): { readonly listeners: readonly string[]; readonly clusters: readonly string[] } { return this.#warming; }

  store<K extends XdsKind>(kind: K): ResourceStore<K> { return this.#stores[kind] as ResourceStore<K>; }

  /** Whether the type is subscribed at all (LDS/CDS only when the bootstrap names them; RDS/EDS when names are wanted). */
  enabled(kind: XdsKind): boolean {
    return kind === 'listener' ? this.#o.lds : kind === 'cluster' ? this.#o.cds : true;
  }

  /** The subscription of a type: wildcard for LDS/CDS, otherwise the names the current config references. */
  interest(kind: XdsKind): { readonly wildcard: boolean; readonly names: ReadonlySet<string> } {
    if (isWildcardKind(kind)) return { wildcard: true, names: new Set() };
    const names = kind === 'route_configuration' ? this.#interest.routes : kind === 'secret' ? this.#interest.secrets : this.#interest.endpoints;
    return { wildcard: false, names };
  }

  /** Validates and applies one response; resolves with the ACK/NACK decision. Responses are processed one at a time. */
  handle(u: ResourceUpdate): Promise<UpdateOutcome> {
    return this.#enqueue(() => this.#handle(u));
  }

  /** Records a response rejected before validation (undecodable resource, wrong type URL). */
  reject(kind: XdsKind, versionInfo: string, nonce: string, message: string, failed: readonly FailedResource[] = []): UpdateOutcome {
    this.#recordNack(kind, versionInfo, nonce, message, failed);
    return { ok: false, message };
  }

  dump(): XdsDump {
    return dumpState({
      stores: this.#stores,
      active: this.#active,
      failures: this.#failures,
      lastNack: this.#lastNack,
      ready: this.#ready,
    });
  }

  close(): void {
    this.#closed = true;
    if (this.#readyTimer) clearTimeout(this.#readyTimer);
    for (const t of this.#expiryTimers.values()) clearTimeout(t);
    this.#expiryTimers.clear();
    for (const t of this.#lingerTimers) clearTimeout(t);
    this.#lingerTimers.clear();
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #handle(u: ResourceUpdate): Promise<UpdateOutcome> {
    const store = this.#stores[u.kind] as ResourceStore<XdsKind>;
    const reserved = u.kind === 'listener' ? new Set(this.#o.staticSnapshot.listeners.map((l) => l.name)) : undefined;
    const v = store.validate(u.resources, { model: this.#o.model, io: this.#o.io, now: Date.now(), reserved, perResourceVersions: u.perResourceVersions });
    for (const w of v.warnings) this.#o.logger.warn({ type: KIND_SERVICE[u.kind] }, w);
    if (!v.ok) return this.reject(u.kind, u.versionInfo, u.nonce, v.errors.join('\n'), v.failed);
    const previous = store.entries();
    store.replace(store.next(v.accepted, u.removed, u.complete));
    try {
      await this.#rebuild();
    } catch (err) {
      store.replace(previous);
      await this.#rebuild().catch((e: unknown) => this.#o.logger.error({ err: e }, 'xDS: restoring the previous config failed'));
      const changed = v.accepted.filter((r) => previous.get(r.name) !== r);
      const message = `${KIND_SERVICE[u.kind]} update (${changed.map((r) => r.name).join(', ')}) could not be applied: ${(err as Error).message}`;
      return this.reject(u.kind, u.versionInfo, u.nonce, message, changed.map((r) => ({ name: r.name, json: r.json, details: message })));
    }
    store.version = u.versionInfo;
    store.received = true;
    this.#failures.delete(u.kind);
    this.#o.logger.info({ type: KIND_SERVICE[u.kind], version: u.versionInfo, resources: store.entries().size }, 'xDS update accepted');
    this.#checkReady();
    return { ok: true };
  }

  /** Builds and applies the snapshot of the current stores; drops RDS/EDS resources nothing references any more. */
  async #rebuild(): Promise<void> {
    const now = Date.now();
    const lingering = new Set([...this.#appliedRoutes, ...this.#lingerUntil.keys()].filter((n) => (this.#lingerUntil.get(n) ?? Infinity) > now));
    const r = buildSnapshot({
      staticSnapshot: this.#o.staticSnapshot,
      listeners: this.#stores.listener.entries(),
      routes: this.#stores.route_configuration.entries(),
      clusters: this.#stores.cluster.entries(),
      endpoints: this.#stores.cluster_load_assignment.entries(),
      secrets: this.#stores.secret.entries(),
      active: this.#active,
      expiredRoutes: this.#expired.routes,
      expiredEndpoints: this.#expired.endpoints,
      lingeringRoutes: lingering,
      version: this.#version(),
    });
    await this.#o.engine.apply(r.snapshot);
    this.#appliedRoutes = new Set(r.snapshot.routeConfigs?.keys() ?? []);
    this.#linger(r.interest.routes, now);
    this.#active = r.active;
    this.#interest = r.interest;
    this.#warming = r.warming;
    this.#missing = r.missing;
    this.#prune('route_configuration', new Set([...r.interest.routes, ...this.#appliedRoutes]), this.#expired.routes);
    this.#prune('cluster_load_assignment', r.interest.endpoints, this.#expired.endpoints);
    this.#prune('secret', r.interest.secrets, new Set());
    this.#armExpiry('route_configuration', r.missing.routes, this.#expired.routes);
    this.#armExpiry('cluster_load_assignment', r.missing.endpoints, this.#expired.endpoints);
  }

  /** Starts the retention period of route configurations that just became unreferenced; forgets the rest. */
  #linger(interest: ReadonlySet<string>, now: number): void {
    for (const name of [...this.#lingerUntil.keys()]) {
      if (interest.has(name) || !this.#appliedRoutes.has(name)) this.#lingerUntil.delete(name);
    }
    const ms = this.#o.routeRetentionMs ?? DEFAULT_ROUTE_RETENTION_MS;
    for (const name of this.#appliedRoutes) {
      if (interest.has(name) || this.#lingerUntil.has(name)) continue;
      this.#lingerUntil.set(name, now + ms);
      const timer = setTimeout(() => {
        this.#lingerTimers.delete(timer);
        if (this.#closed) return;
        void this.#enqueue(() => this.#rebuild()).catch((err: unknown) => this.#o.logger.error({ err }, 'xDS: dropping an unused route configuration failed'));
      }, ms + 1);
      timer.unref();
      this.#lingerTimers.add(timer);
    }
  }

  #version(): string {
    return KINDS.filter((k) => this.#stores[k].received).map((k) => `${KIND_SERVICE[k].toLowerCase()}=${this.#stores[k].version}`).join(';') || 'static';
  }

  #prune(kind: 'route_configuration' | 'cluster_load_assignment' | 'secret', interest: ReadonlySet<string>, expired: Set<string>): void {
    const store = this.#stores[kind] as ResourceStore<XdsKind>;
    const entries = store.entries();
    if ([...entries.keys()].some((n) => !interest.has(n))) store.replace(new Map([...entries].filter(([n]) => interest.has(n))));
    for (const n of expired) if (!interest.has(n) || store.entries().has(n)) expired.delete(n);
    const failure = this.#failures.get(kind);
    if (failure && failure.failed.some((f) => !interest.has(f.name))) {
      const failed = failure.failed.filter((f) => interest.has(f.name));
      if (failed.length > 0) this.#failures.set(kind, { ...failure, failed });
      else this.#failures.delete(kind);
    }
    for (const [key, t] of this.#expiryTimers) {
      const [k, n] = splitKey(key);
      if (k === kind && (!interest.has(n) || store.entries().has(n))) { clearTimeout(t); this.#expiryTimers.delete(key); }
    }
  }

  /** Envoy's initial_fetch_timeout per RDS/EDS name: once it passes, what waits for the name goes active without it. */
  #armExpiry(kind: 'route_configuration' | 'cluster_load_assignment', missing: readonly string[], expired: Set<string>): void {
    const ms = this.#o.initialFetchTimeoutMs;
    if (ms <= 0 || this.#closed) return;
    for (const name of missing) {
      const key = `${kind}\u0000${name}`;
      if (this.#expiryTimers.has(key) || expired.has(name)) continue;
      const timer = setTimeout(() => {
        this.#expiryTimers.delete(key);
        void this.#enqueue(async () => {
          if (this.#closed || this.#stores[kind].entries().has(name) || !this.interest(kind).names.has(name)) return;
          this.#o.logger.warn({ type: KIND_SERVICE[kind], name }, 'xDS: initial fetch timed out; going on without it');
          expired.add(name);
          const before = [...this.#interest.routes, '\u0000', ...this.#interest.endpoints].join(',');
          await this.#rebuild();
          this.#checkReady();
          if ([...this.#interest.routes, '\u0000', ...this.#interest.endpoints].join(',') !== before) this.onInterestChange();
        }).catch((err: unknown) => this.#o.logger.error({ err }, 'xDS: applying after an initial fetch timeout failed'));
      }, ms);
      timer.unref();
      this.#expiryTimers.set(key, timer);
    }
  }

  #checkReady(): void {
    if (this.#ready) return;
    if (this.#o.lds && !this.#stores.listener.received) return;
    if (this.#o.cds && !this.#stores.cluster.received) return;
    if (this.#missing.routes.length > 0 || this.#missing.endpoints.length > 0) return;
    this.#markReady('first complete config');
  }

  #markReady(why: string): void {
    if (this.#ready) return;
    this.#ready = true;
    if (this.#readyTimer) clearTimeout(this.#readyTimer);
    this.#o.logger.info({ reason: why }, 'xDS: ready');
    this.#resolveReady();
  }

  #recordNack(kind: XdsKind, versionInfo: string, nonce: string, error: string, failed: readonly FailedResource[]): void {
    const nack: XdsNack = { type: KIND_TYPE_URL[kind], kind, versionInfo, nonce, error, time: new Date().toISOString() };
    this.#lastNack = nack;
    this.#failures.set(kind, { nack, failed });
    this.#o.logger.warn({ type: KIND_SERVICE[kind], version: versionInfo, error }, `xDS update rejected (${failed.map((f) => label(kind, f.name)).join(', ') || 'response'})`);
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('\u0000');
  return [key.slice(0, i), key.slice(i + 1)];
}
