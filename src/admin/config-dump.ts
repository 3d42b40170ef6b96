// Builds Envoy's /config_dump document (Bootstrap, Clusters, Listeners, Routes dumps) from a snapshot's source, secrets redacted.
import type { Snapshot } from '../model/types.ts';
import { staticResourceNames } from './admin-view.ts';

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
const T_LISTENER = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const T_CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const T_ROUTE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';

/** Proto fields Envoy marks `sensitive`: every string below them is replaced by "[redacted]". */
const SENSITIVE = new Set(['private_key', 'password', 'session_ticket_keys', 'generic_secret', 'hmac_secret', 'private_key_provider']);

type Json = Record<string, unknown>;

/** Deep copy with sensitive subtrees redacted (Envoy's MessageUtil::redact). */
export function redact(v: unknown, sensitive = false): unknown {
  if (typeof v === 'string') return sensitive ? '[redacted]' : v;
  if (Array.isArray(v)) return v.map((x) => redact(x, sensitive));
  if (v !== null && typeof v === 'object') {
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) out[k] = k === '@type' ? x : redact(x, sensitive || SENSITIVE.has(k));
    return out;
  }
  return v;
}

function typed(type: string, resource: unknown): Json {
  return { '@type': type, ...((resource ?? {}) as Json) };
}

/** Inline route configurations of the HTTP connection managers of a listener (proto3 JSON). */
function inlineRouteConfigs(listener: unknown): unknown[] {
  const l = listener as { filter_chains?: unknown[]; default_filter_chain?: unknown } | null;
  const chains = [...(Array.isArray(l?.filter_chains) ? l.filter_chains : []), ...(l?.default_filter_chain ? [l.default_filter_chain] : [])];
  const out: unknown[] = [];
  for (const fc of chains) {
    const filters = (fc as { filters?: unknown[] } | null)?.filters;
    for (const f of Array.isArray(filters) ? filters : []) {
      const rc = ((f as { typed_config?: { route_config?: unknown } } | null)?.typed_config)?.route_config;
      if (rc && typeof rc === 'object') out.push(rc);
    }
  }
  return out;
}

/** The {"configs":[...]} document of GET /config_dump. */
export function buildConfigDump(snapshot: Snapshot | null, lastUpdatedMs: number | null): { configs: Json[] } {
  if (!snapshot) return { configs: [] };
  const lastUpdated = new Date(lastUpdatedMs ?? Date.now()).toISOString();
  const version = snapshot.version;
  const src = snapshot.source;
  const statics = staticResourceNames(src.bootstrap);
  const nameOf = (r: unknown): string => String((r as { name?: unknown } | null)?.name ?? '');

  const clusters: Json = { '@type': `${ADMIN}ClustersConfigDump` };
  if (version !== 'static') clusters.version_info = version;
  const staticClusters = src.clusters.filter((c) => statics.clusters.has(nameOf(c)));
  const dynClusters = src.clusters.filter((c) => !statics.clusters.has(nameOf(c)));
  if (staticClusters.length) clusters.static_clusters = staticClusters.map((c) => ({ cluster: typed(T_CLUSTER, redact(c)), last_updated: lastUpdated }));
  if (dynClusters.length) {
    clusters.dynamic_active_clusters = dynClusters.map((c) => ({ version_info: version, cluster: typed(T_CLUSTER, redact(c)), last_updated: lastUpdated }));
  }

  const listeners: Json = { '@type': `${ADMIN}ListenersConfigDump` };
  if (version !== 'static') listeners.version_info = version;
  const staticListeners = src.listeners.filter((l) => statics.listeners.has(nameOf(l)));
  const dynListeners = src.listeners.filter((l) => !statics.listeners.has(nameOf(l)));
  if (staticListeners.length) listeners.static_listeners = staticListeners.map((l) => ({ listener: typed(T_LISTENER, redact(l)), last_updated: lastUpdated }));
  if (dynListeners.length) {
    listeners.dynamic_listeners = dynListeners.map((l) => ({
      name: nameOf(l),
      active_state: { version_info: version, listener: typed(T_LISTENER, redact(l)), last_updated: lastUpdated },
    }));
  }

  const routes: Json = { '@type': `${ADMIN}RoutesConfigDump` };
  const inline = src.listeners.flatMap(inlineRouteConfigs);
  if (inline.length) routes.static_route_configs = inline.map((rc) => ({ route_config: typed(T_ROUTE, redact(rc)), last_updated: lastUpdated }));

  return {
    configs: [
      { '@type': `${ADMIN}BootstrapConfigDump`, bootstrap: redact(src.bootstrap ?? {}), last_updated: lastUpdated },
      clusters,
      listeners,
      routes,
    ],
  };
}

const ITEM_TYPES: Readonly<Record<string, string>> = {
  static_clusters: 'ClustersConfigDump.StaticCluster',
  dynamic_active_clusters: 'ClustersConfigDump.DynamicCluster',
  static_listeners: 'ListenersConfigDump.StaticListener',
  dynamic_listeners: 'ListenersConfigDump.DynamicListener',
  static_route_configs: 'RoutesConfigDump.StaticRouteConfig',
};

/** GET /config_dump?resource=X: the items of one repeated field, each typed; null when the field name is unknown. */
export function selectResource(dump: { configs: Json[] }, resource: string): { configs: Json[] } | null {
  const itemType = ITEM_TYPES[resource];
  if (!itemType) return null;
  const items: Json[] = [];
  for (const c of dump.configs) {
    const list = c[resource];
    if (Array.isArray(list)) for (const it of list) items.push({ '@type': `${ADMIN}${itemType}`, ...(it as Json) });
  }
  return { configs: items };
}
