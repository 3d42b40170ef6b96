// Plans the demo mesh's ports and generates each sidecar's Envoy v3 bootstrap (the one place to swap for a control plane later).

/** Every port of the demo, all derived from one base (default 15000) so one env var moves the whole mesh. */
export interface MeshPorts {
  readonly base: number;
  readonly admin: { readonly frontend: number; readonly orders: number; readonly payments: number };
  readonly inbound: { readonly frontend: number; readonly orders: number; readonly payments: number };
  readonly outbound: { readonly orders: number; readonly payments: number };
  readonly app: { readonly frontend: number; readonly orders: number; readonly payments: number };
}

export type ServiceName = 'frontend' | 'orders' | 'payments';

export const SERVICES: readonly ServiceName[] = ['frontend', 'orders', 'payments'];

/** Width of the port range the mesh occupies: [base, base + PORT_SPAN). */
export const PORT_SPAN = 100;

/**
 * base+0..2 sidecar admin, base+10..12 sidecar inbound listeners (base+10 is the mesh entry point),
 * base+20 frontend's outbound HTTP/1.1 listener to orders, base+21 its outbound h2c (gRPC) listener to payments,
 * base+80..82 the apps themselves.
 */
export function planPorts(base: number): MeshPorts {
  return {
    base,
    admin: { frontend: base, orders: base + 1, payments: base + 2 },
    inbound: { frontend: base + 10, orders: base + 11, payments: base + 12 },
    outbound: { orders: base + 20, payments: base + 21 },
    app: { frontend: base + 80, orders: base + 81, payments: base + 82 },
  };
}

/** All ports of a plan with what uses them, for availability checks and the printed map. */
export function portList(p: MeshPorts): { port: number; use: string }[] {
  const out: { port: number; use: string }[] = [];
  for (const s of SERVICES) {
    out.push({ port: p.admin[s], use: `${s} sidecar admin` });
    out.push({ port: p.inbound[s], use: `${s} sidecar inbound` });
    out.push({ port: p.app[s], use: `${s} app` });
  }
  out.push({ port: p.outbound.orders, use: 'frontend sidecar outbound → orders (HTTP/1.1)' });
  out.push({ port: p.outbound.payments, use: 'frontend sidecar outbound → payments (gRPC, h2c)' });
  return out.sort((a, b) => a.port - b.port);
}

const LOOPBACK = '127.0.0.1';

function socketAddress(port: number) {
  return { socket_address: { address: LOOPBACK, port_value: port } };
}

const STDOUT_ACCESS_LOG = {
  name: 'envoy.access_loggers.stdout',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog' },
};

const HTTP2_UPSTREAM = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    explicit_http_config: { http2_protocol_options: {} },
  },
};

/** A listener with one HTTP connection manager that sends everything to one cluster. */
function httpListener(name: string, port: number, cluster: string, codec: 'HTTP1' | 'HTTP2' | 'AUTO') {
  return {
    name,
    address: socketAddress(port),
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: name,
          codec_type: codec,
          access_log: [STDOUT_ACCESS_LOG],
          route_config: {
            name: `${name}_routes`,
            virtual_hosts: [{ name: cluster, domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster, timeout: '5s' } }] }],
          },
          http_filters: [{
            name: 'envoy.filters.http.router',
            typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
          }],
        },
      }],
    }],
  };
}

function staticCluster(name: string, port: number, http2: boolean) {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(port) } }] }],
    },
    ...(http2 ? { typed_extension_protocol_options: HTTP2_UPSTREAM } : {}),
  };
}

/** The Envoy v3 bootstrap of one service's sidecar (proto3 JSON shape, ready to serialize as YAML). */
export function sidecarBootstrap(service: ServiceName, p: MeshPorts): Record<string, unknown> {
  const grpc = service === 'payments';
  const listeners: unknown[] = [httpListener(`inbound_${service}`, p.inbound[service], `local_${service}`, grpc ? 'HTTP2' : 'AUTO')];
  const clusters: unknown[] = [staticCluster(`local_${service}`, p.app[service], grpc)];
  if (service === 'frontend') {
    listeners.push(httpListener('outbound_orders', p.outbound.orders, 'orders', 'HTTP1'));
    listeners.push(httpListener('outbound_payments', p.outbound.payments, 'payments', 'HTTP2'));
    clusters.push(staticCluster('orders', p.inbound.orders, false));
    clusters.push(staticCluster('payments', p.inbound.payments, true));
  }
  return {
    node: { id: `${service}-sidecar`, cluster: service },
    admin: { address: socketAddress(p.admin[service]) },
    static_resources: { listeners, clusters },
  };
}

/** Environment each app needs: where to listen and, for frontend, where its sidecar's outbound listeners are. */
export function appEnv(service: ServiceName, p: MeshPorts): Record<string, string> {
  const env: Record<string, string> = { PORT: String(p.app[service]) };
  if (service === 'frontend') {
    env.ORDERS_URL = `http://${LOOPBACK}:${p.outbound.orders}`;
    env.PAYMENTS_ADDR = `${LOOPBACK}:${p.outbound.payments}`;
  }
  return env;
}

/** URL of the mesh entry point: frontend through its inbound sidecar listener. */
export function entryUrl(p: MeshPorts): string {
  return `http://${LOOPBACK}:${p.inbound.frontend}/`;
}
