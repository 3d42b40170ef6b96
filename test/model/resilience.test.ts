// Tests the resilience fields of the model: retry_budget in circuit breakers, max_stream_duration (cluster, connection manager, route) and grpc_timeout_header_max.
import assert from 'node:assert/strict';
import { compileCluster, compileListener, compileRouteConfiguration } from '../../src/model/compile-bootstrap.ts';
import type { ClusterConfig, CompileResult, HttpConnectionManagerConfig, RouteAction, RouteConfig } from '../../src/model/types.ts';
import { type Case, type Json, HTTP_OPTIONS_KEY, HTTP_OPTIONS_TYPE, cluster, hcm, io, listener, routeConfig, runCases } from './fixtures.ts';

function thresholds(t: Json): Json {
  return cluster('backend', { circuit_breakers: { thresholds: [t] } });
}

function httpOptions(common: Json): Json {
  return {
    typed_extension_protocol_options: {
      [HTTP_OPTIONS_KEY]: { '@type': HTTP_OPTIONS_TYPE, common_http_protocol_options: common, explicit_http_config: { http_protocol_options: {} } },
    },
  };
}

const clusterCases: readonly Case<Json, ClusterConfig>[] = [
  {
    name: 'no retry_budget: max_retries decides (no retryBudget field)',
    input: thresholds({ max_retries: 7 }),
    expect: (c) => {
      assert.equal(c.circuitBreakers.maxRetries, 7);
      assert.equal(c.circuitBreakers.retryBudget, undefined);
    },
  },
  { name: 'retry_budget with defaults', input: thresholds({ retry_budget: {} }), expect: (c) => assert.deepEqual(c.circuitBreakers.retryBudget, { budgetPercent: 20, minRetryConcurrency: 3 }) },
  {
    name: 'retry_budget with Percent and UInt32Value wrappers',
    input: thresholds({ retry_budget: { budget_percent: { value: 25.5 }, min_retry_concurrency: { value: 10 } } }),
    expect: (c) => assert.deepEqual(c.circuitBreakers.retryBudget, { budgetPercent: 25.5, minRetryConcurrency: 10 }),
  },
  {
    name: 'retry_budget in camelCase with plain numbers',
    input: thresholds({ retryBudget: { budgetPercent: 50, minRetryConcurrency: 0 } }),
    expect: (c) => assert.deepEqual(c.circuitBreakers.retryBudget, { budgetPercent: 50, minRetryConcurrency: 0 }),
  },
  {
    name: 'retry_budget keeps the other thresholds',
    input: thresholds({ max_connections: 2, max_pending_requests: 3, max_requests: 4, max_retries: 5, retry_budget: { budget_percent: { value: 10 } } }),
    expect: (c) => assert.deepEqual(c.circuitBreakers, { maxConnections: 2, maxPendingRequests: 3, maxRequests: 4, maxRetries: 5, retryBudget: { budgetPercent: 10, minRetryConcurrency: 3 } }),
  },
  {
    name: 'retry_budget budget_percent above 100 is an error',
    input: thresholds({ retry_budget: { budget_percent: { value: 120 } } }),
    errorContains: 'circuit_breakers.thresholds[0].retry_budget.budget_percent: must be a percentage from 0 to 100',
  },
  {
    name: 'retry_budget with an unknown field is an error',
    input: thresholds({ retry_budget: { budget: 3 } }),
    errorContains: 'retry_budget.budget: unknown field "budget"',
  },
  {
    name: 'retry_budget min_retry_concurrency must be a number',
    input: thresholds({ retry_budget: { min_retry_concurrency: 'many' } }),
    errorContains: 'retry_budget.min_retry_concurrency',
  },
  {
    name: 'cluster max_stream_duration in HttpProtocolOptions.common_http_protocol_options',
    input: cluster('backend', httpOptions({ max_stream_duration: '2.5s' })),
    expect: (c) => assert.equal(c.maxStreamDurationMs, 2500),
  },
  { name: 'cluster max_stream_duration 0 means none (field absent)', input: cluster('backend', httpOptions({ max_stream_duration: '0s' })), expect: (c) => assert.equal(c.maxStreamDurationMs, undefined) },
  { name: 'cluster without max_stream_duration', input: cluster(), expect: (c) => assert.equal(c.maxStreamDurationMs, undefined) },
  {
    name: 'cluster max_stream_duration in the deprecated cluster common_http_protocol_options',
    input: cluster('backend', { common_http_protocol_options: { max_stream_duration: { seconds: 3 } } }),
    expect: (c) => assert.equal(c.maxStreamDurationMs, 3000),
  },
  {
    name: 'cluster max_connection_duration stays unsupported',
    input: cluster('backend', httpOptions({ max_connection_duration: '10s' })),
    errorContains: 'max_connection_duration is not supported yet',
  },
];

