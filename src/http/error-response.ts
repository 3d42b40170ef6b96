// The one place where failures become responses: HTTP status, Envoy response flag, body, details, and the gRPC form.
import type { UpstreamFailure } from '../upstream/upstream-failure.ts';
import type { DownstreamExchange, HeaderRecord } from './exchange.ts';

/** Envoy's response flags (short form), as printed by %RESPONSE_FLAGS%. */
export type ResponseFlag =
  | 'NR' | 'NC' | 'UH' | 'UF' | 'UC' | 'UO' | 'URX' | 'UT' | 'UPE' | 'DC' | 'LH' | 'UR' | 'DI' | 'FI' | 'RL'
  | 'UAEX' | 'DPE' | 'UMSDR' | 'SI' | 'DT' | 'OM' | 'DF' | 'LR';

export interface LocalReply {
  readonly status: number;
  readonly flag: ResponseFlag | null;
  readonly body: string;
  /** Envoy's %RESPONSE_CODE_DETAILS% value. */
  readonly details: string;
  readonly headers?: HeaderRecord;
  /** grpc-status for gRPC requests when not the one mapped from `status` (e.g. 4 DEADLINE_EXCEEDED). */
  readonly grpcStatus?: number;
}

export const NO_ROUTE: LocalReply = { status: 404, flag: 'NR', body: '', details: 'route_not_found' };
export const NO_HEALTHY_UPSTREAM: LocalReply = { status: 503, flag: 'UH', body: 'no healthy upstream', details: 'no_healthy_upstream' };
export const ROUTE_TIMEOUT: LocalReply = { status: 504, flag: 'UT', body: 'upstream request timeout', details: 'upstream_response_timeout' };

export const PER_TRY_TIMEOUT: LocalReply = { ...ROUTE_TIMEOUT, details: 'upstream_per_try_timeout' };

/** Envoy answers 504 to a timeout once the whole request was received, 408 while it was still arriving. */
export function timeoutStatus(requestComplete: boolean): number {
  return requestComplete ? 504 : 408;
}

/** stream_idle_timeout (or the route's idle_timeout): no bytes either way for that long. */
export function streamIdleTimeout(requestComplete: boolean): LocalReply {
  return { status: timeoutStatus(requestComplete), flag: 'SI', body: 'stream timeout', details: 'stream_idle_timeout' };
}

/** The connection manager's request_timeout: the request was not received (or answered) in time. */
export function requestTimeout(requestComplete: boolean): LocalReply {
  return { status: timeoutStatus(requestComplete), flag: null, body: 'request timeout', details: 'request_overall_timeout' };
}

/** max_stream_duration or an honoured grpc-timeout elapsed (gRPC: DEADLINE_EXCEEDED). */
export function maxDurationTimeout(requestComplete: boolean): LocalReply {
  return { status: timeoutStatus(requestComplete), flag: null, body: 'downstream duration timeout', details: 'max_duration_timeout', grpcStatus: 4 };
}

/** The cluster's max_stream_duration elapsed on the last attempt. */
export function upstreamMaxStreamDuration(requestComplete: boolean): LocalReply {
  return {
    status: timeoutStatus(requestComplete), flag: 'UMSDR', body: 'upstream max stream duration reached',
    details: 'upstream_max_stream_duration_reached',
  };
}

export function clusterNotFound(status: number): LocalReply {
  return { status, flag: 'NC', body: '', details: 'cluster_not_found' };
}

/**
 * The fault filter's abort (FI). A gRPC abort is HTTP 200 with an explicit grpc-status: gRPC requests get a
 * trailers-only response carrying it; other requests get a plain 200 (as Envoy does).
 */
export function faultAbort(status: number, grpcStatus: number | null): LocalReply {
  return { status, flag: 'FI', body: 'fault filter abort', details: 'fault_filter_abort', ...(grpcStatus === null ? {} : { grpcStatus }) };
}

/** The local rate limit filter's reply (RL): 429 or the configured status; gRPC: UNAVAILABLE, or RESOURCE_EXHAUSTED when asked. */
export function localRateLimited(status: number, grpcStatus: number | null, headers: HeaderRecord): LocalReply {
  return { status, flag: 'RL', body: 'local_rate_limited', details: 'local_rate_limited', headers, ...(grpcStatus === null ? {} : { grpcStatus }) };
}

/**
 * The RBAC filter's denial: 403 "RBAC: access denied" (gRPC: PERMISSION_DENIED, 7). Envoy sets no response flag;
 * the details name the matched policy (spaces as "_"), or "none" when an ALLOW filter matched no policy.
 */
