// Field tables for the bootstrap, listeners, filter chains and the tcp_proxy network filter.
import type { MessageTable } from './proto-message.ts';

export const BOOTSTRAP: MessageTable = {
  message: 'envoy.config.bootstrap.v3.Bootstrap',
  fields: {
    node: 'ok',
    node_context_params: 'ignore',
    static_resources: 'ok',
    dynamic_resources: 'ok',
    cluster_manager: 'ignore',
    hds_config: 'unsupported',
    flags_path: 'ignore',
    stats_sinks: 'warn',
    deferred_stat_options: 'ignore',
    stats_config: 'ignore',
    stats_flush_interval: 'ignore',
    stats_flush_on_admin: 'ignore',
    watchdog: 'ignore',
    watchdogs: 'ignore',
    tracing: 'unsupported',
    layered_runtime: 'warn',
    admin: 'ok',
    overload_manager: 'warn',
    enable_dispatcher_stats: 'ignore',
    header_prefix: 'unsupported',
    stats_server_version_override: 'ignore',
    use_tcp_for_dns_lookups: 'ignore',
    dns_resolution_config: 'unsupported',
    typed_dns_resolver_config: 'unsupported',
    bootstrap_extensions: 'unsupported',
    fatal_actions: 'ignore',
    config_sources: 'unsupported',
    default_config_source: 'unsupported',
    default_socket_interface: 'ignore',
    certificate_provider_instances: 'unsupported',
    inline_headers: 'ignore',
    perf_tracing_file_path: 'ignore',
    default_regex_engine: 'unsupported',
    xds_delegate_extension: 'unsupported',
    xds_config_tracker_extension: 'unsupported',
    listener_manager: 'ignore',
    application_log_config: 'ignore',
    grpc_async_client_manager_config: 'ignore',
    memory_allocator_manager: 'ignore',
  },
};

export const NODE: MessageTable = {
  message: 'envoy.config.core.v3.Node',
  fields: {
    id: 'ok',
    cluster: 'ok',
    metadata: 'ok',
    dynamic_parameters: 'ignore',
    locality: 'ignore',
    user_agent_name: 'ignore',
    user_agent_version: 'ignore',
    user_agent_build_version: 'ignore',
    extensions: 'ignore',
    client_features: 'ignore',
    listening_addresses: 'ignore',
  },
};

export const ADMIN: MessageTable = {
  message: 'envoy.config.bootstrap.v3.Admin',
  fields: {
    access_log: 'ok',
    access_log_path: 'ok',
    profile_path: 'ignore',
    address: 'ok',
    socket_options: 'unsupported',
    ignore_global_conn_limit: 'ignore',
  },
};

export const STATIC_RESOURCES: MessageTable = {
  message: 'envoy.config.bootstrap.v3.Bootstrap.StaticResources',
  fields: { listeners: 'ok', clusters: 'ok', secrets: 'ok' },
};

/** Accepted and not interpreted yet: xDS (ads_config, lds_config, cds_config) is a later workstream. */
export const DYNAMIC_RESOURCES: MessageTable = {
  message: 'envoy.config.bootstrap.v3.Bootstrap.DynamicResources',
  fields: {
    lds_config: 'ok',
    lds_resources_locator: 'ok',
    cds_config: 'ok',
    cds_resources_locator: 'ok',
    ads_config: 'ok',
  },
};

export const LISTENER: MessageTable = {
  message: 'envoy.config.listener.v3.Listener',
  fields: {
    name: 'ok',
    address: 'ok',
    additional_addresses: 'unsupported',
    stat_prefix: 'ignore',
    filter_chains: 'ok',
    filter_chain_matcher: 'unsupported',
    use_original_dst: 'ok',
    default_filter_chain: 'ok',
    per_connection_buffer_limit_bytes: 'ok',
    metadata: 'ignore',
    deprecated_v1: 'unsupported',
    drain_type: 'ignore',
    listener_filters: 'ok',
    listener_filters_timeout: 'ok',
    continue_on_listener_filters_timeout: 'ok',
    transparent: 'unsupported',
    freebind: 'unsupported',
    socket_options: 'unsupported',
    tcp_fast_open_queue_length: 'ignore',
    traffic_direction: 'ok',
    udp_listener_config: 'unsupported',
    api_listener: 'unsupported',
    connection_balance_config: 'ignore',
    reuse_port: 'ignore',
    enable_reuse_port: 'ignore',
    access_log: 'ok',
    tcp_backlog_size: 'ignore',
    max_connections_to_accept_per_socket_event: 'ignore',
    bind_to_port: 'ok',
    internal_listener: 'unsupported',
    enable_mptcp: 'unsupported',
    ignore_global_conn_limit: 'ignore',
    bypass_overload_manager: 'ignore',
    fcds_config: 'unsupported',
  },
};

