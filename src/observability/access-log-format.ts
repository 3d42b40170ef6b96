// Envoy access-log format strings (%COMMAND(arg):len%) compiled once into parts, rendered per entry as text or typed JSON.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { AccessLogEntry } from './types.ts';
import { compileStrftime } from './strftime.ts';

/** A command operator's value for one entry; null means "no value" ("-" in text, null in typed JSON). */
export type FormatValue = string | number | boolean | null;
type Getter = (e: AccessLogEntry) => FormatValue;

/** Envoy's default JSON fields (as Istio's JSON access log), used when an access_log has no format. */
export const DEFAULT_JSON_FORMAT: Readonly<Record<string, string>> = Object.freeze({
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
  route_name: '%ROUTE_NAME%',
  // Pilotfish additions: the RBAC filter's decision and matched policy (null without an RBAC filter).
  rbac_result: '%DYNAMIC_METADATA(envoy.filters.http.rbac:enforced_engine_result)%',
  rbac_policy: '%DYNAMIC_METADATA(envoy.filters.http.rbac:enforced_effective_policy_id)%',
});

/** Envoy's default text format (used for text sinks that ask for "the default"). */
export const DEFAULT_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
  '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

const FLAG_LONG: Readonly<Record<string, string>> = {
  UH: 'NoHealthyUpstream', UF: 'UpstreamConnectionFailure', UO: 'UpstreamOverflow', NR: 'NoRouteFound',
  URX: 'UpstreamRetryLimitExceeded', NC: 'NoClusterFound', DT: 'DurationTimeout', DC: 'DownstreamConnectionTermination',
  LH: 'FailedLocalHealthCheck', UT: 'UpstreamRequestTimeout', LR: 'LocalReset', UR: 'UpstreamRemoteReset',
  UC: 'UpstreamConnectionTermination', DI: 'DelayInjected', FI: 'FaultInjected', RL: 'RateLimited',
  UAEX: 'UnauthorizedExternalService', RLSE: 'RateLimitServiceError', IH: 'InvalidEnvoyRequestHeaders',
  SI: 'StreamIdleTimeout', DPE: 'DownstreamProtocolError', UPE: 'UpstreamProtocolError',
  UMSDR: 'UpstreamMaxStreamDurationReached', OM: 'OverloadManagerTerminated', DF: 'DnsResolutionFailed', DO: 'DropOverload',
};

/** Splits "1.2.3.4:80" / "[::1]:80" into host and port (port "" when absent). */
export function splitHostPort(addr: string): { host: string; port: string } {
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    return { host: addr.slice(1, end), port: addr.slice(end + 2) };
  }
  const i = addr.lastIndexOf(':');
  if (i < 0 || addr.indexOf(':') !== i) return { host: addr, port: '' };
  return { host: addr.slice(0, i), port: addr.slice(i + 1) };
}

const withoutPort = (a: string | null): FormatValue => (a ? splitHostPort(a).host : null);
const portOf = (a: string | null): FormatValue => {
  const p = a ? splitHostPort(a).port : '';
  return p ? Number(p) : null;
};

function headerValue(h: AccessLogEntry['requestHeaders'], name: string): string | null {
  const v = h?.[name];
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(',') : v;
}

/** Request header with fallbacks to the entry fields that carry the same information. */
function reqHeader(e: AccessLogEntry, name: string): FormatValue {
  const v = headerValue(e.requestHeaders, name);
  if (v !== null) return v;
  switch (name) {
    case ':path': return e.path;
    case ':method': return e.method;
    case ':scheme': return e.scheme ?? null;
    case ':authority': return e.authority ?? headerValue(e.requestHeaders, 'host');
    case 'host': return e.authority;
    case 'user-agent': return e.userAgent;
    case 'x-request-id': return e.requestId;
    case 'x-forwarded-for': return e.forwardedFor;
    default: return null;
  }
}

function respHeader(e: AccessLogEntry, name: string): FormatValue {
  const v = headerValue(e.responseHeaders, name);
  if (v !== null) return v;
  if (name === ':status') return e.responseCode || null;
  if (name === 'x-envoy-upstream-service-time' && e.upstreamServiceTimeMs !== null) return String(Math.trunc(e.upstreamServiceTimeMs));
  return null;
}

/** Parses "X?Y" into lower-case header names. */
function headerArgs(cmd: string, arg: string | undefined): string[] {
  if (!arg) throw new Error(`Invalid header configuration. Format: %${cmd}(X?Y):Z%`);
  const names = arg.split('?').map((s) => s.trim().toLowerCase());
  if (names.length > 2 || names.some((n) => !n)) throw new Error(`More than 1 alternative header specified in token: ${arg}`);
  return names;
}

