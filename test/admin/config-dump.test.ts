// Tests of /config_dump construction: static vs dynamic resources, inline routes, redaction of secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConfigDump, redact } from '../../src/admin/config-dump.ts';
import type { Snapshot } from '../../src/model/types.ts';

const tls = {
  name: 'envoy.transport_sockets.tls',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
    common_tls_context: {
      tls_certificates: [{
        certificate_chain: { inline_string: '-----BEGIN CERTIFICATE-----' },
        private_key: { inline_string: '-----BEGIN PRIVATE KEY-----secret' },
      }],
    },
  },
};
const hcm = {
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: { '@type': 'x.HttpConnectionManager', stat_prefix: 'in', route_config: { name: 'local_route', virtual_hosts: [] } },
};
const staticListener = { name: 'static-l', filter_chains: [{ filters: [hcm], transport_socket: tls }] };
const dynListener = { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name: 'xds-l', filter_chains: [] };
const bootstrap = { static_resources: { listeners: [staticListener], clusters: [{ name: 'static-c' }] } };

function snap(version: string): Snapshot {
  return {
    version,
    source: { bootstrap, listeners: [staticListener, dynListener], clusters: [{ name: 'static-c' }, { name: 'eds-c' }] },
  } as unknown as Snapshot;
}

test('static and dynamic resources are split like Envoy, routes come from inline route_config', () => {
  const d = buildConfigDump(snap('v7'), 0);
  const [boot, clusters, listeners, routes] = d.configs as Record<string, any>[];
  assert.equal(boot.bootstrap.static_resources.clusters[0].name, 'static-c');
  assert.equal(clusters.static_clusters[0].cluster['@type'], 'type.googleapis.com/envoy.config.cluster.v3.Cluster');
  assert.equal(clusters.static_clusters[0].cluster.name, 'static-c');
  assert.equal(clusters.dynamic_active_clusters[0].cluster.name, 'eds-c');
  assert.equal(clusters.dynamic_active_clusters[0].version_info, 'v7');
  assert.equal(listeners.static_listeners[0].listener.name, 'static-l');
  assert.equal(listeners.dynamic_listeners[0].name, 'xds-l');
  assert.equal(listeners.dynamic_listeners[0].active_state.listener['@type'], 'type.googleapis.com/envoy.config.listener.v3.Listener');
  assert.equal(routes.static_route_configs[0].route_config.name, 'local_route');
  assert.equal(routes.static_route_configs[0].route_config['@type'], 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration');
  assert.equal(routes.static_route_configs[0].last_updated, '1970-01-01T00:00:00.000Z');
});

test('private keys are redacted everywhere, other fields are kept', () => {
  const text = JSON.stringify(buildConfigDump(snap('static'), 0));
  assert.ok(!text.includes('secret'));
  assert.ok(text.includes('"private_key":{"inline_string":"[redacted]"}'));
  assert.ok(text.includes('-----BEGIN CERTIFICATE-----'));
  assert.deepEqual(redact({ password: { inline_bytes: 'eA==' }, x: 1, keep: 'v' }), { password: { inline_bytes: '[redacted]' }, x: 1, keep: 'v' });
});

test('no snapshot → empty configs', () => {
  assert.deepEqual(buildConfigDump(null, null), { configs: [] });
});