export function rbacAccessDenied(policy: string | null): LocalReply {
  const name = policy === null ? 'none' : policy.replace(/\s/g, '_');
  return { status: 403, flag: null, body: 'RBAC: access denied', details: `rbac_access_denied_matched_policy[${name}]` };
}

/**
 * jwt_authn refusal (Envoy's filter): 401 (403 for a disallowed audience) with the status text as body, no response
 * flag, details jwt_authn_access_denied{Status_text} and `WWW-Authenticate: Bearer realm="<uri>"` (with
 * `, error="invalid_token"` unless the token is missing). `strip`: strip_failure_response (no body, no header).
 */
export function jwtAuthnDenied(status: number, text: string, details: string, realm: string, missing: boolean, strip: boolean): LocalReply {
  if (strip) return { status, flag: null, body: '', details };
  const challenge = `Bearer realm="${realm}"${missing ? '' : ', error="invalid_token"'}`;
  return { status, flag: null, body: text, details, headers: { 'www-authenticate': challenge } };
}

export function overflow(): LocalReply {
  return {
    status: 503, flag: 'UO', details: 'upstream_reset_before_response_started{overflow}',
    body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow',
    headers: { 'x-envoy-overloaded': 'true' },
  };
}

/** Maps an upstream attempt's failure (before response headers) to Envoy's reply. */
export function upstreamFailureReply(f: UpstreamFailure): LocalReply {
  switch (f.kind) {
    case 'connect_failure':
      return {
        // Envoy puts the transport failure into the details too, spaces as underscores: a log line says why.
        status: 503, flag: 'UF', details: `upstream_reset_before_response_started{connection_failure,${f.detail.replace(/\s+/g, '_')}}`,
        body: `upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: ${f.detail}`,
      };
    case 'connect_timeout':
      return {
        status: 503, flag: 'UF', details: 'upstream_reset_before_response_started{connection_timeout}',
        body: 'upstream connect error or disconnect/reset before headers. reset reason: connection timeout',
      };
    case 'protocol_error':
      return {
        status: 502, flag: 'UPE', details: 'upstream_reset_before_response_started{protocol_error}',
        body: 'upstream connect error or disconnect/reset before headers. reset reason: protocol error',
      };
    case 'overflow':
      return overflow();
    case 'per_try_timeout':
      return PER_TRY_TIMEOUT;
    case 'refused_stream':
      return {
        status: 503, flag: 'UR', details: 'upstream_reset_before_response_started{remote_refused_stream_reset}',
        body: 'upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset',
      };
    default:
      return {
        status: 503, flag: 'UC', details: 'upstream_reset_before_response_started{connection_termination}',
        body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
      };
  }
}

/** gRPC's HTTP→status mapping (grpc/doc/http-grpc-status-mapping.md), as Envoy applies it to local replies. */
export function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 400: return 13;
    case 401: return 16;
    case 403: return 7;
    case 404: return 12;
    case 429: case 502: case 503: case 504: return 14;
    default: return 2;
  }
}

/**
 * grpc-message's percent-encoding (gRPC's PROTOCOL-HTTP2, as Envoy writes it): printable ASCII other than "%" stays as
 * is, every other UTF-8 byte becomes %XX. Clients decode it back ("RBAC: access denied" arrives unchanged).
 */
export function grpcMessage(text: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(text)) return text;
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function isGrpcRequest(headers: HeaderRecord): boolean {
  const ct = headers['content-type'];
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}

/**
 * Writes a local reply. For gRPC requests it becomes a trailers-only response (HTTP 200, grpc-status,
 * grpc-message), as Envoy does. `extra` carries headers such as x-request-id or the server header.
 */
export function sendLocalReply(ex: DownstreamExchange, reply: LocalReply, grpc: boolean, extra: HeaderRecord | null): number {
  if (ex.headersSent) { ex.reset(); return 0; }
  const headers: HeaderRecord = {};
  if (extra !== null) Object.assign(headers, extra);
  if (reply.headers) Object.assign(headers, reply.headers);
  if (grpc) {
    headers['content-type'] = 'application/grpc';
    headers['grpc-status'] = String(reply.grpcStatus ?? grpcStatusForHttp(reply.status));
    headers['grpc-message'] = grpcMessage(reply.body || reply.details);
    ex.sendHeaders(200, headers, true);
    return 200;
  }
  const body = reply.body === '' ? null : Buffer.from(reply.body);
  headers['content-length'] = String(body === null ? 0 : body.length);
  if (body !== null) headers['content-type'] = 'text/plain';
  if (ex.upgrade !== null || body === null || ex.head.method === 'HEAD') {
    ex.sendHeaders(reply.status, headers, true);
  } else {
    ex.sendHeaders(reply.status, headers, false);
    ex.write(body);
    ex.end(null);
  }
  return reply.status;
}
