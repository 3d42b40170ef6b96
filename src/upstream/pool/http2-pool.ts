// HTTP/2 to one host (cleartext prior knowledge or TLS with ALPN h2) over one multiplexed node:http2 session.
import * as http2 from 'node:http2';
import type { ClusterConfig } from '../../model/types.ts';
import type { Host } from '../types.ts';
import { classifyUpstreamError, UpstreamFailure } from '../upstream-failure.ts';
import type { HttpHostPool, PoolQueueState, UpstreamAttempt, UpstreamRequest, UpstreamResponseHandler, HeaderRecord } from './http-pool.ts';
import { upstreamTlsOrThrow } from '../upstream-tls.ts';
import { bindOptions } from '../bind-options.ts';
import { clusterConnections, connectionClosed, connectionOpened } from './cluster-connections.ts';

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL } = http2.constants;

export class Http2Pool implements HttpHostPool {
  readonly #host: Host;
  readonly #cluster: ClusterConfig;
  #session: http2.ClientHttp2Session | null = null;
  #closing = false;
  #active = 0;
  #closeWaiters: (() => void)[] = [];

  constructor(host: Host, cluster: ClusterConfig) {
    this.#host = host;
    this.#cluster = cluster;
  }

  #getSession(): http2.ClientHttp2Session {
    const existing = this.#session;
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const tls = this.#cluster.tls;
    const hostPart = this.#host.address.includes(':') ? `[${this.#host.address}]` : this.#host.address;
    const origin = `${tls ? 'https' : 'http'}://${hostPart}:${this.#host.port}`;
    const session = http2.connect(origin, {
      ...(tls ? upstreamTlsOrThrow(tls, this.#host, ['h2']) : {}),
      settings: {
        initialWindowSize: Math.min(this.#cluster.http2.initialStreamWindowSize, 2 ** 31 - 1),
        enablePush: false,
      },
      maxSessionMemory: 64,
      ...bindOptions(this.#cluster),
    });
    this.#session = session;
    let connected = false;
    const timer = setTimeout(() => {
      if (!connected) session.destroy(new UpstreamFailure('connect_timeout', `connect timeout after ${this.#cluster.connectTimeoutMs}ms`));
    }, this.#cluster.connectTimeoutMs);
    timer.unref();
    const count = clusterConnections(this.#cluster.name);
    session.once('connect', () => {
      connected = true;
      connectionOpened(count);
      clearTimeout(timer);
      if (!session.destroyed) session.setLocalWindowSize(Math.min(this.#cluster.http2.initialConnectionWindowSize, 2 ** 31 - 1));
    });
    session.on('error', () => { /* surfaced per stream */ });
    session.once('goaway', () => { if (this.#session === session) this.#session = null; });
    session.once('close', () => {
      if (connected) connectionClosed(count);
      clearTimeout(timer);
      if (this.#session === session) this.#session = null;
    });
    if (this.#cluster.idleTimeoutMs > 0) {
      session.setTimeout(this.#cluster.idleTimeoutMs, () => { if (this.#active === 0) session.close(); });
    }
    session.unref();
    return session;
  }

  request(req: UpstreamRequest, handler: UpstreamResponseHandler): UpstreamAttempt {
    const headers: http2.OutgoingHttpHeaders = {};
    for (const name in req.headers) {
      const v = req.headers[name];
      if (v === undefined || name === 'host') continue;
      headers[name] = v;
    }
    headers[':method'] = req.method;
    headers[':path'] = req.path;
    headers[':authority'] = req.authority;
    headers[':scheme'] = req.scheme;
    const attempt = new Http2Attempt(handler, () => {
      this.#active--;
      if (this.#active === 0 && this.#closing) this.#finishClose();
    });
    this.#active++;
    let stream: http2.ClientHttp2Stream;
    let session: http2.ClientHttp2Session;
    try {
      session = this.#getSession();
      stream = session.request(headers, { endStream: req.body === null });
    } catch (err) {
      queueMicrotask(() => attempt.fail(classifyUpstreamError(err, false)));
      return attempt;
    }
    attempt.attach(stream, session);
    if (req.body !== null) {
      if (Buffer.isBuffer(req.body)) stream.end(req.body);
      else {
        req.body.pipe(stream);
        // pipe() starts the flow on the next tick, so this listener sees every chunk.
        if (handler.onBodySent) req.body.on('data', (c: Buffer) => handler.onBodySent!(c.length));
      }
    }
    return attempt;
  }

  connections(): number {
    return this.#session && !this.#session.destroyed ? 1 : 0;
  }

  queueState(): PoolQueueState {
    const s = this.#session;
    return s !== null && !s.connecting && !s.closed && !s.destroyed ? 'ready' : 'connect';
  }

  close(): Promise<void> {
    this.#closing = true;
    if (this.#active === 0) { this.#finishClose(); return Promise.resolve(); }
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  #finishClose(): void {
    this.#session?.close();
    this.#session = null;
    for (const w of this.#closeWaiters.splice(0)) w();
  }

  destroy(): void {
    this.#session?.destroy();
    this.#session = null;
    for (const w of this.#closeWaiters.splice(0)) w();
  }
}

class Http2Attempt implements UpstreamAttempt {
  readonly #handler: UpstreamResponseHandler;
  readonly #onFinish: () => void;
  #stream: http2.ClientHttp2Stream | null = null;
  #headersReceived = false;
  #done = false;
  #trailers: HeaderRecord | null = null;
  #endedWithHeaders = false;

  constructor(handler: UpstreamResponseHandler, onFinish: () => void) {
    this.#handler = handler;
    this.#onFinish = onFinish;
  }

  attach(stream: http2.ClientHttp2Stream, session: http2.ClientHttp2Session): void {
    this.#stream = stream;
    let sessionConnected = !session.connecting;
    if (!sessionConnected) {
      session.once('connect', () => {
        sessionConnected = true;
        if (!this.#done) this.#handler.onConnected?.(null);
      });
    } else {
      this.#handler.onConnected?.(null);
    }
    const failure = (err: unknown): UpstreamFailure => {
      if (!sessionConnected) {
        const cause = (err as { cause?: unknown })?.cause ?? err;
        const f = classifyUpstreamError(cause, false);
        return f.kind === 'connect_timeout' ? f : new UpstreamFailure('connect_failure', f.detail, cause);
      }
      return classifyUpstreamError(err, this.#headersReceived);
    };
    // These listeners run from node:http2's native callbacks: anything thrown below them would crash the process,
    // so a failure while handing the response on ends this attempt instead.
    stream.on('response', (headers, flags) => {
      const status = Number(headers[':status']);
      if (status < 200) return;
      if (!(status <= 599)) {
        stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
        this.fail(new UpstreamFailure('protocol_error', `invalid :status ${String(headers[':status'])}`));
        return;
      }
      this.#headersReceived = true;
      const out: HeaderRecord = {};
      for (const name in headers) if (name.charCodeAt(0) !== 58 /* : */) out[name] = headers[name] as string | string[];
      this.#endedWithHeaders = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      try {
        this.#handler.onHeaders(status, out, this.#endedWithHeaders);
      } catch (err) {
        stream.close(NGHTTP2_CANCEL);
        this.fail(new UpstreamFailure('reset_after_headers', `response could not be forwarded: ${(err as Error).message}`));
      }
    });
    stream.on('data', (chunk: Buffer) => {
      try {
        if (!this.#handler.onData(chunk)) stream.pause();
      } catch (err) {
        stream.close(NGHTTP2_CANCEL);
        this.fail(new UpstreamFailure('reset_after_headers', `response could not be forwarded: ${(err as Error).message}`));
      }
    });
    stream.on('trailers', (trailers) => {
      const out: HeaderRecord = {};
      for (const name in trailers) if (name.charCodeAt(0) !== 58) out[name] = trailers[name] as string | string[];
      this.#trailers = out;
    });
    stream.on('end', () => {
      if (this.#done) return;
      if (!this.#headersReceived) { this.fail(new UpstreamFailure('protocol_error', 'stream ended without response headers')); return; }
      this.#done = true;
      this.#onFinish();
      this.#handler.onEnd(this.#trailers);
    });
    stream.on('error', (err) => this.fail(failure(err)));
    stream.on('close', () => {
      if (this.#done) return;
      const code = stream.rstCode;
      if (!sessionConnected) this.fail(failure(new Error('session closed before connect')));
      else if (code === NGHTTP2_REFUSED_STREAM && !this.#headersReceived) this.fail(new UpstreamFailure('refused_stream', 'REFUSED_STREAM'));
      else this.fail(new UpstreamFailure(this.#headersReceived ? 'reset_after_headers' : 'reset_before_headers', `stream closed (rst code ${code ?? 0})`));
    });
  }

  fail(err: UpstreamFailure): void {
    if (this.#done) return;
    this.#done = true;
    this.#onFinish();
    this.#handler.onError(err);
  }

  abort(): void {
    if (this.#done) return;
    this.#done = true;
    this.#onFinish();
    this.#stream?.close(NGHTTP2_CANCEL);
  }

  resume(): void {
    this.#stream?.resume();
  }
}
