// Pure: merges the static bootstrap snapshot with the xDS resource stores into the Snapshot the engine serves, with warming.
import { deepFreeze } from '../model/deep-freeze.ts';
import type { ClusterConfig, ListenerConfig, LoadAssignment, RouteConfig, SecretConfig, Snapshot, SnapshotSecret, TlsSdsRefs } from '../model/types.ts';
import type { StoredResource } from './resource-store.ts';

type Stored<T> = StoredResource<T>;

export interface BuildInput {
  /** The compiled bootstrap (static listeners and clusters). */
  readonly staticSnapshot: Snapshot;
  /** Accepted xDS resources by name. */
  readonly listeners: ReadonlyMap<string, Stored<ListenerConfig>>;
  readonly routes: ReadonlyMap<string, Stored<RouteConfig>>;
  readonly clusters: ReadonlyMap<string, Stored<ClusterConfig>>;
  readonly endpoints: ReadonlyMap<string, Stored<LoadAssignment>>;
  /** SDS secrets delivered over ADS (absent: none). */
  readonly secrets?: ReadonlyMap<string, Stored<SecretConfig>>;
  /** What the previous build put in force; a changed listener/cluster that is warming keeps that version meanwhile. */
  readonly active?: ActiveSet;
  /** RDS/EDS names whose initial fetch timed out: what waits for them goes active without them (no routes, no endpoints). */
  readonly expiredRoutes?: ReadonlySet<string>;
  readonly expiredEndpoints?: ReadonlySet<string>;
  /**
   * Route configurations no longer referenced that stay in routeConfigs anyway (while connections of the previous
   * listener version drain, as Envoy keeps the old listener's RDS subscription). Not subscribed to.
   */
  readonly lingeringRoutes?: ReadonlySet<string>;
  /** Snapshot.version to use. */
  readonly version: string;
}

/** The dynamic listeners and clusters in force, as stored (clusters without their EDS endpoints filled in). */
export interface ActiveSet {
  readonly listeners: ReadonlyMap<string, Stored<ListenerConfig>>;
  readonly clusters: ReadonlyMap<string, Stored<ClusterConfig>>;
}

export interface BuildResult {
  readonly snapshot: Snapshot;
  readonly active: ActiveSet;
  /** Names of stored listeners/clusters whose latest version is not in force yet (waiting for RDS/EDS). */
  readonly warming: { readonly listeners: readonly string[]; readonly clusters: readonly string[] };
  /** RDS, EDS and SDS names to subscribe to: referenced by static, stored and active resources. */
  readonly interest: { readonly routes: ReadonlySet<string>; readonly endpoints: ReadonlySet<string>; readonly secrets: ReadonlySet<string> };
  /** Referenced RDS/EDS names that have not arrived (and have not expired). */
  readonly missing: { readonly routes: readonly string[]; readonly endpoints: readonly string[] };
}

/** RDS names an listener's HTTP connection managers wait for. */
export function listenerRouteNames(l: ListenerConfig): string[] {
  const out: string[] = [];
  for (const fc of [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]) {
    const n = fc.network;
    if (n.kind === 'http' && n.routeConfig === null && n.rdsRouteConfigName !== null && !out.includes(n.rdsRouteConfigName)) out.push(n.rdsRouteConfigName);
  }
  return out;
}

/** The EDS service name a cluster waits for, or null when it is not an EDS cluster. */
export function clusterServiceName(c: ClusterConfig): string | null {
  return c.type === 'EDS' ? (c.edsServiceName ?? c.name) : null;
}

const NO_NAMES: ReadonlySet<string> = new Set();

/** Names of the secrets a TLS context takes from SDS over ADS (sds_config: { ads: {} }). */
function adsSecretNames(sds: TlsSdsRefs | null | undefined, into: Set<string>): void {
  if (!sds) return;
  for (const r of [...sds.certificates, ...(sds.validation ? [sds.validation] : [])]) if (r.source === 'ads') into.add(r.name);
}

/** SDS names referenced by listeners' filter chains and clusters' transport sockets. */
function secretInterest(listeners: Iterable<ListenerConfig>, clusters: Iterable<ClusterConfig>): Set<string> {
  const out = new Set<string>();
  for (const l of listeners) {
    for (const fc of [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]) adsSecretNames(fc.tls?.sds, out);
  }
  for (const c of clusters) adsSecretNames(c.tls?.sds, out);
  return out;
}

/** Static secrets, then the SDS ones of interest that arrived. */
function snapshotSecrets(s: Snapshot, dynamic: ReadonlyMap<string, Stored<SecretConfig>> | undefined, interest: ReadonlySet<string>): Map<string, SnapshotSecret> {
  const out = new Map<string, SnapshotSecret>(s.secrets ?? []);
  for (const [name, e] of dynamic ?? []) if (interest.has(name) && !out.has(name)) out.set(name, { config: e.compiled, source: 'sds', version: e.version });
  return out;
}
const fillCache = new WeakMap<ClusterConfig, { la: LoadAssignment; value: ClusterConfig }>();

