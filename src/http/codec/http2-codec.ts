// HTTP/2 downstream codec (cleartext prior knowledge or TLS/ALPN): each stream becomes a DownstreamExchange.
import * as http2 from 'node:http2';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import type { Http2Options } from '../../model/types.ts';
import type { DownstreamConnectionInfo, DownstreamExchange, HeaderRecord, RequestHead } from '../exchange.ts';
import { isHopByHop } from '../hop-by-hop.ts';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = http2.constants;

/** The HTTP/2 client connection preface (RFC 9113 §3.4): how cleartext HTTP/2 with prior knowledge starts. */
export const H2_PREFACE: Buffer = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Http2CodecOptions {
  readonly http2: Http2Options;
  readonly maxHeaderBytes: number;
  readonly idleTimeoutMs: number;
  /** common_http_protocol_options.max_connection_duration: then GOAWAY, in-flight streams finish (0 = never). */
  readonly maxConnectionDurationMs?: number;
  readonly onExchange: (ex: DownstreamExchange) => void;
}

const INFO = Symbol('pilotfish.connInfo');
type SessionWithInfo = http2.ServerHttp2Session & { [INFO]?: DownstreamConnectionInfo };

export class Http2Codec {
  readonly #server: http2.Http2Server;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  #pendingInfo: DownstreamConnectionInfo | null = null;

  constructor(opts: Http2CodecOptions) {
    this.#server = http2.createServer({
      settings: {
        maxConcurrentStreams: Math.min(opts.http2.maxConcurrentStreams, 2 ** 32 - 1),
        initialWindowSize: Math.min(opts.http2.initialStreamWindowSize, 2 ** 31 - 1),
        maxHeaderListSize: opts.maxHeaderBytes,
      },
      maxSessionMemory: 64,
      maxHeaderListPairs: 256,
    });
    this.#server.on('session', (session: SessionWithInfo) => {
      session[INFO] = this.#pendingInfo!;
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      session.on('error', () => { /* per-stream errors are handled by exchanges */ });
      if (opts.idleTimeoutMs > 0) session.setTimeout(opts.idleTimeoutMs, () => session.close());
      const maxDuration = opts.maxConnectionDurationMs ?? 0;
      if (maxDuration > 0) {
        const timer = setTimeout(() => { if (!session.closed) session.close(); }, Math.min(maxDuration, 2 ** 31 - 1));
        session.once('close', () => clearTimeout(timer));
      }
      session.once('connect', () => {
        const win = Math.min(opts.http2.initialConnectionWindowSize, 2 ** 31 - 1);
        if (!session.destroyed && win > 65535) session.setLocalWindowSize(win);
      });
    });
    this.#server.on('stream', (stream, headers, flags) => {
      const info = (stream.session as SessionWithInfo)[INFO]!;
      opts.onExchange(new Http2Exchange(stream, headers, flags, info));
    });
  }

  handleConnection(socket: Duplex, info: DownstreamConnectionInfo): void {
    // 'session' is emitted synchronously from 'connection'; pass the info through that window.
    this.#pendingInfo = info;
    this.#server.emit('connection', socket);
    this.#pendingInfo = null;
  }

  /** Sends GOAWAY on every session so clients move to new connections; in-flight streams finish. */
  closeIdle(): void {
    for (const s of this.#sessions) if (!s.closed) s.close();
  }
}

/** Header names HTTP/2 (node:http2) allows only once; an HTTP/1 peer may still have sent them twice. */
const SINGLE_VALUE = new Set(['age', 'authorization', 'content-encoding', 'content-language', 'content-length',
  'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'dnt', 'etag', 'expires', 'from', 'host',
  'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified', 'location',
  'max-forwards', 'proxy-authorization', 'range', 'referer', 'retry-after', 'tk', 'upgrade-insecure-requests',
  'user-agent', 'x-content-type-options', 'access-control-allow-credentials', 'access-control-max-age',
  'access-control-request-method']);

/** Copies headers for node:http2: hop-by-hop ones dropped, repeated single-value ones reduced to their first value. */
function toHttp2Headers(src: HeaderRecord, out: http2.OutgoingHttpHeaders): http2.OutgoingHttpHeaders {
  for (const name in src) {
    const v = src[name];
    if (v === undefined || isHopByHop(name)) continue;
    out[name] = Array.isArray(v) && SINGLE_VALUE.has(name) ? v[0] : v;
  }
  return out;
}

class Http2Exchange implements DownstreamExchange {
  readonly head: RequestHead;
  readonly body: Readable | null;
  readonly connection: DownstreamConnectionInfo;
  readonly upgrade = null;
  readonly #stream: http2.ServerHttp2Stream;
  #trailers: HeaderRecord | null = null;
  #sent = 0;

  constructor(stream: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders, flags: number, info: DownstreamConnectionInfo) {
    this.#stream = stream;
    this.connection = info;
    const headers: HeaderRecord = {};
    for (const name in h) {
      if (name.charCodeAt(0) === 58 /* : */ || isHopByHop(name)) {
        if (name === 'te') headers.te = 'trailers';
        continue;
      }
      const v = h[name];
      headers[name] = name === 'cookie' && Array.isArray(v) ? v.join('; ') : (v as string | string[]);
    }
    const scheme = h[':scheme'];
    this.head = {
      method: String(h[':method'] ?? 'GET'),
      scheme: scheme === 'https' || (scheme === undefined && info.tls) ? 'https' : 'http',
      authority: String(h[':authority'] ?? h.host ?? ''),
      path: String(h[':path'] ?? '/'),
      headers,
      protocol: 'HTTP/2',
    };
    delete headers.host;
    // The body is handed out as its own Readable: consumers (undici) destroy a body stream when done with it,
    // which must not close the HTTP/2 stream the response still has to travel on.
    this.body = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0 || stream.readableEnded ? null : stream.pipe(new PassThrough());
    stream.on('error', () => { /* surfaced via onAbort */ });
  }

  get headersSent(): boolean { return this.#stream.headersSent; }

  sendHeaders(status: number, headers: HeaderRecord, endStream: boolean): void {
    const out = toHttp2Headers(headers, { ':status': status });
    if (this.#stream.destroyed || this.#stream.closed) return;
    this.#stream.respond(out, { endStream, waitForTrailers: !endStream });
    if (!endStream) {
      this.#stream.once('wantTrailers', () => {
        // Runs from node:http2's native callback: a throw here would take the whole process down.
        try {
          const t = this.#trailers;
          this.#stream.sendTrailers(t === null ? {} : toHttp2Headers(t, {}));
        } catch {
          this.#stream.close(NGHTTP2_INTERNAL_ERROR);
        }
      });
    }
  }

  write(chunk: Buffer): boolean {
    this.#sent += chunk.length;
    return this.#stream.write(chunk);
  }

  onDrain(cb: () => void): void { this.#stream.once('drain', cb); }

  end(trailers: HeaderRecord | null): void {
    this.#trailers = trailers;
    this.#stream.end();
  }

  reset(): void {
    if (!this.#stream.destroyed) this.#stream.close(this.#stream.headersSent ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_CANCEL);
  }

  onAbort(cb: () => void): void {
    this.#stream.once('close', () => {
      if (!this.#stream.writableFinished || this.#stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) cb();
    });
  }

  bytesSent(): number { return this.#sent; }
}
