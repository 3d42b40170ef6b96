// Field tables for RouteConfiguration and everything inside it (virtual hosts, routes, actions, policies).
import type { MessageTable } from './proto-message.ts';

export const ROUTE_CONFIGURATION: MessageTable = {
  message: 'envoy.config.route.v3.RouteConfiguration',
  fields: {
    name: 'ok',
    virtual_hosts: 'ok',
    vhds: 'unsupported',
    internal_only_headers: 'ok',
    response_headers_to_add: 'ok',
    response_headers_to_remove: 'ok',
    request_headers_to_add: 'ok',
    request_headers_to_remove: 'ok',
    most_specific_header_mutations_wins: 'unsupported',
    validate_clusters: 'ok',
    max_direct_response_body_size_bytes: 'ok',
    cluster_specifier_plugins: 'unsupported',
    request_mirror_policies: 'unsupported',
    ignore_port_in_host_matching: 'unsupported',
    ignore_path_parameters_in_path_matching: 'unsupported',
    typed_per_filter_config: 'unsupported',
    metadata: 'ignore',
  },
};

export const VIRTUAL_HOST: MessageTable = {
  message: 'envoy.config.route.v3.VirtualHost',
  fields: {
    name: 'ok',
    domains: 'ok',
    routes: 'ok',
    matcher: 'unsupported',
    require_tls: 'ok',
    virtual_clusters: 'ignore',
    rate_limits: 'unsupported',
    request_headers_to_add: 'ok',
    request_headers_to_remove: 'ok',
    response_headers_to_add: 'ok',
    response_headers_to_remove: 'ok',
    cors: 'unsupported',
    typed_per_filter_config: 'ok',
    include_request_attempt_count: 'unsupported',
    include_attempt_count_in_response: 'unsupported',
    retry_policy: 'ok',
    retry_policy_typed_config: 'unsupported',
    hedge_policy: 'unsupported',
    include_is_timeout_retry_header: 'unsupported',
    per_request_buffer_limit_bytes: 'unsupported',
    request_body_buffer_limit: 'unsupported',
    request_mirror_policies: 'unsupported',
    metadata: 'ignore',
  },
};

export const ROUTE: MessageTable = {
  message: 'envoy.config.route.v3.Route',
  fields: {
    name: 'ok',
    match: 'ok',
    route: 'ok',
    redirect: 'ok',
    direct_response: 'ok',
    filter_action: 'unsupported',
    non_forwarding_action: 'unsupported',
    metadata: 'ignore',
    decorator: 'ignore',
    typed_per_filter_config: 'ok',
    request_headers_to_add: 'ok',
    request_headers_to_remove: 'ok',
    response_headers_to_add: 'ok',
    response_headers_to_remove: 'ok',
    tracing: 'ignore',
    per_request_buffer_limit_bytes: 'unsupported',
    request_body_buffer_limit: 'unsupported',
    stat_prefix: 'ignore',
  },
};

export const ROUTE_MATCH: MessageTable = {
  message: 'envoy.config.route.v3.RouteMatch',
  fields: {
    prefix: 'ok',
    path: 'ok',
    safe_regex: 'ok',
    connect_matcher: 'unsupported',
    path_separated_prefix: 'ok',
    path_match_policy: 'unsupported',
    case_sensitive: 'ok',
    runtime_fraction: 'unsupported',
    headers: 'ok',
    query_parameters: 'ok',
    grpc: 'ok',
    tls_context: 'unsupported',
    dynamic_metadata: 'unsupported',
    filter_state: 'unsupported',
    cookies: 'unsupported',
  },
};

export const GRPC_ROUTE_MATCH_OPTIONS: MessageTable = {
  message: 'envoy.config.route.v3.RouteMatch.GrpcRouteMatchOptions',
  fields: {},
};

export const ROUTE_ACTION: MessageTable = {
  message: 'envoy.config.route.v3.RouteAction',
  fields: {
    cluster: 'ok',
    cluster_header: 'ok',
    weighted_clusters: 'ok',
    cluster_specifier_plugin: 'unsupported',
    inline_cluster_specifier_plugin: 'unsupported',
    cluster_not_found_response_code: 'ok',
    metadata_match: 'unsupported',
    prefix_rewrite: 'ok',
    regex_rewrite: 'ok',
    path_rewrite_policy: 'unsupported',
    host_rewrite_literal: 'ok',
    auto_host_rewrite: 'ok',
    host_rewrite_header: 'ok',
    host_rewrite_path_regex: 'unsupported',
    append_x_forwarded_host: 'unsupported',
    timeout: 'ok',
    idle_timeout: 'ok',
    early_data_policy: 'ignore',
    retry_policy: 'ok',
    retry_policy_typed_config: 'unsupported',
    request_mirror_policies: 'unsupported',
    priority: { unsupportedUnless: ['DEFAULT', 0] },
    rate_limits: 'unsupported',
    include_vh_rate_limits: 'ignore',
    hash_policy: 'ok',
    cors: 'unsupported',
    max_grpc_timeout: 'ok',
    grpc_timeout_offset: 'unsupported',
    upgrade_configs: 'ok',
    internal_redirect_policy: 'unsupported',
    internal_redirect_action: 'unsupported',
    max_internal_redirects: 'unsupported',
    hedge_policy: 'unsupported',
    max_stream_duration: 'ok',
  },
};

