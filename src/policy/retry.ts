// Retry policy decisions (Envoy's retry_on semantics, back-off with jitter), pure and per attempt.
import type { RetryPolicy } from '../model/types.ts';
import type { HeaderRecord } from '../upstream/pool/http-pool.ts';
import type { UpstreamFailure } from '../upstream/upstream-failure.ts';
import { matchHeader } from '../matching/string-matcher.ts';

const GRPC_CONDITIONS: Readonly<Record<string, number>> = {
  cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14,
};

/** A policy compiled once per route for fast checks. */
export interface CompiledRetry {
  readonly policy: RetryPolicy;
  readonly on5xx: boolean;
  readonly gatewayError: boolean;
  readonly reset: boolean;
  readonly connectFailure: boolean;
  readonly refusedStream: boolean;
  readonly retriable4xx: boolean;
  readonly statusCodes: boolean;
  readonly headers: boolean;
  readonly grpcCodes: ReadonlySet<number>;
}

const compiledCache = new WeakMap<RetryPolicy, CompiledRetry>();

export function compileRetry(policy: RetryPolicy): CompiledRetry {
  let c = compiledCache.get(policy);
  if (c !== undefined) return c;
  const on = new Set(policy.retryOn);
  const grpc = new Set<number>();
  for (const name of on) if (GRPC_CONDITIONS[name] !== undefined) grpc.add(GRPC_CONDITIONS[name]);
  c = {
    policy,
    on5xx: on.has('5xx'),
    gatewayError: on.has('gateway-error'),
    reset: on.has('reset') || on.has('reset-before-request'),
    connectFailure: on.has('connect-failure'),
    refusedStream: on.has('refused-stream'),
    retriable4xx: on.has('retriable-4xx'),
    statusCodes: on.has('retriable-status-codes'),
    headers: on.has('retriable-headers'),
    grpcCodes: grpc,
  };
  compiledCache.set(policy, c);
  return c;
}

/** Whether an upstream response (its headers) asks for another attempt. */
export function retryOnResponse(c: CompiledRetry, status: number, headers: HeaderRecord): boolean {
  if (c.on5xx && status >= 500) return true;
  if (c.gatewayError && (status === 502 || status === 503 || status === 504)) return true;
  if (c.retriable4xx && status === 409) return true;
  if (c.statusCodes && c.policy.retriableStatusCodes.includes(status)) return true;
  if (c.headers) {
    for (const m of c.policy.retriableHeaders) {
      const v = headers[m.name];
      if (matchHeader(m, v === undefined ? undefined : Array.isArray(v) ? v.join(',') : v)) return true;
    }
  }
  if (c.grpcCodes.size > 0) {
    // Only a trailers-only gRPC response carries grpc-status in its headers; that is what Envoy can retry.
    const gs = headers['grpc-status'];
    if (typeof gs === 'string' && c.grpcCodes.has(Number(gs))) return true;
  }
  return false;
}

/** Whether a failure before response headers (reset, connect failure, per-try timeout) asks for another attempt. */
export function retryOnFailure(c: CompiledRetry, f: UpstreamFailure): boolean {
  switch (f.kind) {
    case 'connect_failure':
    case 'connect_timeout':
      return c.on5xx || c.gatewayError || c.reset || c.connectFailure;
    case 'refused_stream':
      return c.on5xx || c.refusedStream || c.reset;
    case 'per_try_timeout':
      return c.on5xx || c.gatewayError || c.reset;
    case 'overflow':
      return false;
    default:
      return c.on5xx || c.gatewayError || c.reset;
  }
}

/** Envoy's fully jittered exponential back-off: uniform in [0, min(base * (2^n - 1), max)] for the n-th retry (n ≥ 1). */
export function backOffMs(policy: RetryPolicy, retryNumber: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.backOffBaseMs * (2 ** Math.min(retryNumber, 30) - 1), policy.backOffMaxMs);
  return Math.floor(random() * (ceiling + 1));
}
