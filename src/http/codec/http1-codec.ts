// HTTP/1.x downstream codec: parses requests with node:http and exposes each as a DownstreamExchange.
import * as http from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { Socket } from 'node:net';
import type { DownstreamConnectionInfo, DownstreamExchange, HeaderRecord, RequestHead, HttpProtocol } from '../exchange.ts';
import { withoutHopByHop } from '../hop-by-hop.ts';

export interface Http1CodecOptions {
  readonly maxHeaderBytes: number;
  readonly maxHeadersCount: number;
  readonly requestHeadersTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** common_http_protocol_options.max_connection_duration: after it, the connection closes once idle (0 = never). */
  readonly maxConnectionDurationMs?: number;
  readonly onExchange: (ex: DownstreamExchange) => void;
  readonly onBadRequest: (info: DownstreamConnectionInfo, code: number, reason: string) => void;
}

const INFO = Symbol('pilotfish.connInfo');
/** Set once max_connection_duration elapsed: the next response carries `connection: close`. */
const EXPIRED = Symbol('pilotfish.expired');
/** Set while the idle timeout of a connection that has not sent a request yet is armed. */
const FRESH = Symbol('pilotfish.fresh');
type SocketWithInfo = Socket & { [INFO]?: DownstreamConnectionInfo; [EXPIRED]?: boolean; [FRESH]?: boolean };
type InFlight = { _httpMessage?: http.ServerResponse | null };

export class Http1Codec {
  readonly #server: http.Server;
  readonly #opts: Http1CodecOptions;
  /** When set, responses carry `connection: close` so clients move to other connections (drain). */
  draining = false;

  constructor(opts: Http1CodecOptions) {
    this.#opts = opts;
    this.#server = http.createServer({
      maxHeaderSize: opts.maxHeaderBytes,
      requireHostHeader: false,
      joinDuplicateHeaders: true,
      keepAliveTimeout: opts.idleTimeoutMs > 0 ? Math.min(opts.idleTimeoutMs, 2 ** 31 - 1) : 0,
      // Envoy closes an idle connection when idle_timeout elapses, not a second later.
      keepAliveTimeoutBuffer: 0,
      headersTimeout: opts.requestHeadersTimeoutMs > 0 ? opts.requestHeadersTimeoutMs : 0,
      requestTimeout: 0,
      connectionsCheckingInterval: opts.requestHeadersTimeoutMs > 0 ? Math.max(20, Math.min(1000, Math.floor(opts.requestHeadersTimeoutMs / 4))) : 30_000,
    });
    // node:http tracks connections (for headersTimeout and closeIdleConnections, which drain needs) only once a server
    // says it listens; this one is handed sockets, so start the tracking here.
    this.#server.emit('listening');
    this.#server.maxHeadersCount = opts.maxHeadersCount;
    this.#server.on('request', (req, res) => this.#onRequest(req, res));
    this.#server.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.#onClientError(err, socket as SocketWithInfo));
  }

  /** Serves one accepted (and, if TLS, already terminated) connection. */
  handleConnection(socket: Duplex, info: DownstreamConnectionInfo): void {
    const s = socket as SocketWithInfo;
    s[INFO] = info;
    this.#server.emit('connection', socket);
    // node:http applies keepAliveTimeout only after a response: a connection that never sends a request needs its own.
    if (this.#opts.idleTimeoutMs > 0 && typeof s.setTimeout === 'function') {
      s[FRESH] = true;
      s.setTimeout(Math.min(this.#opts.idleTimeoutMs, 2 ** 31 - 1));
    }
    const maxDuration = this.#opts.maxConnectionDurationMs ?? 0;
    if (maxDuration > 0) {
      const timer = setTimeout(() => expire(s), Math.min(maxDuration, 2 ** 31 - 1));
      socket.once('close', () => clearTimeout(timer));
    }
  }

  /** Stops node:http's connection tracking (call when no connection uses this codec any more). */
  close(): void {
    this.#server.close(() => undefined);
  }

  /** Asks keep-alive connections to close after their current request. */
  closeIdle(): void {
    this.#server.closeIdleConnections();
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket as SocketWithInfo;
    if (socket[FRESH]) { socket[FRESH] = false; socket.setTimeout(0); }
    const info = socket[INFO]!;
    if (!originForm(req)) {
      this.#opts.onBadRequest(info, 400, 'http1.invalid_url');
      res.shouldKeepAlive = false;
      res.writeHead(400, { 'content-length': '0', connection: 'close' }).end();
      return;
    }
    this.#opts.onExchange(new Http1Exchange(req, res, info, this));
  }

  #onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const info = (req.socket as SocketWithInfo)[INFO]!;
    if (!originForm(req)) {
      this.#opts.onBadRequest(info, 400, 'http1.invalid_url');
      socket.end(closingReply(400));
      return;
    }
    this.#opts.onExchange(new Http1UpgradeExchange(req, socket, head, info));
  }

  #onClientError(err: NodeJS.ErrnoException, socket: SocketWithInfo): void {
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const info = socket[INFO];
    if (info && err.code !== 'ECONNRESET') this.#opts.onBadRequest(info, code, err.code ?? err.message);
    if (socket.writable && !(socket as unknown as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      socket.end(closingReply(code));
    }
    socket.destroySoon?.();
  }
}

