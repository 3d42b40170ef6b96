// Tests compileCluster for outlier_detection, health_checks (HTTP, TCP, gRPC) and common_lb_config.healthy_panic_threshold.
import assert from 'node:assert/strict';
import { compileCluster } from '../../src/model/compile-bootstrap.ts';
import { OUTLIER_DEFAULTS } from '../../src/model/outlier-detection.ts';
import type { ClusterConfig, HealthCheckConfig } from '../../src/model/types.ts';
import { HTTP_OPTIONS_KEY, HTTP_OPTIONS_TYPE, type Case, type Json, cluster, io, runCases } from './fixtures.ts';

const C = 'cluster "backend"';
const H2 = { typed_extension_protocol_options: { [HTTP_OPTIONS_KEY]: { '@type': HTTP_OPTIONS_TYPE, explicit_http_config: { http2_protocol_options: {} } } } };

/** A cluster with one health check: the common required fields plus `checker`. */
function hc(checker: Json, extra: Json = {}, clusterExtra: Json = {}): Json {
  return cluster('backend', {
    health_checks: [{ timeout: '1s', interval: '5s', unhealthy_threshold: 3, healthy_threshold: 2, ...checker, ...extra }],
    ...clusterExtra,
  });
}

const only = (c: ClusterConfig): HealthCheckConfig => {
  assert.equal(c.healthChecks.length, 1);
  return c.healthChecks[0];
};

