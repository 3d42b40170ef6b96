// Constant-rate HTTP load generator (undici) that measures latency from each request's intended send time, correcting coordinated omission.
import { createHistogram } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface ConstantRateOptions {
  readonly url: string;
  readonly rate: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly connections: number;
}

export interface ConstantRateResult {
  readonly rate: number;
  readonly sent: number;
  readonly measured: number;
  readonly errors: number;
  readonly non2xx: number;
  /** Latencies in microseconds, from intended send time to last body byte. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly firstError: string | null;
}

const NS_PER_S = 1_000_000_000n;

/** Sends `rate` req/s for warmup + duration seconds; only requests scheduled after the warm-up are measured. */
export async function runConstantRate(o: ConstantRateOptions): Promise<ConstantRateResult> {
  const u = new URL(o.url);
  const pool = new Pool(u.origin, { connections: o.connections, pipelining: 1 });
  const hist = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  const interval = NS_PER_S / BigInt(Math.round(o.rate));
  const start = process.hrtime.bigint() + 10_000_000n;
  const measureFrom = start + BigInt(Math.round(o.warmupS * 1e9));
  const end = measureFrom + BigInt(Math.round(o.durationS * 1e9));
  let next = start;
  let sent = 0, measured = 0, errors = 0, non2xx = 0, inflight = 0;
  let firstError: string | null = null;
  let allSent: () => void = () => {};
  const drained = new Promise<void>((resolve) => { allSent = resolve; });
  let sending = true;

  const fire = (intended: bigint) => {
    sent++;
    inflight++;
    pool.request({ method: 'GET', path: u.pathname + u.search, headersTimeout: 30_000, bodyTimeout: 30_000 })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode < 200 || res.statusCode > 299) { non2xx++; firstError ??= `HTTP ${res.statusCode}`; }
      }, (err: Error) => { errors++; firstError ??= err.message; })
      .finally(() => {
        if (intended >= measureFrom) {
          hist.record(Math.max(1, Number((process.hrtime.bigint() - intended) / 1000n)));
          measured++;
        }
        inflight--;
        if (!sending && inflight === 0) allSent();
      });
  };

  // Spin with setImmediate when the next send is near (so I/O still runs), sleep when it is far.
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = process.hrtime.bigint();
      while (next <= now && next < end) { fire(next); next += interval; }
      if (next >= end) { resolve(); return; }
      const wait = next - now;
      if (wait > 2_000_000n) setTimeout(tick, Number(wait / 1_000_000n) - 1);
      else setImmediate(tick);
    };
    tick();
  });
  sending = false;
  if (inflight > 0) await drained;
  await pool.close();
  const us = (p: number) => hist.count > 0 ? hist.percentile(p) : 0;
  return { rate: o.rate, sent, measured, errors, non2xx, p50: us(50), p90: us(90), p99: us(99), p999: us(99.9), max: hist.count > 0 ? hist.max : 0, firstError };
}

// CLI: node bench/constant-rate.ts URL [rate] [durationS] [warmupS] [connections] → one JSON line on stdout.
if (import.meta.main) {
  const [url, rate = '1000', duration = '10', warmup = '2', connections = '64'] = process.argv.slice(2);
  if (!url) {
    console.error('usage: node bench/constant-rate.ts URL [rate=1000] [durationS=10] [warmupS=2] [connections=64]');
    process.exit(2);
  }
  const result = await runConstantRate({ url, rate: Number(rate), durationS: Number(duration), warmupS: Number(warmup), connections: Number(connections) });
  console.log(JSON.stringify(result));
}
