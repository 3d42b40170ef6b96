// Field tables for the HTTP connection manager, its HTTP filters and the core HTTP protocol option messages.
import type { MessageTable } from './proto-message.ts';

export const HTTP_CONNECTION_MANAGER: MessageTable = {
  message: 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  fields: {
    codec_type: 'ok',
    stat_prefix: 'ok',
    rds: 'ok',
    route_config: 'ok',
    scoped_routes: 'unsupported',
    http_filters: 'ok',
    add_user_agent: 'unsupported',
    tracing: 'ok',
    common_http_protocol_options: 'ok',
    http1_safe_max_connection_duration: 'ignore',
    http_protocol_options: 'ok',
    http2_protocol_options: 'ok',
    http3_protocol_options: 'unsupported',
    server_name: 'ok',
    server_header_transformation: 'ok',
    scheme_header_transformation: 'unsupported',
    max_request_headers_kb: 'ok',
    stream_idle_timeout: 'ok',
    request_timeout: 'ok',
    request_headers_timeout: 'ok',
    drain_timeout: 'ok',
    delayed_close_timeout: 'ok',
    access_log: 'ok',
    access_log_flush_interval: 'unsupported',
    flush_access_log_on_new_request: 'unsupported',
    access_log_options: 'unsupported',
    use_remote_address: 'ok',
    xff_num_trusted_hops: 'ok',
    original_ip_detection_extensions: 'unsupported',
    early_header_mutation_extensions: 'unsupported',
    internal_address_config: 'unsupported',
    skip_xff_append: 'ok',
    via: 'unsupported',
    generate_request_id: 'ok',
    preserve_external_request_id: 'ok',
    always_set_request_id_in_response: 'unsupported',
    forward_client_cert_details: 'ok',
    set_current_client_cert_details: 'ok',
    proxy_100_continue: 'unsupported',
    represent_ipv4_remote_address_as_ipv4_mapped_ipv6: 'unsupported',
    upgrade_configs: 'ok',
    normalize_path: 'ok',
    merge_slashes: 'ok',
    path_with_escaped_slashes_action: 'ok',
    request_id_extension: 'ok',
    local_reply_config: 'unsupported',
    strip_matching_host_port: 'unsupported',
    strip_any_host_port: 'unsupported',
    stream_error_on_invalid_http_message: 'unsupported',
    path_normalization_options: 'unsupported',
    strip_trailing_host_dot: 'unsupported',
    proxy_status_config: 'unsupported',
    typed_header_validation_config: 'unsupported',
    append_x_forwarded_port: 'unsupported',
    append_local_overload: 'unsupported',
    add_proxy_protocol_connection_state: 'ignore',
  },
};

export const REQUEST_ID_EXTENSION: MessageTable = {
  message: 'envoy.extensions.filters.network.http_connection_manager.v3.RequestIDExtension',
  fields: { typed_config: 'ok' },
};

/** Envoy's only request id extension, and its default; our x-request-id is a UUID v4 too. */
export const UUID_REQUEST_ID_CONFIG: MessageTable = {
  message: 'envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig',
  // Both steer how Envoy's tracer reads its sampling decision out of the UUID; our sampling does not use the request id.
  fields: { pack_trace_reason: 'ignore', use_request_id_for_trace_sampling: 'ignore' },
};

export const RDS: MessageTable = {
  message: 'envoy.extensions.filters.network.http_connection_manager.v3.Rds',
  fields: { config_source: 'ok', route_config_name: 'ok' },
};

export const HTTP_FILTER: MessageTable = {
  message: 'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter',
  fields: { name: 'ok', typed_config: 'ok', config_discovery: 'unsupported', is_optional: 'ok', disabled: 'ok' },
};

export const ROUTER: MessageTable = {
  message: 'envoy.extensions.filters.http.router.v3.Router',
  fields: {
    dynamic_stats: 'ignore',
    start_child_span: 'ignore',
    upstream_log: 'unsupported',
    upstream_log_options: 'unsupported',
    suppress_envoy_headers: 'unsupported',
    strict_check_headers: 'unsupported',
    respect_expected_rq_timeout: 'unsupported',
    suppress_grpc_request_failure_code_stats: 'ignore',
    upstream_http_filters: 'unsupported',
    reject_connect_request_early_data: 'ignore',
  },
};

export const UPGRADE_CONFIG: MessageTable = {
  message: 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.UpgradeConfig',
  fields: { upgrade_type: 'ok', filters: 'unsupported', enabled: 'ok' },
};

export const HTTP_PROTOCOL_OPTIONS_COMMON: MessageTable = {
  message: 'envoy.config.core.v3.HttpProtocolOptions',
  fields: {
    idle_timeout: 'ok',
    max_connection_duration: 'ok',
    max_headers_count: 'ok',
    max_response_headers_kb: 'ignore',
    max_stream_duration: 'ok',
    headers_with_underscores_action: 'ok',
    max_requests_per_connection: 'ok',
  },
};

export const HTTP1_PROTOCOL_OPTIONS: MessageTable = {
  message: 'envoy.config.core.v3.Http1ProtocolOptions',
  fields: {
    allow_absolute_url: 'ignore',
    accept_http_10: 'unsupported',
    default_host_for_http_10: 'unsupported',
    header_key_format: 'unsupported',
    enable_trailers: 'unsupported',
    allow_chunked_length: 'unsupported',
    override_stream_error_on_invalid_http_message: 'unsupported',
    send_fully_qualified_url: 'unsupported',
    use_balsa_parser: 'ignore',
    allow_custom_methods: 'unsupported',
    ignore_http_11_upgrade: 'unsupported',
  },
};

export const HTTP2_PROTOCOL_OPTIONS: MessageTable = {
  message: 'envoy.config.core.v3.Http2ProtocolOptions',
  fields: {
    hpack_table_size: 'ignore',
    max_concurrent_streams: 'ok',
    initial_stream_window_size: 'ok',
    initial_connection_window_size: 'ok',
    allow_connect: 'unsupported',
    allow_metadata: 'unsupported',
    max_outbound_frames: 'ignore',
    max_outbound_control_frames: 'ignore',
    max_consecutive_inbound_frames_with_empty_payload: 'ignore',
    max_inbound_priority_frames_per_stream: 'ignore',
    max_inbound_window_update_frames_per_data_frame_sent: 'ignore',
    stream_error_on_invalid_http_messaging: 'unsupported',
    override_stream_error_on_invalid_http_message: 'unsupported',
    custom_settings_parameters: 'unsupported',
    connection_keepalive: 'unsupported',
    use_oghttp2_codec: 'ignore',
    max_metadata_size: 'ignore',
    enable_huffman_encoding: 'ignore',
  },
};
