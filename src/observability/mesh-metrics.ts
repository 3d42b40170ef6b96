// Istio's standard mesh metrics (istio_requests_total, durations and sizes, TCP bytes and connections) with labels from bounded sets only.
import type { ActiveRequest } from '../http/active-request.ts';
import type { HeaderRecord } from '../http/exchange.ts';
import { DEFAULT_BUCKETS_MS } from './stats.ts';
import type { MeshIdentity } from './mesh-identity.ts';
import type { AccessLogEntry, Counter, Histogram, Labels } from './types.ts';

export interface MetricsSink {
  counter(name: string, labels?: Labels): Counter;
  histogram(name: string, labels?: Labels, buckets?: readonly number[]): Histogram;
  describe?(name: string, help: string): void;
}

export type Direction = 'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND';

/** Request header one sidecar's outbound side sets to its workload name and the next sidecar's inbound side reads and removes. */
export const PEER_WORKLOAD_HEADER = 'x-pilotfish-peer-workload';

/** Byte-size buckets (powers of ten, 1 B – 100 MB), as Istio's size histograms. */
export const BYTES_BUCKETS: readonly number[] = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

const HELP: Readonly<Record<string, string>> = {
  istio_requests_total: 'Requests through this sidecar, by reporter, source workload, destination service, response code, response flags and protocol.',
  istio_request_duration_milliseconds: 'Request duration in milliseconds, from the first request byte to the end of the response.',
  istio_request_bytes: 'Request body size in bytes.',
  istio_response_bytes: 'Response body size in bytes.',
  istio_tcp_connections_opened_total: 'TCP connections opened through tcp_proxy.',
  istio_tcp_connections_closed_total: 'TCP connections closed through tcp_proxy.',
  istio_tcp_sent_bytes_total: 'Bytes sent to the downstream peer of tcp_proxy connections (counted when a connection closes).',
  istio_tcp_received_bytes_total: 'Bytes received from the downstream peer of tcp_proxy connections (counted when a connection closes).',
};