export const LISTENER_FILTER: MessageTable = {
  message: 'envoy.config.listener.v3.ListenerFilter',
  fields: { name: 'ok', typed_config: 'ok', config_discovery: 'unsupported', filter_disabled: 'ok' },
};

export const LISTENER_FILTER_PREDICATE: MessageTable = {
  message: 'envoy.config.listener.v3.ListenerFilterChainMatchPredicate',
  fields: { or_match: 'ok', and_match: 'ok', not_match: 'ok', any_match: 'ok', destination_port_range: 'ok' },
};

export const LISTENER_FILTER_PREDICATE_SET: MessageTable = {
  message: 'envoy.config.listener.v3.ListenerFilterChainMatchPredicate.MatchSet',
  fields: { rules: 'ok' },
};

export const INT32_RANGE: MessageTable = { message: 'envoy.type.v3.Int32Range', fields: { start: 'ok', end: 'ok' } };

export const FILTER_CHAIN: MessageTable = {
  message: 'envoy.config.listener.v3.FilterChain',
  fields: {
    filter_chain_match: 'ok',
    filters: 'ok',
    use_proxy_proto: 'unsupported',
    metadata: 'ignore',
    transport_socket: 'ok',
    transport_socket_connect_timeout: 'ok',
    name: 'ok',
    on_demand_configuration: 'unsupported',
  },
};

export const FILTER_CHAIN_MATCH: MessageTable = {
  message: 'envoy.config.listener.v3.FilterChainMatch',
  fields: {
    destination_port: 'ok',
    prefix_ranges: 'ok',
    address_suffix: 'ignore',
    suffix_len: 'ignore',
    direct_source_prefix_ranges: 'unsupported',
    source_type: { unsupportedUnless: ['ANY', 0] },
    source_prefix_ranges: 'ok',
    source_ports: 'unsupported',
    server_names: 'ok',
    transport_protocol: 'ok',
    application_protocols: 'ok',
  },
};

export const NETWORK_FILTER: MessageTable = {
  message: 'envoy.config.listener.v3.Filter',
  fields: { name: 'ok', typed_config: 'ok', config_discovery: 'unsupported' },
};

/** Any typed_config whose message has no fields we care about (listener filters, router defaults). */
export const EMPTY_CONFIG: MessageTable = {
  message: 'typed_config',
  fields: {},
};

export const TCP_PROXY: MessageTable = {
  message: 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  fields: {
    stat_prefix: 'ok',
    cluster: 'ok',
    weighted_clusters: 'ok',
    on_demand: 'unsupported',
    metadata_match: 'unsupported',
    idle_timeout: 'ok',
    downstream_idle_timeout: 'unsupported',
    upstream_idle_timeout: 'unsupported',
    access_log: 'ok',
    max_connect_attempts: 'ok',
    backoff_options: 'unsupported',
    hash_policy: 'unsupported',
    tunneling_config: 'unsupported',
    max_downstream_connection_duration: 'unsupported',
    access_log_flush_interval: 'unsupported',
    flush_access_log_on_connected: 'unsupported',
    access_log_options: 'unsupported',
    proxy_protocol_tlvs: 'unsupported',
  },
};

export const TCP_WEIGHTED_CLUSTER: MessageTable = {
  message: 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster',
  fields: { clusters: 'ok' },
};

export const TCP_CLUSTER_WEIGHT: MessageTable = {
  message: 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight',
  fields: { name: 'ok', weight: 'ok', metadata_match: 'unsupported' },
};