/** A frozen copy of an EDS cluster with its endpoints (the same object again for the same inputs). */
function withEndpoints(c: ClusterConfig, la: LoadAssignment): ClusterConfig {
  const hit = fillCache.get(c);
  if (hit && hit.la === la) return hit.value;
  const value = Object.freeze({ ...c, loadAssignment: la });
  fillCache.set(c, { la, value });
  return value;
}

export function buildSnapshot(input: BuildInput): BuildResult {
  const s = input.staticSnapshot;
  const expiredRoutes = input.expiredRoutes ?? NO_NAMES;
  const expiredEndpoints = input.expiredEndpoints ?? NO_NAMES;
  const staticListenerNames = new Set(s.listeners.map((l) => l.name));
  const routeInterest = new Set<string>();
  const endpointInterest = new Set<string>();
  const missingRoutes = new Set<string>();
  const missingEndpoints = new Set<string>();

  // Clusters: an EDS cluster is used once its ClusterLoadAssignment arrived (or its initial fetch timed out).
  const endpointsOf = (c: ClusterConfig): LoadAssignment | null => {
    const svc = clusterServiceName(c);
    if (svc === null) return c.loadAssignment;
    endpointInterest.add(svc);
    const cla = input.endpoints.get(svc);
    if (cla) return cla.compiled;
    if (expiredEndpoints.has(svc)) return { clusterName: svc, endpoints: [] };
    missingEndpoints.add(svc);
    return null;
  };
  const clusters = new Map<string, ClusterConfig>();
  for (const [name, c] of s.clusters) {
    const la = c.type === 'EDS' ? endpointsOf(c) : null;
    clusters.set(name, la ? withEndpoints(c, la) : c);
  }
  const activeClusters = new Map<string, Stored<ClusterConfig>>();
  const warmingClusters: string[] = [];
  for (const [name, entry] of input.clusters) {
    if (s.clusters.has(name)) continue; // static clusters cannot be replaced over CDS
    let use: Stored<ClusterConfig> | undefined = entry;
    let la = endpointsOf(entry.compiled);
    if (entry.compiled.type === 'EDS' && la === null) {
      warmingClusters.push(name);
      use = input.active?.clusters.get(name);
      la = use ? endpointsOf(use.compiled) : null;
      if (use && use.compiled.type === 'EDS' && la === null) use = undefined;
    }
    if (!use) continue;
    activeClusters.set(name, use);
    clusters.set(name, la && use.compiled.type === 'EDS' ? withEndpoints(use.compiled, la) : use.compiled);
  }

  // Listeners: one whose RDS route configurations have not all arrived waits (the previous version serves meanwhile).
  const routesReady = (l: ListenerConfig): boolean => {
    let ready = true;
    for (const rn of listenerRouteNames(l)) {
      routeInterest.add(rn);
      if (!input.routes.has(rn) && !expiredRoutes.has(rn)) { missingRoutes.add(rn); ready = false; }
    }
    return ready;
  };
  for (const l of s.listeners) routesReady(l); // static listeners serve at once; their RDS tables fill in when they arrive
  const activeListeners = new Map<string, Stored<ListenerConfig>>();
  const warmingListeners: string[] = [];
  for (const [name, entry] of input.listeners) {
    if (staticListenerNames.has(name)) continue;
    if (routesReady(entry.compiled)) { activeListeners.set(name, entry); continue; }
    warmingListeners.push(name);
    const previous = input.active?.listeners.get(name);
    if (previous && routesReady(previous.compiled)) activeListeners.set(name, previous);
  }

  const routeConfigs = new Map<string, RouteConfig>();
  for (const name of [...routeInterest, ...(input.lingeringRoutes ?? NO_NAMES)]) {
    const r = input.routes.get(name);
    if (r) routeConfigs.set(name, r.compiled);
  }
  const dynListeners = [...activeListeners.values()];
  const dynClusters = [...activeClusters.values()];
  const secretNames = secretInterest(
    [...s.listeners, ...[...input.listeners.values(), ...dynListeners].map((l) => l.compiled)],
    [...s.clusters.values(), ...[...input.clusters.values(), ...dynClusters].map((c) => c.compiled)],
  );
  const secrets = snapshotSecrets(s, input.secrets, secretNames);
  const snapshot: Snapshot = {
    version: input.version,
    node: s.node,
    admin: s.admin,
    listeners: [...s.listeners, ...dynListeners.map((l) => l.compiled)],
    clusters,
    routeConfigs,
    ...(secrets.size > 0 ? { secrets } : {}),
    source: {
      bootstrap: s.source.bootstrap,
      listeners: [...s.source.listeners, ...dynListeners.map((l) => l.json)],
      clusters: [...s.source.clusters, ...dynClusters.map((c) => c.json)],
    },
  };
  return {
    snapshot: deepFreeze(snapshot),
    active: { listeners: activeListeners, clusters: activeClusters },
    warming: { listeners: warmingListeners, clusters: warmingClusters },
    interest: { routes: routeInterest, endpoints: endpointInterest, secrets: secretNames },
    missing: { routes: [...missingRoutes], endpoints: [...missingEndpoints] },
  };
}
