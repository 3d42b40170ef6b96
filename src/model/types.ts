// The one policy model: frozen runtime objects compiled from Envoy v3 resources, read by every part of the request path.
import type { TracingConfig } from './tracing.ts';

/** A compiled, validated, deeply frozen view of one complete configuration. */
export interface Snapshot {
  /** Opaque version (bootstrap: "static"; xDS: a combination of the resource versions). */
  readonly version: string;
  readonly node: NodeInfo;
  readonly admin: AdminConfig | null;
  readonly listeners: readonly ListenerConfig[];
  readonly clusters: ReadonlyMap<string, ClusterConfig>;
  /**
   * Route configurations delivered by RDS, by name. HTTP connection managers with `rdsRouteConfigName` look their
   * table up here for every request, so a route change applies to the next request on every connection.
   * Absent (bootstrap-only config) means none.
   */
  readonly routeConfigs?: ReadonlyMap<string, RouteConfig>;
  /** Secrets from static_resources.secrets and SDS over ADS, by name (absent: none). */
  readonly secrets?: ReadonlyMap<string, SnapshotSecret>;
  /** The input resources as given (proto3 JSON shape), kept for /config_dump. Never read on the request path. */
  readonly source: SnapshotSource;
}

export interface SnapshotSource {
  readonly bootstrap: unknown;
  readonly listeners: readonly unknown[];
  readonly clusters: readonly unknown[];
}

