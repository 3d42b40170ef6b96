// Resource encoding (proto3 JSON ↔ Any), gRPC's reconnect backoff, and the /config_dump sections built from a dump.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, GRPC_BACKOFF } from '../../src/xds/ads-transport.ts';
import { decodeAny, encodeAny, TYPE_URL, xdsProtoRoot } from '../../src/xds/protos.ts';
import { xdsConfigDump, type XdsDump } from '../../src/xds/xds-source.ts';
import { edsCluster } from './fixtures.ts';

test('resources round-trip in proto3 JSON: durations, wrappers, Struct metadata, nested Any', async () => {
  const root = await xdsProtoRoot();
  const cluster = {
    ...edsCluster('backend', 'svc'),
    per_connection_buffer_limit_bytes: 32768,
    dns_refresh_rate: '1.5s',
    metadata: { filter_metadata: { 'istio': { labels: { app: 'x' }, weight: 2, on: true, list: [1, 'a', null] } } },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 7 } },
      },
    },
  };
  const any = encodeAny(root, TYPE_URL.cluster, cluster);
  assert.equal(any.type_url, TYPE_URL.cluster);
  const back = decodeAny(root, TYPE_URL.cluster, any.value);
  assert.deepEqual(back, { ...cluster, connect_timeout: '1s' });
  assert.throws(() => encodeAny(root, TYPE_URL.cluster, { nmae: 'typo' }), /envoy\.config\.cluster\.v3\.Cluster: unknown field "nmae"/);
});

test('backoff: 1 s initial, ×1.6, capped at 120 s, ±20 % jitter, reset', () => {
  const mid = new Backoff(GRPC_BACKOFF, () => 0.5);
  const delays = Array.from({ length: 12 }, () => Math.round(mid.next()));
  assert.deepEqual(delays.slice(0, 4), [1000, 1600, 2560, 4096]);
  assert.equal(delays.at(-1), 120000);
  mid.reset();
  assert.equal(mid.next(), 1000);
  assert.equal(Math.round(new Backoff(GRPC_BACKOFF, () => 0).next()), 800);
  assert.equal(Math.round(new Backoff(GRPC_BACKOFF, () => 1).next()), 1200);
});

test('xdsConfigDump: Envoy admin sections with versions, last_updated, warming and error states', () => {
  const t = '2026-01-02T03:04:05.000Z';
  const v = (version: string, resource: Record<string, unknown>) => ({ version, lastUpdated: t, resource });
  const dump: XdsDump = {
    ready: true,
    versions: { listener: 'l2', route_configuration: 'r1', cluster: 'c1', cluster_load_assignment: 'e1' },
    listeners: [{ name: 'in', active: v('l1', { name: 'in' }), warming: v('l2', { name: 'in', per_connection_buffer_limit_bytes: 1 }), error: null }],
    clusters: [
      { name: 'a', active: v('c1', { name: 'a' }), warming: null, error: null },
      { name: 'b', active: null, warming: v('c1', { name: 'b' }), error: null },
    ],
    routeConfigs: [{ name: 'r', active: v('r1', { name: 'r' }), warming: null, error: { details: 'route_configuration "r": x: bad', time: t, versionInfo: 'r2', resource: { name: 'r' } } }],
    endpoints: [{ name: 'a', active: v('e1', { cluster_name: 'a' }), warming: null, error: null }],
    lastNack: { type: TYPE_URL.routeConfiguration, kind: 'route_configuration', versionInfo: 'r2', nonce: 'n', error: 'route_configuration "r": x: bad', time: t },
  };
  const [clusters, listeners, routes, endpoints] = xdsConfigDump(dump);
  assert.equal(listeners['@type'], 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump');
  assert.equal(listeners.version_info, 'l2');
  assert.deepEqual(listeners.dynamic_listeners, [{
    name: 'in',
    active_state: { version_info: 'l1', listener: { '@type': TYPE_URL.listener, name: 'in' }, last_updated: t },
    warming_state: { version_info: 'l2', listener: { '@type': TYPE_URL.listener, name: 'in', per_connection_buffer_limit_bytes: 1 }, last_updated: t },
  }]);
  assert.deepEqual(clusters.dynamic_active_clusters, [{ version_info: 'c1', cluster: { '@type': TYPE_URL.cluster, name: 'a' }, last_updated: t }]);
  assert.deepEqual(clusters.dynamic_warming_clusters, [{ version_info: 'c1', cluster: { '@type': TYPE_URL.cluster, name: 'b' }, last_updated: t }]);
  assert.deepEqual(routes.dynamic_route_configs, [{
    version_info: 'r1',
    route_config: { '@type': TYPE_URL.routeConfiguration, name: 'r' },
    last_updated: t,
    error_state: { failed_configuration: { '@type': TYPE_URL.routeConfiguration, name: 'r' }, last_update_attempt: t, details: 'route_configuration "r": x: bad', version_info: 'r2' },
  }]);
  assert.equal(endpoints['@type'], 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump');
  assert.deepEqual(endpoints.dynamic_endpoint_configs, [{ version_info: 'e1', endpoint_config: { '@type': TYPE_URL.clusterLoadAssignment, cluster_name: 'a' }, last_updated: t }]);
});
