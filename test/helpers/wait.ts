// Deadline helpers for end-to-end tests: every await on the proxy gets a deadline so a broken proxy fails a test instead of hanging it.
import type { EventEmitter } from 'node:events';

/** Resolves with `p`, or rejects with a clear message once `ms` elapsed. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Waits for one `event` from `emitter`; rejects on `error` or after `ms`. Resolves with the event's arguments. */
export function onceWithin(emitter: EventEmitter, event: string, ms: number, what = event): Promise<unknown[]> {
  return withTimeout(
    new Promise<unknown[]>((resolve, reject) => {
      const onEvent = (...args: unknown[]) => {
        emitter.off('error', onError);
        resolve(args);
      };
      const onError = (err: Error) => {
        emitter.off(event, onEvent);
        reject(err);
      };
      emitter.once(event, onEvent);
      if (event !== 'error') emitter.once('error', onError);
    }),
    ms,
    what,
  );
}

/**
 * Re-evaluates `check` until it returns a value other than undefined/false, or the deadline passes.
 * Only for state that has no event to await (another process's sockets or counters); never asserts timing.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 25;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${why}`);
    }
    await new Promise<void>((r) => setTimeout(r, interval));
  }
}

/**
 * Polls `request` every 100 ms until it answers 200 (a failed request counts as not yet), for at most 30 s: the first
 * request through a proxy that the control plane is still configuring.
 */
export async function untilOk(request: () => Promise<{ status: number }>, what: string): Promise<void> {
  await pollUntil(async () => (await request().catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 30_000, intervalMs: 100, what });
}

/** A promise with its resolve function exposed, for gating upstream handlers on test events. */
export function gate<T = void>(): { promise: Promise<T>; open: (v: T) => void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    open = r;
  });
  return { promise, open };
}
