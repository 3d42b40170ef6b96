// Compiles a cluster's health_checks (Envoy's HealthCheck with HTTP, TCP or gRPC checkers) into HealthCheckConfig.
import { compileAdds } from './header-mutations.ts';
import {
  GRPC_HEALTH_CHECK,
  HEALTH_CHECK,
  HEALTH_CHECK_PAYLOAD,
  HTTP_HEALTH_CHECK,
  INT64_RANGE,
  TCP_HEALTH_CHECK,
} from './fields-health.ts';
import { Msg } from './proto-message.ts';
import type { HealthCheckConfig, HeaderValueOption, StatusRange } from './types.ts';

const CHECKERS = ['http_health_check', 'tcp_health_check', 'grpc_health_check', 'custom_health_check'] as const;
const CODECS = ['HTTP1', 'HTTP2', 'HTTP3'] as const;
const METHODS = ['METHOD_UNSPECIFIED', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/** A Payload as lower-case hex (`text` is hex already; `binary` is base64 bytes); null after an error. */
function payloadHex(p: Msg): string | null {
  const which = p.oneOf(['text', 'binary'], true);
  if (which === 'text') {
    const text = p.str('text');
    if (!HEX.test(text)) {
      p.error('text', `${JSON.stringify(text)} is not a non-empty hex string`);
      return null;
    }
    return text.toLowerCase();
  }
  if (which === 'binary') {
    const bytes = Buffer.from(p.str('binary'), 'base64');
    if (bytes.length === 0) {
      p.error('binary', 'must not be empty');
      return null;
    }
    return bytes.toString('hex');
  }
  return null;
}

function payloadList(m: Msg, name: string): string[] {
  const out: string[] = [];
  for (const p of m.msgList(name, HEALTH_CHECK_PAYLOAD)) {
    const hex = payloadHex(p);
    if (hex !== null) out.push(hex);
  }
  return out;
}

/** expected_statuses / retriable_statuses: Int64Range [start, end) with 100 <= start < end <= 600. */
function statusRanges(m: Msg, name: string): StatusRange[] {
  const out: StatusRange[] = [];
  for (const r of m.msgList(name, INT64_RANGE)) {
    const start = r.int('start', 0);
    const end = r.int('end', 0);
    if (start < 100) r.error('start', `must be at least 100 (got ${start})`);
    else if (end > 600) r.error('end', `must be at most 600 (got ${end})`);
    else if (start >= end) r.error('end', `must be greater than start (${start})`);
    else out.push({ start, end });
  }
  return out;
}

/** Header values with %COMMAND% substitutions cannot be evaluated outside a request. */
function literalHeaders(m: Msg, name: string): HeaderValueOption[] {
  const adds = compileAdds(m, name);
  adds.forEach((h, i) => {
    if (h.dynamic) m.ctx.error(`${m.at(name)}[${i}].header.value`, '%COMMAND% substitutions are not supported in health checks');
  });
  return adds;
}

function positiveMs(m: Msg, name: string, def: number | null): number {
  if (def === null && !m.has(name)) {
    m.error(name, 'is required');
    return 1;
  }
  const ms = m.durationMs(name, def ?? 1);
  if (m.has(name) && ms <= 0) m.error(name, 'must be greater than 0');
  return ms;
}

function requiredUint(m: Msg, name: string): number {
  if (!m.has(name)) m.error(name, 'is required');
  return m.uint(name, 1);
}

function compileChecker(hc: Msg, http2Cluster: boolean): HealthCheckConfig['checker'] | null {
  const which = hc.oneOf(CHECKERS, true, 'http_health_check, tcp_health_check, grpc_health_check');
  if (which === 'http_health_check') {
    const h = hc.msg(which, HTTP_HEALTH_CHECK);
    if (!h) return null;
    const path = h.requiredStr('path');
    const method = h.enumOf('method', METHODS, 'METHOD_UNSPECIFIED');
    if (method === 'CONNECT') h.error('method', 'CONNECT is not allowed for health checks');
    const codec = h.enumOf('codec_client_type', CODECS, 'HTTP1');
    if (codec === 'HTTP3') h.error('codec_client_type', 'HTTP3 is not supported yet');
    const expected = statusRanges(h, 'expected_statuses');
    return {
      kind: 'http',
      host: h.str('host'),
      path,
      method: method === 'METHOD_UNSPECIFIED' ? 'GET' : method,
      expectedStatuses: expected.length > 0 ? expected : [{ start: 200, end: 201 }],
      retriableStatuses: statusRanges(h, 'retriable_statuses'),
      requestHeadersToAdd: literalHeaders(h, 'request_headers_to_add'),
      requestHeadersToRemove: h.strList('request_headers_to_remove').map((k) => k.toLowerCase()),
      codec: codec === 'HTTP2' ? 'http2' : 'http1',
      receive: payloadList(h, 'receive'),
      responseBufferSize: h.uint('response_buffer_size', 1024),
    };
  }
  if (which === 'tcp_health_check') {
    const t = hc.msg(which, TCP_HEALTH_CHECK);
    if (!t) return null;
    const send = t.msg('send', HEALTH_CHECK_PAYLOAD);
    return { kind: 'tcp', send: send ? payloadHex(send) : null, receive: payloadList(t, 'receive') };
  }
  if (which === 'grpc_health_check') {
    if (!http2Cluster) hc.error(which, 'the cluster must use HTTP/2 for gRPC health checking');
    const g = hc.msg(which, GRPC_HEALTH_CHECK);
    if (!g) return null;
    return { kind: 'grpc', serviceName: g.str('service_name'), authority: g.str('authority'), initialMetadata: literalHeaders(g, 'initial_metadata') };
  }
  return null;
}

/** The cluster's health_checks; `http2Cluster` says whether the cluster speaks HTTP/2 (gRPC checks need it). */
export function compileHealthChecks(c: Msg, http2Cluster: boolean): HealthCheckConfig[] {
  const out: HealthCheckConfig[] = [];
  for (const hc of c.msgList('health_checks', HEALTH_CHECK)) {
    const timeoutMs = positiveMs(hc, 'timeout', null);
    const intervalMs = positiveMs(hc, 'interval', null);
    const unhealthyThreshold = requiredUint(hc, 'unhealthy_threshold');
    const healthyThreshold = requiredUint(hc, 'healthy_threshold');
    const noTrafficIntervalMs = positiveMs(hc, 'no_traffic_interval', 60_000);
    const unhealthyIntervalMs = positiveMs(hc, 'unhealthy_interval', intervalMs);
    const checker = compileChecker(hc, http2Cluster);
    if (checker === null) continue;
    out.push({
      timeoutMs,
      intervalMs,
      initialJitterMs: hc.durationMs('initial_jitter', 0),
      intervalJitterMs: hc.durationMs('interval_jitter', 0),
      intervalJitterPercent: hc.uint('interval_jitter_percent', 0),
      unhealthyThreshold,
      healthyThreshold,
      reuseConnection: hc.bool('reuse_connection', true),
      noTrafficIntervalMs,
      noTrafficHealthyIntervalMs: positiveMs(hc, 'no_traffic_healthy_interval', noTrafficIntervalMs),
      unhealthyIntervalMs,
      unhealthyEdgeIntervalMs: positiveMs(hc, 'unhealthy_edge_interval', unhealthyIntervalMs),
      healthyEdgeIntervalMs: positiveMs(hc, 'healthy_edge_interval', intervalMs),
      checker,
    });
  }
  return out;
}
