// The state of one request while it is being proxied, and the access-log entry and stats it leaves when done.
import type { HcmMeshMetrics } from '../observability/mesh-metrics.ts';
import type { RequestTrace } from '../observability/tracing/request-trace.ts';
import type { AccessLogEntry, AccessLogger } from '../observability/types.ts';
import type { ResponseFlag } from './error-response.ts';
import type { DownstreamConnectionInfo, DownstreamExchange, HeaderRecord, RequestHead } from './exchange.ts';
import type { HcmStats } from './hcm-stats.ts';

export class ActiveRequest {
  readonly ex: DownstreamExchange;
  readonly startTime = Date.now();
  readonly startHr = performance.now();
  requestId: string | null = null;
  routeName: string | null = null;
  clusterName: string | null = null;
  upstreamHost: string | null = null;
  upstreamLocalAddress: string | null = null;
  upstreamServiceTimeMs: number | null = null;
  responseCode = 0;
  /** Request body bytes handed to the upstream. */
  bytesReceived = 0;
  responseHeaders: HeaderRecord | null = null;
  responseTrailers: HeaderRecord | null = null;
  details: string | null = null;
  flags: ResponseFlag[] | null = null;
  /** Envoy's dynamic metadata set by filters (namespace → fields), for %DYNAMIC_METADATA(...)% in access logs. */
  dynamicMetadata: Record<string, Record<string, unknown>> | null = null;
  /** Spans of this request, when its connection manager traces. */
  trace: RequestTrace | null = null;
  /** Istio-style request metrics of the connection manager, and the peer's workload (bounded label) seen on the inbound side. */
  mesh: HcmMeshMetrics | null = null;
  peerWorkload: string | null = null;
  #finished = false;
  readonly #loggers: readonly AccessLogger[];
  readonly #stats: HcmStats;
  readonly #onFinish: (r: ActiveRequest) => void;

  constructor(ex: DownstreamExchange, loggers: readonly AccessLogger[], stats: HcmStats, onFinish: (r: ActiveRequest) => void) {
    this.ex = ex;
    this.#loggers = loggers;
    this.#stats = stats;
    this.#onFinish = onFinish;
  }

  // HeaderFormatContext: what %COMMAND% header values read.
  get head(): RequestHead { return this.ex.head; }
  get connection(): DownstreamConnectionInfo { return this.ex.connection; }
  get upstreamCluster(): string | null { return this.clusterName; }

  addFlag(flag: ResponseFlag): void {
    if (this.flags === null) this.flags = [flag];
    else if (!this.flags.includes(flag)) this.flags.push(flag);
  }

  /** Merges `fields` into a dynamic metadata namespace (Envoy's setDynamicMetadata: later keys win). */
  setDynamicMetadata(namespace: string, fields: Readonly<Record<string, unknown>>): void {
    this.dynamicMetadata ??= {};
    const ns = this.dynamicMetadata[namespace];
    this.dynamicMetadata[namespace] = ns === undefined ? { ...fields } : Object.assign(ns, fields);
  }

  get finished(): boolean { return this.#finished; }

  /** The connection manager's stats (timeouts counted by the forwarder). */
  get hcmStats(): HcmStats { return this.#stats; }

  /** Called exactly once when the exchange is over (success, local reply, or reset). */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const durationMs = performance.now() - this.startHr;
    this.#stats.completed(this.responseCode, durationMs, this.ex.head.protocol);
    if (this.trace !== null) this.trace.finish();
    if (this.mesh !== null) this.mesh.record(this, durationMs);
    this.#onFinish(this);
    if (this.#loggers.length === 0) return;
    const entry = this.toLogEntry(Math.round(durationMs));
    for (const l of this.#loggers) l.log(entry);
  }

  toLogEntry(durationMs: number): AccessLogEntry {
    const ex = this.ex;
    const h = ex.head.headers;
    const conn = ex.connection;
    const one = (v: string | string[] | undefined): string | null => (v === undefined ? null : Array.isArray(v) ? v.join(',') : v);
    return {
      startTime: this.startTime,
      method: ex.head.method,
      path: ex.head.path,
      protocol: ex.head.protocol,
      responseCode: this.responseCode,
      responseFlags: this.flags === null ? '-' : this.flags.join(','),
      bytesReceived: this.bytesReceived,
      bytesSent: ex.bytesSent(),
      durationMs,
      upstreamServiceTimeMs: this.upstreamServiceTimeMs,
      upstreamHost: this.upstreamHost,
      upstreamCluster: this.clusterName,
      upstreamLocalAddress: this.upstreamLocalAddress,
      downstreamRemoteAddress: `${conn.remoteAddress}:${conn.remotePort}`,
      downstreamLocalAddress: `${conn.localAddress}:${conn.localPort}`,
      requestId: this.requestId,
      authority: ex.head.authority,
      userAgent: one(h['user-agent']),
      forwardedFor: one(h['x-forwarded-for']),
      routeName: this.routeName,
      // Pseudo headers are not copied in: the formatter falls back to path, method, authority and scheme.
      requestHeaders: h,
      scheme: ex.head.scheme,
      responseHeaders: this.responseHeaders,
      responseTrailers: this.responseTrailers,
      responseCodeDetails: this.details,
      connectionTerminationDetails: null,
      dynamicMetadata: this.dynamicMetadata,
    };
  }
}
