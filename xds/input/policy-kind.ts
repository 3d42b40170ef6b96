// Parses pilotfish.io/v1alpha1 TrafficPolicy: retries, timeouts, circuit breakers, outlier detection, load balancing, mTLS and authorization for one Service.
import { Fields } from './doc-reader.ts';
import type { Meta } from './core-kinds.ts';
import type {
  Authorization, AuthorizationClaim, AuthorizationRule, CircuitBreaker, LoadBalancer, LbPolicyName, MtlsMode, MtlsPolicy, OutlierDetection, RetryPolicy,
  TrafficPolicy,
} from './types.ts';

export const POLICY_API_VERSION = 'pilotfish.io/v1alpha1';

/** Envoy retry_on conditions (HTTP, x-envoy-retry-on) and gRPC status names (x-envoy-retry-grpc-on). */
export const RETRY_ON = [
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx',
  'refused-stream', 'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
] as const;

export const DEFAULT_RETRY_ON = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'];

function parseRetry(f: Fields): RetryPolicy {
  f.only(['attempts', 'perTryTimeout', 'retryOn', 'retriableStatusCodes', 'backoff', 'budget']);
  const attempts = f.int('attempts', { min: 0, max: 100 }) ?? 2;
  const perTryTimeoutMs = f.duration('perTryTimeout') ?? null;
  let retryOn = f.strList('retryOn');
  retryOn.forEach((c, i) => {
    if (!(RETRY_ON as readonly string[]).includes(c)) f.error(`retryOn[${i}]`, `unknown retry condition "${c}" (known: ${RETRY_ON.join(', ')})`);
  });
  if (!f.has('retryOn')) retryOn = [...DEFAULT_RETRY_ON];
  const retriableStatusCodes = f.intList('retriableStatusCodes', 100, 599);
  let backoff: RetryPolicy['backoff'] = null;
  const b = f.obj('backoff');
  if (b) {
    b.only(['base', 'max']);
    const baseMs = b.duration('base', true);
    const maxMs = b.duration('max') ?? null;
    if (baseMs === 0) b.error('base', 'must be greater than 0');
    if (baseMs !== undefined && maxMs !== null && maxMs < baseMs) b.error('max', 'must not be shorter than base');
    if (baseMs !== undefined) backoff = { baseMs, maxMs };
  }
  let budget: RetryPolicy['budget'] = null;
  const bu = f.obj('budget');
  if (bu) {
    bu.only(['percent', 'minRetryConcurrency']);
    const v = bu.value.percent;
    let percent: number | undefined;
    if (typeof v === 'number' && v >= 0 && v <= 100) percent = v;
    else if (v === undefined) bu.error('percent', 'required');
    else bu.error('percent', `expected a number in [0, 100], got ${JSON.stringify(v)}`);
    const minRetryConcurrency = bu.int('minRetryConcurrency') ?? null;
    if (percent !== undefined) budget = { percent, minRetryConcurrency };
  }
  return { attempts, perTryTimeoutMs, retryOn, backoff, budget, retriableStatusCodes };
}

function parseCircuitBreaker(f: Fields): CircuitBreaker {
  f.only(['maxConnections', 'maxPendingRequests', 'maxRequests', 'maxRetries']);
  return {
    maxConnections: f.int('maxConnections') ?? null,
    maxPendingRequests: f.int('maxPendingRequests') ?? null,
    maxRequests: f.int('maxRequests') ?? null,
    maxRetries: f.int('maxRetries') ?? null,
  };
}

function parseOutlier(f: Fields): OutlierDetection {
  f.only(['consecutive5xx', 'consecutiveGatewayErrors', 'interval', 'baseEjectionTime', 'maxEjectionTime', 'maxEjectionPercent']);
  const positive = (k: string) => {
    const v = f.duration(k);
    if (v === 0) f.error(k, 'must be greater than 0');
    return v ?? null;
  };
  return {
    consecutive5xx: f.int('consecutive5xx') ?? null,
    consecutiveGatewayErrors: f.int('consecutiveGatewayErrors') ?? null,
    intervalMs: positive('interval'),
    baseEjectionTimeMs: positive('baseEjectionTime'),
    maxEjectionTimeMs: positive('maxEjectionTime'),
    maxEjectionPercent: f.int('maxEjectionPercent', { max: 100 }) ?? null,
  };
}

