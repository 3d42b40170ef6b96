// Envoy's timeout rules for a forwarded stream: grpc-timeout parsing, which stream duration and idle timeout apply, and cheap timers.

/** setTimeout's ceiling (larger delays would fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const GRPC_UNITS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * Parses a grpc-timeout request header (1–8 digits and a unit: H, M, S, m, u, n) into milliseconds, rounding
 * sub-millisecond values up; null when absent or malformed (a malformed header is ignored, as Envoy does).
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | null {
  if (typeof value !== 'string') return null;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value.trim());
  if (m === null) return null;
  return Math.ceil(Number(m[1]) * GRPC_UNITS[m[2]]);
}

export interface StreamDurationRoute {
  /** Route max_stream_duration.max_stream_duration: null = not set (use the connection manager's), 0 = none. */
  readonly maxStreamDurationMs: number | null;
  /** Route max_stream_duration.grpc_timeout_header_max (or max_grpc_timeout): null = grpc-timeout is not honoured, 0 = no cap. */
  readonly grpcTimeoutHeaderMaxMs: number | null;
}

/**
 * The cap on a stream's whole duration (Envoy's HCM refreshDurationTimeout), or null for none. A grpc-timeout
 * header counts only when the route sets grpc_timeout_header_max, which then caps it (0 = no cap). Otherwise the
 * route's max_stream_duration applies (0 disables), else the connection manager's max_stream_duration.
 */
export function streamDurationMs(route: StreamDurationRoute, hcmMaxStreamDurationMs: number | undefined, grpcTimeoutMs: number | null): number | null {
  if (grpcTimeoutMs !== null && route.grpcTimeoutHeaderMaxMs !== null) {
    const cap = route.grpcTimeoutHeaderMaxMs;
    return cap > 0 && grpcTimeoutMs > cap ? cap : grpcTimeoutMs;
  }
  if (route.maxStreamDurationMs !== null) return route.maxStreamDurationMs > 0 ? route.maxStreamDurationMs : null;
  return hcmMaxStreamDurationMs !== undefined && hcmMaxStreamDurationMs > 0 ? hcmMaxStreamDurationMs : null;
}

/** The stream idle timeout in ms (0 = none): the route's idle_timeout when set (0 disables), else the connection manager's. */
export function streamIdleTimeoutMs(routeIdleTimeoutMs: number | null, hcmStreamIdleTimeoutMs: number): number {
  return routeIdleTimeoutMs ?? hcmStreamIdleTimeoutMs;
}

/** setTimeout with the delay clamped to what Node timers can hold. */
export function startTimer(ms: number, fn: () => void): NodeJS.Timeout {
  return setTimeout(fn, Math.max(0, Math.min(ms, MAX_TIMER_MS)));
}

/**
 * Fires `onIdle` once nothing touched it for `ms`. touch() only stores a timestamp; the single timer re-arms
 * itself for the remainder when it finds recent activity, so streaming bodies cost no timer churn.
 */
export class IdleTimer {
  readonly #ms: number;
  readonly #onIdle: () => void;
  readonly #now: () => number;
  #last: number;
  #timer: NodeJS.Timeout | null;

  /** `now` is the clock in ms (tests pass a fake one). */
  constructor(ms: number, onIdle: () => void, now: () => number = () => performance.now()) {
    this.#ms = ms;
    this.#onIdle = onIdle;
    this.#now = now;
    this.#last = now();
    this.#timer = startTimer(ms, () => this.#check());
  }

  touch(): void {
    this.#last = this.#now();
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #check(): void {
    const idle = this.#now() - this.#last;
    // Timers run on the loop's coarser clock; a millisecond of slack keeps them from re-arming for nothing.
    if (idle + 1 >= this.#ms) { this.#timer = null; this.#onIdle(); return; }
    this.#timer = startTimer(this.#ms - idle, () => this.#check());
  }
}
