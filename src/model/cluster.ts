// Compiles an Envoy Cluster: discovery type, load balancing, endpoints, protocol, TLS, circuit breakers, DNS settings and health.
import { isIP } from 'node:net';
import type { CompileContext } from './compile-context.ts';
import { compileClusterProtocol } from './cluster-protocol.ts';
import { compileLoadAssignmentMsg } from './endpoints.ts';
import { compileHealthChecks } from './health-check.ts';
import { compileHealthyPanicThreshold, compileOutlierDetection } from './outlier-detection.ts';
import {
  CIRCUIT_BREAKERS,
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  EDS_CLUSTER_CONFIG,
  LEAST_REQUEST_LB_CONFIG,
  BIND_CONFIG,
  ORIGINAL_DST_LB_CONFIG,
  RETRY_BUDGET,
  RING_HASH_LB_CONFIG,
  THRESHOLDS,
} from './fields-cluster.ts';
import { SOCKET_ADDRESS } from './fields-common.ts';
import { Msg } from './proto-message.ts';
import { compileUpstreamTls } from './tls.ts';
import type { CircuitBreakerThresholds, ClusterConfig, LoadAssignment, OriginalDstClusterConfig, RetryBudgetConfig } from './types.ts';

const TYPES = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'] as const;
const LB_POLICIES = [
  'ROUND_ROBIN',
  'LEAST_REQUEST',
  'RING_HASH',
  'RANDOM',
  undefined,
  'MAGLEV',
  'CLUSTER_PROVIDED',
  'LOAD_BALANCING_POLICY_CONFIG',
] as const;
const DNS_FAMILIES = ['AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'] as const;
const PRIORITIES = ['DEFAULT', 'HIGH'] as const;
const MAX_RING_SIZE = 8_388_608;

export const DEFAULT_CIRCUIT_BREAKERS: CircuitBreakerThresholds = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
};

function compileCircuitBreakers(c: Msg): CircuitBreakerThresholds {
  const cb = c.msg('circuit_breakers', CIRCUIT_BREAKERS);
  let result = DEFAULT_CIRCUIT_BREAKERS;
  let seenDefault = false;
  for (const t of cb?.msgList('thresholds', THRESHOLDS) ?? []) {
    const priority = t.enumOf('priority', PRIORITIES, 'DEFAULT');
    if (priority === 'HIGH') {
      t.ctx.warn(t.at('priority'), 'HIGH priority thresholds are ignored (all traffic uses DEFAULT priority)');
      continue;
    }
    if (seenDefault) t.error('priority', 'thresholds for priority DEFAULT are given twice');
    seenDefault = true;
    result = {
      maxConnections: t.uint('max_connections', DEFAULT_CIRCUIT_BREAKERS.maxConnections),
      maxPendingRequests: t.uint('max_pending_requests', DEFAULT_CIRCUIT_BREAKERS.maxPendingRequests),
      maxRequests: t.uint('max_requests', DEFAULT_CIRCUIT_BREAKERS.maxRequests),
      maxRetries: t.uint('max_retries', DEFAULT_CIRCUIT_BREAKERS.maxRetries),
    };
    const budget = compileRetryBudget(t);
    if (budget !== null) result = { ...result, retryBudget: budget };
  }
  return result;
}

/** Thresholds.retry_budget: budget_percent (envoy.type.v3.Percent, default 20) and min_retry_concurrency (default 3). */
function compileRetryBudget(t: Msg): RetryBudgetConfig | null {
  const b = t.msg('retry_budget', RETRY_BUDGET);
  if (b === null) return null;
  let budgetPercent = 20;
  const percent = b.get('budget_percent');
  if (percent !== undefined) {
    const raw = typeof percent === 'object' && percent !== null ? (percent as { value?: unknown }).value ?? 0 : percent;
    const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) b.error('budget_percent', `must be a percentage from 0 to 100, got ${JSON.stringify(percent)}`);
    else budgetPercent = v;
  }
  return { budgetPercent, minRetryConcurrency: b.uint('min_retry_concurrency', 3) };
}