const SIMPLE: Readonly<Record<string, Getter>> = {
  RESPONSE_CODE: (e) => e.responseCode,
  RESPONSE_FLAGS: (e) => e.responseFlags || '-',
  RESPONSE_FLAGS_LONG: (e) => (!e.responseFlags || e.responseFlags === '-' ? '-' : e.responseFlags.split(',').map((f) => FLAG_LONG[f] ?? f).join(',')),
  RESPONSE_CODE_DETAILS: (e) => e.responseCodeDetails,
  CONNECTION_TERMINATION_DETAILS: (e) => e.connectionTerminationDetails,
  BYTES_RECEIVED: (e) => e.bytesReceived,
  BYTES_SENT: (e) => e.bytesSent,
  DURATION: (e) => Math.trunc(e.durationMs),
  PROTOCOL: (e) => e.protocol,
  UPSTREAM_HOST: (e) => e.upstreamHost,
  UPSTREAM_REMOTE_ADDRESS: (e) => e.upstreamHost,
  UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.upstreamHost),
  UPSTREAM_REMOTE_PORT: (e) => portOf(e.upstreamHost),
  UPSTREAM_CLUSTER: (e) => e.upstreamCluster,
  UPSTREAM_CLUSTER_RAW: (e) => e.upstreamCluster,
  UPSTREAM_LOCAL_ADDRESS: (e) => e.upstreamLocalAddress,
  UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.upstreamLocalAddress),
  UPSTREAM_LOCAL_PORT: (e) => portOf(e.upstreamLocalAddress),
  DOWNSTREAM_REMOTE_ADDRESS: (e) => e.downstreamRemoteAddress || null,
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.downstreamRemoteAddress),
  DOWNSTREAM_REMOTE_PORT: (e) => portOf(e.downstreamRemoteAddress),
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: (e) => e.downstreamRemoteAddress || null,
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.downstreamRemoteAddress),
  DOWNSTREAM_DIRECT_REMOTE_PORT: (e) => portOf(e.downstreamRemoteAddress),
  DOWNSTREAM_LOCAL_ADDRESS: (e) => e.downstreamLocalAddress || null,
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.downstreamLocalAddress),
  DOWNSTREAM_LOCAL_PORT: (e) => portOf(e.downstreamLocalAddress),
  ROUTE_NAME: (e) => e.routeName,
  UNIQUE_ID: () => randomUUID(),
};

/** Operators Envoy knows that Pilotfish accepts but has no data for (always "-"). */
const UNAVAILABLE = new Set([
  'REQUEST_DURATION', 'REQUEST_TX_DURATION', 'RESPONSE_DURATION', 'RESPONSE_TX_DURATION', 'DOWNSTREAM_HANDSHAKE_DURATION',
  'UPSTREAM_TRANSPORT_FAILURE_REASON', 'REQUESTED_SERVER_NAME', 'UPSTREAM_REQUEST_ATTEMPT_COUNT', 'UPSTREAM_WIRE_BYTES_SENT',
  'UPSTREAM_WIRE_BYTES_RECEIVED', 'DOWNSTREAM_WIRE_BYTES_SENT', 'DOWNSTREAM_WIRE_BYTES_RECEIVED',
  'CLUSTER_METADATA', 'UPSTREAM_METADATA', 'FILTER_STATE', 'UPSTREAM_FILTER_STATE', 'DOWNSTREAM_PEER_URI_SAN',
  'DOWNSTREAM_PEER_SUBJECT', 'DOWNSTREAM_PEER_ISSUER', 'DOWNSTREAM_PEER_FINGERPRINT_256', 'DOWNSTREAM_PEER_CERT',
  'DOWNSTREAM_LOCAL_URI_SAN', 'DOWNSTREAM_LOCAL_SUBJECT', 'DOWNSTREAM_TLS_VERSION', 'DOWNSTREAM_TLS_CIPHER',
  'DOWNSTREAM_TLS_SESSION_ID', 'UPSTREAM_PEER_URI_SAN', 'UPSTREAM_TLS_VERSION', 'VIRTUAL_CLUSTER_NAME',
  'CONNECTION_ID', 'STREAM_ID', 'UPSTREAM_CONNECTION_ID', 'GRPC_STATUS', 'GRPC_STATUS_NUMBER',
]);

/**
 * %DYNAMIC_METADATA(NAMESPACE:KEY:...)%: a value set by a filter (strings, numbers and booleans as they are; a
 * struct as JSON text); the whole namespace as JSON without a key.
 */
function dynamicMetadata(arg: string | undefined): Getter {
  if (!arg) throw new Error('DYNAMIC_METADATA requires parameters');
  const [namespace, ...path] = arg.split(':');
  return (e) => {
    let v: unknown = e.dynamicMetadata?.[namespace];
    for (const k of path) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
    if (v === undefined || v === null) return null;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    return JSON.stringify(v);
  };
}

