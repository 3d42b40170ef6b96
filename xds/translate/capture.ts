// Capture listeners for workloads whose traffic iptables redirects to their sidecar (interception "iptables"): virtualOutbound, virtualInbound and their clusters.
import { SIDECAR_PORTS } from '../../src/interception/iptables-options.ts';
import type { MtlsMode, Service, ServicePort, TrafficPolicy } from '../input/types.ts';
import { outboundCluster, inboundCluster } from './clusters.ts';
import { hcm, hcmFilter, inboundListener, socketAddress, tcpProxyFilter, type InboundSecurity, type ListenerTracing } from './listeners.ts';
import type { Endpoint, OutboundTrafficPolicy } from './mesh-view.ts';
import { fqdn, outboundClusterName } from './names.ts';
import type { Json } from './resource.ts';
import { inboundChains, TLS_INSPECTOR } from './security.ts';

export const VIRTUAL_OUTBOUND = 'virtualOutbound';
export const VIRTUAL_INBOUND = 'virtualInbound';
/** ORIGINAL_DST, plaintext: captured traffic to destinations outside the registry under ALLOW_ANY. */
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
/** STATIC without endpoints: captured traffic to destinations outside the registry under REGISTRY_ONLY is refused. */
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
/**
 * ORIGINAL_DST, plaintext, from source 127.0.0.6: inbound connections to ports the workload does not declare go to the
 * app as addressed. The source address is what keeps pilotfish iptables from capturing that connection again (without
 * it, the sidecar's connection to its own pod address comes back to virtualInbound: a loop).
 */
export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughCluster';
export const INBOUND_PASSTHROUGH_SOURCE = '127.0.0.6';
/**
 * What virtualInbound does with ports the workload does not declare: "passthrough" (Istio's behaviour, the default)
 * forwards them, under the workload's mTLS mode, to the original destination from 127.0.0.6
 * (InboundPassthroughCluster, Cluster.upstream_bind_config); "refuse" closes them (tcp_proxy to BlackHoleCluster).
 */
export type UndeclaredInbound = 'passthrough' | 'refuse';
export const UNDECLARED_INBOUND: UndeclaredInbound = 'passthrough';
/** Default capture ports (Istio's): outbound 15001, inbound 15006. */
export const DEFAULT_CAPTURE_OUTBOUND_PORT = 15001;
export const DEFAULT_CAPTURE_INBOUND_PORT = 15006;
/** How long listener filters may wait for the first bytes (protocol detection); server-first protocols continue as TCP after it. */
export const DETECTION_TIMEOUT_MS = 100;

const ORIGINAL_DST_FILTER: Json = {
  name: 'envoy.filters.listener.original_dst',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' },
};
const HTTP_INSPECTOR: Json = {
  name: 'envoy.filters.listener.http_inspector',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' },
};
/** What http_inspector reports for HTTP/1.0, HTTP/1.1 and the HTTP/2 preface; plaintext only (app TLS is opaque TCP). */
export const DETECTED_HTTP_PROTOCOLS: readonly string[] = ['http/1.0', 'http/1.1', 'h2c'];
const DETECTED_HTTP: Json = { transport_protocol: 'raw_buffer', application_protocols: [...DETECTED_HTTP_PROTOCOLS] };

/** A port's protocol for capture: explicit (no detection), or 'detect' (http_inspector picks the HTTP or the TCP chain). */
export type CaptureProtocol = 'http' | 'http2' | 'tcp' | 'detect';

const EXPLICIT: Readonly<Record<string, Exclude<CaptureProtocol, 'detect'>>> = {
  http: 'http', http1: 'http',
  http2: 'http2', grpc: 'http2', 'grpc-web': 'http2', h2c: 'http2', 'kubernetes.io/h2c': 'http2',
  tcp: 'tcp', tls: 'tcp', https: 'tcp', mongo: 'tcp', mysql: 'tcp', redis: 'tcp', 'kubernetes.io/ws': 'tcp', 'kubernetes.io/wss': 'tcp',
};

/**
 * The protocol of a Service port as Istio reads it: `appProtocol` (http, http2, grpc, tcp, https, …), else the name's
 * prefix before the first "-" (`http-web`, `grpc`, `tcp-db`); anything else is detected.
 */
export function captureProtocol(p: Pick<ServicePort, 'name' | 'appProtocol' | 'protocol'>): CaptureProtocol {
  if (p.protocol !== 'TCP') return 'tcp';
  const ap = p.appProtocol?.toLowerCase();
  if (ap) return EXPLICIT[ap] ?? 'detect';
  return EXPLICIT[p.name.toLowerCase()] ?? EXPLICIT[p.name.toLowerCase().split('-')[0]] ?? 'detect';
}

