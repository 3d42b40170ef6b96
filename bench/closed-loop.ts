// Fallback throughput generator when wrk is missing: N keep-alive connections each sending back-to-back requests (like autocannon).
import { Pool } from 'undici';

export interface ClosedLoopResult {
  readonly requests: number;
  readonly rps: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** Runs `connections` request loops for warmupS (discarded) then durationS (counted). */
export async function runClosedLoop(url: string, connections: number, durationS: number, warmupS: number): Promise<ClosedLoopResult> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections, pipelining: 1 });
  const path = u.pathname + u.search;
  const t0 = performance.now();
  const countFrom = t0 + warmupS * 1000;
  const end = countFrom + durationS * 1000;
  let requests = 0, errors = 0, non2xx = 0;
  const loop = async () => {
    while (performance.now() < end) {
      try {
        const res = await pool.request({ method: 'GET', path });
        await res.body.dump();
        if (performance.now() < countFrom) continue;
        if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
        requests++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  await pool.close();
  return { requests, rps: requests / durationS, errors, non2xx };
}

// CLI: node bench/closed-loop.ts URL [connections] [durationS] [warmupS] → one JSON line on stdout.
if (import.meta.main) {
  const [url, connections = '50', duration = '10', warmup = '2'] = process.argv.slice(2);
  if (!url) {
    console.error('usage: node bench/closed-loop.ts URL [connections=50] [durationS=10] [warmupS=2]');
    process.exit(2);
  }
  console.log(JSON.stringify(await runClosedLoop(url, Number(connections), Number(duration), Number(warmup))));
}
