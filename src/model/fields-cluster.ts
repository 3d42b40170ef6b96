// Field tables for clusters, their protocol options, circuit breakers and endpoint assignments.
import type { MessageTable } from './proto-message.ts';

export const CLUSTER: MessageTable = {
  message: 'envoy.config.cluster.v3.Cluster',
  fields: {
    transport_socket_matches: 'unsupported',
    name: 'ok',
    alt_stat_name: 'ignore',
    type: 'ok',
    cluster_type: 'unsupported',
    eds_cluster_config: 'ok',
    connect_timeout: 'ok',
    per_connection_buffer_limit_bytes: 'ok',
    lb_policy: 'ok',
    load_assignment: 'ok',
    hosts: 'ok', // rejected with a pointer to load_assignment
    health_checks: 'ok',
    max_requests_per_connection: 'ok',
    circuit_breakers: 'ok',
    upstream_http_protocol_options: 'unsupported',
    common_http_protocol_options: 'ok',
    http_protocol_options: 'ok',
    http2_protocol_options: 'ok',
    typed_extension_protocol_options: 'ok',
    dns_refresh_rate: 'ok',
    dns_failure_refresh_rate: 'ignore',
    respect_dns_ttl: 'ok',
    dns_lookup_family: 'ok',
    dns_resolvers: 'unsupported',
    use_tcp_for_dns_lookups: 'ignore',
    dns_resolution_config: 'unsupported',
    typed_dns_resolver_config: 'unsupported',
    wait_for_warm_on_init: 'ignore',
    outlier_detection: 'ok',
    cleanup_interval: 'ok',
    upstream_bind_config: 'ok', // source_address only (see BIND_CONFIG)
    lb_subset_config: 'unsupported',
    ring_hash_lb_config: 'ok',
    maglev_lb_config: 'unsupported',
    original_dst_lb_config: 'ok',
    least_request_lb_config: 'ok',
    round_robin_lb_config: 'unsupported',
    common_lb_config: 'ok', // healthy_panic_threshold only (see fields-health.ts)
    transport_socket: 'ok',
    metadata: 'ignore',
    protocol_selection: 'ok',
    upstream_connection_options: 'unsupported',
    close_connections_on_host_health_failure: 'ignore',
    ignore_health_on_host_removal: 'ignore',
    filters: 'unsupported',
    load_balancing_policy: 'unsupported',
    lrs_server: 'ignore',
    lrs_report_endpoint_metrics: 'ignore',
    track_timeout_budgets: 'ignore',
    upstream_config: 'unsupported',
    track_cluster_stats: 'ignore',
    preconnect_policy: 'ignore',
    connection_pool_per_downstream_connection: 'unsupported',
    dns_jitter: 'ignore',
  },
};

/** Cluster.upstream_bind_config: the local address upstream connections bind to (Istio's 127.0.0.6 inbound passthrough). */
export const BIND_CONFIG: MessageTable = {
  message: 'envoy.config.core.v3.BindConfig',
  fields: {
    source_address: 'ok',
    freebind: 'unsupported',
    socket_options: 'unsupported',
    extra_source_addresses: 'unsupported',
    additional_source_addresses: 'unsupported',
    local_address_selector: 'unsupported',
  },
};

export const ORIGINAL_DST_LB_CONFIG: MessageTable = {
  message: 'envoy.config.cluster.v3.Cluster.OriginalDstLbConfig',
  fields: { use_http_header: 'ok', http_header_name: 'ok', upstream_port_override: 'ok', metadata_key: 'unsupported' },
};

export const EDS_CLUSTER_CONFIG: MessageTable = {
  message: 'envoy.config.cluster.v3.Cluster.EdsClusterConfig',
  fields: { eds_config: 'ok', service_name: 'ok' },
};

export const LEAST_REQUEST_LB_CONFIG: MessageTable = {
  message: 'envoy.config.cluster.v3.Cluster.LeastRequestLbConfig',
  fields: { choice_count: 'ok', active_request_bias: 'unsupported', slow_start_config: 'unsupported' },
};

