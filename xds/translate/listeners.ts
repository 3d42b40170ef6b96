// Builds Listener resources: a sidecar's inbound and outbound listeners and api_listeners for proxyless gRPC clients.
import type { MtlsMode } from '../input/types.ts';
import type { Json } from './resource.ts';
import { OAUTH2_FILTER } from './authn.ts';
import { JWT_FILTER } from './authz.ts';
import { ADS_CONFIG_SOURCE } from './clusters.ts';
import { inboundClusterName, inboundListenerName, OUTBOUND_LISTENER, OUTBOUND_ROUTE } from './names.ts';
import { INBOUND_XFCC, inboundChains } from './security.ts';

export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const ROUTER_FILTER: Json = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};

export function socketAddress(address: string, port: number): Json {
  return { socket_address: { address, port_value: port } };
}

/** HCM `tracing` for a node that asked for it: sampling only; the sidecar's OTEL_* environment picks the exporter. */
export type ListenerTracing = { readonly samplingPercent: number } | null;

/** Extra HCM parts: HTTP filters that run before the router (RBAC) and more fields (XFCC). */
export interface HcmExtras {
  readonly httpFilters?: readonly Json[];
  readonly fields?: Json;
}

/** An HttpConnectionManager config; `routes` is either an RDS name or an inline RouteConfiguration. */
export function hcm(statPrefix: string, routes: { rds: string } | { inline: Json }, accessLog = true, tracing: ListenerTracing = null, extras: HcmExtras = {}): Json {
  // Paths are normalized (RFC 3986 dot segments, unreserved escapes) before routing and filters, as Istio's default
  // "BASE" normalization: RBAC and jwt_authn path rules then see the path the app will act on.
  const h: Json = { '@type': HCM_TYPE, stat_prefix: statPrefix, codec_type: 'AUTO', normalize_path: { value: true } };
  if (tracing !== null) h.tracing = { random_sampling: { value: tracing.samplingPercent } };
  if ('rds' in routes) h.rds = { config_source: ADS_CONFIG_SOURCE, route_config_name: routes.rds };
  else h.route_config = routes.inline;
  Object.assign(h, extras.fields ?? {});
  h.http_filters = [...(extras.httpFilters ?? []), ROUTER_FILTER];
  if (accessLog) h.access_log = [STDOUT_ACCESS_LOG];
  return h;
}

/** Sidecars log every request and TCP connection to stdout in Envoy's default fields (Istio's accessLogFile: /dev/stdout). */
const STDOUT_ACCESS_LOG: Json = {
  name: 'envoy.access_loggers.stdout',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog' },
};

export function hcmFilter(config: Json): Json {
  return { name: 'envoy.filters.network.http_connection_manager', typed_config: config };
}

/** A tcp_proxy network filter to `cluster`, logging each connection to stdout. */
export function tcpProxyFilter(statPrefix: string, cluster: string): Json {
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: statPrefix, cluster, access_log: [STDOUT_ACCESS_LOG] } };
}

/** Envoy's HttpProtocolOptions: a header with "_" (x_user_sub, which some apps read as x-user-sub) is refused with 400. */
export const REJECT_UNDERSCORE_HEADERS: Json = { common_http_protocol_options: { headers_with_underscores_action: 'REJECT_REQUEST' } };

/** `outbound` on 127.0.0.1:<port>: HTTP to any service in scope, routed by Host through RDS `outbound`. */
export function outboundListener(port: number, tracing: ListenerTracing = null): Json {
  return {
    name: OUTBOUND_LISTENER,
    address: socketAddress('127.0.0.1', port),
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [hcmFilter(hcm('outbound', { rds: OUTBOUND_ROUTE }, true, tracing))] }],
  };
}

/** mTLS and authorization of an inbound listener (null: the mesh runs without mTLS and the workload has no authorization). */
export interface InboundSecurity {
  /** STRICT / PERMISSIVE / DISABLE; null when the mesh has no mTLS. */
  readonly mode: MtlsMode | null;
  readonly trustDomain: string;
  /** RBAC filters (before the router) for HTTP ports. */
  readonly httpFilters: readonly Json[];
}

/**
 * `inbound|<port>` on the node's address: forwards everything to the local app through `inbound|<port>|<svc>`. With
 * mTLS the filter chains follow the mode (see inboundChains) and the HCM sets x-forwarded-client-cert to the peer's URI.
 */
export function inboundListener(
  address: string, port: number, service: string, protocol: 'http' | 'http2' | 'tcp', tracing: ListenerTracing = null,
  security: InboundSecurity | null = null,
): Json {
  const name = inboundListenerName(port);
  const cluster = inboundClusterName(port, service);
  const statPrefix = `inbound_${port}`;
  // With end-user authentication (oauth2 / jwt_authn) a header with "_" is refused: apps that read x_user_sub as
  // x-user-sub would otherwise see a forged identity header that jwt_authn's removal of x-user-sub did not catch.
  const authn = (security?.httpFilters ?? []).some((f) => f.name === JWT_FILTER || f.name === OAUTH2_FILTER);
  const extras: HcmExtras = {
    httpFilters: security?.httpFilters ?? [],
    fields: { ...(security?.mode ? INBOUND_XFCC : {}), ...(authn ? REJECT_UNDERSCORE_HEADERS : {}) },
  };
  const filter = protocol === 'tcp'
    ? tcpProxyFilter(statPrefix, cluster)
    : hcmFilter(hcm(statPrefix, {
        inline: {
          name,
          virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster, timeout: {} } }] }],
        },
      }, true, tracing, extras));
  const chains = inboundChains(security?.mode ?? null, security?.trustDomain ?? '', [filter], protocol !== 'tcp');
  return { name, address: socketAddress(address, port), traffic_direction: 'INBOUND', ...chains };
}

/** A proxyless gRPC client's listener: named like the target authority, api_listener HCM reading RDS of the same name. */
export function apiListener(name: string): Json {
  const h = hcm(name, { rds: name }, false);
  delete h.normalize_path; // proxyless gRPC clients route by method names; nothing to normalize
  return { name, api_listener: { api_listener: h } };
}