const cases: readonly Case<Json, ClusterConfig>[] = [
  // ------------------------------------------------------------ outlier_detection
  { name: 'no outlier_detection', input: cluster(), expect: (c) => assert.equal(c.outlierDetection, null) },
  { name: 'empty outlier_detection takes Envoy defaults', input: cluster('backend', { outlier_detection: {} }), expect: (c) => assert.deepEqual(c.outlierDetection, OUTLIER_DEFAULTS) },
  {
    name: 'defaults are Envoy\'s',
    input: cluster('backend', { outlier_detection: {} }),
    expect: (c) => {
      const o = c.outlierDetection!;
      assert.deepEqual(
        [o.consecutive5xx, o.consecutiveGatewayFailure, o.intervalMs, o.baseEjectionTimeMs, o.maxEjectionTimeMs, o.maxEjectionPercent],
        [5, 5, 10_000, 30_000, 300_000, 10],
      );
      assert.deepEqual([o.enforcingConsecutive5xx, o.enforcingConsecutiveGatewayFailure, o.enforcingSuccessRate], [100, 0, 100]);
      assert.deepEqual([o.successRateMinimumHosts, o.successRateRequestVolume, o.successRateStdevFactor], [5, 100, 1900]);
      assert.equal(o.splitExternalLocalOriginErrors, false);
    },
  },
  {
    name: 'every field',
    input: cluster('backend', {
      outlier_detection: {
        consecutive_5xx: 3, consecutive_gateway_failure: { value: 2 }, consecutive_local_origin_failure: 4,
        interval: '0.5s', base_ejection_time: '1s', max_ejection_time: '20s', max_ejection_time_jitter: '0.1s',
        max_ejection_percent: 50, always_eject_one_host: true,
        enforcing_consecutive_5xx: 90, enforcing_consecutive_gateway_failure: 100, enforcing_consecutive_local_origin_failure: 80,
        enforcing_success_rate: 70, enforcing_local_origin_success_rate: 60,
        success_rate_minimum_hosts: 3, success_rate_request_volume: 10, success_rate_stdev_factor: 1000,
        failure_percentage_threshold: 50, enforcing_failure_percentage: 100, enforcing_failure_percentage_local_origin: 40,
        failure_percentage_minimum_hosts: 2, failure_percentage_request_volume: 20,
        split_external_local_origin_errors: true, successful_active_health_check_uneject_host: false,
      },
    }),
    expect: (c) =>
      assert.deepEqual(c.outlierDetection, {
        consecutive5xx: 3, consecutiveGatewayFailure: 2, consecutiveLocalOriginFailure: 4,
        intervalMs: 500, baseEjectionTimeMs: 1000, maxEjectionTimeMs: 20_000, maxEjectionTimeJitterMs: 100,
        maxEjectionPercent: 50, alwaysEjectOneHost: true,
        enforcingConsecutive5xx: 90, enforcingConsecutiveGatewayFailure: 100, enforcingConsecutiveLocalOriginFailure: 80,
        enforcingSuccessRate: 70, enforcingLocalOriginSuccessRate: 60,
        successRateMinimumHosts: 3, successRateRequestVolume: 10, successRateStdevFactor: 1000,
        failurePercentageThreshold: 50, enforcingFailurePercentage: 100, enforcingFailurePercentageLocalOrigin: 40,
        failurePercentageMinimumHosts: 2, failurePercentageRequestVolume: 20,
        splitExternalLocalOriginErrors: true, successfulActiveHealthCheckUnejectHost: false,
      }),
  },
  { name: 'camelCase names', input: cluster('backend', { outlierDetection: { consecutive5xx: 2, baseEjectionTime: '2s' } }), expect: (c) => assert.deepEqual([c.outlierDetection?.consecutive5xx, c.outlierDetection?.baseEjectionTimeMs], [2, 2000]) },
  { name: 'max_ejection_time defaults to base_ejection_time when that is longer than 300 s', input: cluster('backend', { outlier_detection: { base_ejection_time: '600s' } }), expect: (c) => assert.equal(c.outlierDetection?.maxEjectionTimeMs, 600_000) },
  { name: 'max_ejection_time below base_ejection_time', input: cluster('backend', { outlier_detection: { base_ejection_time: '10s', max_ejection_time: '5s' } }), errorContains: `${C}: outlier_detection.max_ejection_time: must not be smaller than base_ejection_time (10000 ms)` },
  { name: 'interval must be positive', input: cluster('backend', { outlier_detection: { interval: '0s' } }), errorContains: `${C}: outlier_detection.interval: must be greater than 0` },
  { name: 'max_ejection_percent above 100', input: cluster('backend', { outlier_detection: { max_ejection_percent: 101 } }), errorContains: `${C}: outlier_detection.max_ejection_percent: 101 is out of range [0, 100]` },
  { name: 'enforcing percentage above 100', input: cluster('backend', { outlier_detection: { enforcing_consecutive_5xx: 150 } }), errorContains: `${C}: outlier_detection.enforcing_consecutive_5xx: 150 is out of range [0, 100]` },
  { name: 'unknown outlier field', input: cluster('backend', { outlier_detection: { consecutive_6xx: 1 } }), errorContains: `${C}: outlier_detection.consecutive_6xx: unknown field "consecutive_6xx" in envoy.config.cluster.v3.OutlierDetection` },
  { name: 'monitors not supported yet', input: cluster('backend', { outlier_detection: { monitors: [{ name: 'x' }] } }), errorContains: `${C}: outlier_detection.monitors: monitors is not supported yet` },
  // ------------------------------------------------------------ common_lb_config
  { name: 'panic threshold defaults to 50', input: cluster(), expect: (c) => assert.equal(c.healthyPanicThreshold, 50) },
  { name: 'healthy_panic_threshold', input: cluster('backend', { common_lb_config: { healthy_panic_threshold: { value: 25.5 } } }), expect: (c) => assert.equal(c.healthyPanicThreshold, 25.5) },
  { name: 'an empty Percent is 0 (panic mode off)', input: cluster('backend', { common_lb_config: { healthy_panic_threshold: {} } }), expect: (c) => assert.equal(c.healthyPanicThreshold, 0) },
  { name: 'common_lb_config without the threshold', input: cluster('backend', { common_lb_config: { update_merge_window: '1s' } }), expect: (c) => assert.equal(c.healthyPanicThreshold, 50) },
  { name: 'healthy_panic_threshold above 100', input: cluster('backend', { common_lb_config: { healthy_panic_threshold: { value: 120 } } }), errorContains: `${C}: common_lb_config.healthy_panic_threshold.value: 120 is out of range [0, 100]` },
  { name: 'zone aware LB not supported yet', input: cluster('backend', { common_lb_config: { zone_aware_lb_config: { min_cluster_size: 3 } } }), errorContains: `${C}: common_lb_config.zone_aware_lb_config: zone_aware_lb_config is not supported yet` },
  // ------------------------------------------------------------ health_checks: common fields
  { name: 'no health checks', input: cluster(), expect: (c) => assert.deepEqual(c.healthChecks, []) },
  {
    name: 'HTTP health check with defaults',
    input: hc({ http_health_check: { path: '/healthz' } }),
    expect: (c) =>
      assert.deepEqual(only(c), {
        timeoutMs: 1000, intervalMs: 5000, initialJitterMs: 0, intervalJitterMs: 0, intervalJitterPercent: 0,
        unhealthyThreshold: 3, healthyThreshold: 2, reuseConnection: true,
        noTrafficIntervalMs: 60_000, noTrafficHealthyIntervalMs: 60_000, unhealthyIntervalMs: 5000, unhealthyEdgeIntervalMs: 5000, healthyEdgeIntervalMs: 5000,
        checker: {
          kind: 'http', host: '', path: '/healthz', method: 'GET', expectedStatuses: [{ start: 200, end: 201 }], retriableStatuses: [],
          requestHeadersToAdd: [], requestHeadersToRemove: [], codec: 'http1', receive: [], responseBufferSize: 1024,
        },
      }),
  },
  {
    name: 'intervals and jitter',
    input: hc({ tcp_health_check: {} }, {
      initial_jitter: '0.2s', interval_jitter: '0.1s', interval_jitter_percent: 10, reuse_connection: false,
      no_traffic_interval: '30s', no_traffic_healthy_interval: '90s', unhealthy_interval: '2s', unhealthy_edge_interval: '1s', healthy_edge_interval: '3s',
    }),
    expect: (c) => {
      const h = only(c);
      assert.deepEqual(
        [h.initialJitterMs, h.intervalJitterMs, h.intervalJitterPercent, h.reuseConnection, h.noTrafficIntervalMs, h.noTrafficHealthyIntervalMs, h.unhealthyIntervalMs, h.unhealthyEdgeIntervalMs, h.healthyEdgeIntervalMs],
        [200, 100, 10, false, 30_000, 90_000, 2000, 1000, 3000],
      );
    },
  },
  { name: 'unhealthy_edge_interval defaults to unhealthy_interval', input: hc({ tcp_health_check: {} }, { unhealthy_interval: '7s' }), expect: (c) => assert.equal(only(c).unhealthyEdgeIntervalMs, 7000) },
  { name: 'timeout is required', input: cluster('backend', { health_checks: [{ interval: '1s', unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} }] }), errorContains: `${C}: health_checks[0].timeout: is required` },
  { name: 'interval must be positive', input: hc({ tcp_health_check: {} }, { interval: '0s' }), errorContains: `${C}: health_checks[0].interval: must be greater than 0` },
  { name: 'thresholds are required', input: cluster('backend', { health_checks: [{ timeout: '1s', interval: '1s', tcp_health_check: {} }] }), errorContains: [`${C}: health_checks[0].unhealthy_threshold: is required`, `${C}: health_checks[0].healthy_threshold: is required`] },
  { name: 'a checker is required', input: hc({}), errorContains: `${C}: health_checks[0]: one of http_health_check, tcp_health_check, grpc_health_check is required` },
  { name: 'only one checker', input: hc({ tcp_health_check: {}, http_health_check: { path: '/' } }), errorContains: 'only one of http_health_check, tcp_health_check, grpc_health_check may be set' },
  { name: 'custom health checkers not supported yet', input: hc({ custom_health_check: { name: 'envoy.health_checkers.redis' } }), errorContains: `${C}: health_checks[0].custom_health_check: custom_health_check is not supported yet` },
  { name: 'event logging not supported yet', input: hc({ tcp_health_check: {} }, { event_log_path: '/dev/stdout' }), errorContains: `${C}: health_checks[0].event_log_path: event_log_path is not supported yet` },
  { name: 'two health checks', input: cluster('backend', { health_checks: [
    { timeout: '1s', interval: '1s', unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} },
    { timeout: '1s', interval: '1s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/' } },
  ] }), expect: (c) => assert.deepEqual(c.healthChecks.map((h) => h.checker.kind), ['tcp', 'http']) },
  // ------------------------------------------------------------ HTTP
  {
    name: 'HTTP health check with every field',
    input: hc({
      http_health_check: {
        host: 'health.local', path: '/ready', method: 'HEAD', codec_client_type: 'HTTP2', response_buffer_size: 64,
        expected_statuses: [{ start: 200, end: 300 }, { start: '418', end: '419' }], retriable_statuses: [{ start: 503, end: 504 }],
        request_headers_to_add: [{ header: { key: 'X-Probe', value: 'envoy' } }], request_headers_to_remove: ['User-Agent'],
        receive: [{ text: '4F4B' }],
      },
    }),
    expect: (c) => {
      const ck = only(c).checker;
      assert.equal(ck.kind, 'http');
      if (ck.kind !== 'http') return;
      assert.deepEqual([ck.host, ck.path, ck.method, ck.codec, ck.responseBufferSize], ['health.local', '/ready', 'HEAD', 'http2', 64]);
      assert.deepEqual(ck.expectedStatuses, [{ start: 200, end: 300 }, { start: 418, end: 419 }]);
      assert.deepEqual(ck.retriableStatuses, [{ start: 503, end: 504 }]);
      assert.deepEqual(ck.requestHeadersToAdd.map((h) => [h.key, h.value]), [['x-probe', 'envoy']]);
      assert.deepEqual(ck.requestHeadersToRemove, ['user-agent']);
      assert.deepEqual(ck.receive, ['4f4b']);
    },
  },
  { name: 'HTTP path is required', input: hc({ http_health_check: {} }), errorContains: `${C}: health_checks[0].http_health_check.path: is required` },
  { name: 'status range start below 100', input: hc({ http_health_check: { path: '/', expected_statuses: [{ start: 0, end: 200 }] } }), errorContains: `${C}: health_checks[0].http_health_check.expected_statuses[0].start: must be at least 100 (got 0)` },
  { name: 'status range end above 600', input: hc({ http_health_check: { path: '/', expected_statuses: [{ start: 200, end: 601 }] } }), errorContains: 'expected_statuses[0].end: must be at most 600 (got 601)' },
  { name: 'empty status range', input: hc({ http_health_check: { path: '/', retriable_statuses: [{ start: 503, end: 503 }] } }), errorContains: 'retriable_statuses[0].end: must be greater than start (503)' },
  { name: 'CONNECT is not a health check method', input: hc({ http_health_check: { path: '/', method: 'CONNECT' } }), errorContains: 'http_health_check.method: CONNECT is not allowed for health checks' },
  { name: 'HTTP3 health checks not supported yet', input: hc({ http_health_check: { path: '/', codec_client_type: 'HTTP3' } }), errorContains: 'http_health_check.codec_client_type: HTTP3 is not supported yet' },
  { name: 'HTTP send not supported yet', input: hc({ http_health_check: { path: '/', send: { text: '00' } } }), errorContains: 'http_health_check.send: send is not supported yet' },
  { name: 'header substitutions are rejected', input: hc({ http_health_check: { path: '/', request_headers_to_add: [{ header: { key: 'x-h', value: '%HOSTNAME%' } }] } }), errorContains: 'http_health_check.request_headers_to_add[0].header.value: %COMMAND% substitutions are not supported in health checks' },
  // ------------------------------------------------------------ TCP
  { name: 'TCP connect-only', input: hc({ tcp_health_check: {} }), expect: (c) => assert.deepEqual(only(c).checker, { kind: 'tcp', send: null, receive: [] }) },
  {
    name: 'TCP send and receive (hex text and base64 binary)',
    input: hc({ tcp_health_check: { send: { text: '50494E47' }, receive: [{ text: '504f' }, { binary: Buffer.from('NG').toString('base64') }] } }),
    expect: (c) => assert.deepEqual(only(c).checker, { kind: 'tcp', send: '50494e47', receive: ['504f', '4e47'] }),
  },
  { name: 'TCP payload must be hex', input: hc({ tcp_health_check: { send: { text: 'PING' } } }), errorContains: `${C}: health_checks[0].tcp_health_check.send.text: "PING" is not a non-empty hex string` },
  { name: 'TCP payload needs text or binary', input: hc({ tcp_health_check: { receive: [{}] } }), errorContains: 'tcp_health_check.receive[0]: one of text, binary is required' },
  // ------------------------------------------------------------ gRPC
  {
    name: 'gRPC health check on an HTTP/2 cluster',
    input: hc({ grpc_health_check: { service_name: 'echo.Echo', authority: 'echo.svc', initial_metadata: [{ header: { key: 'x-probe', value: '1' } }] } }, {}, H2),
    expect: (c) => {
      const ck = only(c).checker;
      assert.equal(ck.kind, 'grpc');
      if (ck.kind !== 'grpc') return;
      assert.deepEqual([ck.serviceName, ck.authority, ck.initialMetadata.map((h) => h.key)], ['echo.Echo', 'echo.svc', ['x-probe']]);
    },
  },
  { name: 'gRPC health check needs HTTP/2', input: hc({ grpc_health_check: {} }), errorContains: `${C}: health_checks[0].grpc_health_check: the cluster must use HTTP/2 for gRPC health checking` },
];

runCases('compileCluster: outlier detection, health checks, panic threshold', cases, (json) => compileCluster(json, io));
