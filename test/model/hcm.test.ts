// Tests the http_connection_manager: every supported field, defaults, HTTP filters (router, optional/unknown) and access logs.
import assert from 'node:assert/strict';
import { compileListener } from '../../src/model/compile-bootstrap.ts';
import type { CompileResult, HttpConnectionManagerConfig } from '../../src/model/types.ts';
import { type Case, type Json, ROUTER_TYPE, hcm, io, listener, router, runCases } from './fixtures.ts';

const CORS_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors';
const STDOUT_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const FILE_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

function compileHcm(extra: Json): CompileResult<HttpConnectionManagerConfig> {
  const r = compileListener(listener(hcm(extra)), io);
  if (!r.ok) return r;
  return { ok: true, value: r.value.filterChains[0].network as HttpConnectionManagerConfig, warnings: r.warnings };
}

const P = 'listener "ingress": filter_chains[0].filters[0].typed_config';

const cases: readonly Case<Json, HttpConnectionManagerConfig>[] = [
  {
    name: 'defaults',
    input: {},
    expect: (h) => {
      assert.equal(h.kind, 'http');
      assert.equal(h.statPrefix, 'ingress_http');
      assert.equal(h.codecType, 'AUTO');
      assert.equal(h.rdsRouteConfigName, null);
      assert.equal(h.routeConfig?.name, 'local_route');
      assert.deepEqual(h.accessLog, []);
      assert.deepEqual(h.upgradeTypes, []);
      assert.equal(h.generateRequestId, true);
      assert.equal(h.preserveExternalRequestId, false);
      assert.equal(h.useRemoteAddress, false);
      assert.equal(h.xffNumTrustedHops, 0);
      assert.equal(h.skipXffAppend, false);
      assert.equal(h.serverName, 'pilotfish');
      assert.equal(h.serverHeaderTransformation, 'OVERWRITE');
      assert.equal(h.streamIdleTimeoutMs, 300_000);
      assert.equal(h.requestTimeoutMs, 0);
      assert.equal(h.requestHeadersTimeoutMs, 0);
      assert.equal(h.idleTimeoutMs, 3_600_000);
      assert.equal(h.maxConnectionDurationMs, 0);
      assert.equal(h.maxRequestHeadersKb, 60);
      assert.equal(h.maxHeadersCount, 100);
      assert.equal(h.headersWithUnderscoresAction, 'ALLOW');
      assert.equal(h.normalizePath, false);
      assert.equal(h.mergeSlashes, false);
      assert.deepEqual(h.http2, { maxConcurrentStreams: 2147483647, initialStreamWindowSize: 268435456, initialConnectionWindowSize: 268435456 });
      assert.equal(h.delayedCloseTimeoutMs, 1000);
      assert.equal(h.drainTimeoutMs, 5000);
      assert.deepEqual(h.httpFilters, [{ name: 'envoy.filters.http.router', typeUrl: ROUTER_TYPE, config: {}, isOptional: false, disabled: false }]);
    },
  },
  {
    name: 'every supported field',
    input: {
      codec_type: 'HTTP2',
      generate_request_id: { value: false },
      preserve_external_request_id: true,
      use_remote_address: { value: true },
      xff_num_trusted_hops: 2,
      skip_xff_append: true,
      server_name: 'edge',
      server_header_transformation: 'PASS_THROUGH',
      stream_idle_timeout: '10s',
      request_timeout: '30s',
      request_headers_timeout: { seconds: 5 },
      common_http_protocol_options: { idle_timeout: '60s', max_connection_duration: '600s', max_headers_count: 50, headers_with_underscores_action: 'REJECT_REQUEST' },
      max_request_headers_kb: 96,
      normalize_path: true,
      merge_slashes: true,
      http2_protocol_options: { max_concurrent_streams: 100, initial_stream_window_size: 65536, initial_connection_window_size: 1048576 },
      delayed_close_timeout: '0s',
      drain_timeout: '2.5s',
      upgrade_configs: [{ upgrade_type: 'WebSocket' }, { upgrade_type: 'h2c', enabled: false }],
      http_protocol_options: {},
    },
    expect: (h) => {
      assert.equal(h.codecType, 'HTTP2');
      assert.equal(h.generateRequestId, false);
      assert.equal(h.preserveExternalRequestId, true);
      assert.equal(h.useRemoteAddress, true);
      assert.equal(h.xffNumTrustedHops, 2);
      assert.equal(h.skipXffAppend, true);
      assert.equal(h.serverName, 'edge');
      assert.equal(h.serverHeaderTransformation, 'PASS_THROUGH');
      assert.equal(h.streamIdleTimeoutMs, 10_000);
      assert.equal(h.requestTimeoutMs, 30_000);
      assert.equal(h.requestHeadersTimeoutMs, 5000);
      assert.equal(h.idleTimeoutMs, 60_000);
      assert.equal(h.maxConnectionDurationMs, 600_000);
      assert.equal(h.maxHeadersCount, 50);
      assert.equal(h.headersWithUnderscoresAction, 'REJECT_REQUEST');
      assert.equal(h.maxRequestHeadersKb, 96);
      assert.equal(h.normalizePath, true);
      assert.equal(h.mergeSlashes, true);
      assert.deepEqual(h.http2, { maxConcurrentStreams: 100, initialStreamWindowSize: 65536, initialConnectionWindowSize: 1048576 });
      assert.equal(h.delayedCloseTimeoutMs, 0);
      assert.equal(h.drainTimeoutMs, 2500);
      assert.deepEqual(h.upgradeTypes, ['websocket']);
    },
  },
  { name: 'stream_idle_timeout 0s disables', input: { stream_idle_timeout: '0s' }, expect: (h) => assert.equal(h.streamIdleTimeoutMs, 0) },
  { name: 'rds', input: { route_config: undefined, rds: { route_config_name: 'r1', config_source: { ads: {} } } }, expect: (h) => {
    assert.equal(h.routeConfig, null);
    assert.equal(h.rdsRouteConfigName, 'r1');
  } },
  { name: 'rds needs a route_config_name', input: { route_config: undefined, rds: { config_source: { ads: {} } } }, errorContains: `${P}.rds.route_config_name: is required` },
  { name: 'route_config and rds together', input: { rds: { route_config_name: 'r1' } }, errorContains: `${P}.route_config: only one of rds, route_config, scoped_routes may be set (also rds)` },
  { name: 'no route specifier', input: { route_config: undefined }, errorContains: `${P}: one of rds, route_config, scoped_routes is required` },
  // Istio sets Envoy's UUID request id extension on every connection manager: what we generate anyway.
  {
    name: 'request_id_extension UuidRequestIdConfig (Istio) is accepted',
    input: { request_id_extension: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig', use_request_id_for_trace_sampling: true, pack_trace_reason: false } } },
    expect: (h) => assert.equal(h.generateRequestId, true),
  },
  { name: 'request_id_extension of another type', input: { request_id_extension: { typed_config: { '@type': 'type.googleapis.com/example.OtherRequestId' } } }, errorContains: `${P}.request_id_extension.typed_config.@type: expected type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig, got type.googleapis.com/example.OtherRequestId` },
  { name: 'request_id_extension without typed_config', input: { request_id_extension: {} }, errorContains: `${P}.request_id_extension.typed_config: is required` },
  { name: 'stat_prefix is required', input: { stat_prefix: undefined }, errorContains: `${P}.stat_prefix: is required` },
  { name: 'bad codec_type', input: { codec_type: 'SPDY' }, errorContains: `${P}.codec_type: invalid value "SPDY" (expected one of AUTO, HTTP1, HTTP2, HTTP3)` },
  { name: 'HTTP3 not supported', input: { codec_type: 'HTTP3' }, errorContains: `${P}.codec_type: HTTP3 is not supported yet` },
  { name: 'bad duration', input: { request_timeout: '30' }, errorContains: `${P}.request_timeout: invalid duration "30"` },
  { name: 'max_request_headers_kb out of range', input: { max_request_headers_kb: 9000 }, errorContains: `${P}.max_request_headers_kb: 9000 is out of range [1, 8192]` },
  { name: 'http2 window below minimum', input: { http2_protocol_options: { initial_stream_window_size: 100 } }, errorContains: `${P}.http2_protocol_options.initial_stream_window_size: 100 is out of range [65535, 2147483647]` },
  { name: 'tracing (details in test/observability/tracing-config.test.ts)', input: { tracing: {} }, expect: (h) => assert.equal(h.tracing?.randomSampling, null) },
  { name: 'forward_client_cert_details APPEND_FORWARD with details (more in test/identity)', input: { forward_client_cert_details: 'APPEND_FORWARD', set_current_client_cert_details: { uri: true, subject: true } }, expect: (h) => assert.deepEqual(h.forwardClientCert, { mode: 'APPEND_FORWARD', details: ['Subject', 'URI'] }) },
  { name: 'forward_client_cert_details SANITIZE is the default', input: { forward_client_cert_details: 'SANITIZE' }, expect: (h) => assert.equal(h.kind, 'http') },
  { name: 'downstream max_requests_per_connection not supported yet', input: { common_http_protocol_options: { max_requests_per_connection: 10 } }, errorContains: `${P}.common_http_protocol_options.max_requests_per_connection: max_requests_per_connection is not supported yet` },
  { name: 'CONNECT upgrades not supported yet', input: { upgrade_configs: [{ upgrade_type: 'CONNECT' }] }, errorContains: `${P}.upgrade_configs[0].upgrade_type: CONNECT is not supported yet` },
  { name: 'unknown HCM field', input: { route_confg: {} }, errorContains: `${P}.route_confg: unknown field "route_confg" in envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager` },
  // ------------------------------------------------------------ HTTP filters
  { name: 'router by name only (no typed_config)', input: { http_filters: [{ name: 'envoy.filters.http.router' }] }, expect: (h) => assert.equal(h.httpFilters[0].typeUrl, ROUTER_TYPE) },
  { name: 'router with an empty typed_config (old examples)', input: { http_filters: [{ name: 'envoy.filters.http.router', typed_config: {} }] }, expect: (h) => assert.equal(h.httpFilters.length, 1) },
  { name: 'router config kept without @type', input: { http_filters: [{ name: 'r', typed_config: { '@type': ROUTER_TYPE, dynamic_stats: false } }] }, expect: (h) => assert.deepEqual(h.httpFilters[0].config, { dynamic_stats: false }) },
  { name: 'router config field not supported yet', input: { http_filters: [{ name: 'r', typed_config: { '@type': ROUTER_TYPE, suppress_envoy_headers: true } }] }, errorContains: `${P}.http_filters[0].typed_config.suppress_envoy_headers: suppress_envoy_headers is not supported yet` },
  { name: 'missing router filter', input: { http_filters: [] }, errorContains: `${P}.http_filters: the router filter (envoy.filters.http.router) is required as the last HTTP filter` },
  { name: 'no http_filters at all', input: { http_filters: undefined }, errorContains: 'the router filter (envoy.filters.http.router) is required' },
  { name: 'router not last', input: { http_filters: [router, { name: 'optional.cors', typed_config: { '@type': CORS_TYPE }, is_optional: true }] }, errorContains: `${P}.http_filters[0]: envoy.filters.http.router is a terminal filter and must be the last HTTP filter` },
  { name: 'router cannot be disabled', input: { http_filters: [{ ...router, disabled: true }] }, errorContains: `${P}.http_filters[0].disabled: envoy.filters.http.router cannot be disabled` },
  {
    name: 'unknown non-optional filter',
    input: { http_filters: [{ name: 'envoy.filters.http.cors', typed_config: { '@type': CORS_TYPE } }, router] },
    errorContains: `${P}.http_filters[0]: unsupported HTTP filter envoy.filters.http.cors (${CORS_TYPE})`,
  },
  {
    name: 'unknown optional filter is skipped with a warning',
    input: { http_filters: [{ name: 'envoy.filters.http.cors', typed_config: { '@type': CORS_TYPE }, is_optional: true }, router] },
    expect: (h) => assert.deepEqual(h.httpFilters.map((f) => f.name), ['envoy.filters.http.router']),
    warningContains: `${P}.http_filters[0]: unsupported optional HTTP filter envoy.filters.http.cors (${CORS_TYPE}) is skipped`,
  },
  { name: 'filter config_discovery not supported', input: { http_filters: [{ name: 'x', config_discovery: { config_source: {} } }, router] }, errorContains: `${P}.http_filters[0].config_discovery: config_discovery is not supported yet` },
  // ------------------------------------------------------------ access logs
  {
    name: 'access loggers: stdout default, stderr text, file json, file legacy format',
    input: {
      access_log: [
        { name: 'envoy.access_loggers.stdout', typed_config: { '@type': STDOUT_TYPE } },
        { name: 'envoy.access_loggers.stderr', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog', log_format: { text_format: '%RESPONSE_CODE%\n' } } },
        { name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_TYPE, path: '/var/log/a.json', log_format: { json_format: { status: '%RESPONSE_CODE%', nested: { p: '%REQ(:PATH)%' } } } } },
        { name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_TYPE, path: '/var/log/b.log', format: '%START_TIME%\n' } },
        { name: 'envoy.access_loggers.stdout', typed_config: { '@type': STDOUT_TYPE, log_format: { text_format_source: { filename: '/formats/log.txt' } } } },
        { name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_TYPE, path: '/var/log/c.log', json_format: { s: '%RESPONSE_CODE%' } } },
      ],
    },
    expect: (h) =>
      assert.deepEqual(h.accessLog, [
        { sink: 'stdout', path: null, textFormat: null, jsonFormat: null },
        { sink: 'stderr', path: null, textFormat: '%RESPONSE_CODE%\n', jsonFormat: null },
        { sink: 'file', path: '/var/log/a.json', textFormat: null, jsonFormat: { status: '%RESPONSE_CODE%', nested: { p: '%REQ(:PATH)%' } } },
        { sink: 'file', path: '/var/log/b.log', textFormat: '%START_TIME%\n', jsonFormat: null },
        { sink: 'stdout', path: null, textFormat: '[%START_TIME%] %REQ(:PATH)%\n', jsonFormat: null },
        { sink: 'file', path: '/var/log/c.log', textFormat: null, jsonFormat: { s: '%RESPONSE_CODE%' } },
      ]),
  },
  { name: 'file access log needs a path', input: { access_log: [{ name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_TYPE } }] }, errorContains: `${P}.access_log[0].typed_config.path: is required` },
  {
    // Istio's virtualOutbound logs only NR (no route) connections; status / duration filters as in Envoy's docs.
    name: 'access log filters: response_flag (Istio), status_code, duration, and / or',
    input: { access_log: [
      { name: 'envoy.access_loggers.stdout', filter: { response_flag_filter: { flags: ['NR'] } } },
      { name: 'envoy.access_loggers.stdout', filter: { or_filter: { filters: [{ status_code_filter: { comparison: { op: 'GE', value: { default_value: 500, runtime_key: 'k' } } } }, { duration_filter: { comparison: { op: 'GE', value: { default_value: 1000 } } } }] } } },
      { name: 'envoy.access_loggers.stdout', filter: { and_filter: { filters: [{ response_flag_filter: {} }, { status_code_filter: { comparison: { value: { default_value: 503 } } } }] } } },
    ] },
    expect: (h) => assert.deepEqual(h.accessLog.map((a) => a.filter), [
      { kind: 'response_flag', flags: ['NR'] },
      { kind: 'or', filters: [{ kind: 'status_code', op: 'GE', value: 500 }, { kind: 'duration', op: 'GE', value: 1000 }] },
      { kind: 'and', filters: [{ kind: 'response_flag', flags: [] }, { kind: 'status_code', op: 'EQ', value: 503 }] },
    ]),
  },
  { name: 'status_code_filter without comparison', input: { access_log: [{ name: 'envoy.access_loggers.stdout', filter: { status_code_filter: {} } }] }, errorContains: `${P}.access_log[0].filter.status_code_filter.comparison: is required` },
  { name: 'or_filter with one filter', input: { access_log: [{ name: 'envoy.access_loggers.stdout', filter: { or_filter: { filters: [{ response_flag_filter: {} }] } } }] }, errorContains: `${P}.access_log[0].filter.or_filter.filters: needs at least 2 items` },
  { name: 'unknown response flag warns', input: { access_log: [{ name: 'envoy.access_loggers.stdout', filter: { response_flag_filter: { flags: ['XX'] } } }] }, expect: () => undefined, warningContains: `${P}.access_log[0].filter.response_flag_filter.flags[0]: "XX" is not a response flag Pilotfish sets` },
  { name: 'other access log filters not supported yet', input: { access_log: [{ name: 'envoy.access_loggers.stdout', filter: { header_filter: { header: { name: 'x', present_match: true } } } }] }, errorContains: `${P}.access_log[0].filter.header_filter: header_filter is not supported yet` },
  { name: 'other access loggers not supported yet', input: { access_log: [{ name: 'envoy.access_loggers.open_telemetry', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig' } }] }, errorContains: `${P}.access_log[0].typed_config.@type: access logger envoy.access_loggers.open_telemetry (type.googleapis.com/envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig) is not supported yet` },
  { name: 'two log formats at once', input: { access_log: [{ name: 'a', typed_config: { '@type': STDOUT_TYPE, log_format: { text_format: 'x', json_format: { a: 'b' } } } }] }, errorContains: `${P}.access_log[0].typed_config.log_format.json_format: only one of text_format, json_format, text_format_source may be set` },
];

runCases('http_connection_manager', cases, compileHcm);
