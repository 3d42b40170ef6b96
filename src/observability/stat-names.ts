// Catalogue of the Envoy-style stat names Pilotfish exposes, with their help text (the single place that documents them).
//
// Names are Envoy's Prometheus names (`envoy_<scope>_<stat>`); Envoy's tag values become labels:
//   envoy_cluster_name              cluster.<name>.*            e.g. envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"}
//   envoy_http_conn_manager_prefix  http.<stat_prefix>.*        e.g. envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="ingress_http"}
//   envoy_listener_address          listener.<addr>_<port>.*    e.g. envoy_listener_downstream_cx_total{envoy_listener_address="0.0.0.0_10000"}
//   envoy_tcp_prefix                tcp.<stat_prefix>.*         e.g. envoy_tcp_downstream_cx_total{envoy_tcp_prefix="mysql"}
//   envoy_response_code_class       *_Nxx                       e.g. envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress_http"}
//   envoy_response_code             *_NNN                       e.g. envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="backend"}
// Histograms are in milliseconds with Envoy's default buckets (stats.ts DEFAULT_BUCKETS_MS).
// Gauges marked `max` are per-process facts (not summed across workers by the primary).

export interface StatInfo {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly merge?: 'sum' | 'max';
}

export const STAT_CATALOG: Readonly<Record<string, StatInfo>> = {
  // server.* (no tags)
  envoy_server_live: { type: 'gauge', help: '1 if the server is not draining', merge: 'max' },
  envoy_server_state: { type: 'gauge', help: 'Server state: 0 LIVE, 1 DRAINING, 2 PRE_INITIALIZING, 3 INITIALIZING', merge: 'max' },
  envoy_server_uptime: { type: 'gauge', help: 'Seconds since the server started', merge: 'max' },
  envoy_server_concurrency: { type: 'gauge', help: 'Number of worker processes', merge: 'max' },
  envoy_server_memory_allocated: { type: 'gauge', help: 'Heap bytes in use (summed over workers)' },
  envoy_server_memory_heap_size: { type: 'gauge', help: 'Heap bytes reserved (summed over workers)' },
  envoy_server_total_connections: { type: 'gauge', help: 'Downstream connections open' },
  envoy_server_worker_restarts: { type: 'counter', help: 'Worker processes restarted after dying' },
  // cluster_manager.* / listener_manager.*
  envoy_cluster_manager_active_clusters: { type: 'gauge', help: 'Clusters currently configured', merge: 'max' },
  envoy_cluster_manager_cluster_added: { type: 'counter', help: 'Clusters added' },
  envoy_cluster_manager_cluster_modified: { type: 'counter', help: 'Clusters modified' },
  envoy_cluster_manager_cluster_removed: { type: 'counter', help: 'Clusters removed' },
  envoy_listener_manager_total_listeners_active: { type: 'gauge', help: 'Listeners currently bound', merge: 'max' },
  envoy_listener_manager_listener_added: { type: 'counter', help: 'Listeners added' },
  envoy_listener_manager_listener_modified: { type: 'counter', help: 'Listeners modified' },
  envoy_listener_manager_listener_removed: { type: 'counter', help: 'Listeners removed' },
  // cluster.<name>.*
  envoy_cluster_upstream_rq_total: { type: 'counter', help: 'Upstream requests' },
  envoy_cluster_upstream_rq_active: { type: 'gauge', help: 'Upstream requests in flight' },
  envoy_cluster_upstream_rq_pending_active: { type: 'gauge', help: 'Upstream requests waiting for a connection' },
  envoy_cluster_upstream_rq_pending_total: { type: 'counter', help: 'Upstream requests that waited for a connection' },
  envoy_cluster_upstream_rq_pending_overflow: { type: 'counter', help: 'Requests that overflowed the pending circuit breaker' },
  envoy_cluster_upstream_rq_completed: { type: 'counter', help: 'Upstream requests completed' },
  envoy_cluster_upstream_rq_xx: { type: 'counter', help: 'Upstream responses by class (envoy_response_code_class)' },
  envoy_cluster_upstream_rq: { type: 'counter', help: 'Upstream responses by code (envoy_response_code)' },
  envoy_cluster_upstream_rq_time: { type: 'histogram', help: 'Upstream request time (ms)' },
  envoy_cluster_upstream_rq_timeout: { type: 'counter', help: 'Upstream requests that timed out' },
  envoy_cluster_upstream_rq_per_try_timeout: { type: 'counter', help: 'Upstream request attempts that hit the per-try timeout' },
  envoy_cluster_upstream_rq_retry: { type: 'counter', help: 'Upstream request retries' },
  envoy_cluster_upstream_rq_retry_success: { type: 'counter', help: 'Upstream retries that succeeded' },
  envoy_cluster_upstream_rq_retry_overflow: { type: 'counter', help: 'Retries not done because of the retry circuit breaker' },
  envoy_cluster_upstream_rq_rx_reset: { type: 'counter', help: 'Upstream requests reset by the upstream' },
  envoy_cluster_upstream_rq_tx_reset: { type: 'counter', help: 'Upstream requests reset by the proxy' },
  envoy_cluster_upstream_cx_total: { type: 'counter', help: 'Upstream connections opened' },
  envoy_cluster_upstream_cx_active: { type: 'gauge', help: 'Upstream connections open' },
  envoy_cluster_upstream_cx_http1_total: { type: 'counter', help: 'Upstream HTTP/1.1 connections' },
  envoy_cluster_upstream_cx_http2_total: { type: 'counter', help: 'Upstream HTTP/2 connections' },
  envoy_cluster_upstream_cx_connect_fail: { type: 'counter', help: 'Upstream connection failures' },
  envoy_cluster_upstream_cx_connect_timeout: { type: 'counter', help: 'Upstream connection timeouts' },
  envoy_cluster_upstream_cx_overflow: { type: 'counter', help: 'Connections refused by the connection circuit breaker' },
  envoy_cluster_upstream_cx_destroy: { type: 'counter', help: 'Upstream connections closed' },
  envoy_cluster_upstream_cx_rx_bytes_total: { type: 'counter', help: 'Bytes received from upstream' },
  envoy_cluster_upstream_cx_tx_bytes_total: { type: 'counter', help: 'Bytes sent to upstream' },
  envoy_cluster_upstream_cx_connect_ms: { type: 'histogram', help: 'Upstream connect time (ms)' },
  envoy_cluster_upstream_cx_length_ms: { type: 'histogram', help: 'Upstream connection length (ms)' },
  envoy_cluster_upstream_cx_none_healthy: { type: 'counter', help: 'Requests with no healthy host to pick' },
  envoy_cluster_upstream_rq_retry_limit_exceeded: { type: 'counter', help: 'Requests not retried because num_retries was used up' },
  envoy_cluster_upstream_rq_max_duration_reached: { type: 'counter', help: 'Upstream attempts reset by the cluster max_stream_duration' },
  envoy_cluster_circuit_breakers_default_cx_open: { type: 'gauge', help: '1 when the max_connections breaker is open', merge: 'max' },
  envoy_cluster_circuit_breakers_default_rq_pending_open: { type: 'gauge', help: '1 when the max_pending_requests breaker is open', merge: 'max' },
  envoy_cluster_circuit_breakers_default_rq_open: { type: 'gauge', help: '1 when the max_requests breaker is open', merge: 'max' },
  envoy_cluster_circuit_breakers_default_rq_retry_open: { type: 'gauge', help: '1 when the max_retries breaker (or retry budget) is open', merge: 'max' },
  envoy_cluster_circuit_breakers_default_remaining_cx: { type: 'gauge', help: 'Connections left before max_connections (summed over workers)' },
  envoy_cluster_circuit_breakers_default_remaining_pending: { type: 'gauge', help: 'Pending requests left before max_pending_requests (summed over workers)' },
  envoy_cluster_circuit_breakers_default_remaining_rq: { type: 'gauge', help: 'Requests left before max_requests (summed over workers)' },
  envoy_cluster_circuit_breakers_default_remaining_retries: { type: 'gauge', help: 'Retries left before max_retries or the retry budget (summed over workers)' },
  envoy_cluster_lb_healthy_panic: { type: 'counter', help: 'Load balancing done in panic mode' },
  envoy_cluster_membership_total: { type: 'gauge', help: 'Hosts in the cluster', merge: 'max' },
  envoy_cluster_membership_healthy: { type: 'gauge', help: 'Healthy hosts in the cluster', merge: 'max' },
  // cluster.<name>.outlier_detection.* (only for clusters with outlier_detection)
  envoy_cluster_outlier_detection_ejections_active: { type: 'gauge', help: 'Hosts currently ejected by outlier detection (per worker; the largest is shown)', merge: 'max' },
  envoy_cluster_outlier_detection_ejections_enforced_total: { type: 'counter', help: 'Ejections enforced, any reason' },
  envoy_cluster_outlier_detection_ejections_overflow: { type: 'counter', help: 'Ejections not done because of max_ejection_percent' },
  envoy_cluster_outlier_detection_ejections_enforced_consecutive_5xx: { type: 'counter', help: 'Consecutive 5xx ejections enforced' },
  envoy_cluster_outlier_detection_ejections_detected_consecutive_5xx: { type: 'counter', help: 'Consecutive 5xx outliers detected (enforced or not)' },
  envoy_cluster_outlier_detection_ejections_enforced_consecutive_gateway_failure: { type: 'counter', help: 'Consecutive gateway failure ejections enforced' },
  envoy_cluster_outlier_detection_ejections_detected_consecutive_gateway_failure: { type: 'counter', help: 'Consecutive gateway failure outliers detected' },
  envoy_cluster_outlier_detection_ejections_enforced_consecutive_local_origin_failure: { type: 'counter', help: 'Consecutive local origin failure ejections enforced' },
  envoy_cluster_outlier_detection_ejections_detected_consecutive_local_origin_failure: { type: 'counter', help: 'Consecutive local origin failure outliers detected' },
  envoy_cluster_outlier_detection_ejections_enforced_success_rate: { type: 'counter', help: 'Success rate ejections enforced' },
  envoy_cluster_outlier_detection_ejections_detected_success_rate: { type: 'counter', help: 'Success rate outliers detected' },
  envoy_cluster_outlier_detection_ejections_enforced_local_origin_success_rate: { type: 'counter', help: 'Local origin success rate ejections enforced' },
  envoy_cluster_outlier_detection_ejections_detected_local_origin_success_rate: { type: 'counter', help: 'Local origin success rate outliers detected' },
  envoy_cluster_outlier_detection_ejections_enforced_failure_percentage: { type: 'counter', help: 'Failure percentage ejections enforced' },
  envoy_cluster_outlier_detection_ejections_detected_failure_percentage: { type: 'counter', help: 'Failure percentage outliers detected' },
  envoy_cluster_outlier_detection_ejections_enforced_local_origin_failure_percentage: { type: 'counter', help: 'Local origin failure percentage ejections enforced' },
  envoy_cluster_outlier_detection_ejections_detected_local_origin_failure_percentage: { type: 'counter', help: 'Local origin failure percentage outliers detected' },
  // cluster.<name>.health_check.* (only for clusters with health_checks)
  envoy_cluster_health_check_attempt: { type: 'counter', help: 'Active health checks started' },
  envoy_cluster_health_check_success: { type: 'counter', help: 'Active health checks that passed' },
  envoy_cluster_health_check_failure: { type: 'counter', help: 'Active health checks that failed (any reason)' },
  envoy_cluster_health_check_network_failure: { type: 'counter', help: 'Active health checks that failed on the network (connect, reset, timeout)' },
  envoy_cluster_health_check_healthy: { type: 'gauge', help: 'Hosts passing active health checks', merge: 'max' },
  // http.<stat_prefix>.*
  envoy_http_downstream_rq_total: { type: 'counter', help: 'Downstream requests' },
  envoy_http_downstream_rq_active: { type: 'gauge', help: 'Downstream requests in flight' },
  envoy_http_downstream_rq_completed: { type: 'counter', help: 'Downstream requests that got a response' },
  envoy_http_downstream_rq_xx: { type: 'counter', help: 'Downstream responses by class (envoy_response_code_class)' },
  envoy_http_downstream_rq_http1_total: { type: 'counter', help: 'Downstream HTTP/1.x requests' },
  envoy_http_downstream_rq_http2_total: { type: 'counter', help: 'Downstream HTTP/2 requests' },
  envoy_http_downstream_rq_time: { type: 'histogram', help: 'Downstream request time (ms)' },
  envoy_http_downstream_rq_timeout: { type: 'counter', help: 'Downstream requests closed by the request timeout' },
  envoy_http_downstream_rq_idle_timeout: { type: 'counter', help: 'Downstream requests closed by the stream idle timeout' },
  envoy_http_downstream_rq_max_duration_reached: { type: 'counter', help: 'Downstream requests closed by max_stream_duration or grpc-timeout' },
  envoy_http_downstream_rq_rx_reset: { type: 'counter', help: 'Downstream requests reset by the client' },
  envoy_http_downstream_rq_tx_reset: { type: 'counter', help: 'Downstream requests reset by the proxy' },
  envoy_http_downstream_cx_total: { type: 'counter', help: 'Downstream connections' },
  envoy_http_downstream_cx_active: { type: 'gauge', help: 'Downstream connections open' },
  envoy_http_downstream_cx_http1_total: { type: 'counter', help: 'Downstream HTTP/1.x connections' },
  envoy_http_downstream_cx_http2_total: { type: 'counter', help: 'Downstream HTTP/2 connections' },
  envoy_http_downstream_cx_ssl_total: { type: 'counter', help: 'Downstream TLS connections' },
  envoy_http_downstream_cx_destroy: { type: 'counter', help: 'Downstream connections closed' },
  envoy_http_downstream_cx_drain_close: { type: 'counter', help: 'Downstream connections closed because of draining' },
  envoy_http_downstream_cx_rx_bytes_total: { type: 'counter', help: 'Bytes received from downstream' },
  envoy_http_downstream_cx_tx_bytes_total: { type: 'counter', help: 'Bytes sent to downstream' },
  envoy_http_downstream_cx_length_ms: { type: 'histogram', help: 'Downstream connection length (ms)' },
  envoy_http_downstream_cx_upgrades_total: { type: 'counter', help: 'Upgraded downstream connections (WebSocket)' },
  envoy_http_no_route: { type: 'counter', help: 'Requests that matched no route' },
  envoy_http_no_cluster: { type: 'counter', help: 'Requests whose route cluster does not exist' },
  envoy_http_rq_redirect: { type: 'counter', help: 'Requests answered with a redirect' },
  envoy_http_rq_direct_response: { type: 'counter', help: 'Requests answered with a direct response' },
  // http.<stat_prefix>.fault.* (envoy.filters.http.fault)
  envoy_http_fault_delays_injected: { type: 'counter', help: 'Requests delayed by the fault filter' },
  envoy_http_fault_aborts_injected: { type: 'counter', help: 'Requests aborted by the fault filter' },
  envoy_http_fault_faults_overflow: { type: 'counter', help: 'Faults not injected because max_active_faults was reached' },
  envoy_http_fault_active_faults: { type: 'gauge', help: 'Requests with a fault in progress' },
  // <stat_prefix>.http_local_rate_limit.* (envoy.filters.http.local_ratelimit; tag envoy_local_http_ratelimit_prefix)
  envoy_http_local_rate_limit_enabled: { type: 'counter', help: 'Requests for which the local rate limiter was consulted' },
  envoy_http_local_rate_limit_ok: { type: 'counter', help: 'Requests that got a token' },
  envoy_http_local_rate_limit_rate_limited: { type: 'counter', help: 'Requests without a token (enforced or not)' },
  envoy_http_local_rate_limit_enforced: { type: 'counter', help: 'Requests answered with the rate-limited status' },
  // http.<stat_prefix>.rbac.* (envoy.filters.http.rbac; rules_stat_prefix / shadow_rules_stat_prefix go before the stat name)
  envoy_http_rbac_allowed: { type: 'counter', help: 'Requests the RBAC rules allowed' },
  envoy_http_rbac_denied: { type: 'counter', help: 'Requests the RBAC rules denied (403)' },
  envoy_http_rbac_shadow_allowed: { type: 'counter', help: 'Requests the RBAC shadow rules would allow' },
  envoy_http_rbac_shadow_denied: { type: 'counter', help: 'Requests the RBAC shadow rules would deny' },
  // listener.<address>_<port>.*
  envoy_listener_downstream_cx_total: { type: 'counter', help: 'Connections accepted' },
  envoy_listener_downstream_cx_active: { type: 'gauge', help: 'Connections open' },
  envoy_listener_downstream_cx_destroy: { type: 'counter', help: 'Connections closed' },
  envoy_listener_downstream_cx_length_ms: { type: 'histogram', help: 'Connection length (ms)' },
  envoy_listener_no_filter_chain_match: { type: 'counter', help: 'Connections that matched no filter chain' },
  envoy_listener_downstream_pre_cx_timeout: { type: 'counter', help: 'Connections that timed out in listener filters' },
  envoy_listener_downstream_listener_filter_remote_close: { type: 'counter', help: 'Connections closed by the client while listener filters read first bytes' },
  envoy_listener_downstream_listener_filter_error: { type: 'counter', help: 'Read errors (e.g. resets) while listener filters read first bytes' },
  envoy_listener_downstream_cx_overflow: { type: 'counter', help: 'Connections refused by the listener connection limit' },
  // tcp.<stat_prefix>.*
  envoy_tcp_downstream_cx_total: { type: 'counter', help: 'TCP proxy connections' },
  envoy_tcp_downstream_cx_no_route: { type: 'counter', help: 'TCP proxy connections with no upstream cluster' },
  envoy_tcp_downstream_cx_rx_bytes_total: { type: 'counter', help: 'TCP proxy bytes received from downstream' },
  envoy_tcp_downstream_cx_tx_bytes_total: { type: 'counter', help: 'TCP proxy bytes sent to downstream' },
  envoy_tcp_idle_timeout: { type: 'counter', help: 'TCP proxy connections closed by the idle timeout' },
  envoy_tcp_upstream_flush_active: { type: 'gauge', help: 'TCP proxy connections flushing upstream data after downstream close' },
};

/** HELP text by stat name (derived from the catalogue). */
export const STAT_HELP: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(STAT_CATALOG).map(([k, v]) => [k, v.help]),
);
