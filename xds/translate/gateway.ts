// Translates a Gateway and the routes attached to it into a gateway node's listeners and route configurations (north-south).
import type { AnyRoute, Gateway, GatewayListener } from '../input/types.ts';
import { key } from '../input/types.ts';
import type { MeshView } from './mesh-view.ts';
import { gatewayListenerName, gatewayRouteName } from './names.ts';
import { hcm, hcmFilter, REJECT_UNDERSCORE_HEADERS, socketAddress } from './listeners.ts';
import { routeEntries, sortEntries } from './routes.ts';
import { DOWNSTREAM_TLS_TYPE, TLS_SOCKET } from './security.ts';
import type { Json } from './resource.ts';
import type { AuthnClusters } from './authn.ts';
import { gatewayAuthn, type HcmAuthn } from './authn-scope.ts';

export interface GatewayResources {
  readonly listeners: Json[];
  readonly routeConfigs: Json[];
  /** Clusters of the IdP endpoints its authentication fetches from (JWKS, token endpoint). */
  readonly authnClusters: AuthnClusters;
}

/** Hostnames a route serves on a listener (Gateway API hostname intersection); empty when they do not overlap. */
export function intersectHostnames(routeHosts: readonly string[], listenerHost: string | null): string[] {
  if (routeHosts.length === 0) return [listenerHost ?? '*'];
  if (listenerHost === null) return [...routeHosts];
  const out = new Set<string>();
  const covers = (wild: string, h: string) => wild.startsWith('*.') && h.endsWith(wild.slice(1)) && h.length > wild.length - 1;
  for (const h of routeHosts) {
    if (h === listenerHost) out.add(h);
    else if (covers(listenerHost, h)) out.add(h);
    else if (covers(h, listenerHost)) out.add(listenerHost);
  }
  return [...out];
}

function attachedTo(r: AnyRoute, gwKey: string, l: GatewayListener): boolean {
  return r.parentRefs.some((p) => p.kind === 'Gateway' && key(p.namespace, p.name) === gwKey
    && (p.sectionName === null || p.sectionName === l.name) && (p.port === null || p.port === l.port));
}

/** The routes attached to any of `listeners`, in name order. */
function attachedRoutes(view: MeshView, gwKey: string, listeners: readonly GatewayListener[]): AnyRoute[] {
  return [...(view.gatewayRoutes.get(gwKey) ?? [])].filter((r) => listeners.some((l) => attachedTo(r, gwKey, l)));
}

function routeConfig(view: MeshView, gwKey: string, name: string, listeners: readonly GatewayListener[], ports: readonly number[], authn: HcmAuthn): Json {
  const byHost = new Map<string, AnyRoute[]>();
  const routes = [...(view.gatewayRoutes.get(gwKey) ?? [])].sort((a, b) => key(a.namespace, a.name).localeCompare(key(b.namespace, b.name)));
  for (const r of routes) {
    for (const l of listeners) {
      if (!attachedTo(r, gwKey, l)) continue;
      for (const h of intersectHostnames(r.hostnames, l.hostname)) {
        const list = byHost.get(h) ?? [];
        if (!list.includes(r)) list.push(r);
        byHost.set(h, list);
      }
    }
  }
  const hosts = [...byHost.keys()].sort();
  const virtualHosts = hosts.map((h) => {
    const entries = byHost.get(h)!.flatMap((r, i) => {
      const list = routeEntries(view, r, { policyService: null, order: i });
      const extra = authn.perRoute(r);
      if (extra) for (const e of list) e.json.typed_per_filter_config = { ...(e.json.typed_per_filter_config as Json | undefined), ...extra };
      return list;
    });
    const domains = h === '*' ? ['*'] : [h, ...ports.map((p) => `${h}:${p}`)];
    return { name: h, domains, routes: sortEntries(entries) };
  });
  const rc: Json = { name, virtual_hosts: virtualHosts };
  // Identity headers set from tokens elsewhere on this Gateway never come from the client (e.g. a route on both a
  // listener with a login and one without).
  if (authn.requestHeadersToRemove.length > 0) rc.request_headers_to_remove = [...authn.requestHeadersToRemove];
  return rc;
}

