// Starts the demo's child processes (apps and sidecars) with their output in log files, and stops them cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly logPath: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitedAlready: boolean;
  /** "code N" or "signal X" once exited. */
  exitStatus: string | null;
}

export interface StartOptions {
  readonly env: Record<string, string>;
  readonly logPath: string;
  /** Also echo each output line to our stdout, prefixed with the child's name. */
  readonly echo: boolean;
  /** Open an IPC channel (Node children that announce readiness). */
  readonly ipc: boolean;
}

/** Spawns one child in its own process group (so a terminal Ctrl-C reaches only the launcher, which then stops it). */
export function startChild(name: string, command: string, args: readonly string[], opts: StartOptions): Child {
  const log = fs.openSync(opts.logPath, 'a');
  const out = opts.echo ? 'pipe' : log;
  const stdio = opts.ipc ? ['ignore', out, out, 'ipc'] : ['ignore', out, out];
  const proc = spawn(command, args, { env: { ...process.env, ...opts.env }, stdio: stdio as never, detached: true });
  fs.closeSync(log);
  if (opts.echo) {
    const file = fs.createWriteStream(opts.logPath, { flags: 'a' });
    for (const stream of [proc.stdout, proc.stderr]) {
      if (!stream) continue;
      readline.createInterface({ input: stream }).on('line', (line) => {
        file.write(line + '\n');
        process.stdout.write(`[${name}] ${line}\n`);
      });
    }
  }
  const child: Child = {
    name, proc, logPath: opts.logPath, exitedAlready: false, exitStatus: null,
    exited: new Promise((resolve) => {
      proc.once('error', (err) => { fs.appendFileSync(opts.logPath, `spawn failed: ${err.message}\n`); child.exitedAlready = true; resolve({ code: -1, signal: null }); });
      proc.once('exit', (code, signal) => { child.exitedAlready = true; child.exitStatus = signal ? `signal ${signal}` : `code ${code}`; resolve({ code, signal }); });
    }),
  };
  return child;
}

/** Resolves when a Node child sends {type:'ready'} over IPC; rejects if it exits first or takes longer than timeoutMs. */
export function waitIpcReady(child: Child, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${child.name} did not report ready within ${timeoutMs} ms`)), timeoutMs);
    child.proc.on('message', (msg: { type?: string }) => {
      if (msg?.type !== 'ready') return;
      clearTimeout(timer);
      child.proc.channel?.unref();
      resolve();
    });
    child.exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`${child.name} exited before it was ready (${signal ? `signal ${signal}` : `code ${code}`})`)); });
  });
}

/** Signals the child's whole process group (wrapper scripts and their children included). */
function signalGroup(c: Child, signal: NodeJS.Signals): void {
  try {
    if (c.proc.pid) process.kill(-c.proc.pid, signal);
  } catch {
    try { c.proc.kill(signal); } catch { /* already gone */ }
  }
}

/** SIGTERM every running child, SIGKILL the ones still alive after graceMs; resolves with the names that needed SIGKILL. */
export async function stopChildren(children: readonly Child[], graceMs: number): Promise<string[]> {
  const killed: string[] = [];
  await Promise.all(children.map(async (c) => {
    if (c.exitedAlready) {
      signalGroup(c, 'SIGKILL');
      return;
    }
    signalGroup(c, 'SIGTERM');
    const timer = setTimeout(() => { if (!c.exitedAlready) { killed.push(c.name); signalGroup(c, 'SIGKILL'); } }, graceMs);
    await c.exited;
    clearTimeout(timer);
  }));
  return killed;
}

/** Last lines of a child's log, for error messages. */
export function logTail(logPath: string, lines: number): string {
  try {
    const all = fs.readFileSync(logPath, 'utf8').trimEnd().split('\n');
    return all.slice(-lines).map((l) => `    ${l}`).join('\n');
  } catch {
    return '    (no log)';
  }
}

/** Synchronous last-resort cleanup when the launcher itself exits unexpectedly. */
export function killAllNow(children: readonly Child[]): void {
  for (const c of children) signalGroup(c, 'SIGKILL');
}