function parseLoadBalancer(f: Fields): LoadBalancer | null {
  f.only(['policy', 'hashOn']);
  const policy: LbPolicyName = f.oneOf('policy', ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH'] as const) ?? 'ROUND_ROBIN';
  let hashOn: LoadBalancer['hashOn'] = null;
  const h = f.obj('hashOn');
  if (h) {
    h.only(['header', 'cookie', 'sourceIP']);
    const set = ['header', 'cookie', 'sourceIP'].filter((k) => h.has(k));
    if (set.length !== 1) h.error('', 'exactly one of header, cookie or sourceIP is required');
    const header = h.str('header');
    if (header !== undefined) hashOn = { header: header.toLowerCase() };
    const c = h.obj('cookie');
    if (c) {
      c.only(['name', 'ttl']);
      const name = c.str('name', true);
      if (name !== undefined) hashOn = { cookie: name, ttlMs: c.duration('ttl') ?? null };
    }
    if (h.bool('sourceIP') === true) hashOn = { sourceIP: true };
    if (policy !== 'RING_HASH') h.error('', 'hashOn needs policy RING_HASH');
  } else if (policy === 'RING_HASH') {
    f.error('hashOn', 'required with policy RING_HASH (header, cookie or sourceIP)');
  }
  return { policy, hashOn };
}

const MTLS_MODES = ['STRICT', 'PERMISSIVE', 'DISABLE'] as const;
const NAME = '[a-z0-9]([-a-z0-9.]*[a-z0-9])?';
const PRINCIPAL = new RegExp(`^(\\*|spiffe://[^/\\s]+/ns/${NAME}/sa/${NAME}|ns/${NAME}/sa/${NAME}|ns/${NAME}/\\*)$`);
const SERVICE_ACCOUNT = new RegExp(`^(${NAME}/)?${NAME}$|^${NAME}/\\*$`);
const NAMESPACE = new RegExp(`^(${NAME}|\\*)$`);
const METHOD = /^[A-Z]+$/;
const PATH = /^(\*|\/[^*\s]*\*?|\*[^*\s]+)$/;
const HEADER_NAME = /^:?[a-z0-9!#$%&'*+.^_`|~-]+$/;

/** `mtls: {mode, ports: {<port number or name>: mode}}`. */
function parseMtls(m: Fields): MtlsPolicy {
  m.only(['mode', 'ports']);
  const mode = m.oneOf('mode', MTLS_MODES) ?? null;
  const ports: Record<string, MtlsMode> = {};
  const p = m.obj('ports');
  if (p) {
    for (const k of Object.keys(p.value)) {
      const v = p.oneOf(k, MTLS_MODES, true);
      if (v) ports[k] = v;
    }
  }
  if (mode === null && Object.keys(ports).length === 0 && !m.has('mode')) m.error('mode', 'required (or ports)');
  return { mode, ports };
}

function checkList(f: Fields, k: string, list: readonly string[], re: RegExp, what: string): void {
  list.forEach((v, i) => { if (!re.test(v)) f.error(`${k}[${i}]`, `"${v}" is not ${what}`); });
}

/** "<issuer>/<subject>" (split at the last "/"), "<issuer>/*" or "*". */
const REQUEST_PRINCIPAL = /^(\*|[^\s*]+\/([^\s/*]+|\*))$/;
const CLAIM_NAME = /^[A-Za-z0-9_:.\-]+$/;

/** `claims: {groups: admins}` or `{groups: [admins, ops]}`: every claim must match one of its values. */
function parseClaims(s: Fields): AuthorizationClaim[] {
  const c = s.obj('claims');
  if (!c) return [];
  const out: AuthorizationClaim[] = [];
  for (const [claim, v] of Object.entries(c.value)) {
    if (!CLAIM_NAME.test(claim)) c.error(claim, `"${claim}" is not a claim name (letters, digits, "_", "-", ".", ":")`);
    let values: string[] = [];
    if (typeof v === 'string') values = [v];
    else if (Array.isArray(v)) values = c.strList(claim);
    else c.error(claim, 'expected a string or a list of strings');
    if (values.length === 0 && (typeof v === 'string' || Array.isArray(v))) c.error(claim, 'at least one value is required');
    if (values.length > 0) out.push({ claim, values });
  }
  return out;
}

function parseRule(r: Fields): AuthorizationRule {
  r.only(['from', 'to']);
  const from = r.objList('from').map((s) => {
    s.only(['principals', 'serviceAccounts', 'namespaces', 'requestPrincipals', 'claims']);
    const principals = s.strList('principals');
    checkList(s, 'principals', principals, PRINCIPAL, 'a SPIFFE ID ("spiffe://<trust-domain>/ns/<ns>/sa/<sa>"), "ns/<ns>/sa/<sa>", "ns/<ns>/*" or "*"');
    const serviceAccounts = s.strList('serviceAccounts');
    checkList(s, 'serviceAccounts', serviceAccounts, SERVICE_ACCOUNT, '"namespace/name", "name" or "namespace/*"');
    const namespaces = s.strList('namespaces');
    checkList(s, 'namespaces', namespaces, NAMESPACE, 'a namespace name or "*"');
    const requestPrincipals = s.strList('requestPrincipals');
    checkList(s, 'requestPrincipals', requestPrincipals, REQUEST_PRINCIPAL, '"<issuer>/<subject>", "<issuer>/*" or "*"');
    return { principals, serviceAccounts, namespaces, requestPrincipals, claims: parseClaims(s) };
  });
  const to = r.objList('to').map((t) => {
    t.only(['methods', 'paths', 'ports', 'headers']);
    const methods = t.strList('methods');
    checkList(t, 'methods', methods, METHOD, 'an upper-case HTTP method');
    const paths = t.strList('paths');
    checkList(t, 'paths', paths, PATH, 'a path: exact ("/api"), prefix ("/api/*"), suffix ("*.json") or "*"');
    const headers = t.objList('headers').flatMap((h) => {
      h.only(['name', 'value']);
      const name = h.str('name', true);
      const value = h.str('value', true);
      if (name !== undefined && !HEADER_NAME.test(name.toLowerCase())) h.error('name', `"${name}" is not a header name`);
      return name === undefined || value === undefined ? [] : [{ name: name.toLowerCase(), value }];
    });
    return { methods, paths, ports: t.intList('ports', 1, 65535), headers };
  });
  return { from, to };
}

function parseOneAuthorization(f: Fields, name: string): Authorization {
  f.only(['name', 'action', 'rules']);
  const own = f.str('name');
  if (own !== undefined && !new RegExp(`^${NAME}$`).test(own)) f.error('name', `"${own}" is not a valid name (lower-case letters, digits, "-" and ".")`);
  const action = f.oneOf('action', ['ALLOW', 'DENY'] as const) ?? 'ALLOW';
  return { name: own ?? name, action, rules: f.objList('rules').map(parseRule) };
}

/** `authorization`: one policy `{name?, action, rules}` or a list of them (names must differ). */
function parseAuthorization(spec: Fields, policyName: string): Authorization[] | null {
  const v = spec.value.authorization;
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) {
    const f = spec.obj('authorization');
    return f ? [parseOneAuthorization(f, policyName)] : null;
  }
  const out = spec.objList('authorization').map((f, i) => parseOneAuthorization(f, `${policyName}-${i}`));
  const seen = new Set<string>();
  out.forEach((a, i) => {
    if (seen.has(a.name)) spec.error(`authorization[${i}].name`, `duplicate authorization name "${a.name}"`);
    seen.add(a.name);
  });
  return out;
}

export function parseTrafficPolicy(root: Fields, meta: Meta): TrafficPolicy | undefined {
  root.only(['apiVersion', 'kind', 'metadata', 'spec'], ['status']);
  const spec = root.obj('spec', true);
  if (!spec) return undefined;
  spec.only(['targetRef', 'retry', 'timeout', 'circuitBreaker', 'outlierDetection', 'loadBalancer', 'mtls', 'authorization']);
  const t = spec.obj('targetRef', true);
  t?.only(['group', 'kind', 'name', 'namespace']);
  const kind = t?.oneOf('kind', ['Service'] as const) ?? 'Service';
  const group = t?.str('group') ?? '';
  if (group !== '' && group !== 'core') t?.error('group', `must be "" (core) for a Service, got "${group}"`);
  const targetName = t?.str('name', true);
  const targetNs = t?.str('namespace') ?? meta.namespace;
  const r = spec.obj('retry');
  const m = spec.obj('mtls');
  const lb = spec.obj('loadBalancer');
  const cb = spec.obj('circuitBreaker');
  const od = spec.obj('outlierDetection');
  const policy: TrafficPolicy = {
    name: meta.name,
    namespace: meta.namespace,
    target: { kind, name: targetName ?? '', namespace: targetNs },
    retry: r ? parseRetry(r) : null,
    timeoutMs: spec.duration('timeout') ?? null,
    circuitBreaker: cb ? parseCircuitBreaker(cb) : null,
    outlierDetection: od ? parseOutlier(od) : null,
    loadBalancer: lb ? parseLoadBalancer(lb) : null,
    mtls: m ? parseMtls(m) : null,
    authorization: parseAuthorization(spec, meta.name),
    src: meta.src,
  };
  return targetName === undefined ? undefined : policy;
}
