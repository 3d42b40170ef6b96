// Parses pilotfish.io/v1alpha1 TrafficPolicy: retries, timeouts, circuit breakers, outlier detection, load balancing, mTLS and authorization for one Service.
import { Fields } from './doc-reader.ts';
import type { Meta } from './core-kinds.ts';
import type {
  Authorization, AuthorizationRule, CircuitBreaker, LoadBalancer, LbPolicyName, OutlierDetection, RetryPolicy, TrafficPolicy,
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

function parseAuthorization(f: Fields): Authorization {
  f.only(['action', 'rules']);
  const action = f.oneOf('action', ['ALLOW', 'DENY'] as const) ?? 'ALLOW';
  const rules: AuthorizationRule[] = [];
  for (const r of f.objList('rules')) {
    r.only(['from', 'to']);
    const from = r.objList('from').map((s) => {
      s.only(['serviceAccounts', 'namespaces']);
      const serviceAccounts = s.strList('serviceAccounts');
      serviceAccounts.forEach((sa, i) => {
        if (!/^[a-z0-9-.]+\/[a-z0-9-.*]+$/.test(sa) && !/^[a-z0-9-.]+$/.test(sa)) s.error(`serviceAccounts[${i}]`, `"${sa}" is not "namespace/name" or "name"`);
      });
      return { serviceAccounts, namespaces: s.strList('namespaces') };
    });
    const to = r.objList('to').map((t) => {
      t.only(['methods', 'paths', 'ports']);
      return { methods: t.strList('methods'), paths: t.strList('paths'), ports: t.intList('ports', 1, 65535) };
    });
    rules.push({ from, to });
  }
  return { action, rules };
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
  m?.only(['mode']);
  const mode = m?.oneOf('mode', ['STRICT', 'PERMISSIVE', 'DISABLE'] as const, true);
  const lb = spec.obj('loadBalancer');
  const cb = spec.obj('circuitBreaker');
  const od = spec.obj('outlierDetection');
  const az = spec.obj('authorization');
  const policy: TrafficPolicy = {
    name: meta.name,
    namespace: meta.namespace,
    target: { kind, name: targetName ?? '', namespace: targetNs },
    retry: r ? parseRetry(r) : null,
    timeoutMs: spec.duration('timeout') ?? null,
    circuitBreaker: cb ? parseCircuitBreaker(cb) : null,
    outlierDetection: od ? parseOutlier(od) : null,
    loadBalancer: lb ? parseLoadBalancer(lb) : null,
    mtls: mode ? { mode } : null,
    authorization: az ? parseAuthorization(az) : null,
    src: meta.src,
  };
  return targetName === undefined ? undefined : policy;
}
