// Runs bin/pilotfish as a child process with an Envoy bootstrap, the way Envoy is run, and exposes its admin, ports and output.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseAccessLine, type AccessLine } from './bootstrap.ts';
import { send } from './http-client.ts';
import { pollUntil, withTimeout } from './wait.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
/** The executable under test; PILOTFISH_BIN may point elsewhere (it is still run with this Node binary). */
export const PILOTFISH_BIN = process.env.PILOTFISH_BIN ?? path.join(REPO_ROOT, 'bin', 'pilotfish');

export interface SidecarOptions {
  /** --concurrency (default 1). */
  concurrency?: number;
  /** More command-line arguments, appended after the standard ones. */
  args?: string[];
  /** Deadline for the admin address file, /ready and /listeners (default 30 s). */
  startTimeoutMs?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Sidecar {
  /** "http://127.0.0.1:PORT" of the admin server. */
  readonly admin: string;
  readonly pid: number;
  readonly dir: string;
  readonly configPath: string;
  /** Real port of a listener (from GET /listeners?format=json); throws for an unknown name. */
  port(listenerName: string): number;
  /** "http://127.0.0.1:PORT" of a listener. */
  url(listenerName: string): string;
  readonly stdout: string[];
  readonly stderr: string[];
  /** stdout lines written by the access-log format of bootstrap.ts (they start with "ACCESS "). */
  readonly accessLog: string[];
  /** Waits for an output line (already seen or future) matching `pred`. */
  waitForLine(pred: (line: string) => boolean, opts?: { stream?: 'stdout' | 'stderr'; timeoutMs?: number }): Promise<string>;
  /** Waits for the access-log line of the request sent with `x-test-id: id`. */
  waitForAccess(id: string, timeoutMs?: number): Promise<AccessLine>;
  /** Resolves when the process exits (the child is unref'd: await this with a deadline, e.g. withTimeout). */
  readonly exited: Promise<ExitInfo>;
  /** True once the process has exited. */
  hasExited(): boolean;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, then wait for exit (SIGKILL after the deadline). Resolves with the exit code (128+n when killed by signal n). */
  stop(timeoutMs?: number): Promise<number>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) killGroup(child);
});
// Children run in their own process group, so a Ctrl-C or a runner's SIGTERM does not reach them: forward it.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const child of live) killGroup(child);
    process.exit(128 + os.constants.signals[sig]);
  });
}

/** SIGKILL the child and anything it spawned (workers): children run as their own process group. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** Once the child exited, stop reading its pipes after a grace period (a leftover grandchild may hold them open). */
function releasePipes(child: ChildProcess): void {
  setTimeout(() => {
    child.stdout?.destroy();
    child.stderr?.destroy();
  }, 2000).unref();
}

/** Writes a bootstrap (object → YAML, or YAML text as is) into `dir` and returns its path. */
export function writeBootstrap(bootstrap: object | string, dir: string, name = 'bootstrap.yaml'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof bootstrap === 'string' ? bootstrap : stringify(bootstrap, { aliasDuplicateObjects: false }));
  return file;
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-e2e-'));
}

function exitNumber(e: ExitInfo): number {
  if (e.code !== null) return e.code;
  const n = e.signal ? os.constants.signals[e.signal] : undefined;
  return n === undefined ? -1 : 128 + n;
}

function collectLines(stream: NodeJS.ReadableStream, into: string[], emitter: EventEmitter, name: string): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      into.push(line);
      emitter.emit('line', name, line);
    }
  });
  stream.on('end', () => {
    if (partial) {
      into.push(partial);
      emitter.emit('line', name, partial);
      partial = '';
    }
  });
}

function tail(lines: string[]): string {
  return lines.slice(-30).join('\n');
}

/** Waits for the admin address file ("host:port") with fs.watch, a slow fallback poll, a deadline and the child's exit. */
function waitForAddressFile(file: string, exited: Promise<ExitInfo>, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let done = false;
    const finish = (err: Error | null, value?: string) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearInterval(fallback);
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve(value as string);
    };
    const check = () => {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8').trim();
      } catch {
        return;
      }
      if (/^.+:\d+$/.test(text)) finish(null, text);
    };
    let watcher: fs.FSWatcher | undefined;
    try {
      watcher = fs.watch(path.dirname(file), () => check());
    } catch {
      watcher = undefined;
    }
    const fallback = setInterval(check, 100);
    const deadline = setTimeout(() => finish(new Error(`admin address file ${file} not written within ${timeoutMs} ms`)), timeoutMs);
    exited.then((e) => finish(new Error(`pilotfish exited (code ${e.code}, signal ${e.signal}) before writing the admin address`)));
    check();
  });
}

