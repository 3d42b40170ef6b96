// Builders for Envoy v3 bootstrap pieces in proto3 JSON field names, so each test states its config the way an Envoy user writes it.

export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
export const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const STDOUT_LOG_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
export const HTTP_PROTOCOL_OPTIONS_TYPE = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
export const DOWNSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';

/**
 * Access-log format used by the e2e tests: one stdout line per request, correlated by the x-test-id request header.
 * Fields: id, response code, response flags, upstream host, protocol.
 */
export const ACCESS_LOG_FORMAT = 'ACCESS %REQ(X-TEST-ID)% %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_HOST% %PROTOCOL%\n';

export interface AccessLine {
  id: string;
  code: number;
  /** Response flags as logged ("-" when none). */
  flags: string;
  upstreamHost: string;
  protocol: string;
  raw: string;
}

export function parseAccessLine(line: string): AccessLine | null {
  const parts = line.trim().split(' ');
  if (parts[0] !== 'ACCESS' || parts.length < 6) return null;
  return { id: parts[1], code: Number(parts[2]), flags: parts[3], upstreamHost: parts[4], protocol: parts[5], raw: line };
}

/** The individual flags of an access line ("UF,URX" → ["UF", "URX"]; "-" → []). */
export function flagList(line: AccessLine): string[] {
  return line.flags === '-' ? [] : line.flags.split(',');
}

export function socketAddress(port: number, address = '127.0.0.1'): object {
  return { socket_address: { address, port_value: port } };
}

/** access_log entry for the stdout logger with a text format. */
export function stdoutAccessLog(format = ACCESS_LOG_FORMAT): object[] {
  return [
    {
      name: 'envoy.access_loggers.stdout',
      typed_config: { '@type': STDOUT_LOG_TYPE, log_format: { text_format_source: { inline_string: format } } },
    },
  ];
}

export const routerFilter = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };

export interface HcmOptions {
  statPrefix?: string;
  /** Inline route_config (takes precedence over virtualHosts). */
  routeConfig?: object;
  virtualHosts?: object[];
  /** Add the stdout access log with ACCESS_LOG_FORMAT (default true). */
  accessLog?: boolean;
  /** More HttpConnectionManager fields (codec_type, upgrade_configs, ...). */
  extra?: Record<string, unknown>;
}

/** The envoy.filters.network.http_connection_manager network filter. */
export function httpConnectionManager(o: HcmOptions): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM_TYPE,
      stat_prefix: o.statPrefix ?? 'ingress_http',
      codec_type: 'AUTO',
      route_config: o.routeConfig ?? { name: 'local_route', virtual_hosts: o.virtualHosts ?? [] },
      http_filters: [routerFilter],
      ...(o.accessLog === false ? {} : { access_log: stdoutAccessLog() }),
      ...o.extra,
    },
  };
}

/** The envoy.filters.network.tcp_proxy network filter. */
export function tcpProxy(cluster: string, statPrefix = 'tcp', accessLogFormat?: string): object {
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: {
      '@type': TCP_PROXY_TYPE,
      stat_prefix: statPrefix,
      cluster,
      ...(accessLogFormat ? { access_log: stdoutAccessLog(accessLogFormat) } : {}),
    },
  };
}

/** A listener on 127.0.0.1 port 0 with one filter chain. */
export function listener(name: string, filters: object[], chainExtra: Record<string, unknown> = {}): object {
  return { name, address: socketAddress(0), filter_chains: [{ filters, ...chainExtra }] };
}

/** A STATIC cluster whose endpoints are 127.0.0.1:<port>. */
export function staticCluster(name: string, ports: number[], extra: Record<string, unknown> = {}): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '2s',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: socketAddress(port) } })) }],
    },
    ...extra,
  };
}

/** typed_extension_protocol_options making a cluster speak HTTP/2 (h2c when no TLS) upstream. */
export function http2Upstream(): Record<string, unknown> {
  return {
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': HTTP_PROTOCOL_OPTIONS_TYPE,
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  };
}

/** A route entry: `match` as given, forwarded to `cluster` with extra RouteAction fields. */
export function route(match: object, cluster: string, action: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): object {
  return { match, route: { cluster, ...action }, ...extra };
}

/** A route entry answering with a direct_response. */
export function directResponse(match: object, status: number, body?: string): object {
  return { match, direct_response: { status, ...(body === undefined ? {} : { body: { inline_string: body } }) } };
}

/** A whole bootstrap: admin on 127.0.0.1:0 and the given static resources. */
export function bootstrap(listeners: object[], clusters: object[], extra: Record<string, unknown> = {}): object {
  return {
    node: { id: 'e2e', cluster: 'e2e' },
    admin: { address: socketAddress(0) },
    static_resources: { listeners, clusters },
    ...extra,
  };
}
