// What /config_dump shows of xDS: every resource's version and last update, warming versions and the last NACK, in Envoy's admin shapes.
import { redact } from '../admin/config-dump.ts';
import type { FailedResource, Json, ResourceStore, StoredResource } from './resource-store.ts';
import { KIND_TYPE_URL, KINDS, type XdsKind } from './resource-types.ts';
import type { ActiveSet } from './snapshot-builder.ts';

export interface XdsResourceVersion {
  readonly version: string;
  /** ISO 8601. */
  readonly lastUpdated: string;
  readonly resource: Json;
}

export interface XdsResourceError {
  readonly details: string;
  readonly time: string;
  /** version_info of the rejected response. */
  readonly versionInfo: string;
  readonly resource: Json | null;
}

export interface XdsDumpEntry {
  readonly name: string;
  /** The version in force (null while a new resource warms, or for a rejected one never accepted). */
  readonly active: XdsResourceVersion | null;
  /** A newer accepted version waiting for its RDS/EDS dependencies (listeners and clusters only). */
  readonly warming: XdsResourceVersion | null;
  /** Why the last response carrying this resource was rejected. */
  readonly error: XdsResourceError | null;
}

export interface XdsNack {
  /** Type URL of the rejected response. */
  readonly type: string;
  readonly kind: XdsKind;
  readonly versionInfo: string;
  readonly nonce: string;
  readonly error: string;
  readonly time: string;
}

export interface XdsDump {
  readonly ready: boolean;
  /** Last accepted version per type ('' before the first); SDS secrets are dumped from the secret store. */
  readonly versions: Readonly<Record<Exclude<XdsKind, 'secret'>, string>> & { readonly secret?: string };
  readonly listeners: readonly XdsDumpEntry[];
  readonly clusters: readonly XdsDumpEntry[];
  readonly routeConfigs: readonly XdsDumpEntry[];
  readonly endpoints: readonly XdsDumpEntry[];
  readonly lastNack: XdsNack | null;
}

export interface KindFailure {
  readonly nack: XdsNack;
  readonly failed: readonly FailedResource[];
}

export interface DumpInput {
  readonly stores: { readonly [K in XdsKind]: ResourceStore<K> };
  readonly active: ActiveSet;
  readonly failures: ReadonlyMap<XdsKind, KindFailure>;
  readonly lastNack: XdsNack | null;
  readonly ready: boolean;
}

function version(r: StoredResource<unknown>): XdsResourceVersion {
  return { version: r.version, lastUpdated: new Date(r.lastUpdated).toISOString(), resource: r.json };
}

function entries(kind: XdsKind, input: DumpInput): XdsDumpEntry[] {
  const stored = input.stores[kind].entries() as ReadonlyMap<string, StoredResource<unknown>>;
  const active: ReadonlyMap<string, StoredResource<unknown>> | null =
    kind === 'listener' ? input.active.listeners : kind === 'cluster' ? input.active.clusters : null;
  const names = new Set<string>([...(active?.keys() ?? []), ...stored.keys()]);
  const failure = input.failures.get(kind);
  for (const f of failure?.failed ?? []) names.add(f.name);
  const out: XdsDumpEntry[] = [];
  for (const name of [...names].sort()) {
    const s = stored.get(name);
    const a = active ? active.get(name) : s;
    const f = failure?.failed.find((x) => x.name === name);
    out.push({
      name,
      active: a ? version(a) : null,
      warming: s && s !== a ? version(s) : null,
      error: f && failure ? { details: f.details, time: failure.nack.time, versionInfo: failure.nack.versionInfo, resource: f.json } : null,
    });
  }
  return out;
}

export function dumpState(input: DumpInput): XdsDump {
  const versions = Object.fromEntries(KINDS.map((k) => [k, input.stores[k].version])) as Record<XdsKind, string>;
  return {
    ready: input.ready,
    versions,
    listeners: entries('listener', input),
    clusters: entries('cluster', input),
    routeConfigs: entries('route_configuration', input),
    endpoints: entries('cluster_load_assignment', input),
    lastNack: input.lastNack,
  };
}

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
type Out = Record<string, unknown>;

function typed(kind: XdsKind, resource: Json | null): Out {
  return { '@type': KIND_TYPE_URL[kind], ...((redact(resource ?? {}) as Out)) };
}

function state(kind: XdsKind, field: string, v: XdsResourceVersion): Out {
  return { version_info: v.version, [field]: typed(kind, v.resource), last_updated: v.lastUpdated };
}

function errorState(kind: XdsKind, e: XdsResourceError | null): Out {
  if (!e) return {};
  const failed = e.resource ? { failed_configuration: typed(kind, e.resource) } : {};
  return { error_state: { ...failed, last_update_attempt: e.time, details: e.details, version_info: e.versionInfo } };
}

/**
 * The dynamic parts of Envoy's /config_dump: ListenersConfigDump (dynamic_listeners with active_state / warming_state /
 * error_state), ClustersConfigDump (dynamic_active_clusters, dynamic_warming_clusters), RoutesConfigDump
 * (dynamic_route_configs) and EndpointsConfigDump (dynamic_endpoint_configs). The admin appends them to its static dump.
 */
export function xdsConfigDump(dump: XdsDump): Out[] {
  const listeners: Out = { '@type': `${ADMIN}ListenersConfigDump`, version_info: dump.versions.listener };
  listeners.dynamic_listeners = dump.listeners.map((l) => ({
    name: l.name,
    ...(l.active ? { active_state: state('listener', 'listener', l.active) } : {}),
    ...(l.warming ? { warming_state: state('listener', 'listener', l.warming) } : {}),
    ...errorState('listener', l.error),
  }));
  const clusters: Out = { '@type': `${ADMIN}ClustersConfigDump`, version_info: dump.versions.cluster };
  clusters.dynamic_active_clusters = dump.clusters
    .filter((c) => c.active || (c.error && !c.warming))
    .map((c) => ({ ...(c.active ? state('cluster', 'cluster', c.active) : {}), ...errorState('cluster', c.error) }));
  clusters.dynamic_warming_clusters = dump.clusters.filter((c) => c.warming).map((c) => state('cluster', 'cluster', c.warming!));
  const routes: Out = { '@type': `${ADMIN}RoutesConfigDump` };
  routes.dynamic_route_configs = dump.routeConfigs.map((r) => ({
    ...(r.active ? state('route_configuration', 'route_config', r.active) : {}),
    ...errorState('route_configuration', r.error),
  }));
  const endpoints: Out = { '@type': `${ADMIN}EndpointsConfigDump` };
  endpoints.dynamic_endpoint_configs = dump.endpoints.map((e) => ({
    ...(e.active ? state('cluster_load_assignment', 'endpoint_config', e.active) : {}),
    ...errorState('cluster_load_assignment', e.error),
  }));
  return [clusters, listeners, routes, endpoints];
}
