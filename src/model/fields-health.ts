// Field tables for a cluster's outlier_detection, health_checks and common_lb_config (passive and active health).
import type { MessageTable } from './proto-message.ts';

export const OUTLIER_DETECTION: MessageTable = {
  message: 'envoy.config.cluster.v3.OutlierDetection',
  fields: {
    consecutive_5xx: 'ok',
    interval: 'ok',
    base_ejection_time: 'ok',
    max_ejection_percent: 'ok',
    enforcing_consecutive_5xx: 'ok',
    enforcing_success_rate: 'ok',
    success_rate_minimum_hosts: 'ok',
    success_rate_request_volume: 'ok',
    success_rate_stdev_factor: 'ok',
    consecutive_gateway_failure: 'ok',
    enforcing_consecutive_gateway_failure: 'ok',
    split_external_local_origin_errors: 'ok',
    consecutive_local_origin_failure: 'ok',
    enforcing_consecutive_local_origin_failure: 'ok',
    enforcing_local_origin_success_rate: 'ok',
    failure_percentage_threshold: 'ok',
    enforcing_failure_percentage: 'ok',
    enforcing_failure_percentage_local_origin: 'ok',
    failure_percentage_minimum_hosts: 'ok',
    failure_percentage_request_volume: 'ok',
    max_ejection_time: 'ok',
    max_ejection_time_jitter: 'ok',
    successful_active_health_check_uneject_host: 'ok',
    always_eject_one_host: 'ok',
    monitors: 'unsupported',
    detect_degraded_hosts: 'unsupported',
  },
};

export const HEALTH_CHECK: MessageTable = {
  message: 'envoy.config.core.v3.HealthCheck',
  fields: {
    timeout: 'ok',
    interval: 'ok',
    initial_jitter: 'ok',
    interval_jitter: 'ok',
    interval_jitter_percent: 'ok',
    unhealthy_threshold: 'ok',
    healthy_threshold: 'ok',
    alt_port: 'unsupported',
    reuse_connection: 'ok',
    http_health_check: 'ok',
    tcp_health_check: 'ok',
    grpc_health_check: 'ok',
    custom_health_check: 'unsupported',
    no_traffic_interval: 'ok',
    no_traffic_healthy_interval: 'ok',
    unhealthy_interval: 'ok',
    unhealthy_edge_interval: 'ok',
    healthy_edge_interval: 'ok',
    event_log_path: 'unsupported',
    event_logger: 'unsupported',
    event_service: 'unsupported',
    always_log_health_check_failures: 'ignore',
    always_log_health_check_success: 'ignore',
    tls_options: 'unsupported',
    transport_socket_match_criteria: 'unsupported',
  },
};

export const HTTP_HEALTH_CHECK: MessageTable = {
  message: 'envoy.config.core.v3.HealthCheck.HttpHealthCheck',
  fields: {
    host: 'ok',
    path: 'ok',
    send: 'unsupported',
    receive: 'ok',
    response_buffer_size: 'ok',
    request_headers_to_add: 'ok',
    request_headers_to_remove: 'ok',
    expected_statuses: 'ok',
    retriable_statuses: 'ok',
    codec_client_type: 'ok',
    service_name_matcher: 'unsupported',
    method: 'ok',
  },
};

export const TCP_HEALTH_CHECK: MessageTable = {
  message: 'envoy.config.core.v3.HealthCheck.TcpHealthCheck',
  fields: { send: 'ok', receive: 'ok', proxy_protocol_config: 'unsupported' },
};

export const GRPC_HEALTH_CHECK: MessageTable = {
  message: 'envoy.config.core.v3.HealthCheck.GrpcHealthCheck',
  fields: { service_name: 'ok', authority: 'ok', initial_metadata: 'ok' },
};

export const HEALTH_CHECK_PAYLOAD: MessageTable = {
  message: 'envoy.config.core.v3.HealthCheck.Payload',
  fields: { text: 'ok', binary: 'ok' },
};

export const INT64_RANGE: MessageTable = {
  message: 'envoy.type.v3.Int64Range',
  fields: { start: 'ok', end: 'ok' },
};

export const COMMON_LB_CONFIG: MessageTable = {
  message: 'envoy.config.cluster.v3.Cluster.CommonLbConfig',
  fields: {
    healthy_panic_threshold: 'ok',
    zone_aware_lb_config: 'unsupported',
    locality_weighted_lb_config: 'unsupported',
    update_merge_window: 'ignore',
    ignore_new_hosts_until_first_hc: 'unsupported',
    close_connections_on_host_set_change: 'unsupported',
    consistent_hashing_lb_config: 'unsupported',
    override_host_status: 'unsupported',
  },
};

export const PERCENT: MessageTable = {
  message: 'envoy.type.v3.Percent',
  fields: { value: 'ok' },
};