/** The ORIGINAL_DST cluster reaching the very endpoint a captured app dialed: `outbound|<port>|original-dst|<fqdn>`. */
export function originalDstClusterName(svc: { name: string; namespace: string }, port: number): string {
  return `outbound|${port}|original-dst|${fqdn(svc.name, svc.namespace)}`;
}

/**
 * The service port's cluster with the original destination as its host: the same mTLS (SNI, SANs), HTTP/2 and circuit
 * breakers as the EDS cluster `outbound|<port>||<fqdn>`, but no load balancing: the app chose the endpoint.
 */
export function originalDstCluster(svc: Service, sp: ServicePort, policy: TrafficPolicy | undefined, tls: Json | null): Json {
  const base = outboundCluster(svc, sp, policy, tls);
  const c: Json = { name: originalDstClusterName(svc, sp.port), type: 'ORIGINAL_DST', connect_timeout: base.connect_timeout, lb_policy: 'CLUSTER_PROVIDED' };
  for (const k of ['typed_extension_protocol_options', 'circuit_breakers', 'transport_socket']) if (base[k] !== undefined) c[k] = base[k];
  return c;
}

export function passthroughCluster(name: string): Json {
  return { name, type: 'ORIGINAL_DST', connect_timeout: { seconds: 10 }, lb_policy: 'CLUSTER_PROVIDED' };
}

function inboundPassthroughCluster(): Json {
  return {
    ...passthroughCluster(INBOUND_PASSTHROUGH_CLUSTER),
    upstream_bind_config: { source_address: { address: INBOUND_PASSTHROUGH_SOURCE, port_value: 0 } },
  };
}

export function blackHoleCluster(): Json {
  return { name: BLACKHOLE_CLUSTER, type: 'STATIC', connect_timeout: { seconds: 10 }, load_assignment: { cluster_name: BLACKHOLE_CLUSTER } };
}

/**
 * Chains closing connections whose original destination port is one of the sidecar's own (Istio's
 * `virtualOutbound-blackhole` / `virtualInbound-blackhole`): a connection to a capture port that no redirect happened
 * for (127.0.0.1:15001 from the app, <pod>:15001/15006 from outside) would otherwise be passed on to that same port,
 * arrive back on the capture listener and be passed on again, without end. A destination_port match wins over every
 * chain without one (Envoy matches destination port first).
 */
function blackholeChains(ports: readonly number[]): Json[] {
  return [...new Set(ports)].sort((a, b) => a - b).map((p) => ({
    name: `${BLACKHOLE_CLUSTER}|${p}`,
    filter_chain_match: { destination_port: { value: p } },
    filters: [tcpProxyFilter(BLACKHOLE_CLUSTER, BLACKHOLE_CLUSTER)],
  }));
}

/**
 * A capture listener on 0.0.0.0:<port>: connections matched by their original destination (original_dst), listener
 * filters given DETECTION_TIMEOUT_MS to see the first bytes; server-first protocols continue without them.
 */
function captureListener(name: string, direction: 'INBOUND' | 'OUTBOUND', port: number, listenerFilters: Json[], chains: Json[], fallback: Json | null): Json {
  return {
    name,
    address: socketAddress('0.0.0.0', port),
    traffic_direction: direction,
    listener_filters: listenerFilters,
    listener_filters_timeout: { nanos: DETECTION_TIMEOUT_MS * 1_000_000 },
    continue_on_listener_filters_timeout: true,
    ...(chains.length > 0 ? { filter_chains: chains } : {}),
    ...(fallback ? { default_filter_chain: fallback } : {}),
  };
}

/** Replaces `from` by `to` wherever a route sends traffic (cluster, weighted_clusters), leaving routes to other services alone. */
function retarget(routes: readonly Json[], from: string, to: string): Json[] {
  return routes.map((r) => {
    const action = r.route as Json | undefined;
    if (!action) return r;
    const a: Json = { ...action };
    if (a.cluster === from) a.cluster = to;
    const wc = a.weighted_clusters as { clusters: Json[] } | undefined;
    if (wc) a.weighted_clusters = { ...wc, clusters: wc.clusters.map((c) => (c.name === from ? { ...c, name: to } : c)) };
    return { ...r, route: a };
  });
}

