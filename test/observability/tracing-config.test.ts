// Tests compiling HCM `tracing` (sampling, custom tags, the OpenTelemetry provider) and the listener's traffic_direction.
import assert from 'node:assert/strict';
import { compileListener } from '../../src/model/compile-bootstrap.ts';
import type { CompileResult, HttpConnectionManagerConfig, ListenerConfig } from '../../src/model/types.ts';
import type { TracingConfig } from '../../src/model/tracing.ts';
import { type Case, type Json, hcm, io, listener, runCases } from '../model/fixtures.ts';

const OTEL = 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig';
const P = 'listener "ingress": filter_chains[0].filters[0].typed_config.tracing';

function compileTracing(tracing: Json): CompileResult<TracingConfig> {
  const r = compileListener(listener(hcm({ tracing })), io);
  if (!r.ok) return r;
  const t = (r.value.filterChains[0].network as HttpConnectionManagerConfig).tracing;
  assert.ok(t);
  return { ok: true, value: t, warnings: r.warnings };
}

function provider(typed: Json): Json {
  return { provider: { name: 'envoy.tracers.opentelemetry', typed_config: { '@type': OTEL, ...typed } } };
}

const cases: readonly Case<Json, TracingConfig>[] = [
  {
    name: 'empty tracing: env exporter, sampling unset (OTEL_TRACES_SAMPLER or 100 %)',
    input: {},
    expect: (t) => assert.deepEqual(t, {
      randomSampling: null, clientSampling: 1, overallSampling: 1, spawnUpstreamSpan: null, maxPathTagLength: 256, customTags: [], provider: null,
    }),
  },
  {
    name: 'sampling percentages and spawn_upstream_span',
    input: { random_sampling: { value: 1 }, client_sampling: { value: 50 }, overall_sampling: { value: 100 }, spawn_upstream_span: true, max_path_tag_length: 64, verbose: true },
    expect: (t) => {
      assert.equal(t.randomSampling, 0.01);
      assert.equal(t.clientSampling, 0.5);
      assert.equal(t.overallSampling, 1);
      assert.equal(t.spawnUpstreamSpan, true);
      assert.equal(t.maxPathTagLength, 64);
    },
  },
  { name: 'percent out of range', input: { random_sampling: { value: 101 } }, errorContains: `${P}.random_sampling.value: must be a percentage from 0 to 100, got 101` },
  {
    name: 'custom tags: literal, environment, request header',
    input: { custom_tags: [
      { tag: 'mesh', literal: { value: 'demo' } },
      { tag: 'zone', environment: { name: 'ZONE', default_value: 'local' } },
      { tag: 'tenant', request_header: { name: 'X-Tenant', default_value: 'none' } },
    ] },
    expect: (t) => assert.deepEqual(t.customTags, [
      { tag: 'mesh', kind: 'literal', value: 'demo' },
      { tag: 'zone', kind: 'environment', name: 'ZONE', defaultValue: 'local' },
      { tag: 'tenant', kind: 'request_header', name: 'x-tenant', defaultValue: 'none' },
    ]),
  },
  { name: 'metadata custom tags are not supported', input: { custom_tags: [{ tag: 'm', metadata: { kind: { request: {} } } }] }, errorContains: `${P}.custom_tags[0].metadata: metadata is not supported yet` },
  {
    name: 'OpenTelemetry over gRPC to a cluster (envoy_grpc), with service_name and metadata',
    input: provider({ grpc_service: { envoy_grpc: { cluster_name: 'jaeger' }, timeout: '2s', initial_metadata: [{ key: 'X-Tenant', value: 'a' }] }, service_name: 'orders' }),
    expect: (t) => assert.deepEqual(t.provider, {
      serviceName: 'orders',
      target: { kind: 'grpc', cluster: 'jaeger', targetUri: null, timeoutMs: 2000, headers: [['x-tenant', 'a']] },
    }),
  },
  {
    name: 'OpenTelemetry over gRPC to an address (google_grpc)',
    input: provider({ grpc_service: { google_grpc: { target_uri: 'jaeger:4317', stat_prefix: 'otel' } } }),
    expect: (t) => assert.deepEqual(t.provider?.target, { kind: 'grpc', cluster: null, targetUri: 'jaeger:4317', timeoutMs: null, headers: [] }),
  },
  {
    name: 'OpenTelemetry over HTTP/protobuf (http_service)',
    input: provider({ http_service: { http_uri: { uri: 'http://jaeger:4318/v1/traces', cluster: 'jaeger', timeout: '1s' }, request_headers_to_add: [{ header: { key: 'Authorization', value: 'Bearer x' } }] } }),
    expect: (t) => assert.deepEqual(t.provider?.target, { kind: 'http', uri: 'http://jaeger:4318/v1/traces', timeoutMs: 1000, headers: [['authorization', 'Bearer x']] }),
  },
  {
    name: 'provider by name only uses the environment',
    input: { provider: { name: 'envoy.tracers.opentelemetry' } },
    expect: (t) => assert.deepEqual(t.provider, { serviceName: null, target: null }),
  },
  { name: 'other tracers are rejected', input: { provider: { name: 'envoy.tracers.zipkin' } }, errorContains: `${P}.provider.name: tracer envoy.tracers.zipkin is not supported (only envoy.tracers.opentelemetry)` },
  {
    name: 'other tracer configs are rejected',
    input: { provider: { name: 'envoy.tracers.zipkin', typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig' } } },
    errorContains: `${P}.provider.typed_config.@type: expected ${OTEL}`,
  },
  { name: 'grpc and http service together', input: provider({ grpc_service: { google_grpc: { target_uri: 'a:1' } }, http_service: { http_uri: { uri: 'http://a/v1/traces' } } }), errorContains: 'only one of grpc_service, http_service may be set' },
  { name: 'http_service needs a URL', input: provider({ http_service: { http_uri: { uri: 'jaeger:4318' } } }), errorContains: `${P}.provider.typed_config.http_service.http_uri.uri: must be an http:// or https:// URL` },
  { name: 'sampler extensions are not supported', input: provider({ sampler: { name: 'x' } }), errorContains: `${P}.provider.typed_config.sampler: sampler is not supported yet` },
];

runCases('HCM tracing', cases, compileTracing);

function compileDirection(extra: Json): CompileResult<ListenerConfig> {
  return compileListener({ ...listener(hcm()), ...extra }, io);
}

runCases('listener traffic_direction', [
  { name: 'absent', input: {}, expect: (l) => assert.equal(l.trafficDirection, undefined) },
  { name: 'INBOUND', input: { traffic_direction: 'INBOUND' }, expect: (l) => assert.equal(l.trafficDirection, 'INBOUND') },
  { name: 'OUTBOUND by number', input: { traffic_direction: 2 }, expect: (l) => assert.equal(l.trafficDirection, 'OUTBOUND') },
  { name: 'bad value', input: { traffic_direction: 'SIDEWAYS' }, errorContains: 'traffic_direction: invalid value "SIDEWAYS"' },
], compileDirection);