function tlsSocket(view: MeshView, l: GatewayListener): Json {
  const certs: Json[] = l.certificateRefs.flatMap((ref) => {
    const s = view.model.secrets.get(ref);
    return s ? [{ certificate_chain: { inline_string: s.certPem }, private_key: { inline_string: s.keyPem } }] : [];
  });
  for (const f of l.certificateFiles) certs.push({ certificate_chain: { filename: f.certFile }, private_key: { filename: f.keyFile } });
  return {
    name: TLS_SOCKET,
    typed_config: {
      '@type': DOWNSTREAM_TLS_TYPE,
      common_tls_context: { tls_certificates: certs, alpn_protocols: ['h2', 'http/1.1'] },
    },
  };
}

const EDGE_PATH_NORMALIZATION: Json = { merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT' };

/** Listeners `gateway|<port>` (one per Gateway port, bound to `bindPorts[port]` if given) and their RDS route configs. */
export function gatewayResources(view: MeshView, gw: Gateway, address: string, bindPorts: Readonly<Record<string, number>>): GatewayResources {
  const gwKey = key(gw.namespace, gw.name);
  const byPort = new Map<number, GatewayListener[]>();
  for (const l of gw.listeners) byPort.set(l.port, [...(byPort.get(l.port) ?? []), l]);
  const listeners: Json[] = [];
  const routeConfigs: Json[] = [];
  const authnClusters: AuthnClusters = new Map();
  /** The HCM for `group` of listeners: authentication filters before the router, routes over RDS. */
  const manager = (statPrefix: string, group: readonly GatewayListener[], rcName: string, ports: readonly number[], scheme: 'http' | 'https'): Json => {
    const authn = gatewayAuthn(view, gwKey, group, attachedRoutes(view, gwKey, group), scheme, authnClusters);
    routeConfigs.push(routeConfig(view, gwKey, rcName, group, ports, authn));
    // The edge also merges slashes and unescapes %2F/%5C with a redirect (Envoy's edge recommendation), so
    // "/public%2f..%2fadmin" cannot slip past path-based authentication and authorization.
    const fields = { ...EDGE_PATH_NORMALIZATION, ...(authn.rejectUnderscoreHeaders ? REJECT_UNDERSCORE_HEADERS : {}) };
    return hcmFilter(hcm(statPrefix, { rds: rcName }, true, null, { httpFilters: authn.httpFilters, fields }));
  };
  for (const [port, ls] of [...byPort].sort((a, b) => a[0] - b[0])) {
    const bind = bindPorts[String(port)] ?? port;
    const ports = bind === port ? [port] : [port, bind];
    const statPrefix = `gateway_${port}`;
    if (ls[0].protocol === 'HTTP') {
      listeners.push({
        name: gatewayListenerName(port),
        address: socketAddress(address, bind),
        filter_chains: [{ filters: [manager(statPrefix, ls.filter((l) => l.protocol === 'HTTP'), gatewayRouteName(gwKey, port, null), ports, 'http')] }],
      });
      continue;
    }
    const chains: Json[] = [];
    for (const l of ls.filter((x) => x.protocol === 'HTTPS')) {
      const chain: Json = { name: l.name };
      if (l.hostname !== null) chain.filter_chain_match = { server_names: [l.hostname] };
      chain.filters = [manager(statPrefix, [l], gatewayRouteName(gwKey, port, l.name), ports, 'https')];
      chain.transport_socket = tlsSocket(view, l);
      chains.push(chain);
    }
    listeners.push({
      name: gatewayListenerName(port),
      address: socketAddress(address, bind),
      listener_filters: [{
        name: 'envoy.filters.listener.tls_inspector',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' },
      }],
      filter_chains: chains,
    });
  }
  return { listeners, routeConfigs, authnClusters };
}

/** Cluster names a set of route configurations sends traffic to. */
export function referencedClusters(routeConfigs: readonly Json[]): Set<string> {
  const out = new Set<string>();
  for (const rc of routeConfigs) {
    for (const vh of (rc.virtual_hosts as Json[] | undefined) ?? []) {
      for (const r of (vh.routes as Json[] | undefined) ?? []) {
        const a = r.route as Json | undefined;
        if (!a) continue;
        if (typeof a.cluster === 'string') out.add(a.cluster);
        const wc = a.weighted_clusters as { clusters: { name: string }[] } | undefined;
        for (const c of wc?.clusters ?? []) out.add(c.name);
      }
    }
  }
  return out;
}