/** A captured workload (its sidecar answers on every port of its address) that virtualOutbound may reach on ports no Service declares. */
export interface CapturedWorkload {
  readonly address: string;
  readonly svc: { readonly name: string; readonly namespace: string };
  /** mTLS to its sidecar (SANs = its service's sidecar identities), or null for plaintext. */
  readonly tls: Json | null;
}

/** The ORIGINAL_DST cluster for undeclared ports of a service's captured workloads: `outbound|*|original-dst|<fqdn>`. */
export function workloadPassthroughClusterName(svc: { name: string; namespace: string }): string {
  return `outbound|*|original-dst|${fqdn(svc.name, svc.namespace)}`;
}

function prefixRange(address: string): Json {
  return { address_prefix: address, prefix_len: { value: address.includes(':') ? 128 : 32 } };
}

/** A mesh destination a captured workload may call: one service port, its endpoints and its routes. */
export interface OutboundTarget {
  readonly svc: Service;
  readonly sp: ServicePort;
  readonly endpoints: readonly Endpoint[];
  /** The route entries its EDS cluster gets in RDS `outbound` (retries, timeouts, HTTPRoute rules). */
  readonly routes: readonly Json[];
  /** Its upstream mTLS transport socket, or null for plaintext. */
  readonly tls: Json | null;
  readonly policy: TrafficPolicy | undefined;
  /** The Service's virtual IPs (clusterIPs): <VIP>:<service port> is routed to its EDS cluster `outbound|<port>||<fqdn>`. */
  readonly vips?: readonly string[];
}

/**
 * `virtualOutbound` on 0.0.0.0:<port>: the app's redirected connections, matched by their original destination. Each
 * endpoint address:port of a mesh service gets a chain (HTTP: an HCM with the service's routes; TCP: tcp_proxy; no
 * explicit protocol: both, http_inspector choosing) to the service's ORIGINAL_DST cluster; each Service VIP at a service
 * port gets the same chains to the service's EDS cluster; other ports of captured workloads go to their sidecar
 * (`workloads`: tcp_proxy, mTLS per their mode); anything else goes to
 * PassthroughCluster (ALLOW_ANY) or BlackHoleCluster (REGISTRY_ONLY). The workload's own address is a destination like
 * any other: pilotfish iptables sends the sidecar's connection to its own pod address back through virtualInbound.
 * Connections to the capture ports themselves (`port`, `inboundPort`) are closed (see blackholeChains).
 */
