// HTTP/1.1 keep-alive connections to one host, carried by an undici Pool with a bounded number of connections.
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { ClusterConfig } from '../../model/types.ts';
import type { Host } from '../types.ts';
import { classifyUpstreamError, UpstreamFailure } from '../upstream-failure.ts';
import type { HttpHostPool, PoolQueueState, UpstreamAttempt, UpstreamRequest, UpstreamResponseHandler, HeaderRecord } from './http-pool.ts';
import { upstreamConnector } from '../upstream-tls.ts';
import { bindOptions } from '../bind-options.ts';
import { clusterConnections, connectionClosed, connectionOpened } from './cluster-connections.ts';

export class Http1Pool implements HttpHostPool {
  readonly #pool: Pool;
  readonly #maxConnections: number;
  /** Connected sockets (undici connect/disconnect events). */
  #connected = 0;
  /** Requests handed to the pool and not finished: each holds (or waits for) one connection. */
  #busy = 0;

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
      connect: tls ? upstreamConnector(tls, host, ['http/1.1'], cluster.connectTimeoutMs) : { timeout: cluster.connectTimeoutMs },
      maxHeaderSize: 96 * 1024,
      ...bindOptions(cluster),
    });
    this.#maxConnections = cluster.circuitBreakers.maxConnections;
    const count = clusterConnections(cluster.name);
    this.#pool.on('connect', () => { this.#connected++; connectionOpened(count); });
    this.#pool.on('disconnect', () => { this.#connected--; connectionClosed(count); });
  }

  queueState(): PoolQueueState {
    if (this.#busy < this.#connected) return 'ready';
    return this.#busy < this.#maxConnections ? 'connect' : 'full';
  }

  request(req: UpstreamRequest, handler: UpstreamResponseHandler): UpstreamAttempt {
    this.#busy++;
    const attempt = new Http1Attempt(handler, () => { this.#busy--; });
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
  readonly #onSettled: () => void;
  #controller: Dispatcher.DispatchController | null = null;
  #headersReceived = false;
  #done = false;
  #settled = false;
  #abortRequested = false;

  constructor(handler: UpstreamResponseHandler, onSettled: () => void) {
    this.#handler = handler;
    this.#onSettled = onSettled;
  }

  /** The pool no longer holds this request (ended, failed or aborted). */
  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#onSettled();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortRequested) { controller.abort(new UpstreamFailure('reset_before_headers', 'aborted')); return; }
    this.#handler.onConnected?.(null);
  }

  onBodySent(chunk: Buffer | string): void {
    this.#handler.onBodySent?.(chunk.length);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: HeaderRecord): void {
    if (statusCode < 200) return; // informational responses are not forwarded
    if (statusCode > 599) {
      controller.abort(new UpstreamFailure('protocol_error', `invalid status ${statusCode}`));
      return;
    }
    this.#headersReceived = true;
    this.#handler.onHeaders(statusCode, headers, false);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#handler.onData(chunk)) controller.pause();
  }

  onResponseEnd(_c: Dispatcher.DispatchController, trailers: HeaderRecord): void {
    this.#settle();
    if (this.#done) return;
    this.#done = true;
    let hasTrailers = false;
    for (const _ in trailers) { hasTrailers = true; break; }
    this.#handler.onEnd(hasTrailers ? trailers : null);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.#settle();
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
