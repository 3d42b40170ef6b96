// Envoy's FractionalPercent (a numerator over 100, 10 000 or 1 000 000) and the per-request roll that applies it.

export interface FractionalPercent {
  readonly numerator: number;
  readonly denominator: 100 | 10_000 | 1_000_000;
}

/** Returns a uniformly random integer in [0, n); injected so tests can decide the roll. */
export type RandomInt = (n: number) => number;

export const mathRandomInt: RandomInt = (n) => Math.floor(Math.random() * n);

export const ZERO_PERCENT: FractionalPercent = { numerator: 0, denominator: 100 };
export const HUNDRED_PERCENT: FractionalPercent = { numerator: 100, denominator: 100 };

/** Envoy's evaluation: `random % denominator < numerator` (a numerator at or above the denominator always hits). */
export function percentHit(p: FractionalPercent, random: RandomInt): boolean {
  if (p.numerator <= 0) return false;
  if (p.numerator >= p.denominator) return true;
  return random(p.denominator) < p.numerator;
}
