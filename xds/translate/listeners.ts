// Builds Listener resources: a sidecar's inbound and outbound listeners and api_listeners for proxyless gRPC clients.
import type { Json } from './resource.ts';
import { ADS_CONFIG_SOURCE } from './clusters.ts';
import { inboundClusterName, inboundListenerName, OUTBOUND_LISTENER, OUTBOUND_ROUTE } from './names.ts';

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

/** An HttpConnectionManager config; `routes` is either an RDS name or an inline RouteConfiguration. */
export function hcm(statPrefix: string, routes: { rds: string } | { inline: Json }, accessLog = true, tracing: ListenerTracing = null): Json {
  const h: Json = { '@type': HCM_TYPE, stat_prefix: statPrefix, codec_type: 'AUTO' };
  if (tracing !== null) h.tracing = { random_sampling: { value: tracing.samplingPercent } };
  if ('rds' in routes) h.rds = { config_source: ADS_CONFIG_SOURCE, route_config_name: routes.rds };
  else h.route_config = routes.inline;
  h.http_filters = [ROUTER_FILTER];
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

/** `outbound` on 127.0.0.1:<port>: HTTP to any service in scope, routed by Host through RDS `outbound`. */
export function outboundListener(port: number, tracing: ListenerTracing = null): Json {
  return {
    name: OUTBOUND_LISTENER,
    address: socketAddress('127.0.0.1', port),
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [hcmFilter(hcm('outbound', { rds: OUTBOUND_ROUTE }, true, tracing))] }],
  };
}

/** `inbound|<port>` on the node's address: forwards everything to the local app through `inbound|<port>|<svc>`. */
export function inboundListener(address: string, port: number, service: string, protocol: 'http' | 'http2' | 'tcp', tracing: ListenerTracing = null): Json {
  const name = inboundListenerName(port);
  const cluster = inboundClusterName(port, service);
  const statPrefix = `inbound_${port}`;
  const filter = protocol === 'tcp'
    ? { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: statPrefix, cluster, access_log: [STDOUT_ACCESS_LOG] } }
    : hcmFilter(hcm(statPrefix, {
        inline: {
          name,
          virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster, timeout: {} } }] }],
        },
      }, true, tracing));
  return { name, address: socketAddress(address, port), traffic_direction: 'INBOUND', filter_chains: [{ filters: [filter] }] };
}

/** A proxyless gRPC client's listener: named like the target authority, api_listener HCM reading RDS of the same name. */
export function apiListener(name: string): Json {
  return { name, api_listener: { api_listener: hcm(name, { rds: name }, false) } };
}
