// dynamic_resources parsing: ADS settings, the control plane address from the static cluster, errors naming the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDynamicResources } from '../../src/xds/bootstrap-dynamic.ts';
import { checkDynamicResources, hasDynamicResources, startXdsSource, XdsBootstrapError } from '../../src/xds/xds-source.ts';
import { compileStatic, RecordingEngine, testLogger, xdsBootstrap } from './fixtures.ts';

type Json = Record<string, unknown>;

function withDynamic(dynamic: Json, doc: Json = xdsBootstrap(18000)): Json {
  return { ...doc, dynamic_resources: dynamic };
}

test('dynamic_resources: envoy_grpc → the first endpoint of the static cluster; defaults', () => {
  const r = parseDynamicResources(xdsBootstrap(18000));
  assert.ok(r.ok);
  assert.deepEqual(r.value, {
    apiType: 'GRPC',
    target: '127.0.0.1:18000',
    clusterName: 'xds_cluster',
    authority: 'xds_cluster',
    nodeOnFirstMessageOnly: false,
    lds: true,
    cds: true,
    initialFetchTimeoutMs: 15000,
    node: { id: 'sidecar-1', cluster: 'payments', metadata: { team: 'mesh', canary: true } },
  });
  assert.deepEqual(r.warnings, []);
});

test('dynamic_resources: DELTA_GRPC, google_grpc, initial_fetch_timeout, no static cluster needed', () => {
  const r2 = parseDynamicResources(withDynamic({
    ads_config: { api_type: 'DELTA_GRPC', grpc_services: [{ google_grpc: { target_uri: 'cp.mesh:15010' } }], set_node_on_first_message_only: true },
    cds_config: { ads: {}, initial_fetch_timeout: '2.5s' },
  }));
  assert.ok(r2.ok && r2.value);
  assert.equal(r2.value.apiType, 'DELTA_GRPC');
  assert.equal(r2.value.target, 'cp.mesh:15010');
  assert.equal(r2.value.lds, false);
  assert.equal(r2.value.initialFetchTimeoutMs, 2500);
  assert.equal(r2.value.nodeOnFirstMessageOnly, true);
  assert.deepEqual(parseDynamicResources({ static_resources: {} }), { ok: true, value: null, warnings: [] });
});

const errorCases: { name: string; dynamic: Json; error: RegExp }[] = [
  { name: 'bad api_type', dynamic: { ads_config: { api_type: 'REST', grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }] }, lds_config: { ads: {} } }, error: /^bootstrap: dynamic_resources\.ads_config\.api_type: must be GRPC or DELTA_GRPC, got "REST"$/ },
  { name: 'unknown cluster', dynamic: { ads_config: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'nope' } }] }, lds_config: { ads: {} } }, error: /^bootstrap: dynamic_resources\.ads_config\.grpc_services\[0\]\.envoy_grpc\.cluster_name: names cluster "nope", which is not in static_resources\.clusters$/ },
  { name: 'no grpc_services', dynamic: { ads_config: { api_type: 'GRPC' }, lds_config: { ads: {} } }, error: /ads_config\.grpc_services: exactly one gRPC service is required/ },
  { name: 'lds_config not ADS', dynamic: { ads_config: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }] }, lds_config: { path_config_source: { path: '/x' } } }, error: /dynamic_resources\.lds_config\.path_config_source: is not supported/ },
  { name: 'V2 transport', dynamic: { ads_config: { api_type: 'GRPC', transport_api_version: 'V2', grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }] }, cds_config: { ads: {} } }, error: /ads_config\.transport_api_version: must be V3/ },
  { name: 'bad initial_fetch_timeout', dynamic: { ads_config: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }] }, cds_config: { ads: {}, initial_fetch_timeout: 'soon' } }, error: /cds_config\.initial_fetch_timeout: invalid duration "soon"/ },
  { name: 'no ads_config', dynamic: { lds_config: { ads: {} } }, error: /dynamic_resources\.ads_config: is required/ },
  { name: 'neither lds nor cds', dynamic: { ads_config: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }] } }, error: /^bootstrap: dynamic_resources: lds_config or cds_config is required$/ },
];

for (const c of errorCases) {
  test(`dynamic_resources error: ${c.name}`, () => {
    const r = parseDynamicResources(withDynamic(c.dynamic));
    assert.ok(!r.ok);
    assert.ok(r.errors.some((e) => c.error.test(e)), r.errors.join('\n'));
    assert.deepEqual(checkDynamicResources(withDynamic(c.dynamic)).errors, r.errors);
  });
}

test('startXdsSource rejects invalid dynamic_resources with every error', async () => {
  const doc = withDynamic({ ads_config: { api_type: 'REST', grpc_services: [] }, lds_config: { rest: 1 } });
  assert.equal(hasDynamicResources(doc), true);
  const engine = new RecordingEngine();
  await assert.rejects(
    startXdsSource({ bootstrap: doc, staticSnapshot: compileStatic(xdsBootstrap(18000)), engine, logger: testLogger() }),
    (err: unknown) => err instanceof XdsBootstrapError && err.errors.length >= 3,
  );
  assert.equal(engine.applied.length, 0);
});
