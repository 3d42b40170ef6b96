// Field tables for Envoy messages shared by several resources: addresses, data sources, matchers, TLS, access logs.
import type { MessageTable } from './proto-message.ts';

export const ADDRESS: MessageTable = {
  message: 'envoy.config.core.v3.Address',
  fields: { socket_address: 'ok', pipe: 'unsupported', envoy_internal_address: 'unsupported' },
};

export const SOCKET_ADDRESS: MessageTable = {
  message: 'envoy.config.core.v3.SocketAddress',
  fields: {
    protocol: { unsupportedUnless: ['TCP', 0] },
    address: 'ok',
    port_value: 'ok',
    named_port: 'unsupported',
    resolver_name: 'unsupported',
    ipv4_compat: 'ignore',
    network_namespace_filepath: 'unsupported',
  },
};

export const CIDR_RANGE: MessageTable = {
  message: 'envoy.config.core.v3.CidrRange',
  fields: { address_prefix: 'ok', prefix_len: 'ok' },
};

export const DATA_SOURCE: MessageTable = {
  message: 'envoy.config.core.v3.DataSource',
  fields: {
    filename: 'ok',
    inline_string: 'ok',
    inline_bytes: 'ok',
    environment_variable: 'unsupported',
    watched_directory: 'ignore',
  },
};

export const STRING_MATCHER: MessageTable = {
  message: 'envoy.type.matcher.v3.StringMatcher',
  fields: { exact: 'ok', prefix: 'ok', suffix: 'ok', safe_regex: 'ok', contains: 'ok', custom: 'unsupported', ignore_case: 'ok' },
};

export const REGEX_MATCHER: MessageTable = {
  message: 'envoy.type.matcher.v3.RegexMatcher',
  fields: { google_re2: 'ignore', regex: 'ok' },
};

export const REGEX_MATCH_AND_SUBSTITUTE: MessageTable = {
  message: 'envoy.type.matcher.v3.RegexMatchAndSubstitute',
  fields: { pattern: 'ok', substitution: 'ok' },
};

export const HEADER_MATCHER: MessageTable = {
  message: 'envoy.config.route.v3.HeaderMatcher',
  fields: {
    name: 'ok',
    exact_match: 'ok',
    safe_regex_match: 'ok',
    range_match: 'ok',
    present_match: 'ok',
    prefix_match: 'ok',
    suffix_match: 'ok',
    contains_match: 'ok',
    string_match: 'ok',
    invert_match: 'ok',
    treat_missing_header_as_empty: 'ok',
  },
};

export const INT64_RANGE: MessageTable = {
  message: 'envoy.type.v3.Int64Range',
  fields: { start: 'ok', end: 'ok' },
};

export const QUERY_PARAMETER_MATCHER: MessageTable = {
  message: 'envoy.config.route.v3.QueryParameterMatcher',
  fields: { name: 'ok', string_match: 'ok', present_match: 'ok' },
};

// ---------------------------------------------------------------- TLS

export const TRANSPORT_SOCKET: MessageTable = {
  message: 'envoy.config.core.v3.TransportSocket',
  fields: { name: 'ok', typed_config: 'ok' },
};

export const DOWNSTREAM_TLS_CONTEXT: MessageTable = {
  message: 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  fields: {
    common_tls_context: 'ok',
    require_client_certificate: 'ok',
    require_sni: 'unsupported',
    session_ticket_keys: 'unsupported',
    session_ticket_keys_sds_secret_config: 'unsupported',
    disable_stateless_session_resumption: 'ignore',
    disable_stateful_session_resumption: 'ignore',
    session_timeout: 'ignore',
    ocsp_staple_policy: 'ignore',
    full_scan_certs_on_sni_mismatch: 'ignore',
    prefer_client_ciphers: 'ignore',
  },
};

export const UPSTREAM_TLS_CONTEXT: MessageTable = {
  message: 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  fields: {
    common_tls_context: 'ok',
    sni: 'ok',
    auto_host_sni: 'unsupported',
    auto_sni_san_validation: 'unsupported',
    allow_renegotiation: 'unsupported',
    max_session_keys: 'ignore',
    enforce_rsa_key_usage: 'ignore',
  },
};

export const COMMON_TLS_CONTEXT: MessageTable = {
  message: 'envoy.extensions.transport_sockets.tls.v3.CommonTlsContext',
  fields: {
    tls_params: 'ok',
    tls_certificates: 'ok',
    tls_certificate_sds_secret_configs: 'ok',
    tls_certificate_provider_instance: 'unsupported',
    tls_certificate_certificate_provider: 'unsupported',
    tls_certificate_certificate_provider_instance: 'unsupported',
    validation_context: 'ok',
    validation_context_sds_secret_config: 'ok',
    combined_validation_context: 'ok',
    validation_context_certificate_provider: 'unsupported',
    validation_context_certificate_provider_instance: 'unsupported',
    alpn_protocols: 'ok',
    custom_handshaker: 'unsupported',
    key_log: 'unsupported',
    custom_tls_certificate_selector: 'unsupported',
  },
};

export const TLS_PARAMETERS: MessageTable = {
  message: 'envoy.extensions.transport_sockets.tls.v3.TlsParameters',
  fields: {
    tls_minimum_protocol_version: 'ok',
    tls_maximum_protocol_version: 'ok',
    cipher_suites: 'unsupported',
    ecdh_curves: 'unsupported',
    signature_algorithms: 'unsupported',
    compliance_policies: 'unsupported',
  },
};

