// Local rate limiting (Envoy's LocalRateLimit): a token bucket refilled from elapsed time, and the enabled/enforced decision.
import { percentHit, type FractionalPercent, type RandomInt } from './fractional-percent.ts';

export interface TokenBucketConfig {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
}

/** Milliseconds on a monotonic clock; injected so tests control time. */
export type Clock = () => number;

export const monotonicClock: Clock = () => performance.now();

/**
 * Envoy's bucket: starts full; every fill_interval (counted from creation) adds tokens_per_fill, up to max_tokens.
 * No timers: the fills due are computed from the elapsed time when a request looks at the bucket.
 */
export class TokenBucket {
  readonly config: TokenBucketConfig;
  readonly #clock: Clock;
  #tokens: number;
  #lastFill: number;

  constructor(config: TokenBucketConfig, clock: Clock = monotonicClock) {
    this.config = config;
    this.#clock = clock;
    this.#tokens = config.maxTokens;
    this.#lastFill = clock();
  }

  #refill(now: number): void {
    const { fillIntervalMs, tokensPerFill, maxTokens } = this.config;
    const elapsed = now - this.#lastFill;
    if (elapsed < fillIntervalMs) return;
    const fills = Math.floor(elapsed / fillIntervalMs);
    this.#lastFill += fills * fillIntervalMs;
    this.#tokens = Math.min(maxTokens, this.#tokens + fills * tokensPerFill);
  }

  /** Takes one token if there is one. */
  tryConsume(): boolean {
    this.#refill(this.#clock());
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  /** Tokens left (as of the last look at the bucket). */
  get remaining(): number {
    return this.#tokens;
  }

  /** Whole seconds (rounded up) until the next fill: the x-ratelimit-reset value. */
  resetSeconds(): number {
    const now = this.#clock();
    this.#refill(now);
    return Math.max(0, Math.ceil((this.#lastFill + this.config.fillIntervalMs - now) / 1000));
  }
}

/** The part of a LocalRateLimit configuration the decision needs. */
export interface RateLimitSwitches {
  /** filter_enabled.default_value (absent in the config: 0 %, Envoy's default). */
  readonly enabled: FractionalPercent;
  /** filter_enforced.default_value (absent: 0 %). */
  readonly enforced: FractionalPercent;
}

/**
 * What the filter does with one request (Envoy's order): not enabled → 'skip'; a token → 'ok'; no token but not
 * enforced → 'limited' (forwarded, counted); no token and enforced → 'enforced' (answered with the limit status).
 */
export type RateLimitOutcome = 'skip' | 'ok' | 'limited' | 'enforced';

export function rateLimitDecision(sw: RateLimitSwitches, bucket: TokenBucket | null, random: RandomInt): RateLimitOutcome {
  if (!percentHit(sw.enabled, random)) return 'skip';
  if (bucket === null || bucket.tryConsume()) return 'ok';
  return percentHit(sw.enforced, random) ? 'enforced' : 'limited';
}
