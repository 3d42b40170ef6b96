// Builds Envoy Cluster and ClusterLoadAssignment resources for service ports, with TrafficPolicy circuit breakers, outlier detection and load balancing.
import { msToDuration } from '../input/duration.ts';
import type { Service, ServicePort, TrafficPolicy } from '../input/types.ts';
import type { Endpoint } from './mesh-view.ts';
import { inboundClusterName, outboundClusterName, portProtocol } from './names.ts';
import type { Json } from './resource.ts';

export const ADS_CONFIG_SOURCE: Json = { ads: {}, resource_api_version: 'V3' };

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** typed_extension_protocol_options selecting HTTP/2 to the upstream. */
export function http2Options(): Json {
  return {
    [HTTP_PROTOCOL_OPTIONS]: {
      '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
      explicit_http_config: { http2_protocol_options: {} },
    },
  };
}

function u32(v: number | null): Json | undefined {
  return v === null ? undefined : { value: v };
}

function compact(o: Record<string, unknown>): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

function circuitBreakers(p: TrafficPolicy): Json | undefined {
  const cb = p.circuitBreaker;
  const budget = p.retry?.budget;
  if (!cb && !budget) return undefined;
  const t = compact({
    priority: 'DEFAULT',
    max_connections: u32(cb?.maxConnections ?? null),
    max_pending_requests: u32(cb?.maxPendingRequests ?? null),
    max_requests: u32(cb?.maxRequests ?? null),
    max_retries: u32(cb?.maxRetries ?? null),
    retry_budget: budget
      ? compact({ budget_percent: { value: budget.percent }, min_retry_concurrency: u32(budget.minRetryConcurrency) })
      : undefined,
  });
  return { thresholds: [t] };
}

function outlierDetection(p: TrafficPolicy): Json | undefined {
  const o = p.outlierDetection;
  if (!o) return undefined;
  const d = (ms: number | null) => (ms === null ? undefined : msToDuration(ms));
  return compact({
    consecutive_5xx: u32(o.consecutive5xx),
    interval: d(o.intervalMs),
    base_ejection_time: d(o.baseEjectionTimeMs),
    max_ejection_percent: u32(o.maxEjectionPercent),
    consecutive_gateway_failure: u32(o.consecutiveGatewayErrors),
    enforcing_consecutive_gateway_failure: o.consecutiveGatewayErrors === null ? undefined : { value: 100 },
    max_ejection_time: d(o.maxEjectionTimeMs),
  });
}

/** The EDS cluster `outbound|<port>||<fqdn>` for a service port; `transportSocket` originates (m)TLS to its endpoints. */
export function outboundCluster(svc: Service, sp: ServicePort, policy: TrafficPolicy | undefined, transportSocket: Json | null = null): Json {
  const c: Json = {
    name: outboundClusterName(svc, sp.port),
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_CONFIG_SOURCE },
    connect_timeout: { seconds: 5 },
    lb_policy: policy?.loadBalancer?.policy ?? 'ROUND_ROBIN',
  };
  if (portProtocol(sp) === 'http2') c.typed_extension_protocol_options = http2Options();
  if (policy) {
    const cb = circuitBreakers(policy);
    if (cb) c.circuit_breakers = cb;
    const od = outlierDetection(policy);
    if (od) c.outlier_detection = od;
  }
  if (transportSocket) c.transport_socket = transportSocket;
  return c;
}

function lbEndpoint(e: Endpoint): Json {
  return { endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } } };
}

/** The ClusterLoadAssignment: one locality (weight 1) holding every ready endpoint. */
export function loadAssignment(clusterName: string, endpoints: readonly Endpoint[]): Json {
  if (endpoints.length === 0) return { cluster_name: clusterName };
  return {
    cluster_name: clusterName,
    endpoints: [{ locality: {}, lb_endpoints: endpoints.map(lbEndpoint), load_balancing_weight: { value: 1 } }],
  };
}

/** The STATIC cluster `inbound|<listener port>|<svc>` that reaches the local app on 127.0.0.1. */
export function inboundCluster(listenerPort: number, service: string, appPort: number, protocol: 'http' | 'http2' | 'tcp'): Json {
  const name = inboundClusterName(listenerPort, service);
  const c: Json = {
    name,
    type: 'STATIC',
    connect_timeout: { seconds: 5 },
    lb_policy: 'ROUND_ROBIN',
    load_assignment: loadAssignment(name, [{ address: '127.0.0.1', port: appPort }]),
  };
  if (protocol === 'http2') c.typed_extension_protocol_options = http2Options();
  return c;
}
