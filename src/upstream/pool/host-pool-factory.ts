// Creates the pool for a host by the cluster's upstream protocol (HTTP/1.1 via undici, HTTP/2 via node:http2).
import type { ClusterConfig } from '../../model/types.ts';
import type { Host } from '../types.ts';
import { Http1Pool } from './http1-pool.ts';
import { Http2Pool } from './http2-pool.ts';
import type { HttpHostPool, PoolQueueState, UpstreamAttempt, UpstreamRequest, UpstreamResponseHandler } from './http-pool.ts';

export function createHostPool(host: Host, cluster: ClusterConfig): HttpHostPool {
  switch (cluster.protocol) {
    case 'http2': return new Http2Pool(host, cluster);
    case 'downstream': return new DownstreamProtocolPool(host, cluster);
    default: return new Http1Pool(host, cluster);
  }
}

/** use_downstream_protocol_config: HTTP/2 requests go upstream as HTTP/2, the rest as HTTP/1.1. */
class DownstreamProtocolPool implements HttpHostPool {
  readonly #host: Host;
  readonly #cluster: ClusterConfig;
  #h1: Http1Pool | null = null;
  #h2: Http2Pool | null = null;
  constructor(host: Host, cluster: ClusterConfig) { this.#host = host; this.#cluster = cluster; }
  request(req: UpstreamRequest, handler: UpstreamResponseHandler): UpstreamAttempt {
    if (req.downstreamHttp2) return (this.#h2 ??= new Http2Pool(this.#host, this.#cluster)).request(req, handler);
    return (this.#h1 ??= new Http1Pool(this.#host, this.#cluster)).request(req, handler);
  }
  connections(): number { return (this.#h1?.connections() ?? 0) + (this.#h2?.connections() ?? 0); }
  queueState(downstreamHttp2: boolean): PoolQueueState {
    const pool = downstreamHttp2 ? this.#h2 : this.#h1;
    return pool === null ? 'connect' : pool.queueState();
  }
  async close(): Promise<void> { await Promise.all([this.#h1?.close(), this.#h2?.close()]); }
  destroy(): void { this.#h1?.destroy(); this.#h2?.destroy(); }
}
