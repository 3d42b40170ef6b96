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
  envoy_cluster_lb_healthy_panic: { type: 'counter', help: 'Load balancing done in panic mode' },
  envoy_cluster_membership_total: { type: 'gauge', help: 'Hosts in the cluster', merge: 'max' },
  envoy_cluster_membership_healthy: { type: 'gauge', help: 'Healthy hosts in the cluster', merge: 'max' },
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
  // listener.<address>_<port>.*
  envoy_listener_downstream_cx_total: { type: 'counter', help: 'Connections accepted' },
  envoy_listener_downstream_cx_active: { type: 'gauge', help: 'Connections open' },
  envoy_listener_downstream_cx_destroy: { type: 'counter', help: 'Connections closed' },
  envoy_listener_downstream_cx_length_ms: { type: 'histogram', help: 'Connection length (ms)' },
  envoy_listener_no_filter_chain_match: { type: 'counter', help: 'Connections that matched no filter chain' },
  envoy_listener_downstream_pre_cx_timeout: { type: 'counter', help: 'Connections that timed out in listener filters' },
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
