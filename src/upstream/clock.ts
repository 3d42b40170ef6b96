// The time source of outlier detection and health checking: real unref'd timers in production, a manual clock in tests.

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Calls `fn` once after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** performance.now() and setTimeout; timers are unref'd so they never keep a process alive on their own. */
export const realClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};