/** Starts pilotfish with `bootstrap`, waits until /ready answers 200 and reads the listener ports. */
export async function startSidecar(bootstrap: object | string, opts: SidecarOptions = {}): Promise<Sidecar> {
  const dir = tempDir();
  const configPath = writeBootstrap(bootstrap, dir);
  const addressFile = path.join(dir, 'admin-address');
  const args = [
    PILOTFISH_BIN,
    'proxy',
    '-c',
    configPath,
    '--admin-address-path',
    addressFile,
    '--concurrency',
    String(opts.concurrency ?? 1),
    ...(opts.args ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  live.add(child);
  // A sidecar a test forgot to stop must not keep the test process alive: it is killed on exit instead.
  // (Every wait on the child below carries a referenced deadline timer.)
  child.unref();
  (child.stdout as unknown as net.Socket).unref();
  (child.stderr as unknown as net.Socket).unref();
  const stdout: string[] = [];
  const stderr: string[] = [];
  const accessLog: string[] = [];
  const lines = new EventEmitter();
  lines.setMaxListeners(0);
  lines.on('line', (stream: string, line: string) => {
    if (stream === 'stdout' && line.startsWith('ACCESS ')) accessLog.push(line);
  });
  collectLines(child.stdout!, stdout, lines, 'stdout');
  collectLines(child.stderr!, stderr, lines, 'stderr');
  let exitInfo: ExitInfo | null = null;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      live.delete(child);
      releasePipes(child);
      resolve(exitInfo);
    });
    child.on('error', (err) => {
      stderr.push(`spawn error: ${err.message}`);
      exitInfo = { code: -1, signal: null };
      live.delete(child);
      resolve(exitInfo);
    });
  });

  const stop = async (timeoutMs = 20_000): Promise<number> => {
    if (exitInfo === null) {
      child.kill('SIGTERM');
      try {
        await withTimeout(exited, timeoutMs, 'pilotfish to exit after SIGTERM');
      } catch {
        killGroup(child);
        await withTimeout(exited, 10_000, 'pilotfish to die after SIGKILL').catch(() => undefined);
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    return exitNumber(exitInfo ?? { code: -1, signal: null });
  };

  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  let admin: string;
  let ports: Map<string, number>;
  try {
    const address = await waitForAddressFile(addressFile, exited, startTimeoutMs);
    admin = `http://${address}`;
    await pollUntil(
      async () => {
        if (exitInfo) throw new Error('pilotfish exited');
        const r = await send(`${admin}/ready`, { timeoutMs: 2000 });
        return r.status === 200;
      },
      { timeoutMs: startTimeoutMs, intervalMs: 50, what: `${admin}/ready to answer 200` },
    );
    const res = await send(`${admin}/listeners?format=json`, { timeoutMs: 5000 });
    ports = listenerPorts(res.text);
  } catch (err) {
    killGroup(child);
    await withTimeout(exited, 10_000, 'pilotfish to die').catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`pilotfish did not start: ${msg}\n--- stderr ---\n${tail(stderr)}\n--- stdout ---\n${tail(stdout)}`);
  }

  const waitForLine: Sidecar['waitForLine'] = (pred, o = {}) => {
    const stream = o.stream ?? 'stdout';
    const seen = (stream === 'stdout' ? stdout : stderr).find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    let listener: ((s: string, line: string) => void) | undefined;
    const p = new Promise<string>((resolve) => {
      listener = (s: string, line: string) => {
        if (s === stream && pred(line)) resolve(line);
      };
      lines.on('line', listener);
    });
    return withTimeout(p, o.timeoutMs ?? 10_000, `a ${stream} line from pilotfish`).finally(() => {
      if (listener) lines.off('line', listener);
    });
  };

  const port = (name: string): number => {
    const p = ports.get(name);
    if (p === undefined) throw new Error(`no listener "${name}" in /listeners (have: ${[...ports.keys()].join(', ')})`);
    return p;
  };

  return {
    admin,
    pid: child.pid ?? -1,
    dir,
    configPath,
    port,
    url: (name: string) => `http://127.0.0.1:${port(name)}`,
    stdout,
    stderr,
    accessLog,
    waitForLine,
    async waitForAccess(id: string, timeoutMs = 10_000): Promise<AccessLine> {
      const line = await waitForLine((l) => l.startsWith('ACCESS ') && parseAccessLine(l)?.id === id, { timeoutMs });
      return parseAccessLine(line)!;
    },
    exited,
    hasExited: () => exitInfo !== null,
    signal(sig: NodeJS.Signals) {
      child.kill(sig);
    },
    stop,
  };
}

/** Parses Envoy's GET /listeners?format=json into name → port. */
export function listenerPorts(json: string): Map<string, number> {
  const parsed = JSON.parse(json) as {
    listener_statuses?: { name: string; local_address?: { socket_address?: { port_value?: number } } }[];
  };
  const out = new Map<string, number>();
  for (const l of parsed.listener_statuses ?? []) {
    const port = l.local_address?.socket_address?.port_value;
    if (typeof port === 'number') out.set(l.name, port);
  }
  return out;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs pilotfish with `args` to completion (e.g. bootstrap errors, --mode validate), killing it after the deadline. */
export function runPilotfish(args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise<RunResult>((resolve) => {
    const child = spawn(process.execPath, [PILOTFISH_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    live.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, opts.timeoutMs ?? 20_000);
    child.on('error', (err) => {
      stderr += `spawn error: ${err.message}`;
    });
    child.on('exit', () => {
      live.delete(child);
      releasePipes(child);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
