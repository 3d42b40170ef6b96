// Fault injection decisions (Envoy's HTTPFault): is a request targeted, how long to delay it, how to abort it.
import type { HeaderMatcher } from '../model/types.ts';
import type { RequestHead } from '../http/exchange.ts';
import { headerValue } from '../http/route-table.ts';
import { matchHeader } from '../matching/string-matcher.ts';
import { percentHit, type FractionalPercent, type RandomInt } from './fractional-percent.ts';

/** Request headers that control header_delay / header_abort faults (Envoy's names). */
export const FAULT_HEADERS = {
  delay: 'x-envoy-fault-delay-request',
  delayPercentage: 'x-envoy-fault-delay-request-percentage',
  abort: 'x-envoy-fault-abort-request',
  abortGrpc: 'x-envoy-fault-abort-grpc-request',
  abortPercentage: 'x-envoy-fault-abort-request-percentage',
} as const;

export type FaultDelay =
  | { readonly kind: 'fixed'; readonly ms: number; readonly percentage: FractionalPercent }
  | { readonly kind: 'header'; readonly percentage: FractionalPercent };

export type FaultAbort =
  | { readonly kind: 'http'; readonly status: number; readonly percentage: FractionalPercent }
  | { readonly kind: 'grpc'; readonly grpcStatus: number; readonly percentage: FractionalPercent }
  | { readonly kind: 'header'; readonly percentage: FractionalPercent };

/** One compiled HTTPFault (filter level or per route: a per-route config replaces the filter's as a whole). */
export interface FaultSettings {
  readonly delay: FaultDelay | null;
  readonly abort: FaultAbort | null;
  /** All must match (HeaderMatcher semantics). */
  readonly headers: readonly HeaderMatcher[];
  /** Only requests routed to this cluster; null = any. */
  readonly upstreamCluster: string | null;
  /** null = unlimited. */
  readonly maxActiveFaults: number | null;
}

/** How an abort answers: an HTTP status, or HTTP 200 with a grpc-status (gRPC aborts). */
export interface AbortDecision {
  readonly status: number;
  readonly grpcStatus: number | null;
}

/** The first value of a header as an unsigned integer (Envoy's SimpleAtoi on untrusted input), or null. */
function headerUInt(head: RequestHead, name: string): number | null {
  const v = head.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || !/^\s*\+?\d+\s*$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** A header-controlled percentage: the header's numerator, capped by the configured one, over the configured denominator. */
function headerPercentage(head: RequestHead, name: string, configured: FractionalPercent): FractionalPercent {
  const n = headerUInt(head, name);
  if (n === null) return configured;
  return { numerator: Math.min(n, configured.numerator), denominator: configured.denominator };
}

/** upstream_cluster and headers: does this fault configuration apply to the request at all? */
export function faultTargets(s: FaultSettings, head: RequestHead, cluster: string | null): boolean {
  if (s.upstreamCluster !== null && cluster !== s.upstreamCluster) return false;
  for (const h of s.headers) if (!matchHeader(h, headerValue(head, h.name))) return false;
  return true;
}

/** The delay to inject in milliseconds, or null (no delay configured, percentage missed, no/invalid header, 0 ms). */
export function faultDelayMs(s: FaultSettings, head: RequestHead, random: RandomInt): number | null {
  const d = s.delay;
  if (d === null) return null;
  const pct = d.kind === 'header' ? headerPercentage(head, FAULT_HEADERS.delayPercentage, d.percentage) : d.percentage;
  if (!percentHit(pct, random)) return null;
  const ms = d.kind === 'fixed' ? d.ms : headerUInt(head, FAULT_HEADERS.delay);
  return ms !== null && ms > 0 ? ms : null;
}

/** The abort to inject, or null. An HTTP status wins over a gRPC status (header_abort with both headers). */
export function faultAbort(s: FaultSettings, head: RequestHead, random: RandomInt): AbortDecision | null {
  const a = s.abort;
  if (a === null) return null;
  const pct = a.kind === 'header' ? headerPercentage(head, FAULT_HEADERS.abortPercentage, a.percentage) : a.percentage;
  if (!percentHit(pct, random)) return null;
  switch (a.kind) {
    case 'http': return { status: a.status, grpcStatus: null };
    case 'grpc': return { status: 200, grpcStatus: a.grpcStatus };
    case 'header': {
      const http = headerUInt(head, FAULT_HEADERS.abort);
      if (http !== null && http >= 200 && http < 600) return { status: http, grpcStatus: null };
      const grpc = headerUInt(head, FAULT_HEADERS.abortGrpc);
      return grpc === null ? null : { status: 200, grpcStatus: grpc };
    }
  }
}