export const TLS_CERTIFICATE: MessageTable = {
  message: 'envoy.extensions.transport_sockets.tls.v3.TlsCertificate',
  fields: {
    certificate_chain: 'ok',
    private_key: 'ok',
    pkcs12: 'unsupported',
    watched_directory: 'ignore',
    private_key_provider: 'unsupported',
    password: 'unsupported',
    ocsp_staple: 'ignore',
    signed_certificate_timestamp: 'ignore',
  },
};

export const CERTIFICATE_VALIDATION_CONTEXT: MessageTable = {
  message: 'envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext',
  fields: {
    trusted_ca: 'ok',
    ca_certificate_provider_instance: 'unsupported',
    watched_directory: 'ignore',
    verify_certificate_spki: 'unsupported',
    verify_certificate_hash: 'unsupported',
    match_typed_subject_alt_names: 'ok',
    match_subject_alt_names: 'ok',
    require_signed_certificate_timestamp: 'unsupported',
    crl: 'unsupported',
    allow_expired_certificate: 'unsupported',
    trust_chain_verification: { unsupportedUnless: ['VERIFY_TRUST_CHAIN', 0] },
    custom_validator_config: 'unsupported',
    only_verify_leaf_cert_crl: 'unsupported',
    max_verify_depth: 'unsupported',
    system_root_certs: 'unsupported',
  },
};

export const SDS_SECRET_CONFIG: MessageTable = {
  message: 'envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig',
  fields: { name: 'ok', sds_config: 'ok' },
};

/** sds_config: `ads` means SDS over the ADS stream; an api_config_source (Istio's sds-grpc) means the local identity agent. */
export const SDS_CONFIG_SOURCE: MessageTable = {
  message: 'envoy.config.core.v3.ConfigSource',
  fields: {
    ads: 'ok',
    api_config_source: 'ok',
    path: 'unsupported',
    path_config_source: 'unsupported',
    self: 'unsupported',
    authorities: 'ignore',
    initial_fetch_timeout: 'ignore',
    resource_api_version: 'ignore',
  },
};

export const COMBINED_VALIDATION_CONTEXT: MessageTable = {
  message: 'envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.CombinedCertificateValidationContext',
  fields: {
    default_validation_context: 'ok',
    validation_context_sds_secret_config: 'ok',
    validation_context_certificate_provider: 'unsupported',
    validation_context_certificate_provider_instance: 'unsupported',
  },
};

export const SECRET: MessageTable = {
  message: 'envoy.extensions.transport_sockets.tls.v3.Secret',
  fields: { name: 'ok', tls_certificate: 'ok', validation_context: 'ok', session_ticket_keys: 'unsupported', generic_secret: 'ok' },
};

export const GENERIC_SECRET: MessageTable = {
  message: 'envoy.extensions.transport_sockets.tls.v3.GenericSecret',
  fields: { secret: 'ok', secrets: 'unsupported' },
};

export const SUBJECT_ALT_NAME_MATCHER: MessageTable = {
  message: 'envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher',
  fields: { san_type: 'ok', matcher: 'ok', oid: 'unsupported' },
};

// ---------------------------------------------------------------- access log

export const ACCESS_LOG: MessageTable = {
  message: 'envoy.config.accesslog.v3.AccessLog',
  fields: { name: 'ok', filter: 'ok', typed_config: 'ok' },
};

export const ACCESS_LOG_FILTER: MessageTable = {
  message: 'envoy.config.accesslog.v3.AccessLogFilter',
  fields: {
    status_code_filter: 'ok', duration_filter: 'ok', response_flag_filter: 'ok', and_filter: 'ok', or_filter: 'ok',
    not_health_check_filter: 'unsupported', traceable_filter: 'unsupported', runtime_filter: 'unsupported', header_filter: 'unsupported',
    grpc_status_filter: 'unsupported', extension_filter: 'unsupported', metadata_filter: 'unsupported', log_type_filter: 'unsupported',
  },
};

export const COMPARISON_FILTER: MessageTable = { message: 'envoy.config.accesslog.v3.ComparisonFilter', fields: { op: 'ok', value: 'ok' } };
export const RUNTIME_UINT32: MessageTable = { message: 'envoy.config.core.v3.RuntimeUInt32', fields: { default_value: 'ok', runtime_key: 'ignore' } };
export const STATUS_CODE_FILTER: MessageTable = { message: 'envoy.config.accesslog.v3.StatusCodeFilter', fields: { comparison: 'ok' } };
export const DURATION_FILTER: MessageTable = { message: 'envoy.config.accesslog.v3.DurationFilter', fields: { comparison: 'ok' } };
export const RESPONSE_FLAG_FILTER: MessageTable = { message: 'envoy.config.accesslog.v3.ResponseFlagFilter', fields: { flags: 'ok' } };
export const FILTER_LIST: MessageTable = { message: 'envoy.config.accesslog.v3.AndFilter', fields: { filters: 'ok' } };

export const STREAM_ACCESS_LOG: MessageTable = {
  message: 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
  fields: { log_format: 'ok' },
};

export const FILE_ACCESS_LOG: MessageTable = {
  message: 'envoy.extensions.access_loggers.file.v3.FileAccessLog',
  fields: { path: 'ok', format: 'ok', json_format: 'ok', typed_json_format: 'ok', log_format: 'ok' },
};

export const SUBSTITUTION_FORMAT_STRING: MessageTable = {
  message: 'envoy.config.core.v3.SubstitutionFormatString',
  fields: {
    text_format: 'ok',
    json_format: 'ok',
    text_format_source: 'ok',
    omit_empty_values: 'unsupported',
    content_type: 'ignore',
    formatters: 'unsupported',
    json_format_options: 'unsupported',
  },
};
