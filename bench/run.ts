// `npm run bench`: one loopback run comparing direct, nginx, a bare Node forwarder, the Pilotfish sidecar (tracing off, 100 %, 1 %) and a sidecar pair in plaintext and mTLS (req/s, CO-corrected p50/p99, RSS), then xDS scale.
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { measureLatency, measureThroughput, wrkVersion } from './load.ts';
import { nginxVersion, startNginxProxy, startNginxUpstream } from './nginx.ts';
import { memoryKiB, pinned, pinningPlan, sampleRss, startProcess, waitListeningLine, type BenchProcess } from './processes.ts';
import { renderReport, renderXdsSection, type RowKey, type RowResult, type XdsRow } from './report.ts';
import { startOtlpSink, type OtlpSink } from './otlp-sink.ts';
import { PILOTFISH, startSidecar } from './sidecar.ts';
import { startSidecarPair } from './sidecar-pair.ts';
import { startJwtSidecar } from './jwt-sidecar.ts';
import { measureControlPlaneScale } from './xds-control-plane.ts';
import { measureSidecarScale } from './xds-sidecar-scale.ts';

const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));
const num = (name: string, dflt: number) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const DURATION = num('BENCH_DURATION', 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = num('BENCH_CONNECTIONS', 50);
const RATE = num('BENCH_RATE', 1000);
const ROWS = (process.env.BENCH_ROWS ?? 'direct,nginx,bare,sidecar,jwt,trace100,trace1,pair,pair-mtls').split(',').map((s) => s.trim()).filter(Boolean) as RowKey[];
const XDS = process.env.BENCH_XDS !== '0';
const UPSTREAM_KIND = process.env.BENCH_UPSTREAM === 'nginx' ? 'nginx' : 'node';
const EXPECTED_BODY = 'hello from the bench upstream';

const LABELS: Record<RowKey, string> = {
  direct: 'direct (client → upstream)',
  nginx: 'nginx (1 worker, keep-alive upstream)',
  bare: 'bare forwarder (node:http + undici Pool)',
  sidecar: 'pilotfish sidecar (--concurrency 1)',
  jwt: 'pilotfish sidecar, jwt_authn RS256 (local JWKS, jwt_cache_config)',
  trace100: 'pilotfish sidecar, tracing 100 % (OTLP/HTTP)',
  trace1: 'pilotfish sidecar, tracing 1 % (OTLP/HTTP)',
  pair: 'sidecar pair, plaintext (client → sidecar → sidecar → upstream)',
  'pair-mtls': 'sidecar pair, mTLS (client → sidecar → mTLS → sidecar → upstream)',
};

const pin = pinningPlan();
const wrkFound = wrkVersion();
const wrk = process.env.BENCH_LOADGEN === 'node' ? null : wrkFound;
const nginx = nginxVersion();
const missing = [wrkFound ? null : 'wrk', nginx ? null : 'nginx-light'].filter(Boolean);
if (missing.length > 0) console.log(`missing: ${missing.join(', ')} — install with: apt-get install ${missing.join(' ')}`);
if (UPSTREAM_KIND === 'nginx' && !nginx) throw new Error('BENCH_UPSTREAM=nginx needs nginx: apt-get install nginx-light');

/** What a row puts between the load generator and the upstream; pid null means nothing (direct). `extraPids`: more processes under test (the pair's second sidecar). */
interface Subject { readonly port: number; readonly pid: number | null; readonly path?: string; readonly extraPids?: readonly number[]; stop(): Promise<void>; notes?(): Promise<string[]> }

/** The OTLP endpoint the tracing rows export to (started with the first of them). */
let sink: OtlpSink | null = null;

/** Spans sent / dropped by a sidecar (from its /stats/prometheus) and what the sink received. */
async function tracingNotes(admin: string): Promise<string[]> {
  const text = await (await fetch(`${admin}/stats/prometheus`)).text();
  const stat = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const got = sink?.stats() ?? { requests: 0, bytes: 0 };
  return [`spans exported ${stat('envoy_tracing_opentelemetry_spans_sent').toLocaleString('en-US')}, dropped (queue full) ${stat('envoy_tracing_opentelemetry_spans_dropped').toLocaleString('en-US')}, failed ${stat('envoy_tracing_opentelemetry_spans_failed')}; the collector got ${got.requests} OTLP requests, ${(got.bytes / 1048576).toFixed(1)} MiB`];
}

async function startSubject(key: RowKey, upstreamPort: number): Promise<Subject | string> {
  if (key === 'direct') return { port: upstreamPort, pid: null, stop: async () => {} };
  if (key === 'nginx') {
    if (!nginx) return 'nginx not installed (apt-get install nginx-light)';
    const n = await startNginxProxy(pin, upstreamPort);
    return { port: n.port, pid: n.proc.proc.pid ?? null, stop: () => n.proc.stop() };
  }
  if (key === 'bare') {
    const p = startProcess('bare-forwarder', pinned(pin, 0, process.execPath, [`${BENCH_DIR}bare-forwarder.ts`, `http://127.0.0.1:${upstreamPort}`]));
    const port = await waitListeningLine(p, 10_000);
    return { port, pid: p.proc.pid ?? null, stop: () => p.stop() };
  }
  if (!fs.existsSync(PILOTFISH)) return `${PILOTFISH} does not exist yet`;
  if (key === 'pair' || key === 'pair-mtls') {
    const pair = await startSidecarPair(pin, upstreamPort, key === 'pair-mtls');
    return { port: pair.port, pid: pair.pids[0] ?? null, extraPids: pair.pids.slice(1), stop: () => pair.stop(), notes: () => pair.notes() };
  }
  if (key === 'jwt') {
    const { sidecar: j, token } = await startJwtSidecar(pin, upstreamPort);
    return { port: j.port, pid: j.proc.proc.pid ?? null, path: `/?access_token=${token}`, stop: () => j.proc.stop() };
  }
  if (key === 'trace100' || key === 'trace1') {
    sink ??= await startOtlpSink();
    sink.reset();
    const t = await startSidecar(pin, upstreamPort, { percent: key === 'trace100' ? 100 : 1, otlpUrl: sink.url });
    return { port: t.port, pid: t.proc.proc.pid ?? null, stop: () => t.proc.stop(), notes: () => tracingNotes(`http://${t.admin}`) };
  }
  const s = await startSidecar(pin, upstreamPort);
  return { port: s.port, pid: s.proc.proc.pid ?? null, stop: () => s.proc.stop() };
}

async function check(url: string): Promise<string | null> {
  try {
    const res = await fetch(url);
    const text = await res.text();
    if (res.status !== 200 || !text.includes(EXPECTED_BODY)) return `sanity request got HTTP ${res.status}: ${text.slice(0, 200)}`;
    return null;
  } catch (err) {
    return `sanity request failed: ${(err as Error).message}`;
  }
}

async function measureRow(key: RowKey, upstreamPort: number): Promise<RowResult> {
  const empty = { key, label: LABELS[key], rps: 0, p50: 0, p99: 0, latencyDetail: null, rssIdle: null, rssLoad: null, rssPeak: null, notes: [] };
  let subject: Subject | string;
  try {
    subject = await startSubject(key, upstreamPort);
  } catch (err) {
    return { ...empty, skipped: 'failed to start', notes: [(err as Error).message.split('\n').slice(0, 8).join(' / ')] };
  }
  if (typeof subject === 'string') return { ...empty, skipped: subject };
  try {
    const url = `http://127.0.0.1:${subject.port}${subject.path ?? '/'}`;
    const bad = await check(url);
    if (bad) return { ...empty, skipped: 'not working', notes: [bad] };
    const pid = subject.pid === null ? null : [subject.pid, ...(subject.extraPids ?? [])];
    const rssIdle = pid === null ? null : memoryKiB(pid).rss;
    process.stdout.write(`  ${LABELS[key]}: throughput… `);
    const sampler = pid === null ? null : sampleRss(pid, 250);
    const tp = await measureThroughput(pin, wrk !== null, url, CONNECTIONS, DURATION, WARMUP);
    const rssLoad = sampler ? sampler.stop() : null;
    process.stdout.write(`${Math.round(tp.rps)} req/s; latency @${RATE}/s… `);
    const lat = await measureLatency(pin, url, RATE, DURATION, WARMUP);
    const rssPeak = pid === null ? null : memoryKiB(pid).hwm;
    console.log(`p50 ${(lat.p50 / 1000).toFixed(2)} ms, p99 ${(lat.p99 / 1000).toFixed(2)} ms`);
    const notes: string[] = [];
    if (tp.non2xx || tp.errors) notes.push(`throughput run: ${tp.non2xx} non-2xx, ${tp.errors} socket errors`);
    if (lat.non2xx || lat.errors) notes.push(`latency run: ${lat.non2xx} non-2xx, ${lat.errors} errors (first: ${lat.firstError})`);
    const f = (us: number) => `${(us / 1000).toFixed(2)} ms`;
    const latencyDetail = `p90 ${f(lat.p90)}, p99.9 ${f(lat.p999)}, max ${f(lat.max)} over ${lat.measured} measured requests`;
    if (subject.notes) notes.push(...await subject.notes().catch((err: Error) => [`notes unavailable: ${err.message}`]));
    return { ...empty, skipped: null, rps: tp.rps, p50: lat.p50, p99: lat.p99, latencyDetail, rssIdle, rssLoad, rssPeak, notes };
  } finally {
    await subject.stop();
  }
}

/** The "xDS scale" section: the real sidecar taking 1,000 clusters / 10,000 routes, then the control plane with 200 streams. */
async function xdsSection(upstreamPort: number): Promise<string> {
  const rows: XdsRow[] = [];
  const notes: string[] = [];
  console.log('xDS scale: sidecar with 1,000 EDS clusters and 10,000 routes over ADS…');
  if (!fs.existsSync(PILOTFISH)) notes.push(`sidecar scale: skipped (${PILOTFISH} does not exist)`);
  else {
    try {
      const s = await measureSidecarScale(pin, upstreamPort);
      rows.push(...s.rows);
      notes.push(...s.notes);
    } catch (err) {
      notes.push(`sidecar scale: failed (${(err as Error).message.split('\n').slice(0, 6).join(' / ')})`);
    }
  }
  for (const r of rows) console.log(`  ${r.measure}: ${r.value}`);
  console.log('xDS scale: control plane with 1,000 services and 200 ADS streams (xds/bench/scale.ts)…');
  const cp = await measureControlPlaneScale();
  if (cp.skipped) console.log(`control-plane scale: skipped (${cp.skipped})`);
  for (const r of cp.rows) console.log(`  ${r.measure}: ${r.value}`);
  rows.push(...cp.rows);
  notes.push(...cp.notes);
  return renderXdsSection(rows, notes);
}

async function main(): Promise<void> {
  let upstream: { port: number; proc: BenchProcess };
  if (UPSTREAM_KIND === 'nginx') {
    const n = await startNginxUpstream(pin);
    upstream = { port: n.port, proc: n.proc };
  } else {
    const p = startProcess('upstream', pinned(pin, 0, process.execPath, [`${BENCH_DIR}upstream.ts`]));
    upstream = { port: await waitListeningLine(p, 10_000), proc: p };
  }
  const stopAll = () => { upstream.proc.proc.kill('SIGKILL'); };
  process.once('exit', stopAll);
  const cpu = /model name\s*:\s*(.+)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.arch();
  const load1 = os.loadavg()[0];
  const header = [
    `# Pilotfish bench — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- machine: ${os.availableParallelism()} CPUs (${cpu}), Node ${process.version}, ${pin.note}`,
    `- 1-minute load average at start: ${load1.toFixed(2)}${load1 > 0.5 ? ' (other work was running: numbers are noisier than usual)' : ''}`,
    `- upstream: ${UPSTREAM_KIND === 'nginx' ? `nginx ${nginx} returning a fixed 30-byte body` : 'node:http returning a fixed 30-byte body (bench/upstream.ts)'}`,
    `- req/s: ${wrk ? `wrk ${wrk}, 1 thread` : `NODE FALLBACK closed-loop generator bench/closed-loop.ts (${wrkFound ? 'BENCH_LOADGEN=node' : 'wrk not installed: apt-get install wrk'}) — req/s are capped by the generator`}, ${CONNECTIONS} keep-alive HTTP/1.1 connections, ${DURATION} s after a ${WARMUP} s warm-up`,
    `- latency: bench/constant-rate.ts at ${RATE} req/s for ${DURATION} s after ${WARMUP} s warm-up, measured from intended send time (coordinated-omission corrected)`,
    '- RSS: VmRSS of the process tree under test after start (idle), highest sampled during the req/s run (load), VmHWM at the end (peak)',
  ];
  console.log(`upstream on 127.0.0.1:${upstream.port}; rows: ${ROWS.join(', ')}`);
  const results: RowResult[] = [];
  for (const key of ROWS) {
    if (!(key in LABELS)) throw new Error(`unknown row ${key} in BENCH_ROWS (use direct,nginx,bare,sidecar,jwt,trace100,trace1,pair,pair-mtls)`);
    let r = await measureRow(key, upstream.port);
    const off = results.find((x) => x.key === 'sidecar');
    if (key === 'jwt' && !r.skipped && off && !off.skipped && off.rps > 0) {
      r = { ...r, notes: [`${(r.rps / off.rps).toFixed(2)}× the req/s of the sidecar without jwt_authn (one token, verified once and then found in the jwt_cache_config cache; time, issuer and audience checked per request)`, ...r.notes] };
    }
    if ((key === 'trace100' || key === 'trace1') && !r.skipped && off && !off.skipped && off.rps > 0) {
      r = { ...r, notes: [`${(r.rps / off.rps).toFixed(2)}× the req/s of the sidecar with tracing off`, ...r.notes] };
    }
    const plain = results.find((x) => x.key === 'pair');
    if (key === 'pair-mtls' && !r.skipped && plain && !plain.skipped && plain.rps > 0) {
      const d = (us: number) => `${us < 0 ? '−' : '+'}${(Math.abs(us) / 1000).toFixed(2)} ms`;
      r = { ...r, notes: [`${(r.rps / plain.rps).toFixed(2)}× the req/s of the plaintext pair; p50 ${d(r.p50 - plain.p50)}, p99 ${d(r.p99 - plain.p99)} against it`, ...r.notes] };
    }
    if (r.skipped) console.log(`  ${r.label}: skipped: ${r.skipped}${r.notes.length ? ` — ${r.notes.join('; ')}` : ''}`);
    results.push(r);
  }
  await sink?.close();
  const xds = XDS ? await xdsSection(upstream.port) : null;
  await upstream.proc.stop();
  process.off('exit', stopAll);
  const report = renderReport(header, results, RATE) + (xds ? `\n${xds}` : '');
  console.log(`\n${report}`);
  fs.writeFileSync(`${BENCH_DIR}latest.md`, report);
  console.log(`written to bench/latest.md`);
}

await main();
