// HTTP/1.1 upstreams that misbehave on request, deterministically: fail the first N calls, reset, stall, hold, answer slowly; plus Prometheus stat reading.
import { startHttpEcho, type HttpUpstream, type SeenRequest, type UpReq, type UpRes } from './http-upstreams.ts';

/**
 * Request headers steering a faulty upstream (everything else is the echo behaviour of http-upstreams.ts):
 *   x-fail-first: N       the first N requests carrying the same x-test-id fail (counted across every upstream sharing the
 *                         FaultCounter, so "first N" means the first N attempts of that request whichever host they reach)
 *   x-fail-mode: M        how a failure looks: a status code (default 503), "reset" (socket destroyed) or "stall" (never answered)
 *   x-always: M           every request fails that way
 *   x-delay-ms: N         answer (or fail) only after N ms (a slow upstream)
 *   x-hold: 1             keep the request until the test calls release()
 *   x-stall-body: 1       send 200 headers and a first chunk, then never finish the body
 */
export type FaultCounter = Map<string, number>;

export interface FaultyUpstream extends HttpUpstream {
  /** Answers every held request (x-hold) now. */
  release(): void;
  /** Requests held right now. */
  held(): number;
}

function header(req: UpReq, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function startFaultyUpstream(name: string, counter: FaultCounter = new Map()): Promise<FaultyUpstream> {
  const held: (() => void)[] = [];
  const fail = (mode: string, req: UpReq, res: UpRes): void => {
    const delay = Number(header(req, 'x-delay-ms') ?? 0);
    if (delay > 0 && mode !== 'stall') { later(req, delay, () => failNow(mode, req, res)); return; }
    failNow(mode, req, res);
  };
  const failNow = (mode: string, req: UpReq, res: UpRes): void => {
    if (mode === 'stall') return;
    if (mode === 'reset') { (req.socket as { destroy?: () => void } | null)?.destroy?.(); return; }
    res.setHeader('x-upstream-name', name);
    res.setHeader('content-length', '6');
    res.writeHead(Number(mode) || 503);
    res.end('failed');
  };
  const upstream = await startHttpEcho(name, (req, res) => {
    const always = header(req, 'x-always');
    if (always !== undefined) { req.resume(); fail(always, req, res); return true; }
    const failFirst = Number(header(req, 'x-fail-first') ?? 0);
    if (failFirst > 0) {
      const id = header(req, 'x-test-id') ?? '';
      const n = (counter.get(id) ?? 0) + 1;
      counter.set(id, n);
      if (n <= failFirst) { req.resume(); fail(header(req, 'x-fail-mode') ?? '503', req, res); return true; }
    }
    if (header(req, 'x-stall-body') === '1') {
      req.resume();
      res.setHeader('x-upstream-name', name);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk;');
      return true;
    }
    const delay = Number(header(req, 'x-delay-ms') ?? 0);
    if (delay > 0) {
      req.resume();
      later(req, delay, () => replay(req, res));
      return true;
    }
    if (header(req, 'x-hold') === '1') {
      req.resume();
      held.push(() => replay(req, res));
      return true;
    }
    return false;
  });
  /** Answers a delayed or held request. */
  const replay = (_req: UpReq, res: UpRes): void => {
    res.setHeader('x-upstream-name', name);
    res.setHeader('content-type', 'text/plain');
    res.writeHead(200);
    res.end(`answered by ${name}`);
  };
  return {
    ...upstream,
    release: () => { for (const f of held.splice(0)) f(); },
    held: () => held.length,
  };
}

/** Runs `fn` after `ms` unless the request's connection closed first. */
function later(req: UpReq, ms: number, fn: () => void): void {
  const timer = setTimeout(fn, ms);
  (req.socket as { once?: (e: string, f: () => void) => void } | null)?.once?.('close', () => clearTimeout(timer));
}

/** The requests of one test id an upstream saw, in arrival order. */
export function seenFor(up: HttpUpstream, id: string): SeenRequest[] {
  return up.seen.filter((s) => s.headers['x-test-id'] === id);
}

/** Sums the Prometheus samples of `metric` whose label set contains every `labels` pair (0 when absent). */
export function promValue(text: string, metric: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    const set = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
