// Access-log sinks (stdout/stderr/file) over shared non-blocking sonic-boom destinations, plus the pino process logger.
import pino from 'pino';
import type { AccessLogConfig, AccessLogFilter } from '../model/types.ts';
import type { AccessLogEntry, AccessLogger } from './types.ts';
import { compileJsonFormat, compileTextFormat, DEFAULT_JSON_FORMAT } from './access-log-format.ts';

/** sonic-boom exposes fd/destroyed/_len (buffered bytes) at runtime but not in its typings. */
type Destination = ReturnType<typeof pino.destination> & { readonly fd: number; readonly destroyed: boolean; readonly _len: number };

/** A shared destination plus the timer that writes its buffered lines at most flushIntervalMs after the first one. */
interface Sink {
  readonly dest: Destination;
  timer: NodeJS.Timeout | null;
  /** The file could not be opened: lines are dropped instead of piling up in memory. */
  failed: boolean;
}

/** One destination per fd/path, shared by every logger of the process (and across snapshot updates). */
const sinks = new Map<string, Sink>();
let flushIntervalMs = 100;

/** Envoy's --file-flush-interval-msec: the longest a buffered access-log line waits before being written (default 100). */
export function setAccessLogFlushInterval(ms: number): void {
  flushIntervalMs = Math.max(1, Math.floor(ms));
}

function sinkFor(sink: AccessLogConfig['sink'], path: string | null): Sink {
  const key = sink === 'file' ? `file:${path}` : sink;
  let s = sinks.get(key);
  if (!s) {
    const dest = sink === 'stdout' ? 1 : sink === 'stderr' ? 2 : path!;
    const d = pino.destination({ dest, sync: false, minLength: 4096, mkdir: sink === 'file' }) as Destination;
    const created: Sink = { dest: d, timer: null, failed: false };
    let reported = false;
    d.on('error', (err: Error) => {
      if (d.fd === -1) {
        created.failed = true;
        // Never opened: nothing to write at exit (pino's exit hook would throw "sonic boom is not ready yet").
        (d as { flushSync: () => void }).flushSync = () => undefined;
      }
      if (!reported) process.stderr.write(`pilotfish: access log ${key}: ${err.message}\n`);
      reported = true;
    });
    s = created;
    sinks.set(key, s);
  }
  return s;
}

function write(s: Sink, line: string): void {
  if (s.failed) return;
  s.dest.write(line);
  if (s.timer === null) {
    s.timer = setTimeout(() => { s.timer = null; void flushOne(s); }, flushIntervalMs);
    s.timer.unref();
  }
}

function flushOnce(s: Sink): Promise<void> {
  const d = s.dest;
  return new Promise((resolve) => {
    const go = (): void => {
      d.off('error', fail);
      try { d.flush(() => resolve()); } catch { resolve(); }
    };
    // Flushing inside the 'ready' event would make sonic-boom write its buffer twice: defer to after its open handler.
    const onReady = (): void => { setImmediate(go); };
    const fail = (): void => { d.off('ready', onReady); resolve(); };
    if (d.fd === -1) d.once('ready', onReady).once('error', fail);
    else go();
  });
}

/** Flushes until sonic-boom's buffer is empty (a flush during an in-flight write only waits for that write). */
async function flushOne(s: Sink): Promise<void> {
  for (let i = 0; i < 100 && !s.failed && !s.dest.destroyed && s.dest._len > 0; i++) await flushOnce(s);
}

/** Writes every buffered access-log line of the process (shutdown, tests). */
export async function flushAccessLogs(): Promise<void> {
  await Promise.all([...sinks.values()].map(flushOne));
}

/** Flushes and closes every destination (tests, or a process about to exit). */
export async function closeAccessLogs(): Promise<void> {
  await flushAccessLogs();
  const all = [...sinks.values()].map((s) => { if (s.timer) clearTimeout(s.timer); return s; });
  sinks.clear();
  await Promise.all(all.map(({ dest: d, failed }) => new Promise<void>((resolve) => {
    if (failed || d.destroyed || d.fd === 1 || d.fd === 2) { resolve(); return; }
    d.once('close', () => resolve());
    d.once('error', () => resolve());
    d.end();
  })));
}

function compare(op: 'EQ' | 'GE' | 'LE', actual: number, value: number): boolean {
  return op === 'EQ' ? actual === value : op === 'GE' ? actual >= value : actual <= value;
}

/** Envoy's AccessLogFilter evaluation (status code, duration in ms, response flags, and / or). */
export function accessLogFilterAccepts(f: AccessLogFilter, e: AccessLogEntry): boolean {
  switch (f.kind) {
    case 'status_code': return compare(f.op, e.responseCode, f.value);
    case 'duration': return compare(f.op, e.durationMs, f.value);
    case 'response_flag': {
      const set = e.responseFlags === '' || e.responseFlags === '-' ? [] : e.responseFlags.split(',');
      return f.flags.length === 0 ? set.length > 0 : set.some((x) => f.flags.includes(x));
    }
    case 'and': return f.filters.every((x) => accessLogFilterAccepts(x, e));
    case 'or': return f.filters.some((x) => accessLogFilterAccepts(x, e));
  }
}

function formatterFor(c: AccessLogConfig): (e: AccessLogEntry) => string {
  if (c.jsonFormat) return compileJsonFormat(c.jsonFormat);
  if (c.textFormat !== null) return compileTextFormat(c.textFormat);
  return compileJsonFormat(DEFAULT_JSON_FORMAT);
}

/**
 * Compiles each access_log config once (format parsed here, never per request) and binds it to its shared destination.
 * Throws an Error (Envoy's wording) for an invalid format string.
 */
export function createAccessLoggers(configs: readonly AccessLogConfig[]): AccessLogger[] {
  return configs.map((c) => {
    if (c.sink === 'file' && !c.path) throw new Error('access log file sink requires a path');
    const format = formatterFor(c);
    const sink = sinkFor(c.sink, c.path);
    const filter = c.filter;
    return {
      log(entry: AccessLogEntry): void {
        if (filter !== undefined && !accessLogFilterAccepts(filter, entry)) return;
        write(sink, format(entry));
      },
      flush: () => flushOne(sink),
    };
  });
}

const LEVELS: Readonly<Record<string, pino.LevelWithSilent>> = {
  trace: 'trace', debug: 'debug', info: 'info', warn: 'warn', warning: 'warn', error: 'error', critical: 'fatal', fatal: 'fatal', off: 'silent', silent: 'silent',
};

/** Maps an Envoy log level (trace|debug|info|warn|error|critical|off) to pino's; null when unknown. */
export function pinoLevel(level: string): pino.LevelWithSilent | null {
  return LEVELS[level.toLowerCase()] ?? null;
}

/** The process log: pino JSON lines on stderr (synchronous, low volume, so nothing is lost on exit). */
export function createLogger(level: string, bindings?: Record<string, unknown>): pino.Logger {
  const logger = pino({ level: pinoLevel(level) ?? 'info', base: { pid: process.pid, ...bindings } }, pino.destination({ dest: 2, sync: true }));
  return logger;
}