export function virtualOutbound(
  port: number, targets: readonly OutboundTarget[], policy: OutboundTrafficPolicy, tracing: ListenerTracing,
  workloads: readonly CapturedWorkload[] = [], inboundPort: number = DEFAULT_CAPTURE_INBOUND_PORT,
): { listener: Json; clusters: Json[] } {
  const chains: Json[] = [];
  const clusters: Json[] = [];
  const claimed = new Set<string>();
  /** Chains for one destination: HTTP (an HCM with `routes`), TCP (tcp_proxy to `cluster`), or both when detected. */
  const addChains = (t: OutboundTarget, name: string, match: Json, routes: readonly Json[], cluster: string): void => {
    const host = `${fqdn(t.svc.name, t.svc.namespace)}:${t.sp.port}`;
    const stat = `outbound_${t.sp.port}_${t.svc.name}`;
    const http = (): Json => hcmFilter(hcm(stat, { inline: { name: host, virtual_hosts: [{ name: host, domains: ['*'], routes: [...routes] }] } }, true, tracing));
    const proto = captureProtocol(t.sp);
    if (proto === 'detect') {
      // Envoy narrows level by level and never falls back: a plaintext stream that is not HTTP is matched at the
      // transport level by raw_buffer, so it needs a raw_buffer TCP chain beside the HTTP one; the app's own TLS
      // (transport "tls") falls to the chain without a transport.
      chains.push({ name: `${name}|http`, filter_chain_match: { ...match, ...DETECTED_HTTP }, filters: [http()] });
      chains.push({ name: `${name}|tcp`, filter_chain_match: { ...match, transport_protocol: 'raw_buffer' }, filters: [tcpProxyFilter(stat, cluster)] });
      chains.push({ name: `${name}|tls`, filter_chain_match: match, filters: [tcpProxyFilter(stat, cluster)] });
    } else {
      chains.push({ name, filter_chain_match: match, filters: [proto === 'tcp' ? tcpProxyFilter(stat, cluster) : http()] });
    }
  };
  for (const t of targets) {
    const host = `${fqdn(t.svc.name, t.svc.namespace)}:${t.sp.port}`;
    // The Service's virtual IP at the service port: inside a pod iptables captures the call before kube-proxy's DNAT,
    // so the original destination is the VIP. Routed like RDS `outbound` (the EDS cluster, load balanced, mTLS).
    const vips = (t.vips ?? []).filter((v) => !claimed.has(`${v}|${t.sp.port}`));
    for (const v of vips) claimed.add(`${v}|${t.sp.port}`);
    if (vips.length > 0) {
      const eds = outboundClusterName(t.svc, t.sp.port);
      addChains(t, `${host}|vip`, { destination_port: { value: t.sp.port }, prefix_ranges: [...vips].sort().map(prefixRange) }, t.routes, eds);
    }
    // Endpoint addresses at their (target) ports: the app chose the pod, so its ORIGINAL_DST cluster connects to it.
    const byPort = new Map<number, string[]>();
    for (const e of t.endpoints) {
      const id = `${e.address}|${e.port}`;
      if (claimed.has(id)) continue;
      claimed.add(id);
      byPort.set(e.port, [...(byPort.get(e.port) ?? []), e.address]);
    }
    if (byPort.size === 0) continue;
    const cluster = originalDstCluster(t.svc, t.sp, t.policy, t.tls);
    const name = cluster.name as string;
    clusters.push(cluster);
    const routes = retarget(t.routes, outboundClusterName(t.svc, t.sp.port), name);
    for (const [dport, addrs] of [...byPort].sort((a, b) => a[0] - b[0])) {
      addChains(t, `${host}|${dport}`, { destination_port: { value: dport }, prefix_ranges: addrs.sort().map(prefixRange) }, routes, name);
    }
  }
  // Any other port of a captured workload: its sidecar passes it through to the app (virtualInbound), so go there as
  // opaque TCP, with mTLS when its mode asks for it (a chain without destination_port loses to the port chains above).
  const byService = new Map<string, { w: CapturedWorkload; addrs: string[] }>();
  const seen = new Set<string>();
  for (const w of workloads) {
    if (seen.has(w.address)) continue; // one address, one chain (the first workload's)
    seen.add(w.address);
    const k = workloadPassthroughClusterName(w.svc);
    const entry = byService.get(k) ?? { w, addrs: [] };
    entry.addrs.push(w.address);
    byService.set(k, entry);
  }
  for (const [name, { w, addrs }] of [...byService].sort((a, b) => a[0].localeCompare(b[0]))) {
    const c: Json = { ...passthroughCluster(name), ...(w.tls ? { transport_socket: w.tls } : {}) };
    clusters.push(c);
    chains.push({ name, filter_chain_match: { prefix_ranges: addrs.sort().map(prefixRange) }, filters: [tcpProxyFilter(`outbound_passthrough_${w.svc.name}`, name)] });
  }
  chains.push(...blackholeChains([port, inboundPort]));
  const fallback = policy === 'REGISTRY_ONLY' ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER;
  clusters.push(blackHoleCluster());
  if (policy !== 'REGISTRY_ONLY') clusters.push(passthroughCluster(PASSTHROUGH_CLUSTER));
  const fallbackChain = { name: fallback, filters: [tcpProxyFilter(fallback, fallback)] };
  return { listener: captureListener(VIRTUAL_OUTBOUND, 'OUTBOUND', port, [ORIGINAL_DST_FILTER, TLS_INSPECTOR, HTTP_INSPECTOR], chains, fallbackChain), clusters };
}

/** One app port of a captured workload, with the mTLS mode and RBAC filters of its Service port. */
export interface InboundPort {
  readonly port: number;
  readonly service: string;
  readonly protocol: CaptureProtocol;
  /** The port's inbound security for a concrete protocol (RBAC only applies to HTTP). */
  security(protocol: 'http' | 'http2' | 'tcp'): InboundSecurity | null;
}

/** The chains a classic inbound listener would have, restricted to `port` and tagged with extra match fields. */
function portChains(address: string, p: InboundPort, proto: 'http' | 'http2' | 'tcp', tracing: ListenerTracing, extra: Json, only?: 'mtls' | 'plaintext'): Json[] {
  const l = inboundListener(address, p.port, p.service, proto, tracing, p.security(proto));
  return (l.filter_chains as Json[])
    .filter((c) => only === undefined || (c.name ?? 'plaintext') === only)
    .map((c) => ({
      ...c,
      name: `${p.port}|${(c.name as string | undefined) ?? 'plaintext'}${extra.application_protocols ? '|http' : ''}`,
      filter_chain_match: { destination_port: { value: p.port }, ...(c.filter_chain_match as Json | undefined ?? {}), ...extra },
    }));
}

