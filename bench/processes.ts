// Starts bench processes (optionally pinned to a CPU with taskset), waits for them to listen, and reads their memory from /proc.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';

/** CPU pinning plan: load generator on CPU 1, everything under test on CPU 0, when taskset exists and there are ≥ 2 CPUs. */
export interface Pinning { readonly enabled: boolean; readonly note: string }

export function pinningPlan(): Pinning {
  const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
  if (!hasTaskset) return { enabled: false, note: 'no pinning (taskset not found: apt-get install util-linux)' };
  if (os.availableParallelism() < 2) return { enabled: false, note: 'no pinning (fewer than 2 CPUs)' };
  return { enabled: true, note: 'load generator on CPU 1, proxy and upstream on CPU 0 (taskset)' };
}

/** The argv that runs `command args` on `cpu` when pinning is enabled. */
export function pinned(p: Pinning, cpu: number, command: string, args: readonly string[]): [string, string[]] {
  return p.enabled ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, [...args]];
}

export interface BenchProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Everything the process printed so far (stdout + stderr), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/** Spawns a process, keeping its output in memory (bounded) and resolving stop() once it has exited. */
export function startProcess(name: string, argv: [string, string[]], env: Record<string, string> = {}): BenchProcess {
  const proc = spawn(argv[0], argv[1], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => { out = (out + d.toString()).slice(-20_000); };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null) resolve();
    proc.once('exit', () => resolve());
    proc.once('error', (err) => { out += `spawn failed: ${err.message}\n`; resolve(); });
  });
  return {
    name, proc,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Resolves with the port from a "listening PORT" line the process prints (bench/upstream.ts, bench/bare-forwarder.ts). */
export function waitListeningLine(p: BenchProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${p.name} did not start listening in ${timeoutMs} ms:\n${p.output()}`)), timeoutMs);
    const check = () => {
      const m = /listening (\d+)/.exec(p.output());
      if (m) { clearTimeout(timer); p.proc.stdout?.off('data', check); resolve(Number(m[1])); }
    };
    p.proc.stdout?.on('data', check);
    p.proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${p.name} exited (${code}) before listening:\n${p.output()}`)); });
    check();
  });
}

/** Resolves once a TCP connect to 127.0.0.1:port succeeds (for processes that print nothing, like nginx). */
export async function waitConnectable(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await delay(50);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** A port that was free a moment ago (for configs that need a fixed port, like nginx's). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The pid and all its descendants (scans /proc, which works without CONFIG_PROC_CHILDREN). */
function processTree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(entry));
      parents.set(ppid, list);
    } catch { /* process went away */ }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(parents.get(out[i]) ?? []));
  return out;
}

/** Sum of VmRSS and VmHWM (KiB) over the process trees rooted at pid (or at each of several pids). */
export function memoryKiB(pid: number | readonly number[]): { rss: number; hwm: number } {
  let rss = 0;
  let hwm = 0;
  for (const p of (typeof pid === 'number' ? [pid] : pid).flatMap(processTree)) {
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      hwm += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch { /* process went away */ }
  }
  return { rss, hwm };
}

/** Samples memoryKiB every intervalMs until stopped; returns the highest VmRSS seen. */
export function sampleRss(pid: number | readonly number[], intervalMs: number): { stop(): number } {
  let max = 0;
  const timer = setInterval(() => { max = Math.max(max, memoryKiB(pid).rss); }, intervalMs);
  return { stop() { clearInterval(timer); return Math.max(max, memoryKiB(pid).rss); } };
}