function compileLbPolicy(c: Msg, type: ClusterConfig['type']): ClusterConfig['lbPolicy'] {
  const lb = c.enumOf('lb_policy', LB_POLICIES, 'ROUND_ROBIN');
  if (lb === 'MAGLEV') c.error('lb_policy', 'MAGLEV is not supported yet (RING_HASH is)');
  if (lb === 'LOAD_BALANCING_POLICY_CONFIG') c.error('lb_policy', 'LOAD_BALANCING_POLICY_CONFIG is not supported yet');
  if (type === 'ORIGINAL_DST' && lb !== 'CLUSTER_PROVIDED') {
    c.error('lb_policy', `${lb} is not valid for cluster type ORIGINAL_DST; only CLUSTER_PROVIDED is allowed`);
  }
  if (type !== 'ORIGINAL_DST' && lb === 'CLUSTER_PROVIDED') {
    c.error('lb_policy', `CLUSTER_PROVIDED is only valid for cluster type ORIGINAL_DST (not ${type})`);
  }
  return lb === 'LOAD_BALANCING_POLICY_CONFIG' ? 'ROUND_ROBIN' : lb;
}

function compileEndpoints(c: Msg, type: ClusterConfig['type']): LoadAssignment | null {
  if (c.has('hosts')) c.error('hosts', 'is not supported (removed from the v3 API); use load_assignment');
  const m = c.msg('load_assignment', CLUSTER_LOAD_ASSIGNMENT);
  if (!m) return null;
  if (type === 'ORIGINAL_DST') {
    c.error('load_assignment', 'ORIGINAL_DST clusters must not have a load_assignment');
    return null;
  }
  if (type === 'EDS') {
    c.ctx.warn(c.at('load_assignment'), 'is ignored for EDS clusters (endpoints come from EDS)');
    return null;
  }
  const la = compileLoadAssignmentMsg(m, { requireIp: type === 'STATIC' });
  if (la && type === 'LOGICAL_DNS') {
    const count = la.endpoints.reduce((n, l) => n + l.lbEndpoints.length, 0);
    if (la.endpoints.length !== 1 || count !== 1) {
      c.error('load_assignment', `LOGICAL_DNS clusters need exactly one locality with exactly one endpoint (got ${count} endpoints)`);
    }
  }
  return la;
}

/** original_dst_lb_config and cleanup_interval of an ORIGINAL_DST cluster (either elsewhere is a warning). */
function compileOriginalDst(c: Msg, type: ClusterConfig['type']): OriginalDstClusterConfig | null {
  const m = c.msg('original_dst_lb_config', ORIGINAL_DST_LB_CONFIG);
  const cleanupIntervalMs = c.durationMs('cleanup_interval', 5000);
  if (c.has('cleanup_interval') && cleanupIntervalMs <= 0) c.error('cleanup_interval', 'must be greater than 0');
  if (type !== 'ORIGINAL_DST') {
    if (m !== null) c.ctx.warn(c.at('original_dst_lb_config'), `is ignored for cluster type ${type} (only ORIGINAL_DST uses it)`);
    return null;
  }
  const header = m?.optStr('http_header_name') ?? null;
  if (header !== null && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(header)) m!.error('http_header_name', `is not a valid HTTP header name: ${JSON.stringify(header)}`);
  return {
    useHttpHeader: m?.bool('use_http_header', false) ?? false,
    httpHeaderName: (header ?? 'x-envoy-original-dst-host').toLowerCase(),
    upstreamPortOverride: m?.optUint('upstream_port_override', 1, 65535) ?? null,
    cleanupIntervalMs: cleanupIntervalMs > 0 ? cleanupIntervalMs : 5000,
  };
}

/**
 * upstream_bind_config.source_address: the local IP upstream connections bind to, as Envoy's BindConfig (the port must
 * be 0 — each connection gets an ephemeral port). Null when absent or invalid (errors reported).
 */
