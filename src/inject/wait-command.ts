// `pilotfish wait`: the proxy container's lifecycle hooks — wait until the sidecar is ready (postStart), or drain and wait for the app to stop (preStop).
import http from 'node:http';
import net from 'node:net';
import { scanFlags, type FlagSpec } from '../cli/flags.ts';

export const WAIT_USAGE = `Usage: pilotfish wait --url URL [--timeout 60s]
       pilotfish wait [--drain URL] [--ports-closed PORT,...] [--timeout 25s]

--url: polls URL (GET, every --interval) until it answers 200; exit 0, or 1 after --timeout. Used as the proxy
container's postStart hook so the kubelet starts the app only once the sidecar is ready.
--drain / --ports-closed: the preStop hook. POSTs to the --drain URL (e.g. the admin's
/drain_listeners?graceful), then waits until nothing accepts connections on the app's ports on
localhost (the app has stopped), at most --timeout; exit 0 either way, so the kubelet then stops the proxy.

      --url URL              readiness URL (http only)
      --drain URL            POST here first (failures are reported, not fatal)
      --ports-closed LIST    comma-separated ports on 127.0.0.1 to wait for
      --host HOST            host for --ports-closed (default 127.0.0.1)
      --timeout DUR          bound: 90s, 2m, 1m30s or seconds (default 60s)
      --interval DUR         poll interval (default 1s; ms allowed, e.g. 200ms)
  -h, --help
`;

interface WaitArgs {
  url?: string;
  drain?: string;
  ports: number[];
  host: string;
  timeoutMs: number;
  intervalMs: number;
}

/** Milliseconds from "500ms", "60s", "2m", "1m30s" or a number of seconds; null when malformed or zero. */
function durationMs(v: string): number | null {
  const ms = /^(\d+)ms$/.exec(v);
  if (ms) return Number(ms[1]) > 0 ? Number(ms[1]) : null;
  if (/^\d+$/.test(v)) return Number(v) > 0 ? Number(v) * 1000 : null;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v);
  if (!m || v === '') return null;
  const s = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return s > 0 ? s * 1000 : null;
}

const FLAGS: readonly FlagSpec[] = [
  { names: ['--url'], arg: 'URL' },
  { names: ['--drain'], arg: 'URL' },
  { names: ['--ports-closed'], arg: 'LIST' },
  { names: ['--host'], arg: 'HOST' },
  { names: ['--timeout'], arg: 'DUR' },
  { names: ['--interval'], arg: 'DUR' },
  { names: ['-h', '--help'], arg: null },
];

function parse(argv: readonly string[]): WaitArgs | string | 'help' {
  const a: WaitArgs = { ports: [], host: '127.0.0.1', timeoutMs: 60_000, intervalMs: 1000 };
  let help = false;
  const err = scanFlags(argv, FLAGS, (flag, v, name) => {
    switch (name) {
      case '--url': case '--drain':
        if (!/^http:\/\//.test(v)) return `${name} expects an http:// URL, got "${v}"`;
        if (name === '--url') a.url = v;
        else a.drain = v;
        break;
      case '--ports-closed':
        for (const p of v.split(',')) {
          const n = Number(p);
          if (!/^\d+$/.test(p) || n < 1 || n > 65535) return `--ports-closed: "${p}" is not a port`;
          a.ports.push(n);
        }
        break;
      case '--host': a.host = v; break;
      case '--timeout': case '--interval': {
        const ms = durationMs(v);
        if (ms === null) return `${name} expects a duration like 60s, 2m or 500ms, got "${v}"`;
        if (name === '--timeout') a.timeoutMs = ms;
        else a.intervalMs = ms;
        break;
      }
      default: help = true;
    }
    return null;
  });
  if (help) return 'help';
  if (err) return err;
  if (a.url && (a.drain || a.ports.length > 0)) return '--url cannot be combined with --drain / --ports-closed';
  if (!a.url && !a.drain && a.ports.length === 0) return 'give --url, or --drain and/or --ports-closed';
  return a;
}

function request(url: string, method: 'GET' | 'POST', timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Whether something accepts a TCP connection on host:port. */
function listening(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: timeoutMs });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('timeout', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runWaitCommand(argv: readonly string[]): Promise<number> {
  const a = parse(argv);
  if (a === 'help') {
    process.stdout.write(WAIT_USAGE);
    return 0;
  }
  if (typeof a === 'string') {
    process.stderr.write(`pilotfish wait: ${a}\n\n${WAIT_USAGE}`);
    return 2;
  }
  const deadline = Date.now() + a.timeoutMs;
  const perTry = Math.max(100, Math.min(3000, a.timeoutMs));
  if (a.url) {
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      try {
        const code = await request(a.url, 'GET', perTry);
        if (code === 200) {
          process.stdout.write(`pilotfish wait: ${a.url} is ready\n`);
          return 0;
        }
        last = `HTTP ${code}`;
      } catch (err) {
        last = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      }
      await pause(Math.min(a.intervalMs, Math.max(0, deadline - Date.now())));
    }
    process.stderr.write(`pilotfish wait: ${a.url} not ready after ${a.timeoutMs / 1000}s (last: ${last})\n`);
    return 1;
  }
  if (a.drain) {
    try {
      const code = await request(a.drain, 'POST', perTry);
      process.stdout.write(`pilotfish wait: drain requested (${a.drain}: HTTP ${code})\n`);
    } catch (err) {
      process.stderr.write(`pilotfish wait: drain request to ${a.drain} failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    }
  }
  let open = a.ports;
  while (open.length > 0) {
    const states = await Promise.all(open.map((p) => listening(a.host, p, perTry)));
    open = open.filter((_, i) => states[i]);
    if (open.length === 0) break;
    if (Date.now() >= deadline) {
      process.stderr.write(`pilotfish wait: app ports ${open.join(',')} still open after ${a.timeoutMs / 1000}s; continuing shutdown\n`);
      return 0;
    }
    await pause(Math.min(a.intervalMs, Math.max(0, deadline - Date.now())));
  }
  if (a.ports.length > 0) process.stdout.write(`pilotfish wait: app ports ${a.ports.join(',')} closed\n`);
  return 0;
}
