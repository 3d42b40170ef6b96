// The HTTP connection manager: picks the codec for a connection, prepares each request, and hands it to the filter chain.
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { HttpConnectionManagerConfig } from '../model/types.ts';
import type { HcmMeshMetrics } from '../observability/mesh-metrics.ts';
import type { MeshTelemetry } from '../observability/mesh-telemetry.ts';
import type { HcmTracer, TrafficDirection } from '../observability/tracing/hcm-tracer.ts';
import type { AccessLogger } from '../observability/types.ts';
import { ActiveRequest } from './active-request.ts';
import type { ClusterStatsCache } from './cluster-stats.ts';
import { Http1Codec } from './codec/http1-codec.ts';
import { H2_PREFACE, Http2Codec } from './codec/http2-codec.ts';
import { isGrpcRequest, sendLocalReply } from './error-response.ts';
import type { DownstreamConnectionInfo, DownstreamExchange } from './exchange.ts';
import { clusterFetcher } from './filters/cluster-fetch.ts';
import { HttpFilterChain } from './filters/filter-chain.ts';
import { HcmStats, type StatsSink } from './hcm-stats.ts';
import { normalizationEnabled, normalizePath, pathMayChange } from './path-normalize.ts';
import { RouteTable } from './route-table.ts';
import { routeRequest, type ClusterLookup, type RouterDeps } from './router.ts';
import { applyXfcc } from './xfcc.ts';

export interface ConnectionManagerDeps {
  readonly clusters: ClusterLookup;
  readonly stats: StatsSink;
  readonly clusterStats: ClusterStatsCache;
  readonly accessLoggers: readonly AccessLogger[];
  /** Route tables delivered by RDS, by name (read per request). */
  readonly routes: { get(name: string): RouteTable | undefined };
  /** Tells the owner that in-flight work changed (for drain accounting). */
  readonly onActive: (delta: number) => void;
  /** Tracing and mesh metrics of the process, and the listener's traffic_direction (which spans, which reporter). */
  readonly telemetry?: MeshTelemetry;
  readonly trafficDirection?: TrafficDirection;
}

export class HttpConnectionManager {
  readonly config: HttpConnectionManagerConfig;
  readonly #deps: ConnectionManagerDeps;
  readonly #stats: HcmStats;
  readonly #table: RouteTable | null;
  /** The HTTP filters before the router, compiled once; null when the router is the only filter. */
  readonly #chain: HttpFilterChain | null;
  readonly #routerDeps: RouterDeps;
  readonly #tracer: HcmTracer | null;
  readonly #mesh: HcmMeshMetrics | null;
  /** normalize_path, merge_slashes or path_with_escaped_slashes_action asks for path work. */
  readonly #normalize: boolean;
  #http1: Http1Codec | null = null;
  #http2: Http2Codec | null = null;
  #draining = false;
  #closeIdleWhenDraining = false;

  constructor(config: HttpConnectionManagerConfig, deps: ConnectionManagerDeps) {
    this.config = config;
    this.#deps = deps;
    this.#stats = new HcmStats(deps.stats, config.statPrefix);
    this.#table = config.routeConfig === null ? null : new RouteTable(config.routeConfig);
    this.#chain = HttpFilterChain.create(config, deps.stats, clusterFetcher(deps.clusters));
    this.#routerDeps = { hcm: config, clusters: deps.clusters, clusterStats: deps.clusterStats };
    this.#tracer = deps.telemetry?.tracer(config, deps.trafficDirection ?? 'UNSPECIFIED') ?? null;
    this.#mesh = deps.telemetry?.http(deps.trafficDirection ?? 'UNSPECIFIED') ?? null;
    this.#normalize = normalizationEnabled(config);
  }