function compileUpstreamBind(c: Msg): string | null {
  const b = c.msg('upstream_bind_config', BIND_CONFIG);
  if (b === null) return null;
  const s = b.msg('source_address', SOCKET_ADDRESS);
  if (s === null) {
    b.error('source_address', 'is required');
    return null;
  }
  const address = s.requiredStr('address');
  const port = s.uint('port_value', 0, 0, 65535);
  if (port !== 0) s.error('port_value', `must be 0 (a fixed source port for every upstream connection is not supported), got ${port}`);
  if (address !== '' && isIP(address) === 0) {
    s.error('address', `${JSON.stringify(address)} is not an IP address`);
    return null;
  }
  return address !== '' && port === 0 ? address : null;
}

/** A Cluster message at the root of `ctx`'s resource; null after reporting errors. */
export function compileClusterValue(ctx: CompileContext, value: unknown): ClusterConfig | null {
  const c = Msg.open(ctx, '', value, CLUSTER);
  if (!c) return null;
  const before = ctx.errors.length;
  const name = c.requiredStr('name');
  const type = c.enumOf('type', TYPES, 'STATIC');
  const lbPolicy = compileLbPolicy(c, type);
  const lr = c.msg('least_request_lb_config', LEAST_REQUEST_LB_CONFIG);
  const rh = c.msg('ring_hash_lb_config', RING_HASH_LB_CONFIG);
  const ringHash = {
    minimumRingSize: rh?.uint('minimum_ring_size', 1024, 1, MAX_RING_SIZE) ?? 1024,
    maximumRingSize: rh?.uint('maximum_ring_size', MAX_RING_SIZE, 1, MAX_RING_SIZE) ?? MAX_RING_SIZE,
  };
  if (ringHash.minimumRingSize > ringHash.maximumRingSize) {
    c.error('ring_hash_lb_config.minimum_ring_size', `is above maximum_ring_size (${ringHash.maximumRingSize})`);
  }
  const eds = c.msg('eds_cluster_config', EDS_CLUSTER_CONFIG);
  if (type === 'EDS' && !eds) c.error('eds_cluster_config', 'is required for type EDS');
  const connectTimeoutMs = c.durationMs('connect_timeout', 5000);
  if (c.has('connect_timeout') && connectTimeoutMs <= 0) c.error('connect_timeout', 'must be greater than 0');
  const dnsRefreshRateMs = c.durationMs('dns_refresh_rate', 5000);
  if (c.has('dns_refresh_rate') && dnsRefreshRateMs <= 1) c.error('dns_refresh_rate', 'must be greater than 1ms');
  const tls = compileUpstreamTls(c);
  const protocol = compileClusterProtocol(c, tls != null);
  const originalDst = compileOriginalDst(c, type);
  const bindAddress = compileUpstreamBind(c);
  const cluster: ClusterConfig = {
    name,
    type,
    connectTimeoutMs,
    lbPolicy,
    leastRequestChoiceCount: lr?.uint('choice_count', 2, 2) ?? 2,
    ringHash,
    protocol: protocol.protocol,
    http2: protocol.http2,
    idleTimeoutMs: protocol.idleTimeoutMs,
    maxRequestsPerConnection: protocol.maxRequestsPerConnection,
    dnsRefreshRateMs,
    dnsLookupFamily: c.enumOf('dns_lookup_family', DNS_FAMILIES, 'AUTO'),
    respectDnsTtl: c.bool('respect_dns_ttl', false),
    loadAssignment: compileEndpoints(c, type),
    edsServiceName: type === 'EDS' ? (eds?.optStr('service_name') ?? name) : null,
    tls: tls ?? null,
    circuitBreakers: compileCircuitBreakers(c),
    perConnectionBufferLimitBytes: c.uint('per_connection_buffer_limit_bytes', 1024 * 1024),
    ...(protocol.maxStreamDurationMs ? { maxStreamDurationMs: protocol.maxStreamDurationMs } : {}),
    outlierDetection: compileOutlierDetection(c),
    healthChecks: compileHealthChecks(c, protocol.protocol !== 'http1'),
    healthyPanicThreshold: compileHealthyPanicThreshold(c),
    ...(originalDst !== null ? { originalDst } : {}),
    ...(bindAddress !== null ? { upstreamBindAddress: bindAddress } : {}),
  };
  return ctx.errors.length > before ? null : cluster;
}