/** A raw empty response that closes the connection, for requests node:http cannot hand to the connection manager. */
function closingReply(code: number): string {
  return `HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? 'Bad Request'}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`;
}

/** max_connection_duration elapsed: close now when idle, else after the response in flight (`connection: close`). */
function expire(socket: SocketWithInfo): void {
  socket[EXPIRED] = true;
  const res = (socket as unknown as InFlight)._httpMessage;
  if (res === undefined || res === null || res.writableFinished) { socket.end(); return; }
  if (res.headersSent) res.once('finish', () => socket.end());
  else res.shouldKeepAlive = false;
}

/** scheme "://" authority [path-abempty] [?query]: RFC 9112 §3.2.2 absolute-form (http and https only). */
const ABSOLUTE_FORM = /^(https?):\/\/([^/?#@\s]+)([/?#].*)?$/i;
/** host [":" port], including an IP-literal in brackets. */
const AUTHORITY = /^(?:\[[0-9a-f:.]+\]|[a-z0-9\-._~!$&'()*+,;=%]+)(?::\d{0,5})?$/i;

/**
 * Turns an absolute-form request target into origin-form like Envoy's HTTP/1 codec: `:path` gets the path and query
 * ("/" when empty) and the target's authority replaces Host (RFC 9112 §3.2.2: a proxy ignores Host then). Origin-form,
 * "*" and CONNECT's authority-form stay as sent. False for any other form or scheme (the codec answers 400).
 */
function originForm(req: http.IncomingMessage): boolean {
  const url = req.url ?? '/';
  if (url.charCodeAt(0) === 0x2f || req.method === 'CONNECT' || url === '*') return true;
  const m = ABSOLUTE_FORM.exec(url);
  if (m === null || !AUTHORITY.test(m[2]!)) return false;
  const rest = m[3] ?? '';
  req.url = rest === '' ? '/' : rest.charCodeAt(0) === 0x2f ? rest : '/' + rest;
  req.headers.host = m[2]!;
  return true;
}

function requestHead(req: http.IncomingMessage, info: DownstreamConnectionInfo): RequestHead {
  const protocol: HttpProtocol = req.httpVersionMinor === 0 ? 'HTTP/1.0' : 'HTTP/1.1';
  const headers = withoutHopByHop(req.headers as HeaderRecord, 'host');
  // node:http already answered "100 Continue"; like Envoy, the expectation is not forwarded.
  if (headers.expect !== undefined && String(headers.expect).toLowerCase() === '100-continue') delete headers.expect;
  return {
    method: req.method ?? 'GET',
    scheme: info.tls ? 'https' : 'http',
    authority: req.headers.host ?? '',
    path: req.url ?? '/',
    headers,
    protocol,
  };
}

function hasBody(req: http.IncomingMessage): boolean {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && cl !== '0';
}

class Http1Exchange implements DownstreamExchange {
  readonly head: RequestHead;
  readonly body: Readable | null;
  readonly connection: DownstreamConnectionInfo;
  readonly upgrade = null;
  readonly #res: http.ServerResponse;
  readonly #codec: Http1Codec;
  #sent = 0;

  constructor(req: http.IncomingMessage, res: http.ServerResponse, info: DownstreamConnectionInfo, codec: Http1Codec) {
    this.head = requestHead(req, info);
    this.#codec = codec;
    this.connection = info;
    this.#res = res;
    this.body = hasBody(req) ? req : null;
  }

  get headersSent(): boolean { return this.#res.headersSent; }

  sendHeaders(status: number, headers: HeaderRecord, endStream: boolean): void {
    const res = this.#res;
    res.sendDate = headers.date === undefined;
    if (this.#codec.draining || (res.socket as SocketWithInfo | null)?.[EXPIRED]) res.shouldKeepAlive = false;
    res.writeHead(status, headers as http.OutgoingHttpHeaders);
    if (endStream) res.end();
  }

  write(chunk: Buffer): boolean {
    this.#sent += chunk.length;
    return this.#res.write(chunk);
  }

  onDrain(cb: () => void): void { this.#res.once('drain', cb); }

  end(trailers: HeaderRecord | null): void {
    if (trailers !== null && this.#res.chunkedEncoding) this.#res.addTrailers(trailers as http.OutgoingHttpHeaders);
    this.#res.end();
  }

  reset(): void { this.#res.destroy(); }

  onAbort(cb: () => void): void {
    this.#res.once('close', () => { if (!this.#res.writableFinished) cb(); });
  }

  bytesSent(): number { return this.#sent; }
}

/** An HTTP/1.1 request asking for an upgrade: the socket is ours, responses are written raw. */
class Http1UpgradeExchange implements DownstreamExchange {
  readonly head: RequestHead;
  readonly body = null;
  readonly connection: DownstreamConnectionInfo;
  readonly upgrade: { readonly type: string; readonly socket: Duplex; readonly head: Buffer };
  #headersSent = false;
  #sent = 0;

  constructor(req: http.IncomingMessage, socket: Duplex, head: Buffer, info: DownstreamConnectionInfo) {
    this.head = requestHead(req, info);
    // Keep the upgrade request's own Connection/Upgrade semantics for the tunnel.
    this.head.headers.connection = 'upgrade';
    this.head.headers.upgrade = String(req.headers.upgrade ?? '');
    this.connection = info;
    this.upgrade = { type: String(req.headers.upgrade ?? '').toLowerCase(), socket, head };
  }

  get headersSent(): boolean { return this.#headersSent; }

  sendHeaders(status: number, headers: HeaderRecord, endStream: boolean): void {
    this.#headersSent = true;
    let text = `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n`;
    for (const name in headers) {
      const v = headers[name];
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) text += `${name}: ${one}\r\n`;
    }
    if (status !== 101) text += 'connection: close\r\n';
    this.upgrade.socket.write(text + '\r\n');
    if (endStream) this.upgrade.socket.end();
  }

  write(chunk: Buffer): boolean { this.#sent += chunk.length; return this.upgrade.socket.write(chunk); }
  onDrain(cb: () => void): void { this.upgrade.socket.once('drain', cb); }
  end(): void { this.upgrade.socket.end(); }
  reset(): void { this.upgrade.socket.destroy(); }
  onAbort(cb: () => void): void { this.upgrade.socket.once('close', cb); }
  bytesSent(): number { return this.#sent; }
}