runCases('cluster resilience fields', clusterCases, (input) => compileCluster(input, io));

function compileHcm(extra: Json): CompileResult<HttpConnectionManagerConfig> {
  const r = compileListener(listener(hcm(extra)), io);
  if (!r.ok) return r;
  return { ok: true, value: r.value.filterChains[0].network as HttpConnectionManagerConfig, warnings: r.warnings };
}

const hcmCases: readonly Case<Json, HttpConnectionManagerConfig>[] = [
  { name: 'no max_stream_duration by default', input: {}, expect: (h) => assert.equal(h.maxStreamDurationMs, undefined) },
  { name: 'common_http_protocol_options.max_stream_duration', input: { common_http_protocol_options: { max_stream_duration: '30s' } }, expect: (h) => assert.equal(h.maxStreamDurationMs, 30_000) },
  {
    name: 'timeouts: stream_idle_timeout, request_timeout, request_headers_timeout, idle_timeout, max_connection_duration',
    input: {
      stream_idle_timeout: '10s',
      request_timeout: '20s',
      request_headers_timeout: '1s',
      common_http_protocol_options: { idle_timeout: '60s', max_connection_duration: '300s' },
    },
    expect: (h) => {
      assert.equal(h.streamIdleTimeoutMs, 10_000);
      assert.equal(h.requestTimeoutMs, 20_000);
      assert.equal(h.requestHeadersTimeoutMs, 1000);
      assert.equal(h.idleTimeoutMs, 60_000);
      assert.equal(h.maxConnectionDurationMs, 300_000);
    },
  },
  { name: 'stream_idle_timeout 0 disables it', input: { stream_idle_timeout: '0s' }, expect: (h) => assert.equal(h.streamIdleTimeoutMs, 0) },
  { name: 'a malformed max_stream_duration is an error', input: { common_http_protocol_options: { max_stream_duration: 'soon' } }, errorContains: 'common_http_protocol_options.max_stream_duration' },
];

runCases('connection manager timeouts', hcmCases, compileHcm);

function action(rc: RouteConfig): RouteAction {
  return rc.virtualHosts[0].routes[0].action as RouteAction;
}

function compileRoute(route: Json): CompileResult<RouteConfig> {
  return compileRouteConfiguration(routeConfig([{ match: { prefix: '/' }, route: { cluster: 'backend', ...route } }]), io);
}

const routeCases: readonly Case<Json, RouteConfig>[] = [
  {
    name: 'timeouts default: 15 s route timeout, no idle, no stream duration, grpc-timeout ignored',
    input: {},
    expect: (rc) => {
      const a = action(rc);
      assert.equal(a.timeoutMs, 15_000);
      assert.equal(a.idleTimeoutMs, null);
      assert.equal(a.maxStreamDurationMs, null);
      assert.equal(a.grpcTimeoutHeaderMaxMs, null);
    },
  },
  { name: 'route timeout 0 disables it', input: { timeout: '0s' }, expect: (rc) => assert.equal(action(rc).timeoutMs, 0) },
  { name: 'route idle_timeout', input: { idle_timeout: '2s' }, expect: (rc) => assert.equal(action(rc).idleTimeoutMs, 2000) },
  {
    name: 'per_try_timeout in retry_policy',
    input: { retry_policy: { retry_on: '5xx', num_retries: 2, per_try_timeout: '0.25s' } },
    expect: (rc) => assert.equal(action(rc).retryPolicy?.perTryTimeoutMs, 250),
  },
  {
    name: 'max_stream_duration with grpc_timeout_header_max 0 (honour grpc-timeout uncapped)',
    input: { max_stream_duration: { max_stream_duration: '5s', grpc_timeout_header_max: '0s' } },
    expect: (rc) => {
      assert.equal(action(rc).maxStreamDurationMs, 5000);
      assert.equal(action(rc).grpcTimeoutHeaderMaxMs, 0);
    },
  },
  {
    name: 'grpc_timeout_header_offset stays unsupported',
    input: { max_stream_duration: { grpc_timeout_header_offset: '1s' } },
    errorContains: 'grpc_timeout_header_offset is not supported yet',
  },
];

runCases('route timeouts', routeCases, compileRoute);