/**
 * `virtualInbound` on 0.0.0.0:<port>: connections redirected to the workload, matched by original destination port.
 * Each app port gets the chains of its mTLS mode (STRICT: TLS only; PERMISSIVE: TLS and plaintext by tls_inspector;
 * DISABLE: plaintext) with its RBAC, forwarding to 127.0.0.1:<port>. Undeclared ports (see UndeclaredInbound) pass
 * through to the original destination under the workload's mode, or are refused; the sidecar's own ports (capture
 * ports, admin, status, probes, Prometheus) never pass through (BlackHoleCluster). Ports without an explicit protocol:
 * with authorization rules every chain (mTLS and plaintext) is HTTP, so RBAC runs on every request and non-HTTP traffic
 * is refused (fail closed); without, under mTLS the stream is forwarded as TCP (the caller's sidecar already routed
 * it) and in plaintext http_inspector picks HTTP or TCP.
 */
export function virtualInbound(
  port: number, address: string, ports: readonly InboundPort[], workloadMode: MtlsMode | null, trustDomain: string, tracing: ListenerTracing,
  undeclared: UndeclaredInbound = UNDECLARED_INBOUND, outboundPort: number = DEFAULT_CAPTURE_OUTBOUND_PORT,
): { listener: Json; clusters: Json[] } {
  const chains: Json[] = [];
  const clusters: Json[] = [];
  let detects = false;
  for (const p of ports) {
    if (p.protocol === 'detect') {
      const mode = p.security('tcp')?.mode ?? null;
      // The caller's protocol is not declared. With authorization on the port, fail closed: every chain is HTTP, so the
      // RBAC filters see every request (HTTP/1.0 included) and anything else is refused by the codec, never forwarded.
      const authz = (p.security('http')?.httpFilters.length ?? 0) > 0;
      if (authz) {
        chains.push(...portChains(address, p, 'http', tracing, {}));
      } else {
        // Under mTLS the caller's sidecar already did the HTTP routing: forward the decrypted stream as TCP.
        if (mode === 'STRICT' || mode === 'PERMISSIVE') chains.push(...portChains(address, p, 'tcp', tracing, {}, 'mtls'));
        if (mode !== 'STRICT') {
          detects = true;
          const plain = mode === 'PERMISSIVE' ? 'plaintext' : undefined;
          chains.push(...portChains(address, p, 'http', tracing, DETECTED_HTTP, plain));
          // Plaintext that is not HTTP must meet a raw_buffer TCP chain (Envoy does not fall back across levels);
          // without mTLS the app's own TLS meets the chain without a transport.
          chains.push(...portChains(address, p, 'tcp', tracing, { transport_protocol: 'raw_buffer' }, plain));
          if (plain === undefined) chains.push(...portChains(address, p, 'tcp', tracing, {}, plain).map((c) => ({ ...c, name: `${c.name as string}|tls` })));
        }
      }
      clusters.push(inboundCluster(p.port, p.service, p.port, 'http'));
    } else {
      chains.push(...portChains(address, p, p.protocol, tracing, {}));
      clusters.push(inboundCluster(p.port, p.service, p.port, p.protocol));
    }
  }
  const appPorts = new Set(ports.map((p) => p.port));
  chains.push(...blackholeChains([port, outboundPort, ...SIDECAR_PORTS].filter((p) => !appPorts.has(p))));
  clusters.push(blackHoleCluster());
  let refuse: Json | null = null;
  if (undeclared === 'passthrough') {
    const passthrough = inboundChains(workloadMode, trustDomain, [tcpProxyFilter(INBOUND_PASSTHROUGH_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER)], false);
    for (const c of passthrough.filter_chains as Json[]) chains.push({ ...c, name: `${INBOUND_PASSTHROUGH_CLUSTER}|${(c.name as string | undefined) ?? 'plaintext'}` });
    clusters.push(inboundPassthroughCluster());
  } else {
    refuse = { name: BLACKHOLE_CLUSTER, filters: [tcpProxyFilter('inbound_undeclared', BLACKHOLE_CLUSTER)] };
  }
  const filters = [ORIGINAL_DST_FILTER, TLS_INSPECTOR, ...(detects ? [HTTP_INSPECTOR] : [])];
  return { listener: captureListener(VIRTUAL_INBOUND, 'INBOUND', port, filters, chains, refuse), clusters };
}