const LABEL_VALUE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** A label fed from outside (a peer's workload name): well-formed values up to `max` distinct ones, then "other"; bad values "unknown". */
export class BoundedLabel {
  readonly #seen = new Set<string>();
  readonly #max: number;
  constructor(max: number) { this.#max = max; }
  value(v: string | undefined): string {
    if (v === undefined || !LABEL_VALUE.test(v)) return 'unknown';
    if (this.#seen.has(v)) return v;
    if (this.#seen.size >= this.#max) return 'other';
    this.#seen.add(v);
    return v;
  }
}

/** The service a cluster stands for: Istio-style "outbound|port|subset|fqdn" → fqdn; any other name as is. */
export function clusterService(cluster: string | null): string {
  if (cluster === null || cluster === '') return 'unknown';
  if (cluster.startsWith('outbound|') || cluster.startsWith('inbound|')) {
    const parts = cluster.split('|');
    return parts[parts.length - 1] || 'unknown';
  }
  return cluster;
}

interface HttpSeries { readonly total: Counter; readonly duration: Histogram; readonly reqBytes: Histogram; readonly respBytes: Histogram }

/** The process-wide metrics: one family per name, shared by every connection manager and tcp_proxy. */
export class MeshMetrics {
  readonly #sink: MetricsSink;
  #identity: MeshIdentity;
  readonly #peers = new BoundedLabel(100);
  readonly #described = new Set<string>();

  constructor(sink: MetricsSink, identity: MeshIdentity) {
    this.#sink = sink;
    this.#identity = identity;
  }

  set identity(id: MeshIdentity) { this.#identity = id; }
  get identity(): MeshIdentity { return this.#identity; }

  /** Bounded source workload label from a peer's header value. */
  peerLabel(v: string | undefined): string { return this.#peers.value(v); }

  /** The destination_service label of an inbound side: this workload's service. */
  ownService(): string { return this.#identity.destinationService; }

  counter(name: string, labels: Labels): Counter {
    const c = this.#sink.counter(name, labels);
    this.#describe(name);
    return c;
  }

  histogram(name: string, labels: Labels, buckets: readonly number[]): Histogram {
    const h = this.#sink.histogram(name, labels, buckets);
    this.#describe(name);
    return h;
  }

  #describe(name: string): void {
    if (this.#described.has(name)) return;
    this.#described.add(name);
    this.#sink.describe?.(name, HELP[name] ?? name);
  }

  http(direction: Direction): HcmMeshMetrics { return new HcmMeshMetrics(this, direction); }
  tcp(direction: Direction): TcpMeshMetrics { return new TcpMeshMetrics(this, direction); }
}

/** One connection manager's request metrics; series handles are cached per label combination. */
export class HcmMeshMetrics {
  readonly #m: MeshMetrics;
  readonly #inbound: boolean;
  readonly #outbound: boolean;
  readonly #reporter: string;
  readonly #series = new Map<string, HttpSeries>();

  constructor(m: MeshMetrics, direction: Direction) {
    this.#m = m;
    this.#inbound = direction === 'INBOUND';
    this.#outbound = direction === 'OUTBOUND';
    this.#reporter = this.#inbound ? 'destination' : 'source';
  }

  /** At request start: the inbound side takes the peer's workload header off the request; the outbound side sets its own. */
  onRequest(req: ActiveRequest): void {
    const h = req.ex.head.headers;
    if (this.#inbound) {
      const v = h[PEER_WORKLOAD_HEADER];
      if (v !== undefined) {
        req.peerWorkload = this.#m.peerLabel(Array.isArray(v) ? v[0] : v);
        delete h[PEER_WORKLOAD_HEADER];
      } else if (req.ex.connection.peerUriSans.length > 0) {
        const sa = spiffeServiceAccount(req.ex.connection.peerUriSans);
        if (sa !== null) req.peerWorkload = this.#m.peerLabel(sa);
      }
    } else if (this.#outbound) {
      h[PEER_WORKLOAD_HEADER] = this.#m.identity.service;
    }
  }

  /** At request end (ActiveRequest.finish). */
  record(req: ActiveRequest, durationMs: number): void {
    const grpc = isGrpc(req.ex.head.headers);
    const flags = req.flags === null ? '-' : req.flags.join(',');
    const code = req.responseCode;
    const peer = this.#inbound ? req.peerWorkload ?? 'unknown' : req.clusterName ?? '';
    const key = `${code}|${flags}|${grpc ? 1 : 0}|${peer}`;
    let s = this.#series.get(key);
    if (s === undefined) {
      const id = this.#m.identity;
      const labels: Labels = {
        reporter: this.#reporter,
        source_workload: this.#inbound ? peer : id.service,
        destination_service: this.#inbound ? this.#m.ownService() : clusterService(req.clusterName),
        response_code: code >= 100 && code <= 599 ? String(code) : '0',
        response_flags: flags,
        request_protocol: grpc ? 'grpc' : 'http',
      };
      s = {
        total: this.#m.counter('istio_requests_total', labels),
        duration: this.#m.histogram('istio_request_duration_milliseconds', labels, DEFAULT_BUCKETS_MS),
        reqBytes: this.#m.histogram('istio_request_bytes', labels, BYTES_BUCKETS),
        respBytes: this.#m.histogram('istio_response_bytes', labels, BYTES_BUCKETS),
      };
      this.#series.set(key, s);
    }
    s.total.inc();
    s.duration.record(durationMs);
    s.reqBytes.record(req.bytesReceived);
    s.respBytes.record(req.ex.bytesSent());
  }
}

interface TcpSeries { readonly opened: Counter; readonly closed: Counter; readonly sent: Counter; readonly received: Counter }

/** One tcp_proxy listener's connection metrics. */
export class TcpMeshMetrics {
  readonly #m: MeshMetrics;
  readonly #inbound: boolean;
  readonly #series = new Map<string, TcpSeries>();

  constructor(m: MeshMetrics, direction: Direction) {
    this.#m = m;
    this.#inbound = direction === 'INBOUND';
  }

  #get(cluster: string | null, flags: string): TcpSeries {
    const key = `${cluster ?? ''}|${flags}`;
    let s = this.#series.get(key);
    if (s === undefined) {
      const id = this.#m.identity;
      const labels: Labels = {
        reporter: this.#inbound ? 'destination' : 'source',
        source_workload: this.#inbound ? 'unknown' : id.service,
        destination_service: this.#inbound ? this.#m.ownService() : clusterService(cluster),
        response_flags: flags,
        request_protocol: 'tcp',
      };
      s = {
        opened: this.#m.counter('istio_tcp_connections_opened_total', labels),
        closed: this.#m.counter('istio_tcp_connections_closed_total', labels),
        sent: this.#m.counter('istio_tcp_sent_bytes_total', labels),
        received: this.#m.counter('istio_tcp_received_bytes_total', labels),
      };
      this.#series.set(key, s);
    }
    return s;
  }

  /** A connection was handed to tcp_proxy and got its cluster. */
  opened(cluster: string | null): void { this.#get(cluster, '-').opened.inc(); }

  /** The connection is over (its access-log entry). */
  closed(e: AccessLogEntry): void {
    const s = this.#get(e.upstreamCluster, e.responseFlags);
    s.closed.inc();
    s.sent.inc(e.bytesSent);
    s.received.inc(e.bytesReceived);
  }
}

/** The service account of a verified peer's SPIFFE ID (spiffe://<domain>/ns/<ns>/sa/<sa>), or null. */
export function spiffeServiceAccount(sans: readonly string[]): string | null {
  for (const s of sans) {
    const m = /^spiffe:\/\/[^/]+\/ns\/[^/]+\/sa\/([^/]+)$/.exec(s);
    if (m !== null) return m[1];
  }
  return null;
}

function isGrpc(h: HeaderRecord): boolean {
  const ct = h['content-type'];
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}
