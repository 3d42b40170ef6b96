// Contracts of observability: stats handles and access-log entries, shared by the request path and the admin server.

export interface Counter { inc(n?: number): void; readonly value: number }
export interface Gauge { set(v: number): void; inc(n?: number): void; dec(n?: number): void; readonly value: number }
export interface Histogram { record(v: number): void }
export type Labels = Readonly<Record<string, string>>;

/** Everything an access-log line can report about one HTTP request or one TCP connection. */
export interface AccessLogEntry {
  /** Epoch milliseconds when the request (or connection) started. */
  startTime: number;
  /** null for TCP connections. */
  method: string | null;
  /** Original path as the client sent it (before rewrites). */
  path: string | null;
  /** "http" / "https" for HTTP requests (%REQ(:SCHEME)%). */
  scheme?: string | null;
  /** "HTTP/1.1", "HTTP/2", "HTTP/1.0", or null for TCP. */
  protocol: string | null;
  /** 0 when no response was sent (reset, TCP). */
  responseCode: number;
  /** Envoy response flags joined with "," (e.g. "UF,URX"), or "-" when none. */
  responseFlags: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  /** Milliseconds from upstream request start to its response headers, or null. */
  upstreamServiceTimeMs: number | null;
  upstreamHost: string | null;
  upstreamCluster: string | null;
  upstreamLocalAddress: string | null;
  downstreamRemoteAddress: string;
  downstreamLocalAddress: string;
  requestId: string | null;
  authority: string | null;
  userAgent: string | null;
  forwardedFor: string | null;
  routeName: string | null;
  /** Request / response headers (lower-case names) for %REQ(X)% and %RESP(X)% formats; may be null for TCP. */
  requestHeaders: Readonly<Record<string, string | string[] | undefined>> | null;
  responseHeaders: Readonly<Record<string, string | string[] | undefined>> | null;
  responseTrailers: Readonly<Record<string, string | string[] | undefined>> | null;
  /** Free-form details (e.g. "upstream_reset_before_response_started{connection_failure}"). */
  responseCodeDetails: string | null;
  connectionTerminationDetails: string | null;
  /** Dynamic metadata by namespace (e.g. "envoy.filters.http.rbac"), for %DYNAMIC_METADATA(NS:KEY)%; absent or null: none. */
  dynamicMetadata?: Readonly<Record<string, Readonly<Record<string, unknown>>>> | null;
}

/** A compiled sink for one access_log entry of the config. log() must never block the caller. */
export interface AccessLogger {
  log(entry: AccessLogEntry): void;
  /** Flush pending lines (used at shutdown). */
  flush(): Promise<void>;
}
