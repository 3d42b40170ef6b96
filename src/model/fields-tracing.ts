// Field tables for HCM `tracing`: sampling, custom tags, and the OpenTelemetry provider with its gRPC/HTTP service.
import type { MessageTable } from './proto-message.ts';

export const HCM_TRACING: MessageTable = {
  message: 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.Tracing',
  fields: {
    client_sampling: 'ok',
    random_sampling: 'ok',
    overall_sampling: 'ok',
    verbose: 'ignore',
    max_path_tag_length: 'ok',
    custom_tags: 'ok',
    provider: 'ok',
    spawn_upstream_span: 'ok',
  },
};

export const PERCENT: MessageTable = { message: 'envoy.type.v3.Percent', fields: { value: 'ok' } };

export const CUSTOM_TAG: MessageTable = {
  message: 'envoy.type.tracing.v3.CustomTag',
  fields: { tag: 'ok', literal: 'ok', environment: 'ok', request_header: 'ok', metadata: 'unsupported', value: 'unsupported' },
};

export const CUSTOM_TAG_LITERAL: MessageTable = { message: 'envoy.type.tracing.v3.CustomTag.Literal', fields: { value: 'ok' } };

export const CUSTOM_TAG_ENVIRONMENT: MessageTable = {
  message: 'envoy.type.tracing.v3.CustomTag.Environment',
  fields: { name: 'ok', default_value: 'ok' },
};

export const CUSTOM_TAG_HEADER: MessageTable = {
  message: 'envoy.type.tracing.v3.CustomTag.Header',
  fields: { name: 'ok', default_value: 'ok' },
};

export const TRACING_HTTP: MessageTable = {
  message: 'envoy.config.trace.v3.Tracing.Http',
  fields: { name: 'ok', typed_config: 'ok' },
};

export const OPENTELEMETRY_CONFIG: MessageTable = {
  message: 'envoy.config.trace.v3.OpenTelemetryConfig',
  fields: {
    grpc_service: 'ok',
    http_service: 'ok',
    service_name: 'ok',
    resource_detectors: 'unsupported',
    sampler: 'unsupported',
    max_cache_size: 'ignore',
  },
};

export const GRPC_SERVICE: MessageTable = {
  message: 'envoy.config.core.v3.GrpcService',
  fields: { envoy_grpc: 'ok', google_grpc: 'ok', timeout: 'ok', initial_metadata: 'ok', retry_policy: 'ignore' },
};

export const ENVOY_GRPC: MessageTable = {
  message: 'envoy.config.core.v3.GrpcService.EnvoyGrpc',
  fields: { cluster_name: 'ok', authority: 'ok', retry_policy: 'ignore', max_receive_message_length: 'ignore', skip_envoy_headers: 'ignore' },
};

export const GOOGLE_GRPC: MessageTable = {
  message: 'envoy.config.core.v3.GrpcService.GoogleGrpc',
  fields: {
    target_uri: 'ok',
    channel_credentials: 'unsupported',
    call_credentials: 'unsupported',
    stat_prefix: 'ignore',
    credentials_factory_name: 'unsupported',
    config: 'unsupported',
    per_stream_buffer_limit_bytes: 'ignore',
    channel_args: 'ignore',
    channel_credentials_plugin: 'unsupported',
    call_credentials_plugin: 'unsupported',
  },
};

export const HEADER_VALUE: MessageTable = {
  message: 'envoy.config.core.v3.HeaderValue',
  fields: { key: 'ok', value: 'ok', raw_value: 'unsupported' },
};

export const HTTP_SERVICE: MessageTable = {
  message: 'envoy.config.core.v3.HttpService',
  fields: { http_uri: 'ok', request_headers_to_add: 'ok', retry_policy: 'ignore' },
};

export const HTTP_URI: MessageTable = {
  message: 'envoy.config.core.v3.HttpUri',
  fields: { uri: 'ok', cluster: 'ok', timeout: 'ok' },
};

export const HEADER_VALUE_OPTION: MessageTable = {
  message: 'envoy.config.core.v3.HeaderValueOption',
  fields: { header: 'ok', append: 'ignore', append_action: 'ignore', keep_empty_value: 'ignore' },
};
