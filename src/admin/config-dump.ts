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

export interface ConfigDumpOptions {
  /**
   * The dynamic sections of an xDS source (Clusters/Listeners/Routes/EndpointsConfigDump with per-resource versions,
   * warming and error states). When given, they replace what the snapshot would say about dynamic resources.
   */
  readonly xds?: readonly object[] | null;
  /** Envoy's ?include_eds: add the EndpointsConfigDump section. */
  readonly includeEds?: boolean;
  /** The SecretsConfigDump section (src/secrets/secrets-dump.ts), last, as in Envoy; absent or null: none. */
  readonly secrets?: object | null;
}

/** The {"configs":[...]} document of GET /config_dump. */
export function buildConfigDump(snapshot: Snapshot | null, lastUpdatedMs: number | null, opts: ConfigDumpOptions = {}): { configs: Json[] } {
  if (!snapshot) return { configs: [] };
  const xds = opts.xds ?? null;
  const lastUpdated = new Date(lastUpdatedMs ?? Date.now()).toISOString();
  // With an xDS source the snapshot's dynamic resources (and its combined version) are reported from the source instead.
  const version = xds ? 'static' : snapshot.version;
  const src = snapshot.source;
  const statics = staticResourceNames(src.bootstrap);
  const nameOf = (r: unknown): string => String((r as { name?: unknown } | null)?.name ?? '');

  const clusters: Json = { '@type': `${ADMIN}ClustersConfigDump` };
  if (version !== 'static') clusters.version_info = version;
  const staticClusters = src.clusters.filter((c) => statics.clusters.has(nameOf(c)));
  const dynClusters = src.clusters.filter((c) => !statics.clusters.has(nameOf(c)));
  if (staticClusters.length) clusters.static_clusters = staticClusters.map((c) => ({ cluster: typed(T_CLUSTER, redact(c)), last_updated: lastUpdated }));
  if (dynClusters.length && !xds) {
    clusters.dynamic_active_clusters = dynClusters.map((c) => ({ version_info: version, cluster: typed(T_CLUSTER, redact(c)), last_updated: lastUpdated }));
  }

  const listeners: Json = { '@type': `${ADMIN}ListenersConfigDump` };
  if (version !== 'static') listeners.version_info = version;
  const staticListeners = src.listeners.filter((l) => statics.listeners.has(nameOf(l)));
  const dynListeners = src.listeners.filter((l) => !statics.listeners.has(nameOf(l)));
  if (staticListeners.length) listeners.static_listeners = staticListeners.map((l) => ({ listener: typed(T_LISTENER, redact(l)), last_updated: lastUpdated }));
  if (dynListeners.length && !xds) {
    listeners.dynamic_listeners = dynListeners.map((l) => ({
      name: nameOf(l),
      active_state: { version_info: version, listener: typed(T_LISTENER, redact(l)), last_updated: lastUpdated },
    }));
  }

  const routes: Json = { '@type': `${ADMIN}RoutesConfigDump` };
  const inline = src.listeners.flatMap(inlineRouteConfigs);
  if (inline.length) routes.static_route_configs = inline.map((rc) => ({ route_config: typed(T_ROUTE, redact(rc)), last_updated: lastUpdated }));

  const configs: Json[] = [
    { '@type': `${ADMIN}BootstrapConfigDump`, bootstrap: redact(src.bootstrap ?? {}), last_updated: lastUpdated },
    clusters,
    listeners,
    routes,
  ];
  const all = xds ? mergeDynamic(configs, xds, opts.includeEds ?? false) : configs;
  return { configs: opts.secrets ? [...all, opts.secrets as Json] : all };
}

/** Envoy's order of the config dump sections. */
const SECTION_ORDER = ['BootstrapConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump', 'ListenersConfigDump', 'RoutesConfigDump'].map((t) => `${ADMIN}${t}`);

/** Proto3 JSON leaves out defaults: empty lists and strings. */
function isDefault(v: unknown): boolean {
  return v === '' || (Array.isArray(v) && v.length === 0);
}

/** Merges the xDS sections into the static ones of the same type (version_info first, static_* then dynamic_*). */
function mergeDynamic(configs: readonly Json[], xds: readonly object[], includeEds: boolean): Json[] {
  const out = [...configs];
  for (const section of xds as readonly Json[]) {
    const type = String(section['@type'] ?? '');
    if (type === `${ADMIN}EndpointsConfigDump` && !includeEds) continue;
    const fields = Object.entries(section).filter(([k, v]) => k !== '@type' && !isDefault(v));
    const i = out.findIndex((c) => c['@type'] === type);
    const base = i >= 0 ? out[i] : { '@type': type };
    const { '@type': _, version_info: staticVersion, ...rest } = base;
    const version = fields.find(([k]) => k === 'version_info')?.[1] ?? staticVersion;
    const merged: Json = { '@type': type, ...(version !== undefined ? { version_info: version } : {}), ...rest };
    for (const [k, v] of fields) if (k !== 'version_info') merged[k] = v;
    if (i >= 0) out[i] = merged;
    else out.push(merged);
  }
  const rank = (c: Json): number => {
    const r = SECTION_ORDER.indexOf(String(c['@type']));
    return r < 0 ? SECTION_ORDER.length : r;
  };
  return out.sort((a, b) => rank(a) - rank(b));
}

const ITEM_TYPES: Readonly<Record<string, string>> = {
  static_clusters: 'ClustersConfigDump.StaticCluster',
  dynamic_active_clusters: 'ClustersConfigDump.DynamicCluster',
  dynamic_warming_clusters: 'ClustersConfigDump.DynamicCluster',
  static_listeners: 'ListenersConfigDump.StaticListener',
  dynamic_listeners: 'ListenersConfigDump.DynamicListener',
  static_route_configs: 'RoutesConfigDump.StaticRouteConfig',
  dynamic_route_configs: 'RoutesConfigDump.DynamicRouteConfig',
  dynamic_endpoint_configs: 'EndpointsConfigDump.DynamicEndpointConfig',
  static_secrets: 'SecretsConfigDump.StaticSecret',
  dynamic_active_secrets: 'SecretsConfigDump.DynamicSecret',
};

/** Whether GET /config_dump?resource=X needs the EndpointsConfigDump section (Envoy includes it for that field). */
export function resourceNeedsEds(resource: string | null): boolean {
  return resource === 'dynamic_endpoint_configs';
}

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