function operator(cmd: string, arg: string | undefined): Getter {
  const simple = SIMPLE[cmd];
  if (simple) return simple;
  switch (cmd) {
    case 'START_TIME': {
      if (!arg) return (e) => new Date(e.startTime).toISOString();
      const f = compileStrftime(arg);
      return (e) => f(e.startTime);
    }
    case 'REQ':
    case 'REQ_WITHOUT_QUERY': {
      const [a, b] = headerArgs(cmd, arg);
      const strip = cmd === 'REQ_WITHOUT_QUERY';
      return (e) => {
        let v = reqHeader(e, a);
        if (v === null && b) v = reqHeader(e, b);
        if (strip && typeof v === 'string') { const q = v.indexOf('?'); if (q >= 0) v = v.slice(0, q); }
        return v;
      };
    }
    case 'RESP': {
      const [a, b] = headerArgs(cmd, arg);
      return (e) => respHeader(e, a) ?? (b ? respHeader(e, b) : null);
    }
    case 'TRAILER': {
      const [a, b] = headerArgs(cmd, arg);
      return (e) => headerValue(e.responseTrailers, a) ?? (b ? headerValue(e.responseTrailers, b) : null);
    }
    case 'DYNAMIC_METADATA': return dynamicMetadata(arg);
    case 'HOSTNAME': { const h = hostname(); return () => h; }
    case 'ENVIRONMENT': {
      if (!arg) throw new Error('ENVIRONMENT requires an environment variable name');
      const v = process.env[arg] ?? null;
      return () => v;
    }
  }
  if (UNAVAILABLE.has(cmd)) return () => null;
  throw new Error(`Not supported field in StreamInfo: ${cmd}`);
}

function truncate(g: Getter, max: number): Getter {
  return (e) => {
    const v = g(e);
    return typeof v === 'string' && v.length > max ? v.slice(0, max) : v;
  };
}

/** One compiled piece of a format: literal text or a command operator. */
export type FormatPart = string | Getter;

const COMMAND_RE = /%([A-Z]|[A-Z][A-Z0-9_]*[A-Z0-9])(?:\(([^)]*)\))?(?::([0-9]+))?%/y;

/** Compiles an Envoy format string into parts. Throws an Error with Envoy's wording when the format is invalid. */
export function compileFormatParts(format: string): FormatPart[] {
  const parts: FormatPart[] = [];
  let lit = '';
  let pos = 0;
  while (pos < format.length) {
    const ch = format[pos];
    if (ch !== '%') { lit += ch; pos++; continue; }
    if (format[pos + 1] === '%') { lit += '%'; pos += 2; continue; }
    COMMAND_RE.lastIndex = pos;
    const m = COMMAND_RE.exec(format);
    if (!m) throw new Error(`Incorrect configuration: ${format}. Couldn't find valid command at position ${pos}`);
    if (lit) { parts.push(lit); lit = ''; }
    let g = operator(m[1], m[2]);
    if (m[3] !== undefined) g = truncate(g, Number(m[3]));
    parts.push(g);
    pos += m[0].length;
  }
  if (lit) parts.push(lit);
  return parts;
}

/** Returns null when the format string is valid, else the error message (for config validation). */
export function validateFormat(format: string): string | null {
  try { compileFormatParts(format); return null; } catch (err) { return (err as Error).message; }
}

/** A text formatter: missing values render as "-". */
export function compileTextFormat(format: string): (e: AccessLogEntry) => string {
  const parts = compileFormatParts(format);
  if (parts.length === 1 && typeof parts[0] === 'string') { const s = parts[0]; return () => s; }
  return (e) => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else { const v = p(e); out += v === null ? '-' : v; }
    }
    return out;
  };
}

type JsonNode = (e: AccessLogEntry) => unknown;

function compileJsonValue(v: unknown): JsonNode {
  if (typeof v === 'string') {
    const parts = compileFormatParts(v);
    if (parts.length === 1 && typeof parts[0] === 'function') {
      const g = parts[0];
      return g; // typed: numbers stay numbers, missing is null
    }
    const text = compileTextFormat(v);
    return text;
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const fields = Object.entries(v).map(([k, x]) => [k, compileJsonValue(x)] as const);
    return (e) => {
      const o: Record<string, unknown> = {};
      for (const [k, f] of fields) o[k] = f(e);
      return o;
    };
  }
  return () => v; // numbers, booleans, null, lists: constants
}

/** A json_format formatter: returns one JSON line (with trailing newline) per entry. */
export function compileJsonFormat(format: Readonly<Record<string, unknown>>): (e: AccessLogEntry) => string {
  const node = compileJsonValue(format);
  return (e) => `${JSON.stringify(node(e))}\n`;
}
