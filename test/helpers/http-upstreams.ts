// Real HTTP upstreams on 127.0.0.1 port 0: an HTTP/1.1 echo server and an h2c echo server that report what they received.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { withTimeout } from './wait.ts';

/** What the echo upstream replies (JSON) for each request. */
export interface EchoReply {
  /** The upstream's configured name, so tests see which upstream served. */
  name: string;
  method: string;
  url: string;
  httpVersion: string;
  /** Host header (HTTP/1) or :authority (HTTP/2). */
  authority: string;
  headers: Record<string, string | string[] | undefined>;
  /** Request body as UTF-8 (empty when larger than 64 KiB; see bodyLength / bodySha256). */
  body: string;
  bodyLength: number;
  bodySha256: string;
  /** Client address/port of the proxy's upstream connection. */
  remoteAddress: string;
  remotePort: number;
}

/** A recorded request as the upstream saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Minimal request/response shapes shared by node:http and the node:http2 compatibility API. */
export interface UpReq extends NodeJS.ReadableStream {
  method?: string;
  url?: string;
  httpVersion: string;
  headers: Record<string, string | string[] | undefined>;
  socket: net.Socket | null | { remoteAddress?: string; remotePort?: number };
}
export interface UpRes {
  statusCode: number;
  setHeader(name: string, value: string | number | readonly string[]): unknown;
  writeHead(status: number, headers?: Record<string, string | number | string[]>): unknown;
  write(chunk: string | Buffer): boolean;
  end(chunk?: string | Buffer): unknown;
  flushHeaders?(): void;
}

/** A custom handler: return true when it took over the response, false to let the echo behaviour answer. */
export type Handler = (req: UpReq, res: UpRes, name: string) => boolean;

export interface HttpUpstream {
  readonly name: string;
  readonly port: number;
  /** Every request received, in arrival order. */
  readonly seen: SeenRequest[];
  /** Emits 'request' (SeenRequest) on arrival. */
  readonly events: EventEmitter;
  /** Waits for a request (already seen or future) matching `pred`. */
  waitForRequest(pred: (r: SeenRequest) => boolean, timeoutMs?: number): Promise<SeenRequest>;
  close(): Promise<void>;
}

/** Deterministic bytes of a given length (for large-body checks without holding two copies in tests). */
export function patternBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * Echo behaviour, steered by request headers:
 *   x-echo-status: N                → reply with status N (no body for 204/304/HEAD)
 *   x-echo-response-headers: {json} → extra response headers
 *   x-echo-body-size: N             → reply with patternBytes(N) instead of JSON
 *   x-echo-chunked: 1               → no content-length (chunked on HTTP/1.1)
 */
export function echo(req: UpReq, res: UpRes, name: string): void {
  const hash = createHash('sha256');
  const small: Buffer[] = [];
  let length = 0;
  req.on('data', (c: Buffer) => {
    hash.update(c);
    length += c.length;
    if (length <= 65536) small.push(c);
  });
  req.on('end', () => {
    const h = req.headers;
    const status = Number(h['x-echo-status'] ?? 200);
    const extra = h['x-echo-response-headers'] ? (JSON.parse(String(h['x-echo-response-headers'])) as Record<string, string>) : {};
    for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
    res.setHeader('x-upstream-name', name);
    const chunked = h['x-echo-chunked'] === '1';
    let body: Buffer;
    if (h['x-echo-body-size']) {
      body = patternBytes(Number(h['x-echo-body-size']));
      res.setHeader('content-type', 'application/octet-stream');
    } else {
      const sock = req.socket as { remoteAddress?: string; remotePort?: number } | null;
      const reply: EchoReply = {
        name,
        method: req.method ?? '',
        url: req.url ?? '',
        httpVersion: req.httpVersion,
        authority: String(h[':authority'] ?? h.host ?? ''),
        headers: h,
        body: length <= 65536 ? Buffer.concat(small).toString('utf8') : '',
        bodyLength: length,
        bodySha256: hash.digest('hex'),
        remoteAddress: sock?.remoteAddress ?? '',
        remotePort: sock?.remotePort ?? 0,
      };
      body = Buffer.from(JSON.stringify(reply));
      res.setHeader('content-type', 'application/json');
    }
    const noBody = status === 204 || status === 304 || (status >= 100 && status < 200);
    if (!chunked && !noBody) res.setHeader('content-length', body.length);
    res.writeHead(status);
    if (noBody) res.end();
    else if (req.method === 'HEAD') res.end();
    else res.end(body);
  });
}

function recorder(name: string, handler: Handler | undefined) {
  const seen: SeenRequest[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const handle = (req: UpReq, res: UpRes) => {
    const r: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    seen.push(r);
    events.emit('request', r);
    if (handler?.(req, res, name)) return;
    echo(req, res, name);
  };
  const waitForRequest = (pred: (r: SeenRequest) => boolean, timeoutMs = 10_000): Promise<SeenRequest> => {
    const found = seen.find(pred);
    if (found) return Promise.resolve(found);
    let l: ((r: SeenRequest) => void) | undefined;
    const p = new Promise<SeenRequest>((resolve) => {
      l = (r: SeenRequest) => {
        if (pred(r)) resolve(r);
      };
      events.on('request', l);
    });
    return withTimeout(p, timeoutMs, `upstream ${name} to receive a matching request`).finally(() => events.off('request', l!));
  };
  return { seen, events, handle, waitForRequest };
}

/** HTTP/1.1 echo upstream (node:http). */
export async function startHttpEcho(name: string, handler?: Handler): Promise<HttpUpstream> {
  const rec = recorder(name, handler);
  const server = http.createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => rec.handle(req as unknown as UpReq, res as unknown as UpRes));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    name,
    port,
    seen: rec.seen,
    events: rec.events,
    waitForRequest: rec.waitForRequest,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** h2c (HTTP/2 prior knowledge, cleartext) echo upstream (node:http2). */
export async function startH2cEcho(name: string, handler?: Handler): Promise<HttpUpstream> {
  const rec = recorder(name, handler);
  const server = http2.createServer({ maxSessionMemory: 64 }, (req, res) => rec.handle(req as unknown as UpReq, res as unknown as UpRes));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    name,
    port,
    seen: rec.seen,
    events: rec.events,
    waitForRequest: rec.waitForRequest,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sessions) s.destroy();
      }),
  };
}

/** Closes every upstream given, ignoring ones that are undefined (setup failed before they started). */
export async function closeAll(...things: ({ close(): Promise<void> } | undefined)[]): Promise<void> {
  await Promise.all(things.map((t) => t?.close().catch(() => undefined)));
}
