// The interface the router uses to send one HTTP request to one host, whatever the upstream protocol.
import type { Readable } from 'node:stream';
import type { HostPool } from '../types.ts';
import type { UpstreamFailure } from '../upstream-failure.ts';

export type HeaderRecord = Record<string, string | string[] | undefined>;

export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly scheme: 'http' | 'https';
  /** Lower-case names, no pseudo headers, no hop-by-hop headers. */
  readonly headers: HeaderRecord;
  /** null when the request has no body. */
  readonly body: Readable | Buffer | null;
  /** The downstream spoke HTTP/2 (selects the protocol for use_downstream_protocol_config clusters). */
  readonly downstreamHttp2?: boolean;
}

/** Callbacks for one attempt; exactly one of onEnd/onError ends it. */
export interface UpstreamResponseHandler {
  /** The connection was obtained and the request is being sent (host chosen and connected). */
  onConnected?(localAddress: string | null): void;
  /** Request body bytes written upstream. */
  onBodySent?(bytes: number): void;
  /** `endStream`: the response has no body and no trailers (HTTP/2 trailers-only, e.g. a gRPC error). */
  onHeaders(status: number, headers: HeaderRecord, endStream: boolean): void;
  /** Return false to pause the upstream until attempt.resume(). */
  onData(chunk: Buffer): boolean;
  onEnd(trailers: HeaderRecord | null): void;
  onError(err: UpstreamFailure): void;
}

export interface UpstreamAttempt {
  abort(): void;
  resume(): void;
}

/**
 * What a new request would meet: a free connection ('ready'), a wait for a new connection ('connect'), or a wait
 * for a busy connection because the pool is at max_connections ('full'). Waiting requests are Envoy's pending ones.
 */
export type PoolQueueState = 'ready' | 'connect' | 'full';

export interface HttpHostPool extends HostPool {
  request(req: UpstreamRequest, handler: UpstreamResponseHandler): UpstreamAttempt;
  /** Connections open right now (for /clusters and stats). */
  connections(): number;
  /** Whether a request sent now would wait for a connection (circuit breaking of pending requests). */
  queueState?(downstreamHttp2: boolean): PoolQueueState;
}
