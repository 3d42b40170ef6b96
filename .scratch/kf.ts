import { xdsProtoRoot } from '../src/xds/protos.ts';
import { assertKnownFields } from '../test/xds-server/fixtures.ts';
const root = await xdsProtoRoot();
for (const o of [{ nmae: 'x' }, { circuit_breakers: { thresholds: [{ max_conns: { value: 1 } }] } },
  { typed_extension_protocol_options: { a: { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_options: {} } } } },
  { name: 'ok', connect_timeout: { seconds: 1 } }]) {
  try { assertKnownFields(root, 'envoy.config.cluster.v3.Cluster', o); console.log('ok'); } catch (e) { console.log((e as Error).message); }
}
