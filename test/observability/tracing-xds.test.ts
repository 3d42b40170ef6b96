// Tests tracing over xDS: the control plane's per-node tracing and traffic_direction, and HCM tracing (with an OpenTelemetryConfig Any) through protobuf.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileListener } from '../../src/model/compile-bootstrap.ts';
import type { HttpConnectionManagerConfig } from '../../src/model/types.ts';
import { decodeAny, encodeAny, TYPE_URL, xdsProtoRoot } from '../../src/xds/protos.ts';
import { inboundListener, outboundListener } from '../../xds/translate/listeners.ts';
import { readNodeIdentity } from '../../xds/translate/node.ts';
import { io } from '../model/fixtures.ts';

test('node metadata pilotfish.tracing asks for tracing (Istio ProxyConfig style; default 1 %)', () => {
  assert.deepEqual(readNodeIdentity('n', 'c', { pilotfish: { tracing: { sampling: 100 } } }).tracing, { samplingPercent: 100 });
  assert.deepEqual(readNodeIdentity('n', 'c', { pilotfish: { tracing: {} } }).tracing, { samplingPercent: 1 });
  assert.equal(readNodeIdentity('n', 'c', { pilotfish: {} }).tracing, null);
  const bad = readNodeIdentity('n', 'c', { pilotfish: { tracing: { sampling: 200 } } });
  assert.equal(bad.tracing, null);
  assert.match(bad.problems.join('\n'), /pilotfish\.tracing/);
});

test('control-plane listeners carry traffic_direction and, when asked, HCM tracing that the sidecar compiles', () => {
  const inbound = inboundListener('127.0.0.1', 15006, 'orders', 'http', { samplingPercent: 10 });
  const outbound = outboundListener(15001, null);
  assert.equal(inbound.traffic_direction, 'INBOUND');
  assert.equal(outbound.traffic_direction, 'OUTBOUND');
  const r = compileListener(inbound, io);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.trafficDirection, 'INBOUND');
  assert.equal((r.value.filterChains[0].network as HttpConnectionManagerConfig).tracing?.randomSampling, 0.1);
  const outboundHcm = (outbound.filter_chains as { filters: { typed_config: Record<string, unknown> }[] }[])[0].filters[0].typed_config;
  assert.equal(outboundHcm.tracing, undefined, 'no tracing unless the node asks');
});

test('an HCM with tracing and an OpenTelemetryConfig provider survives protobuf encoding (LDS over ADS)', async () => {
  const root = await xdsProtoRoot();
  const listener = {
    name: 'inbound', traffic_direction: 'INBOUND',
    address: { socket_address: { address: '127.0.0.1', port_value: 15006 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: 'inbound',
      route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'local' } }] }] },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
      tracing: {
        random_sampling: { value: 25 },
        spawn_upstream_span: true,
        custom_tags: [{ tag: 'mesh', literal: { value: 'm' } }],
        provider: { name: 'envoy.tracers.opentelemetry', typed_config: {
          '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig',
          grpc_service: { envoy_grpc: { cluster_name: 'jaeger' }, timeout: '1s' },
          service_name: 'orders',
        } },
      },
    } }] }],
  };
  const any = encodeAny(root, TYPE_URL.listener, listener);
  const back = decodeAny(root, any.type_url, any.value);
  const r = compileListener(back, io);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.trafficDirection, 'INBOUND');
  const t = (r.value.filterChains[0].network as HttpConnectionManagerConfig).tracing;
  assert.equal(t?.randomSampling, 0.25);
  assert.equal(t?.spawnUpstreamSpan, true);
  assert.deepEqual(t?.provider, { serviceName: 'orders', target: { kind: 'grpc', cluster: 'jaeger', targetUri: null, timeoutMs: 1000, headers: [] } });
});
