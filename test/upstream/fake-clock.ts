// A manual Clock for outlier detection and health check tests: time moves only when the test advances it.
import type { Clock } from '../../src/upstream/clock.ts';

export class FakeClock implements Clock {
  #now = 0;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): () => void {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return () => this.#timers.delete(id);
  }

  /** Timers still pending, with their due times (for asserting the next interval). */
  pending(): number[] {
    return [...this.#timers.values()].map((t) => t.at - this.#now).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing due timers in time order (timers they set are fired too when due). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const entry of this.#timers) if (entry[1].at <= end && (next === null || entry[1].at < next[1].at)) next = entry;
      if (next === null) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = end;
  }
}
