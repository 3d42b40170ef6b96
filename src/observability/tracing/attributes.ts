// Span names and attributes per the OpenTelemetry HTTP and RPC semantic conventions, plus Envoy/mesh tags, and span status rules.
import { SpanStatusCode, type Attributes, type SpanStatus } from '@opentelemetry/api';
import type { HeaderRecord } from '../../http/exchange.ts';

/** Attribute keys (stable HTTP semconv; RPC keys as listed by the RPC conventions Jaeger and most backends read). */
export const A = {
  method: 'http.request.method',
  methodOriginal: 'http.request.method_original',
  status: 'http.response.status_code',
  resendCount: 'http.request.resend_count',
  requestBodySize: 'http.request.body.size',
  responseBodySize: 'http.response.body.size',
  urlPath: 'url.path',
  urlQuery: 'url.query',
  urlScheme: 'url.scheme',
  urlFull: 'url.full',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  clientAddress: 'client.address',
  peerAddress: 'network.peer.address',
  peerPort: 'network.peer.port',
  protocolVersion: 'network.protocol.version',
  userAgent: 'user_agent.original',
  errorType: 'error.type',
  rpcSystem: 'rpc.system',
  rpcService: 'rpc.service',
  rpcMethod: 'rpc.method',
  rpcGrpcStatus: 'rpc.grpc.status_code',
  // Envoy's tags, so Envoy/Istio dashboards line up.
  requestId: 'guid:x-request-id',
  clientTraceId: 'guid:x-client-trace-id',
  upstreamCluster: 'upstream_cluster',
  upstreamAddress: 'upstream_address',
  responseFlags: 'response_flags',
  component: 'component',
  nodeId: 'node_id',
  // Mesh identity of the peer (URI SAN of its verified client certificate).
  peerSpiffeId: 'peer.spiffe_id',
} as const;

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);

/** http.request.method: the method, or "_OTHER" (with method_original) for methods the conventions do not know. */
export function setMethod(attrs: Attributes, method: string): void {
  if (KNOWN_METHODS.has(method)) { attrs[A.method] = method; return; }
  attrs[A.method] = '_OTHER';
  attrs[A.methodOriginal] = method;
}

/** Span name: "{service}/{method}" for gRPC, else "{METHOD}" (no route template is known to a proxy). */
export function spanName(method: string, grpc: GrpcMethod | null): string {
  if (grpc !== null) return `${grpc.service}/${grpc.method}`;
  return KNOWN_METHODS.has(method) ? method : 'HTTP';
}

export interface GrpcMethod { readonly service: string; readonly method: string }

/** "/pkg.Service/Method" → { service: "pkg.Service", method: "Method" }. */
export function grpcMethod(path: string): GrpcMethod | null {
  const slash = path.indexOf('/', 1);
  if (path.charCodeAt(0) !== 47 || slash <= 1 || slash === path.length - 1) return null;
  const q = path.indexOf('?', slash);
  return { service: path.slice(1, slash), method: path.slice(slash + 1, q === -1 ? undefined : q) };
}

export function setRpc(attrs: Attributes, m: GrpcMethod): void {
  attrs[A.rpcSystem] = 'grpc';
  attrs[A.rpcService] = m.service;
  attrs[A.rpcMethod] = m.method;
}

/** Query parameters whose values the URL conventions say to redact. */
const REDACTED_PARAMS = /(^|&)(AWSAccessKeyId|Signature|sig|X-Goog-Signature)=[^&]*/g;

/** url.path (and url.query when present, sensitive values redacted), each cut to `max` characters. */
export function setPath(attrs: Attributes, path: string, max: number): void {
  const q = path.indexOf('?');
  const bare = q === -1 ? path : path.slice(0, q);
  attrs[A.urlPath] = bare.length > max ? bare.slice(0, max) : bare;
  if (q !== -1 && q < path.length - 1) {
    const query = path.slice(q + 1).replace(REDACTED_PARAMS, '$1$2=REDACTED');
    attrs[A.urlQuery] = query.length > max ? query.slice(0, max) : query;
  }
}

/** server.address / server.port from an authority ("host", "host:port", "[v6]:port"). */
export function setServer(attrs: Attributes, authority: string, scheme: string): void {
  let host = authority;
  let port = scheme === 'https' ? 443 : 80;
  const close = authority.lastIndexOf(']');
  const colon = authority.lastIndexOf(':');
  if (colon > close) {
    const p = Number(authority.slice(colon + 1));
    if (Number.isInteger(p) && p > 0 && p < 65536) { port = p; host = authority.slice(0, colon); }
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host !== '') attrs[A.serverAddress] = host;
  attrs[A.serverPort] = port;
}

/** network.protocol.version for our protocol names. */
export function protocolVersion(protocol: string): string {
  return protocol === 'HTTP/2' ? '2' : protocol === 'HTTP/1.0' ? '1.0' : '1.1';
}

/** The first value of a header. */
export function headerValue(h: HeaderRecord | null, name: string): string | undefined {
  const v = h?.[name];
  return Array.isArray(v) ? v[0] : v;
}

/** grpc-status from trailers, or from headers for a trailers-only response; null when absent. */
export function grpcStatus(headers: HeaderRecord | null, trailers: HeaderRecord | null): number | null {
  const v = headerValue(trailers, 'grpc-status') ?? headerValue(headers, 'grpc-status');
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/** gRPC codes the RPC conventions count as server errors (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS). */
const GRPC_SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);

const ERROR: SpanStatus = { code: SpanStatusCode.ERROR };

/**
 * Span status per the conventions: SERVER spans fail on 5xx (gRPC: server-error codes), CLIENT spans on 4xx/5xx (gRPC: any
 * non-OK code); no response at all (`status` 0) is always an error. Null leaves the status unset.
 */
export function spanStatus(server: boolean, status: number, grpc: number | null, message: string | null): SpanStatus | null {
  let failed: boolean;
  if (status === 0) failed = true;
  else if (grpc !== null) failed = server ? GRPC_SERVER_ERRORS.has(grpc) : grpc !== 0;
  else failed = status >= (server ? 500 : 400);
  if (!failed) return null;
  return message === null ? ERROR : { code: SpanStatusCode.ERROR, message };
}

/** error.type: the status code for HTTP errors, the gRPC code, or the failure kind when nothing answered. */
export function errorType(server: boolean, status: number, grpc: number | null, failure: string | null): string | null {
  if (status === 0) return failure ?? '_OTHER';
  if (grpc !== null) return (server ? GRPC_SERVER_ERRORS.has(grpc) : grpc !== 0) ? String(grpc) : null;
  return status >= (server ? 500 : 400) ? String(status) : null;
}
