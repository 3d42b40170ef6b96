// HTTP/1.1 keep-alive connections to one host, carried by an undici Pool with a bounded number of connections.
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { ClusterConfig } from '../../model/types.ts';
import type { Host } from '../types.ts';
import { classifyUpstreamError, UpstreamFailure } from '../upstream-failure.ts';
import type { HttpHostPool, UpstreamAttempt, UpstreamRequest, UpstreamResponseHandler, HeaderRecord } from './http-pool.ts';
import { upstreamTlsOptions } from '../upstream-tls.ts';

export class Http1Pool implements HttpHostPool {
  readonly #pool: Pool;

  constructor(host: Host, cluster: ClusterConfig) {
    const tls = cluster.tls;
    const hostPart = host.address.includes(':') ? `[${host.address}]` : host.address;
    const origin = `${tls ? 'https' : 'http'}://${hostPart}:${host.port}`;
    this.#pool = new Pool(origin, {
      connections: cluster.circuitBreakers.maxConnections,
      pipelining: 1,
      keepAliveTimeout: Math.min(cluster.idleTimeoutMs || 3_600_000, 3_600_000),
      keepAliveMaxTimeout: Math.max(cluster.idleTimeoutMs || 3_600_000, 1000),
      headersTimeout: 0,
      bodyTimeout: 0,
      maxRequestsPerClient: cluster.maxRequestsPerConnection || undefined,
      connect: { timeout: cluster.connectTimeoutMs, ...(tls ? upstreamTlsOptions(tls, host, ['http/1.1']) : {}) },
      maxHeaderSize: 96 * 1024,
    });
  }

  request(req: UpstreamRequest, handler: UpstreamResponseHandler): UpstreamAttempt {
    const attempt = new Http1Attempt(handler);
    const headers = req.headers as Record<string, string | string[]>;
    headers.host = req.authority;
    this.#pool.dispatch({
      origin: undefined,
      path: req.path,
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: req.body,
      headersTimeout: 0,
      bodyTimeout: 0,
    }, attempt);
    return attempt;
  }

  connections(): number {
    return this.#pool.stats.connected;
  }

  async close(): Promise<void> {
    await this.#pool.close().catch(() => undefined);
  }

  destroy(): void {
    this.#pool.destroy().catch(() => undefined);
  }
}

/** Adapts undici's dispatch handler lifecycle to our UpstreamResponseHandler. */
class Http1Attempt implements Dispatcher.DispatchHandler, UpstreamAttempt {
  readonly #handler: UpstreamResponseHandler;
  #controller: Dispatcher.DispatchController | null = null;
  #headersReceived = false;
  #done = false;
  #abortRequested = false;

  constructor(handler: UpstreamResponseHandler) {
    this.#handler = handler;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortRequested) controller.abort(new UpstreamFailure('reset_before_headers', 'aborted'));
  }

  onBodySent(chunk: Buffer | string): void {
    this.#handler.onBodySent?.(chunk.length);
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: HeaderRecord): void {
    if (statusCode < 200) return; // informational responses are not forwarded
    this.#headersReceived = true;
    this.#handler.onHeaders(statusCode, headers, false);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#handler.onData(chunk)) controller.pause();
  }

  onResponseEnd(_c: Dispatcher.DispatchController, trailers: HeaderRecord): void {
    if (this.#done) return;
    this.#done = true;
    let hasTrailers = false;
    for (const _ in trailers) { hasTrailers = true; break; }
    this.#handler.onEnd(hasTrailers ? trailers : null);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#handler.onError(classifyUpstreamError(err, this.#headersReceived));
  }

  abort(): void {
    if (this.#done) return;
    if (this.#controller) this.#controller.abort(new UpstreamFailure(this.#headersReceived ? 'reset_after_headers' : 'reset_before_headers', 'downstream aborted'));
    else this.#abortRequested = true;
  }

  resume(): void {
    this.#controller?.resume();
  }
}
