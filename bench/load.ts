// Runs the throughput (wrk, or the node closed-loop fallback) and constant-rate latency load generators as pinned child processes.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConstantRateResult } from './constant-rate.ts';
import { pinned, type Pinning } from './processes.ts';

const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));

export interface ThroughputResult { rps: number; non2xx: number; errors: number; note: string | null }

export function wrkVersion(): string | null {
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (r.error) return null;
  return /wrk (\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

function run(argv: [string, string[]]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(argv[0], argv[1], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d; });
    p.stderr.on('data', (d: Buffer) => { stderr += d; });
    p.once('error', (err) => resolve({ code: -1, stdout, stderr: err.message }));
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Parses wrk's report: Requests/sec plus non-2xx and socket error counts. */
export function parseWrk(text: string): ThroughputResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = se ? se.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return { rps, non2xx, errors, note: null };
}

/** One wrk run (HTTP/1.1 keep-alive, one thread since it owns one CPU). */
async function wrk(p: Pinning, url: string, connections: number, seconds: number): Promise<ThroughputResult> {
  const r = await run(pinned(p, 1, 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', url]));
  const parsed = parseWrk(r.stdout);
  if (r.code !== 0 || Number.isNaN(parsed.rps)) throw new Error(`wrk failed (${r.code}): ${r.stdout}${r.stderr}`);
  return parsed;
}

/** Throughput in req/s: a discarded warm-up run, then the measured run. */
export async function measureThroughput(p: Pinning, useWrk: boolean, url: string, connections: number, seconds: number, warmupS: number): Promise<ThroughputResult> {
  if (useWrk) {
    if (warmupS > 0) await wrk(p, url, connections, warmupS);
    return wrk(p, url, connections, seconds);
  }
  const r = await run(pinned(p, 1, process.execPath, [`${BENCH_DIR}closed-loop.ts`, url, String(connections), String(seconds), String(warmupS)]));
  if (r.code !== 0) throw new Error(`closed-loop generator failed (${r.code}): ${r.stderr}`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { rps: number; non2xx: number; errors: number };
  return { rps: res.rps, non2xx: res.non2xx, errors: res.errors, note: null };
}

/** Latency at a fixed rate, coordinated-omission corrected (bench/constant-rate.ts in a pinned child). */
export async function measureLatency(p: Pinning, url: string, rate: number, seconds: number, warmupS: number): Promise<ConstantRateResult> {
  const r = await run(pinned(p, 1, process.execPath, [`${BENCH_DIR}constant-rate.ts`, url, String(rate), String(seconds), String(warmupS), '64']));
  if (r.code !== 0) throw new Error(`constant-rate generator failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ConstantRateResult;
}