export const RING_HASH_LB_CONFIG: MessageTable = {
  message: 'envoy.config.cluster.v3.Cluster.RingHashLbConfig',
  fields: {
    minimum_ring_size: 'ok',
    maximum_ring_size: 'ok',
    hash_function: { unsupportedUnless: ['XX_HASH', 0] },
  },
};

export const CIRCUIT_BREAKERS: MessageTable = {
  message: 'envoy.config.cluster.v3.CircuitBreakers',
  fields: { thresholds: 'ok', per_host_thresholds: 'unsupported' },
};

export const THRESHOLDS: MessageTable = {
  message: 'envoy.config.cluster.v3.CircuitBreakers.Thresholds',
  fields: {
    priority: 'ok',
    max_connections: 'ok',
    max_pending_requests: 'ok',
    max_requests: 'ok',
    max_retries: 'ok',
    retry_budget: 'ok',
    track_remaining: 'ignore',
    max_connection_pools: 'unsupported',
  },
};

export const RETRY_BUDGET: MessageTable = {
  message: 'envoy.config.cluster.v3.CircuitBreakers.Thresholds.RetryBudget',
  fields: { budget_percent: 'ok', min_retry_concurrency: 'ok' },
};

export const UPSTREAM_HTTP_PROTOCOL_OPTIONS: MessageTable = {
  message: 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  fields: {
    common_http_protocol_options: 'ok',
    upstream_http_protocol_options: 'unsupported',
    explicit_http_config: 'ok',
    use_downstream_protocol_config: 'ok',
    auto_config: 'ok',
    http_filters: 'unsupported',
    header_validation_config: 'unsupported',
    outlier_detection: 'unsupported',
  },
};

export const EXPLICIT_HTTP_CONFIG: MessageTable = {
  message: 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig',
  fields: { http_protocol_options: 'ok', http2_protocol_options: 'ok', http3_protocol_options: 'unsupported' },
};

export const USE_DOWNSTREAM_HTTP_CONFIG: MessageTable = {
  message: 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions.UseDownstreamHttpConfig',
  fields: { http_protocol_options: 'ok', http2_protocol_options: 'ok', http3_protocol_options: 'unsupported' },
};

export const AUTO_HTTP_CONFIG: MessageTable = {
  message: 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions.AutoHttpConfig',
  fields: {
    http_protocol_options: 'ok',
    http2_protocol_options: 'ok',
    http3_protocol_options: 'unsupported',
    alternate_protocols_cache_options: 'unsupported',
  },
};

export const CLUSTER_LOAD_ASSIGNMENT: MessageTable = {
  message: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
  fields: { cluster_name: 'ok', endpoints: 'ok', named_endpoints: 'unsupported', policy: 'ok' },
};

export const CLA_POLICY: MessageTable = {
  message: 'envoy.config.endpoint.v3.ClusterLoadAssignment.Policy',
  fields: {
    drop_overloads: 'unsupported',
    overprovisioning_factor: 'unsupported',
    endpoint_stale_after: 'ignore',
    weighted_priority_health: 'unsupported',
  },
};

export const LOCALITY_LB_ENDPOINTS: MessageTable = {
  message: 'envoy.config.endpoint.v3.LocalityLbEndpoints',
  fields: {
    locality: 'ok',
    metadata: 'ignore',
    lb_endpoints: 'ok',
    leds_cluster_locality_config: 'unsupported',
    load_balancing_weight: 'ok',
    priority: 'ok',
    proximity: 'ignore',
  },
};

export const LOCALITY: MessageTable = {
  message: 'envoy.config.core.v3.Locality',
  fields: { region: 'ok', zone: 'ok', sub_zone: 'ok' },
};

export const LB_ENDPOINT: MessageTable = {
  message: 'envoy.config.endpoint.v3.LbEndpoint',
  fields: {
    endpoint: 'ok',
    endpoint_name: 'unsupported',
    health_status: 'ok',
    metadata: 'ignore',
    load_balancing_weight: 'ok',
  },
};

export const ENDPOINT: MessageTable = {
  message: 'envoy.config.endpoint.v3.Endpoint',
  fields: { address: 'ok', health_check_config: 'ignore', hostname: 'ok', additional_addresses: 'unsupported' },
};
