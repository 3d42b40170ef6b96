// An in-process proxy engine for listener tests: compiles an Envoy bootstrap, applies it, and exposes ports and clusters.
import net from 'node:net';
import pino, { type Logger } from 'pino';
import { compileBootstrap } from '../../src/model/compile-bootstrap.ts';
import type { Snapshot } from '../../src/model/types.ts';
import { StatsRegistry } from '../../src/observability/stats.ts';
import { createProxyEngine } from '../../src/server/proxy-engine.ts';
import type { ProxyEngine } from '../../src/server/types.ts';
import { withTimeout } from '../helpers/wait.ts';

export const LISTENER_FILTER_TYPES = {
  tls: 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  http: 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
  originalDst: 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
} as const;

/** A listener_filters entry by short name. */
export function listenerFilter(kind: keyof typeof LISTENER_FILTER_TYPES): object {
  const names = { tls: 'tls_inspector', http: 'http_inspector', originalDst: 'original_dst' };
  return { name: `envoy.filters.listener.${names[kind]}`, typed_config: { '@type': LISTENER_FILTER_TYPES[kind] } };
}

export function compile(doc: unknown): Snapshot {
  const r = compileBootstrap(doc, { readFile: () => { throw new Error('no files in tests'); } });
  if (!r.ok) throw new Error(`bootstrap does not compile: ${r.errors.map((e) => `${e.resource}: ${e.field}: ${e.message}`).join('; ')}`);
  return r.value;
}

export interface TestEngine {
  readonly engine: ProxyEngine;
  readonly stats: StatsRegistry;
  /** The bound port of a listener (the configured one for bind_to_port: false). */
  port(name: string): number;
  apply(doc: unknown): Promise<void>;
  close(): Promise<void>;
}

export async function startEngine(doc: unknown, logger?: Logger): Promise<TestEngine> {
  const stats = new StatsRegistry();
  const engine = createProxyEngine({ stats, logger: logger ?? pino({ level: process.env.PF_TEST_LOG ?? 'silent' }) });
  await engine.apply(compile(doc));
  return {
    engine,
    stats,
    port(name) {
      const l = engine.listeners().find((x) => x.name === name);
      if (l === undefined) throw new Error(`no listener ${name}`);
      return l.port;
    },
    apply: (d) => engine.apply(compile(d)),
    close: () => engine.drain(100),
  };
}

/** A port nothing listens on right now (bound and released). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Connects, optionally writes `send`, and collects bytes until `until(received)` or the connection closes. */
export function talk(port: number, opts: { host?: string; send?: string | Buffer; until?: (got: string) => boolean; end?: boolean } = {}):
  Promise<{ data: string; closed: boolean }> {
  return withTimeout(new Promise((resolve, reject) => {
    let data = '';
    let done = false;
    const c = net.connect({ port, host: opts.host ?? '127.0.0.1' }, () => {
      if (opts.send !== undefined) c.write(opts.send);
      if (opts.end === true) c.end();
    });
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      c.destroy();
      resolve({ data, closed });
    };
    c.on('data', (b: Buffer) => {
      data += b.toString('latin1');
      if (opts.until?.(data) === true) finish(false);
    });
    c.on('error', (e: NodeJS.ErrnoException) => { if (!done) { done = true; reject(e); } });
    c.on('close', () => finish(true));
  }), 20_000, `exchange on port ${port}`);
}

/** A TCP server that speaks first ("<greeting>\r\n" on accept, like SMTP) and then echoes lines prefixed with its name. */
export async function startGreeter(name: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write(`220 ${name} ready\r\n`);
    s.on('data', (b: Buffer) => s.write(`${name}: ${b.toString('latin1')}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => { server.close(() => r()); for (const s of sockets) s.destroy(); }),
  };
}