export interface NodeInfo {
  readonly id: string;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface AdminConfig {
  readonly address: SocketAddress;
  readonly accessLogPath: string | null;
}

export interface SocketAddress {
  /** IPv4/IPv6 literal or a hostname (STRICT_DNS clusters). "0.0.0.0" and "::" mean any. */
  readonly host: string;
  readonly port: number;
}

// ---------------------------------------------------------------- listeners

export interface ListenerConfig {
  readonly name: string;
  readonly address: SocketAddress;
  readonly filterChains: readonly FilterChain[];
  readonly defaultFilterChain: FilterChain | null;
  /** Names of listener filters present (envoy.filters.listener.tls_inspector, http_inspector, original_dst). */
  readonly listenerFilters: readonly string[];
  /** ListenerFilter.filter_disabled by filter name: the connections (by destination port) the filter skips. */
  readonly listenerFilterDisabled?: Readonly<Record<string, ListenerFilterPredicate>>;
  readonly perConnectionBufferLimitBytes: number;
  /** Envoy's listener-level `access_log` (connections that match no filter chain). */
  readonly accessLog: readonly AccessLogConfig[];
  /** traffic_direction: INBOUND makes SERVER spans and reports metrics as destination; OUTBOUND makes CLIENT spans (absent = UNSPECIFIED). */
  readonly trafficDirection?: 'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND';
  /** use_original_dst: hand redirected connections to the listener of their original destination (absent = false). */
  readonly useOriginalDst?: boolean;
  /** bind_to_port: false = never bound, reachable only by a use_original_dst handoff (absent = true). */
  readonly bindToPort?: boolean;
  /** listener_filters_timeout in ms (absent = 15000 when a listener filter inspects bytes; 0 = none). */
  readonly listenerFiltersTimeoutMs?: number;
  /** continue_on_listener_filters_timeout (absent = false: close the connection on timeout). */
  readonly continueOnListenerFiltersTimeout?: boolean;
}

export interface FilterChainMatch {
  readonly destinationPort: number | null;
  readonly serverNames: readonly string[];
  /** "tls" | "raw_buffer" | null (any). */
  readonly transportProtocol: string | null;
  readonly applicationProtocols: readonly string[];
  readonly prefixRanges: readonly CidrRange[];
  readonly sourcePrefixRanges: readonly CidrRange[];
}

export interface CidrRange {
  readonly addressPrefix: string;
  readonly prefixLen: number;
}

/** Envoy's ListenerFilterChainMatchPredicate over the connection's destination port (`end` exclusive). */
export type ListenerFilterPredicate =
  | { readonly kind: 'any' }
  | { readonly kind: 'port'; readonly start: number; readonly end: number }
  | { readonly kind: 'or' | 'and'; readonly rules: readonly ListenerFilterPredicate[] }
  | { readonly kind: 'not'; readonly rule: ListenerFilterPredicate };

export interface FilterChain {
  readonly name: string;
  readonly match: FilterChainMatch;
  /** Downstream TLS (transport_socket envoy.transport_sockets.tls) or null for plaintext. */
  readonly tls: DownstreamTlsConfig | null;
  /** The terminal network filter of the chain. */
  readonly network: HttpConnectionManagerConfig | TcpProxyConfig;
}

export interface TlsCertificate {
  /** PEM text, already read from `filename` or taken from `inline_string`/`inline_bytes`. */
  readonly certificateChain: string;
  readonly privateKey: string;
}

export interface DownstreamTlsConfig {
  readonly certificates: readonly TlsCertificate[];
  /** PEM of trusted CAs for client certificates; null = no client cert validation. */
  readonly trustedCa: string | null;
  readonly requireClientCertificate: boolean;
  /** ALPN advertised; default derived from codec (["h2","http/1.1"]). */
  readonly alpnProtocols: readonly string[];
  readonly minVersion: TlsVersion | null;
  readonly maxVersion: TlsVersion | null;
  readonly matchSubjectAltNames: readonly StringMatcher[];
  /** Same matchers as matchSubjectAltNames, with the SAN type each applies to (added by the model compiler). */
  readonly subjectAltNameMatchers?: readonly SubjectAltNameMatcher[];
  /** SDS secrets resolved at handshake time (tls_certificate_sds_secret_configs, validation_context_sds_secret_config). */
  readonly sds?: TlsSdsRefs | null;
  /** FilterChain.transport_socket_connect_timeout: the TLS handshake must finish within this (absent: 10 s). */
  readonly handshakeTimeoutMs?: number;
}

/** Where a secret named by an SdsSecretConfig comes from: `sds_config.ads` (ADS), another sds_config (the local identity agent), none (static_resources.secrets). */
export type SdsSource = 'ads' | 'local' | 'static';

export interface SdsSecretRef {
  readonly name: string;
  readonly source: SdsSource;
}

/** The SDS secrets a TLS context names; their content is looked up in the process's SecretStore per handshake. */
export interface TlsSdsRefs {
  /** tls_certificate_sds_secret_configs (the first one that resolves is used). */
  readonly certificates: readonly SdsSecretRef[];
  /** validation_context_sds_secret_config, or the one in combined_validation_context. */
  readonly validation: SdsSecretRef | null;
}

/** A Secret resource (static_resources.secrets or SDS): a certificate with its key, or a validation context. */
export interface SecretConfig {
  readonly name: string;
  readonly tlsCertificate: TlsCertificate | null;
  readonly validationContext: SecretValidationContext | null;
  /** `generic_secret.secret` (the OAuth2 filter's token_secret / hmac_secret); null for the TLS kinds. */
  readonly genericSecret?: string | null;
}

export interface SecretValidationContext {
  /** PEM of the trusted CAs (possibly several roots during a root rotation). */
  readonly trustedCa: string;
  readonly subjectAltNameMatchers: readonly SubjectAltNameMatcher[];
}

/** A secret in a snapshot with its origin and version (for /config_dump). */
export interface SnapshotSecret {
  readonly config: SecretConfig;
  readonly source: 'static' | 'sds';
  /** SDS: the version it was delivered at; static: "". */
  readonly version: string;
}

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/**
 * A SAN matcher with its SAN type (match_typed_subject_alt_names). Legacy match_subject_alt_names compile with
 * sanType "ANY" (matched against DNS, URI, email and IP SANs, as Envoy does).
 */
export interface SubjectAltNameMatcher {
  readonly sanType: 'DNS' | 'URI' | 'EMAIL' | 'IP_ADDRESS' | 'ANY';
  readonly matcher: StringMatcher;
}

export interface UpstreamTlsConfig {
  readonly sni: string | null;
  readonly trustedCa: string | null;
  readonly certificate: TlsCertificate | null;
  readonly alpnProtocols: readonly string[];
  readonly matchSubjectAltNames: readonly StringMatcher[];
  /** Same matchers as matchSubjectAltNames, with the SAN type each applies to (added by the model compiler). */
  readonly subjectAltNameMatchers?: readonly SubjectAltNameMatcher[];
  readonly minVersion: TlsVersion | null;
  readonly maxVersion: TlsVersion | null;
  /** SDS secrets resolved when a connection is made (client certificate, validation context). */
  readonly sds?: TlsSdsRefs | null;
}

/** How the x-forwarded-client-cert header is handled (Envoy's ForwardClientCertDetails). */
export interface ForwardClientCertConfig {
  readonly mode: 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';
  /** set_current_client_cert_details, in Envoy's order: Subject, URI, Cert, Chain, DNS. */
  readonly details: readonly ('Subject' | 'URI' | 'Cert' | 'Chain' | 'DNS')[];
}

// ---------------------------------------------------------------- access log

export interface AccessLogConfig {
  readonly sink: 'stdout' | 'stderr' | 'file';
  /** For sink "file". */
  readonly path: string | null;
  /** Envoy format string (text_format / text_format_source) or null for the default format. */
  readonly textFormat: string | null;
  /** json_format: field name → format string (or nested object), or null. */
  readonly jsonFormat: Readonly<Record<string, unknown>> | null;
  /** AccessLog.filter: only entries it accepts are logged (absent: all). */
  readonly filter?: AccessLogFilter;
}

/** Envoy's AccessLogFilter (the kinds we evaluate). */
export type AccessLogFilter =
  | { readonly kind: 'status_code' | 'duration'; readonly op: 'EQ' | 'GE' | 'LE'; readonly value: number }
  | { readonly kind: 'response_flag'; readonly flags: readonly string[] }
  | { readonly kind: 'and' | 'or'; readonly filters: readonly AccessLogFilter[] };

// ---------------------------------------------------------------- HTTP connection manager

export interface HttpConnectionManagerConfig {
  readonly kind: 'http';
  readonly statPrefix: string;
  /** codec_type: AUTO detects HTTP/1 vs HTTP/2 (preface or ALPN). */
  readonly codecType: 'AUTO' | 'HTTP1' | 'HTTP2';
  /** Inline route_config, or (xDS) the RDS name to wait for. */
  readonly routeConfig: RouteConfig | null;
  readonly rdsRouteConfigName: string | null;
  readonly httpFilters: readonly HttpFilterConfig[];
  readonly accessLog: readonly AccessLogConfig[];
  /** upgrade_configs upgrade types enabled (lower case), e.g. ["websocket"]. */
  readonly upgradeTypes: readonly string[];
  readonly generateRequestId: boolean;
  readonly preserveExternalRequestId: boolean;
  readonly useRemoteAddress: boolean;
  readonly xffNumTrustedHops: number;
  readonly skipXffAppend: boolean;
  /** forward_client_cert_details + set_current_client_cert_details (absent: SANITIZE, Envoy's default). */
  readonly forwardClientCert?: ForwardClientCertConfig;
  /** server_name header value for responses; default "envoy"? we use "pilotfish". */
  readonly serverName: string;
  readonly serverHeaderTransformation: 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';
  readonly streamIdleTimeoutMs: number; // default 300000; 0 disables
  readonly requestTimeoutMs: number; // default 0 (disabled)
  readonly requestHeadersTimeoutMs: number; // default 0 (disabled)
  readonly idleTimeoutMs: number; // common_http_protocol_options.idle_timeout, default 3600000
  readonly maxConnectionDurationMs: number; // 0 disables
  /** common_http_protocol_options.max_stream_duration: default stream duration cap for routes without their own; absent or 0 = none. */
  readonly maxStreamDurationMs?: number;
  readonly maxRequestHeadersKb: number; // default 60
  readonly maxHeadersCount: number; // default 100
  readonly headersWithUnderscoresAction: 'ALLOW' | 'REJECT_REQUEST' | 'DROP_HEADER';
  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  /** path_with_escaped_slashes_action (%2F / %5C in the path); absent = KEEP_UNCHANGED. */
  readonly pathWithEscapedSlashesAction?: 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';
  readonly http2: Http2Options;
  readonly delayedCloseTimeoutMs: number; // default 1000
  readonly drainTimeoutMs: number; // default 5000
  /** `tracing` (src/model/tracing.ts); null or absent = no spans. */
  readonly tracing?: TracingConfig | null;
}

export interface Http2Options {
  readonly maxConcurrentStreams: number; // default 2147483647 (Envoy); edge 100
  readonly initialStreamWindowSize: number; // default 268435456
  readonly initialConnectionWindowSize: number; // default 268435456
}

export interface HttpFilterConfig {
  /** Filter name as configured (e.g. "envoy.filters.http.router"). */
  readonly name: string;
  /** Type URL of typed_config ("type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"). */
  readonly typeUrl: string;
  /** Typed config as given (without "@type"). Filters compile it themselves at registration. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly isOptional: boolean;
  readonly disabled: boolean;
}

// ---------------------------------------------------------------- routes

export interface RouteConfig {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHost[];
  readonly headers: HeaderMutations;
  /** Response headers added by the router (internal_only_headers removed from requests). */
  readonly internalOnlyHeaders: readonly string[];
}

export interface HeaderMutations {
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToRemove: readonly string[];
}

export interface HeaderValueOption {
  /** Lower-case header name. */
  readonly key: string;
  /** Value, possibly containing Envoy %COMMAND% substitutions. */
  readonly value: string;
  /** True when `value` contains a %...% substitution and needs formatting per request. */
  readonly dynamic: boolean;
  readonly appendAction: 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';
  readonly keepEmptyValue: boolean;
}

export interface VirtualHost {
  readonly name: string;
  readonly domains: readonly DomainMatcher[];
  readonly routes: readonly Route[];
  readonly headers: HeaderMutations;
  readonly requireTls: 'NONE' | 'EXTERNAL_ONLY' | 'ALL';
  readonly retryPolicy: RetryPolicy | null;
  readonly typedPerFilterConfig: Readonly<Record<string, unknown>>;
}

/**
 * A compiled domain pattern. Envoy's search order: exact, then suffix wildcards (longest first),
 * then prefix wildcards (longest first), then "*". Patterns may include a port ("example.com:8080").
 */
export interface DomainMatcher {
  readonly kind: 'exact' | 'suffix' | 'prefix' | 'any';
  /** Lower-case: for exact the whole name; for suffix the part after "*"; for prefix the part before "*". */
  readonly value: string;
}

export interface Route {
  readonly name: string;
  readonly match: RouteMatch;
  readonly action: RouteAction | RedirectAction | DirectResponseAction;
  readonly headers: HeaderMutations;
  readonly typedPerFilterConfig: Readonly<Record<string, unknown>>;
}

export interface RouteMatch {
  readonly pathKind: 'prefix' | 'path' | 'regex' | 'path_separated_prefix';
  /** prefix/path/path_separated_prefix literal; for regex the source. */
  readonly pathValue: string;
  /** Compiled anchored regex for pathKind "regex" (matched against the path without query). */
  readonly pathRegex: RegExp | null;
  readonly caseSensitive: boolean;
  readonly headers: readonly HeaderMatcher[];
  readonly queryParameters: readonly QueryParameterMatcher[];
  /** match.grpc: only requests with content-type application/grpc*. */
  readonly grpc: boolean;
}

export interface StringMatcher {
  readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains' | 'regex';
  readonly value: string;
  readonly regex: RegExp | null;
  readonly ignoreCase: boolean;
}

export interface HeaderMatcher {
  /** Lower-case header name; ":authority", ":method", ":path", ":scheme" pseudo headers allowed. */
  readonly name: string;
  /** null → present_match semantics according to `presentMatch`. */
  readonly string: StringMatcher | null;
  readonly presentMatch: boolean | null;
  readonly rangeMatch: { readonly start: number; readonly end: number } | null;
  readonly invertMatch: boolean;
  readonly treatMissingAsEmpty: boolean;
}

export interface QueryParameterMatcher {
  readonly name: string;
  readonly string: StringMatcher | null;
  readonly presentMatch: boolean;
}

export interface WeightedCluster {
  readonly name: string;
  readonly weight: number;
  readonly headers: HeaderMutations;
}

export interface RouteAction {
  readonly kind: 'route';
  /** Exactly one of cluster, weightedClusters, clusterHeader is set. */
  readonly cluster: string | null;
  readonly weightedClusters: readonly WeightedCluster[] | null;
  readonly totalWeight: number;
  readonly clusterHeader: string | null;
  readonly clusterNotFoundResponseCode: number; // 503 default (SERVICE_UNAVAILABLE), 404 NOT_FOUND, 500
  readonly prefixRewrite: string | null;
  readonly regexRewrite: { readonly pattern: RegExp; readonly substitution: string } | null;
  readonly hostRewriteLiteral: string | null;
  readonly autoHostRewrite: boolean;
  readonly hostRewriteHeader: string | null;
  /** Whole-request timeout; default 15000; 0 disables. */
  readonly timeoutMs: number;
  /** Per-route stream idle timeout; null uses the connection manager's. */
  readonly idleTimeoutMs: number | null;
  readonly retryPolicy: RetryPolicy | null;
  readonly hashPolicy: readonly HashPolicy[];
  readonly upgradeTypes: readonly string[] | null;
  /**
   * Route-level upgrade_configs as given: upgrade type (lower case) → enabled. A type mapped to false is disabled on
   * this route even if the connection manager enables it; true enables it even if the connection manager does not.
   * Absent when the route has no upgrade_configs (added by the model compiler).
   */
  readonly upgradeOverrides?: Readonly<Record<string, boolean>>;
  readonly maxStreamDurationMs: number | null;
  readonly grpcTimeoutHeaderMaxMs: number | null;
}

export interface RetryPolicy {
  readonly retryOn: readonly string[];
  readonly numRetries: number; // default 1
  readonly perTryTimeoutMs: number; // 0 = none
  readonly backOffBaseMs: number; // default 25
  readonly backOffMaxMs: number; // default 10 x base
  readonly retriableStatusCodes: readonly number[];
  readonly retriableHeaders: readonly HeaderMatcher[];
  readonly previousHostsPredicate: boolean;
  readonly hostSelectionRetryMaxAttempts: number;
}

export type HashPolicy =
  | { readonly kind: 'header'; readonly name: string; readonly terminal: boolean }
  | { readonly kind: 'cookie'; readonly name: string; readonly ttlSeconds: number | null; readonly path: string | null; readonly terminal: boolean }
  | { readonly kind: 'source_ip'; readonly terminal: boolean }
  | { readonly kind: 'query_parameter'; readonly name: string; readonly terminal: boolean };

export interface RedirectAction {
  readonly kind: 'redirect';
  readonly schemeRedirect: string | null; // "https" when https_redirect: true
  readonly hostRedirect: string | null;
  readonly portRedirect: number | null;
  readonly pathRedirect: string | null;
  readonly prefixRewrite: string | null;
  readonly regexRewrite: { readonly pattern: RegExp; readonly substitution: string } | null;
  readonly responseCode: 301 | 302 | 303 | 307 | 308; // MOVED_PERMANENTLY default
  readonly stripQuery: boolean;
}

export interface DirectResponseAction {
  readonly kind: 'direct_response';
  readonly status: number;
  /** Body text (from inline_string / inline_bytes decoded / filename read at compile time by the source). */
  readonly body: string | null;
}

// ---------------------------------------------------------------- TCP proxy

export interface TcpProxyConfig {
  readonly kind: 'tcp';
  readonly statPrefix: string;
  readonly cluster: string | null;
  readonly weightedClusters: readonly { readonly name: string; readonly weight: number }[] | null;
  readonly totalWeight: number;
  readonly idleTimeoutMs: number; // default 3600000; 0 disables
  readonly maxConnectAttempts: number; // default 1
  readonly accessLog: readonly AccessLogConfig[];
}

// ---------------------------------------------------------------- clusters

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'CLUSTER_PROVIDED';

export interface ClusterConfig {
  readonly name: string;
  readonly type: 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';
  readonly connectTimeoutMs: number; // default 5000
  readonly lbPolicy: LbPolicy;
  readonly leastRequestChoiceCount: number; // default 2
  readonly ringHash: { readonly minimumRingSize: number; readonly maximumRingSize: number }; // 1024 / 8388608
  /** Upstream protocol: http1 (default), http2 (http2_protocol_options / explicit_http_config), or downstream (use_downstream_protocol_config). */
  readonly protocol: 'http1' | 'http2' | 'downstream';
  readonly http2: Http2Options;
  /** From common_http_protocol_options. */
  readonly idleTimeoutMs: number; // default 3600000
  readonly maxRequestsPerConnection: number; // 0 = unlimited
  readonly dnsRefreshRateMs: number; // default 5000
  readonly dnsLookupFamily: 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
  readonly respectDnsTtl: boolean;
  /** Endpoints from load_assignment (STATIC/STRICT_DNS/LOGICAL_DNS) or EDS (ClusterLoadAssignment). */
  readonly loadAssignment: LoadAssignment | null;
  /** EDS service name when type is EDS (eds_cluster_config.service_name, else the cluster name). */
  readonly edsServiceName: string | null;
  readonly tls: UpstreamTlsConfig | null;
  readonly circuitBreakers: CircuitBreakerThresholds;
  readonly perConnectionBufferLimitBytes: number;
  /** common_http_protocol_options.max_stream_duration: cap on each upstream attempt (UMSDR); absent or 0 = none. */
  readonly maxStreamDurationMs?: number;
  /** Passive health checking (outlier_detection); null when not configured. */
  readonly outlierDetection: OutlierDetectionConfig | null;
  /** Active health checks (health_checks); empty when not configured. */
  readonly healthChecks: readonly HealthCheckConfig[];
  /** common_lb_config.healthy_panic_threshold in percent (default 50; 0 disables panic mode). */
  readonly healthyPanicThreshold: number;
  /** ORIGINAL_DST clusters only: original_dst_lb_config and cleanup_interval. */
  readonly originalDst?: OriginalDstClusterConfig;
  /** upstream_bind_config.source_address.address: the IP every upstream connection binds to (port chosen by the kernel); absent: any. */
  readonly upstreamBindAddress?: string;
}

/** How an ORIGINAL_DST cluster finds its host per connection or request, and how long idle hosts live. */
export interface OriginalDstClusterConfig {
  /** original_dst_lb_config.use_http_header: the request header (below) overrides the connection's original destination. */
  readonly useHttpHeader: boolean;
  /** Lower-case header name (http_header_name, default x-envoy-original-dst-host). */
  readonly httpHeaderName: string;
  /** upstream_port_override (null: keep the destination's port). */
  readonly upstreamPortOverride: number | null;
  /** cleanup_interval: hosts not used for this long are removed (default 5000). */
  readonly cleanupIntervalMs: number;
}

export interface CircuitBreakerThresholds {
  readonly maxConnections: number; // default 1024
  readonly maxPendingRequests: number; // default 1024
  readonly maxRequests: number; // default 1024
  readonly maxRetries: number; // default 3
  /** retry_budget: when present it replaces maxRetries (absent when not configured). */
  readonly retryBudget?: RetryBudgetConfig | null;
}

/** Envoy's CircuitBreakers.Thresholds.RetryBudget with defaults applied. */
export interface RetryBudgetConfig {
  /** Share of active requests (plus pending) that may be retries at once, 0..100 (default 20). */
  readonly budgetPercent: number;
  /** Retries always allowed regardless of the share (default 3). */
  readonly minRetryConcurrency: number;
}

export interface LoadAssignment {
  readonly clusterName: string;
  readonly endpoints: readonly LocalityEndpoints[];
}

export interface LocalityEndpoints {
  readonly locality: { readonly region: string; readonly zone: string; readonly subZone: string } | null;
  readonly priority: number;
  readonly loadBalancingWeight: number | null;
  readonly lbEndpoints: readonly EndpointConfig[];
}

export interface EndpointConfig {
  readonly address: SocketAddress;
  readonly hostname: string | null;
  readonly weight: number; // load_balancing_weight, default 1
  readonly healthStatus: 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';
}

// ---------------------------------------------------------------- outlier detection and health checks

/** Envoy's OutlierDetection with defaults applied; percentages are 0..100, times in ms. */
export interface OutlierDetectionConfig {
  readonly consecutive5xx: number; // 5
  readonly consecutiveGatewayFailure: number; // 5
  readonly consecutiveLocalOriginFailure: number; // 5
  readonly intervalMs: number; // 10000
  readonly baseEjectionTimeMs: number; // 30000
  readonly maxEjectionTimeMs: number; // max(300000, baseEjectionTimeMs)
  readonly maxEjectionTimeJitterMs: number; // 0
  readonly maxEjectionPercent: number; // 10
  readonly alwaysEjectOneHost: boolean; // false
  readonly enforcingConsecutive5xx: number; // 100
  readonly enforcingConsecutiveGatewayFailure: number; // 0
  readonly enforcingConsecutiveLocalOriginFailure: number; // 100
  readonly enforcingSuccessRate: number; // 100
  readonly enforcingLocalOriginSuccessRate: number; // 100
  readonly successRateMinimumHosts: number; // 5
  readonly successRateRequestVolume: number; // 100
  readonly successRateStdevFactor: number; // 1900 (divided by 1000)
  readonly failurePercentageThreshold: number; // 85
  readonly enforcingFailurePercentage: number; // 0
  readonly enforcingFailurePercentageLocalOrigin: number; // 0
  readonly failurePercentageMinimumHosts: number; // 5
  readonly failurePercentageRequestVolume: number; // 50
  readonly splitExternalLocalOriginErrors: boolean; // false
  readonly successfulActiveHealthCheckUnejectHost: boolean; // true
}

/** A half-open status range [start, end) of HttpHealthCheck.expected_statuses / retriable_statuses. */
export interface StatusRange {
  readonly start: number;
  readonly end: number;
}

export interface HttpHealthCheckConfig {
  readonly kind: 'http';
  /** Host header; empty → the cluster name. */
  readonly host: string;
  readonly path: string;
  readonly method: string; // GET
  readonly expectedStatuses: readonly StatusRange[]; // [200, 201)
  readonly retriableStatuses: readonly StatusRange[];
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly codec: 'http1' | 'http2';
  /** Hex segments the response body must contain, in order (HttpHealthCheck.receive); empty: any body. */
  readonly receive: readonly string[];
  /** How much of the body is searched for `receive` (response_buffer_size, default 1024). */
  readonly responseBufferSize: number;
}

export interface TcpHealthCheckConfig {
  readonly kind: 'tcp';
  /** Hex bytes written after connecting (null: connect only). Hex, because frozen model objects cannot hold Buffers. */
  readonly send: string | null;
  /** Hex segments the response must contain, in order (empty: success on connect). */
  readonly receive: readonly string[];
}

export interface GrpcHealthCheckConfig {
  readonly kind: 'grpc';
  readonly serviceName: string;
  /** :authority; empty → the cluster name. */
  readonly authority: string;
  readonly initialMetadata: readonly HeaderValueOption[];
}

/** One entry of Cluster.health_checks. */
export interface HealthCheckConfig {
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly initialJitterMs: number; // 0
  readonly intervalJitterMs: number; // 0
  readonly intervalJitterPercent: number; // 0
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  readonly reuseConnection: boolean; // true
  readonly noTrafficIntervalMs: number; // 60000
  readonly noTrafficHealthyIntervalMs: number; // noTrafficIntervalMs
  readonly unhealthyIntervalMs: number; // intervalMs
  readonly unhealthyEdgeIntervalMs: number; // unhealthyIntervalMs
  readonly healthyEdgeIntervalMs: number; // intervalMs
  readonly checker: HttpHealthCheckConfig | TcpHealthCheckConfig | GrpcHealthCheckConfig;
}

// ---------------------------------------------------------------- compilation results

/** One validation error: which resource, which field (dotted path, proto field names), what is wrong. */
export interface ConfigError {
  /** e.g. "listener \"ingress\"", "cluster \"backend\"", "bootstrap". */
  readonly resource: string;
  /** Dotted path in proto field names, e.g. "filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[1].routes[3].match.safe_regex.regex". */
  readonly field: string;
  readonly message: string;
}

export interface ConfigWarning {
  readonly resource: string;
  readonly field: string;
  readonly message: string;
}

export type CompileResult<T> =
  | { readonly ok: true; readonly value: T; readonly warnings: readonly ConfigWarning[] }
  | { readonly ok: false; readonly errors: readonly ConfigError[]; readonly warnings: readonly ConfigWarning[] };