  get #h1(): Http1Codec {
    return this.#http1 ??= new Http1Codec({
      maxHeaderBytes: this.config.maxRequestHeadersKb * 1024,
      maxHeadersCount: this.config.maxHeadersCount,
      requestHeadersTimeoutMs: this.config.requestHeadersTimeoutMs,
      idleTimeoutMs: this.config.idleTimeoutMs,
      maxConnectionDurationMs: this.config.maxConnectionDurationMs,
      onExchange: (ex) => this.#onExchange(ex),
      onBadRequest: (info, code, reason) => this.#onBadRequest(info, code, reason),
    });
  }

  get #h2(): Http2Codec {
    return this.#http2 ??= new Http2Codec({
      http2: this.config.http2,
      maxHeaderBytes: this.config.maxRequestHeadersKb * 1024,
      idleTimeoutMs: this.config.idleTimeoutMs,
      maxConnectionDurationMs: this.config.maxConnectionDurationMs,
      onExchange: (ex) => this.#onExchange(ex),
    });
  }

  /**
   * Serves one connection. `alpn` is the negotiated ALPN for TLS; `first` the bytes already read from a plaintext
   * socket (they are put back before the codec reads), or null when nothing was read.
   */
  handleConnection(socket: Duplex, info: DownstreamConnectionInfo, alpn: string | null, first: Buffer | null): void {
    this.#stats.cxTotal.inc();
    this.#stats.cxActive.inc();
    socket.once('close', () => this.#stats.cxActive.dec());
    const codec = this.config.codecType;
    const h2 = codec === 'HTTP2' || alpn === 'h2' || (codec === 'AUTO' && alpn === null && first !== null && isH2Preface(first));
    if (h2) {
      if (first !== null) socket.unshift(first);
      this.#h2.handleConnection(socket, info);
    } else {
      this.#h1.handleConnection(socket, info);
      if (first !== null) { socket.emit('data', first); }
      socket.resume();
    }
  }

  /**
   * Stop keeping connections alive: each HTTP/1 response carries `connection: close` and HTTP/2 gets GOAWAY.
   * `closeIdle` (shutdown) also closes idle keep-alive connections at once; a config update does not, because a client
   * may be sending its next request on one right now, and that request must not be lost.
   */
  drain(closeIdle: boolean): void {
    this.#draining = true;
    this.#closeIdleWhenDraining ||= closeIdle;
    if (this.#http1 !== null) this.#http1.draining = true;
    if (closeIdle) this.#http1?.closeIdle();
    this.#http2?.closeIdle();
  }

  /** Releases the codec servers (their connection-check timers) once no connection of this manager is left. */
  close(): void {
    this.#http1?.close();
  }

  #onBadRequest(_info: DownstreamConnectionInfo, _code: number, _reason: string): void {
    this.#stats.rq400Bad.inc();
  }

  /**
   * Applies the HCM path normalization before routes and filters see the path (the upstream gets the result).
   * False when the request was answered: 400 for a path that cannot be normalized or REJECT_REQUEST, 307 to the
   * unescaped path for UNESCAPE_AND_REDIRECT (gRPC requests are rejected instead, as Envoy does).
   */
  #normalizePath(req: ActiveRequest, ex: DownstreamExchange): boolean {
    const result = normalizePath(ex.head.path, this.config);
    if (result.outcome === 'continue') { ex.head.path = result.path; return true; }
    const grpc = isGrpcRequest(ex.head.headers);
    if (result.outcome === 'redirect' && !grpc) {
      req.details = 'path_normalization_redirect';
      req.responseCode = sendLocalReply(ex, { status: 307, flag: null, body: '', details: req.details, headers: { location: result.path } }, false, null);
    } else {
      req.details = 'path_normalization_failed';
      req.responseCode = sendLocalReply(ex, { status: 400, flag: null, body: 'Bad Request', details: req.details }, grpc, null);
    }
    req.finish();
    return false;
  }

  #onExchange(ex: DownstreamExchange): void {
    this.#stats.started(ex.head.protocol);
    this.#deps.onActive(1);
    const req = new ActiveRequest(ex, this.#deps.accessLoggers, this.#stats, () => {
      this.#deps.onActive(-1);
      if (this.#closeIdleWhenDraining) this.#http1?.closeIdle();
    });
    req.mesh = this.#mesh;
    const cfg = this.config;
    const headers = ex.head.headers;
    if (cfg.headersWithUnderscoresAction !== 'ALLOW') {
      for (const name in headers) {
        if (!name.includes('_')) continue;
        if (cfg.headersWithUnderscoresAction === 'DROP_HEADER') { delete headers[name]; continue; }
        req.addFlag('DPE');
        req.details = 'unexpected_underscore';
        req.responseCode = sendLocalReply(ex, { status: 400, flag: 'DPE', body: 'Bad Request', details: 'unexpected_underscore' }, false, null);
        req.finish();
        return;
      }
    }
    if (cfg.generateRequestId) {
      const existing = headers['x-request-id'];
      if (typeof existing !== 'string' || existing === '' || (cfg.useRemoteAddress && !cfg.preserveExternalRequestId)) {
        headers['x-request-id'] = randomUUID();
      }
      req.requestId = headers['x-request-id'] as string;
    } else if (typeof headers['x-request-id'] === 'string') {
      req.requestId = headers['x-request-id'];
    }
    if (this.#normalize && pathMayChange(ex.head.path) && !this.#normalizePath(req, ex)) return;
    applyXfcc(headers, ex.connection, cfg.forwardClientCert);
    if (this.#mesh !== null) this.#mesh.onRequest(req);
    if (this.#tracer !== null) req.trace = this.#tracer.start(req);
    const table = this.#table ?? (cfg.rdsRouteConfigName === null ? null : this.#deps.routes.get(cfg.rdsRouteConfigName) ?? null);
    const chain = this.#chain;
    if (chain === null) { routeRequest(req, table, this.#routerDeps); return; }
    // The route is matched once: filters read it (per-route configs, upstream_cluster), then the router uses it.
    const match = table === null ? null : table.match(ex.head);
    chain.run(req, match, () => routeRequest(req, table, this.#routerDeps, match));
  }
}

function isH2Preface(first: Buffer): boolean {
  const n = Math.min(first.length, H2_PREFACE.length);
  return n >= 3 && first.compare(H2_PREFACE, 0, n, 0, n) === 0;
}
