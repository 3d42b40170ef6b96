// What one active health check probe reports, and the pieces the HTTP, TCP and gRPC probes share (verdicts, headers, payloads).
import type { ClusterConfig, HealthCheckConfig, HeaderValueOption, StatusRange } from '../model/types.ts';
import type { Host } from './types.ts';

/**
 * The outcome of one check. Envoy's failure kinds: `network` (connect error, reset, timeout) and retriable statuses
 * count towards unhealthy_threshold; any other failure (a bad status, payload or gRPC status) is immediate.
 */
export type ProbeResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly network: boolean; readonly retriable: boolean; readonly detail: string };

/** Checks one host again and again; keeps its connection between checks when reuse_connection is on. */
export interface Prober {
  /** Runs one check; never rejects, and settles within `timeoutMs` (a timeout is a network failure). */
  check(timeoutMs: number): Promise<ProbeResult>;
  /** Closes a kept connection. */
  close(): void;
}

export type ProberFactory = (host: Host, cluster: ClusterConfig, hc: HealthCheckConfig) => Prober;

export const PASS: ProbeResult = { ok: true };

export function networkFailure(detail: string): ProbeResult {
  return { ok: false, network: true, retriable: false, detail };
}

export function activeFailure(detail: string, retriable = false): ProbeResult {
  return { ok: false, network: false, retriable, detail };
}

/** Envoy's user-agent on health check requests. */
export const HC_USER_AGENT = 'Envoy/HC';

function inRanges(status: number, ranges: readonly StatusRange[]): boolean {
  return ranges.some((r) => status >= r.start && status < r.end);
}

/** An HTTP status against expected_statuses (pass) and retriable_statuses (failure that counts towards the threshold). */
export function statusVerdict(status: number, expected: readonly StatusRange[], retriable: readonly StatusRange[]): ProbeResult {
  if (inRanges(status, expected)) return PASS;
  return activeFailure(`status ${status}`, inRanges(status, retriable));
}

/** True when `data` contains every hex segment of `receive`, in order (Envoy's TcpHealthCheckMatcher). */
export function payloadMatches(data: Buffer, receive: readonly string[]): boolean {
  let from = 0;
  for (const hex of receive) {
    const segment = Buffer.from(hex, 'hex');
    const at = data.indexOf(segment, from);
    if (at < 0) return false;
    from = at + segment.length;
  }
  return true;
}

/** Applies request_headers_to_add (append actions as in routes) and request_headers_to_remove to `base`, in place. */
export function applyHeaderOptions(
  base: Record<string, string | string[]>,
  adds: readonly HeaderValueOption[],
  removes: readonly string[],
): Record<string, string | string[]> {
  for (const h of adds) {
    if (h.value === '' && !h.keepEmptyValue) continue;
    const existing = base[h.key];
    switch (h.appendAction) {
      case 'APPEND_IF_EXISTS_OR_ADD':
        base[h.key] = existing === undefined ? h.value : [...(Array.isArray(existing) ? existing : [existing]), h.value];
        break;
      case 'ADD_IF_ABSENT':
        if (existing === undefined) base[h.key] = h.value;
        break;
      case 'OVERWRITE_IF_EXISTS_OR_ADD':
        base[h.key] = h.value;
        break;
      case 'OVERWRITE_IF_EXISTS':
        if (existing !== undefined) base[h.key] = h.value;
        break;
    }
  }
  for (const key of removes) delete base[key];
  return base;
}

/** Runs `start` with a deadline: `onTimeout` cleans up and the check fails as a network timeout. */
export function withDeadline(timeoutMs: number, start: (finish: (r: ProbeResult) => void) => void, onTimeout: () => void): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      onTimeout();
      resolve(networkFailure(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    try {
      start(finish);
    } catch (err) {
      finish(networkFailure(err instanceof Error ? err.message : String(err)));
    }
  });
}