export const WEIGHTED_CLUSTER: MessageTable = {
  message: 'envoy.config.route.v3.WeightedCluster',
  fields: {
    clusters: 'ok',
    total_weight: 'ok',
    runtime_key_prefix: 'unsupported',
    header_name: 'unsupported',
    random_value_specifier: 'unsupported',
  },
};

export const CLUSTER_WEIGHT: MessageTable = {
  message: 'envoy.config.route.v3.WeightedCluster.ClusterWeight',
  fields: {
    name: 'ok',
    cluster_header: 'unsupported',
    weight: 'ok',
    metadata_match: 'unsupported',
    request_headers_to_add: 'ok',
    request_headers_to_remove: 'ok',
    response_headers_to_add: 'ok',
    response_headers_to_remove: 'ok',
    typed_per_filter_config: 'unsupported',
    host_rewrite_literal: 'unsupported',
  },
};

export const ROUTE_UPGRADE_CONFIG: MessageTable = {
  message: 'envoy.config.route.v3.RouteAction.UpgradeConfig',
  fields: { upgrade_type: 'ok', enabled: 'ok', connect_config: 'unsupported' },
};

export const MAX_STREAM_DURATION: MessageTable = {
  message: 'envoy.config.route.v3.RouteAction.MaxStreamDuration',
  fields: { max_stream_duration: 'ok', grpc_timeout_header_max: 'ok', grpc_timeout_header_offset: 'unsupported' },
};

export const HASH_POLICY: MessageTable = {
  message: 'envoy.config.route.v3.RouteAction.HashPolicy',
  fields: {
    header: 'ok',
    cookie: 'ok',
    connection_properties: 'ok',
    query_parameter: 'ok',
    filter_state: 'unsupported',
    terminal: 'ok',
  },
};

export const HASH_POLICY_HEADER: MessageTable = {
  message: 'envoy.config.route.v3.RouteAction.HashPolicy.Header',
  fields: { header_name: 'ok', regex_rewrite: 'unsupported' },
};

export const HASH_POLICY_COOKIE: MessageTable = {
  message: 'envoy.config.route.v3.RouteAction.HashPolicy.Cookie',
  fields: { name: 'ok', ttl: 'ok', path: 'ok', attributes: 'unsupported' },
};

export const HASH_POLICY_CONNECTION_PROPERTIES: MessageTable = {
  message: 'envoy.config.route.v3.RouteAction.HashPolicy.ConnectionProperties',
  fields: { source_ip: 'ok' },
};

export const HASH_POLICY_QUERY_PARAMETER: MessageTable = {
  message: 'envoy.config.route.v3.RouteAction.HashPolicy.QueryParameter',
  fields: { name: 'ok' },
};

export const RETRY_POLICY: MessageTable = {
  message: 'envoy.config.route.v3.RetryPolicy',
  fields: {
    retry_on: 'ok',
    num_retries: 'ok',
    per_try_timeout: 'ok',
    per_try_idle_timeout: 'unsupported',
    retry_priority: 'unsupported',
    retry_host_predicate: 'ok',
    retry_options_predicates: 'unsupported',
    host_selection_retry_max_attempts: 'ok',
    retriable_status_codes: 'ok',
    retry_back_off: 'ok',
    rate_limited_retry_back_off: 'unsupported',
    retriable_headers: 'ok',
    retriable_request_headers: 'unsupported',
  },
};

export const RETRY_BACK_OFF: MessageTable = {
  message: 'envoy.config.route.v3.RetryPolicy.RetryBackOff',
  fields: { base_interval: 'ok', max_interval: 'ok' },
};

export const RETRY_HOST_PREDICATE: MessageTable = {
  message: 'envoy.config.route.v3.RetryPolicy.RetryHostPredicate',
  fields: { name: 'ok', typed_config: 'ok' },
};

export const REDIRECT_ACTION: MessageTable = {
  message: 'envoy.config.route.v3.RedirectAction',
  fields: {
    https_redirect: 'ok',
    scheme_redirect: 'ok',
    host_redirect: 'ok',
    port_redirect: 'ok',
    path_redirect: 'ok',
    prefix_rewrite: 'ok',
    regex_rewrite: 'ok',
    response_code: 'ok',
    strip_query: 'ok',
  },
};

export const DIRECT_RESPONSE_ACTION: MessageTable = {
  message: 'envoy.config.route.v3.DirectResponseAction',
  fields: { status: 'ok', body: 'ok', body_format: 'unsupported' },
};

export const HEADER_VALUE_OPTION: MessageTable = {
  message: 'envoy.config.core.v3.HeaderValueOption',
  fields: { header: 'ok', append: 'ok', append_action: 'ok', keep_empty_value: 'ok' },
};

export const HEADER_VALUE: MessageTable = {
  message: 'envoy.config.core.v3.HeaderValue',
  fields: { key: 'ok', value: 'ok', raw_value: 'ok' },
};
