// Translation tables for mesh mTLS: inbound filter chains per mode (STRICT, PERMISSIVE, DISABLE, per port), outbound TLS with SNI and SAN lists.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type protobuf from 'protobufjs';
import { decodeAny, encodeAny, xdsProtoRoot } from '../../src/xds/protos.ts';
import { meshSecurity } from '../../xds/control-plane.ts';
import { parseControlPlaneArgs } from '../../xds/cli.ts';
import { untranslated } from '../../xds/input/compile-inputs.ts';
import { parseYamlText } from '../../xds/input/load-files.ts';
import { compileMesh, formatInputError } from '../../xds/input/mesh.ts';
import type { MeshModel, MtlsMode } from '../../xds/input/types.ts';
import { announcementOf, MeshView, type MeshSecurity } from '../../xds/translate/mesh-view.ts';
import { readNodeIdentity } from '../../xds/translate/node.ts';
import { TYPE_URLS, type Json, type Resource } from '../../xds/translate/resource.ts';
import { Translator, type NodeSnapshot } from '../../xds/translate/snapshot.ts';
import { assertKnownFields, service, slice } from './fixtures.ts';

let root: protobuf.Root;

const ORDERS_CLUSTER = 'outbound|8080||orders.default.svc.cluster.local';
const PAYMENTS_CLUSTER = 'outbound|9090||payments.shop.svc.cluster.local';
const MESH = service('orders', '[{name: http, port: 8080}]') + service('payments', '[{name: grpc, port: 9090, appProtocol: grpc}, {name: tcp-db, port: 5432}]', 'shop')
  + service('frontend', '[{name: http, port: 80}]');

/** Sidecars announcing themselves: orders (sa orders), payments (sa payments-sa, two ports), frontend (no service account: its service name). */
const NODES: Record<string, Record<string, unknown>> = {
  orders: { service: 'orders', serviceAccount: 'orders', ports: { http: 18080 }, inboundPort: 15006 },
  payments: { service: 'payments', namespace: 'shop', serviceAccount: 'payments-sa', ports: { grpc: 19090, 'tcp-db': 15432 }, inboundPort: { grpc: 15007, 'tcp-db': 15008 } },
  frontend: { service: 'frontend', ports: { http: 18000 }, inboundPort: 15009 },
};

function model(yaml: string): MeshModel {
  const r = parseYamlText('t.yaml', yaml);
  const c = compileMesh(r.docs, r.errors);
  if (!c.ok) throw new Error(c.errors.map(formatInputError).join('\n'));
  return c.model;
}

function translator(yaml: string, security: MeshSecurity | null, nodes: Record<string, unknown>[] = Object.values(NODES)): Translator {
  const anns = nodes.map((m, i) => announcementOf(readNodeIdentity(`n${i}`, '', { pilotfish: m }))).filter((a) => a !== null);
  return new Translator(new MeshView(model(yaml), anns, security));
}

function snap(t: Translator, meta: Record<string, unknown>, userAgent = ''): NodeSnapshot {
  return t.snapshot(readNodeIdentity('node', '', { pilotfish: meta }, userAgent));
}

const secure = (defaultMode: MtlsMode = 'PERMISSIVE', trustDomain = 'cluster.local'): MeshSecurity => ({ trustDomain, defaultMode });

function policy(target: string, spec: string, ns = 'default'): string {
  return `apiVersion: pilotfish.io/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: ${target}, namespace: ${ns}}\nspec:\n  targetRef: {kind: Service, name: ${target}}\n${spec}\n---\n`;
}

function check(r: Resource): void {
  assertKnownFields(root, TYPE_URLS[r.type].split('/')[1], r.body);
  decodeAny(root, TYPE_URLS[r.type], encodeAny(root, TYPE_URLS[r.type], r.body).value);
}

function listener(s: NodeSnapshot, name: string): Json {
  const l = s.wildcard('LDS').get(name);
  assert.ok(l, `listener ${name}`);
  check(l);
  return l.body;
}

function chains(l: Json): Json[] {
  return l.filter_chains as Json[];
}

function hcmOf(chain: Json): Json {
  return ((chain.filters as Json[])[0].typed_config as Json);
}

const SDS_LOCAL = {
  api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] },
  resource_api_version: 'V3',
};

function downstreamTls(alpn: string[] | null, td = 'cluster.local'): Json {
  const common: Json = {
    tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: SDS_LOCAL }],
    combined_validation_context: {
      default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: `spiffe://${td}/` } }] },
      validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: SDS_LOCAL },
    },
  };
  if (alpn) common.alpn_protocols = alpn;
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      require_client_certificate: { value: true },
      common_tls_context: common,
    },
  };
}

function upstreamTls(sni: string, ids: string[]): Json {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      sni,
      common_tls_context: {
        tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: SDS_LOCAL }],
        combined_validation_context: {
          default_validation_context: { match_typed_subject_alt_names: ids.map((exact) => ({ san_type: 'URI', matcher: { exact } })) },
          validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: SDS_LOCAL },
        },
      },
    },
  };
}

const XFCC = { forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { uri: true } };

describe('mTLS translation', () => {
  before(async () => {
    root = await xdsProtoRoot();
  });

  it('without mTLS in the mesh (no CA), listeners and clusters stay plaintext and TrafficPolicy.mtls is reported untranslated', () => {
    const yaml = MESH + policy('orders', '  mtls: {mode: STRICT}');
    const t = translator(yaml, null);
    const l = listener(snap(t, NODES.orders), 'inbound|15006');
    assert.equal(chains(l).length, 1);
    assert.equal(chains(l)[0].transport_socket, undefined);
    assert.equal(l.listener_filters, undefined);
    assert.equal(hcmOf(chains(l)[0]).forward_client_cert_details, undefined);
    assert.equal(snap(t, NODES.frontend).get('CDS', ORDERS_CLUSTER)!.body.transport_socket, undefined);
    assert.match(untranslated(model(yaml), false).join('\n'), /TrafficPolicy default\/orders: spec\.mtls is not applied: the control plane runs without a certificate authority/);
    assert.deepEqual(untranslated(model(yaml), true), []);
  });

  const modes: [string, string, (l: Json) => void][] = [
    ['PERMISSIVE (mesh default): tls_inspector, a TLS chain (transport_protocol tls) and a plaintext chain (raw_buffer)', '', (l) => {
      assert.deepEqual(l.listener_filters, [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }]);
      const [tls, plain] = chains(l);
      assert.equal(chains(l).length, 2);
      assert.deepEqual([tls.name, tls.filter_chain_match, plain.name, plain.filter_chain_match], ['mtls', { transport_protocol: 'tls' }, 'plaintext', { transport_protocol: 'raw_buffer' }]);
      assert.deepEqual(tls.transport_socket, downstreamTls(['h2', 'http/1.1']));
      assert.deepEqual(tls.transport_socket_connect_timeout, { seconds: 10 });
      assert.equal(plain.transport_socket, undefined);
      assert.deepEqual(tls.filters, plain.filters, 'both chains serve the same HCM');
    }],
    ['STRICT: one TLS chain without a match, so plaintext fails its handshake', '  mtls: {mode: STRICT}', (l) => {
      assert.equal(l.listener_filters, undefined);
      assert.equal(chains(l).length, 1);
      assert.equal(chains(l)[0].filter_chain_match, undefined);
      assert.deepEqual(chains(l)[0].transport_socket, downstreamTls(['h2', 'http/1.1']));
    }],
    ['DISABLE: one plaintext chain', '  mtls: {mode: DISABLE}', (l) => {
      assert.equal(l.listener_filters, undefined);
      assert.equal(chains(l).length, 1);
      assert.equal(chains(l)[0].transport_socket, undefined);
    }],
  ];
  for (const [what, spec, verify] of modes) {
    it(`inbound ${what}; the HCM sets XFCC from the peer certificate`, () => {
      const t = translator(MESH + (spec ? policy('orders', spec) : ''), secure());
      const l = listener(snap(t, NODES.orders), 'inbound|15006');
      verify(l);
      for (const c of chains(l)) {
        const h = hcmOf(c);
        assert.equal(h.forward_client_cert_details, XFCC.forward_client_cert_details);
        assert.deepEqual(h.set_current_client_cert_details, XFCC.set_current_client_cert_details);
        assert.deepEqual((h.http_filters as Json[]).map((f) => f.name), ['envoy.filters.http.router'], 'no authorization: no RBAC filter');
      }
    });
  }

  it('the mesh-wide default applies to workloads without TrafficPolicy.mtls; per-port modes override the workload mode', () => {
    const yaml = MESH + policy('payments', '  mtls: {mode: STRICT, ports: {"5432": DISABLE}}', 'shop');
    const strictMesh = translator(yaml, secure('STRICT'));
    assert.equal(chains(listener(snap(strictMesh, NODES.orders), 'inbound|15006'))[0].transport_socket !== undefined, true);
    assert.equal(chains(listener(snap(strictMesh, NODES.orders), 'inbound|15006')).length, 1);
    const p = snap(strictMesh, NODES.payments);
    assert.deepEqual(chains(listener(p, 'inbound|15007'))[0].transport_socket, downstreamTls(['h2', 'http/1.1']));
    const db = listener(p, 'inbound|15008');
    assert.equal(chains(db).length, 1);
    assert.equal(chains(db)[0].transport_socket, undefined, 'port 5432 is DISABLE');
    assert.equal(((chains(db)[0].filters as Json[])[0]).name, 'envoy.filters.network.tcp_proxy');
    // By port name, and a TCP port in mTLS: no ALPN.
    const byName = translator(MESH + policy('payments', '  mtls: {ports: {tcp-db: STRICT}}', 'shop'), secure('DISABLE'));
    const q = snap(byName, NODES.payments);
    assert.equal(chains(listener(q, 'inbound|15007'))[0].transport_socket, undefined, 'grpc port: the mesh default DISABLE');
    assert.deepEqual(chains(listener(q, 'inbound|15008'))[0].transport_socket, downstreamTls(null));
    // Clusters follow the destination's port mode.
    const f = snap(byName, NODES.frontend);
    assert.equal(f.get('CDS', PAYMENTS_CLUSTER)!.body.transport_socket, undefined);
    assert.ok(f.get('CDS', 'outbound|5432||payments.shop.svc.cluster.local')!.body.transport_socket);
  });

  it('outbound to a mesh service: mTLS with Istio\'s SNI and the SPIFFE IDs of the sidecars serving it', () => {
    const second = { service: 'orders', address: '127.0.0.2', serviceAccount: 'orders-canary', ports: { http: 18080 }, inboundPort: 15006 };
    const t = translator(MESH, secure(), [...Object.values(NODES), second]);
    const s = snap(t, NODES.frontend);
    const c = s.get('CDS', ORDERS_CLUSTER)!;
    check(c);
    assert.deepEqual(c.body.transport_socket, upstreamTls('outbound_.8080_._.orders.default.svc.cluster.local',
      ['spiffe://cluster.local/ns/default/sa/orders', 'spiffe://cluster.local/ns/default/sa/orders-canary']));
    assert.deepEqual(s.get('CDS', PAYMENTS_CLUSTER)!.body.transport_socket, upstreamTls('outbound_.9090_._.payments.shop.svc.cluster.local', ['spiffe://cluster.local/ns/shop/sa/payments-sa']));
    // No service account in the metadata: the identity agent asks for the service name, so does the SAN list.
    const toFrontend = snap(t, NODES.orders).get('CDS', 'outbound|80||frontend.default.svc.cluster.local')!;
    assert.deepEqual(((((toFrontend.body.transport_socket as Json).typed_config as Json).common_tls_context as Json).combined_validation_context as Json).default_validation_context,
      { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/frontend' } }] });
    // The trust domain is the CA's.
    const td = translator(MESH, secure('PERMISSIVE', 'example.org'));
    const tc = snap(td, NODES.frontend).get('CDS', ORDERS_CLUSTER)!.body.transport_socket as Json;
    assert.deepEqual(tc, upstreamTls('outbound_.8080_._.orders.default.svc.cluster.local', ['spiffe://example.org/ns/default/sa/orders']));
    assert.deepEqual(chains(listener(snap(td, NODES.orders), 'inbound|15006'))[0].transport_socket, downstreamTls(['h2', 'http/1.1'], 'example.org'));
  });

  it('outbound stays plaintext to DISABLE services, non-mesh endpoints, and for proxyless gRPC clients', () => {
    const yaml = MESH + policy('orders', '  mtls: {mode: DISABLE}') + service('db', '[{name: tcp, port: 5432}]') + slice('db', ['10.0.0.9'], 'tcp', 5432);
    const t = translator(yaml, secure('STRICT'));
    const s = snap(t, NODES.frontend);
    assert.equal(s.get('CDS', ORDERS_CLUSTER)!.body.transport_socket, undefined, 'DISABLE');
    assert.equal(s.get('CDS', 'outbound|5432||db.default.svc.cluster.local')!.body.transport_socket, undefined, 'only EndpointSlice endpoints: no sidecar');
    assert.ok(s.get('CDS', PAYMENTS_CLUSTER)!.body.transport_socket, 'payments has a sidecar');
    // Sidecars announced without an inbound listener (app port dialled directly) are not mTLS endpoints.
    const direct = translator(MESH, secure(), [{ service: 'orders', ports: { http: 18080 } }]);
    assert.equal(snap(direct, NODES.frontend).get('CDS', ORDERS_CLUSTER)!.body.transport_socket, undefined);
    // A proxyless gRPC client (user agent or metadata) gets the same cluster without TLS: by name and in the wildcard set.
    for (const [meta, ua] of [[{ namespace: 'shop' }, 'gRPC Node Pure JS'], [{ namespace: 'shop', proxyless: true }, '']] as const) {
      const p = snap(t, meta, ua);
      assert.equal(p.get('CDS', PAYMENTS_CLUSTER)!.body.transport_socket, undefined);
      assert.equal(p.wildcard('CDS').get(PAYMENTS_CLUSTER)?.body.transport_socket, undefined);
      assert.equal(p.get('CDS', PAYMENTS_CLUSTER)!.body.name, PAYMENTS_CLUSTER);
    }
  });

  it('sidecars mixed with plain endpoints: mTLS when STRICT, plaintext when PERMISSIVE', () => {
    const mixed = MESH + slice('orders', ['10.0.0.1'], 'http', 8080);
    const permissive = snap(translator(mixed, secure()), NODES.frontend).get('CDS', ORDERS_CLUSTER)!;
    assert.equal(permissive.body.transport_socket, undefined);
    const strict = snap(translator(mixed + policy('orders', '  mtls: {mode: STRICT}'), secure()), NODES.frontend).get('CDS', ORDERS_CLUSTER)!;
    assert.deepEqual(strict.body.transport_socket, upstreamTls('outbound_.8080_._.orders.default.svc.cluster.local', ['spiffe://cluster.local/ns/default/sa/orders']));
  });

  it('every resource of an mTLS mesh names only real proto fields', () => {
    const t = translator(MESH + policy('orders', '  mtls: {mode: STRICT}'), secure());
    for (const meta of Object.values(NODES)) {
      const s = snap(t, meta);
      for (const type of ['LDS', 'CDS'] as const) for (const r of s.wildcard(type).values()) check(r);
    }
  });

  it('input: mtls modes, per-port keys checked against the Service, bad values named', () => {
    const ok = model(MESH + policy('payments', '  mtls: {ports: {grpc: STRICT, "5432": PERMISSIVE}}', 'shop'));
    assert.deepEqual(ok.policies.get('shop/payments')!.mtls, { mode: null, ports: { grpc: 'STRICT', 5432: 'PERMISSIVE' } });
    const bad = MESH + policy('payments', '  mtls: {mode: STRICT, ports: {"8443": DISABLE, grpc: SOMETIMES}}', 'shop') + policy('orders', '  mtls: {}');
    const r = parseYamlText('t.yaml', bad);
    const c = compileMesh(r.docs, r.errors);
    assert.equal(c.ok, false);
    const text = c.ok ? '' : c.errors.map(formatInputError).join('\n');
    assert.match(text, /spec\.mtls\.ports\.grpc: must be one of STRICT, PERMISSIVE, DISABLE, got "SOMETIMES"/);
    assert.match(text, /spec\.mtls\.ports\.8443: Service shop\/payments has no port 8443/);
    assert.match(text, /TrafficPolicy default\/orders\): spec\.mtls\.mode: required \(or ports\)/);
  });

  it('control plane settings: the CA\'s trust domain, PERMISSIVE by default, --mtls-mode, off without a CA', () => {
    assert.deepEqual(meshSecurity(undefined, 'cluster.local'), { trustDomain: 'cluster.local', defaultMode: 'PERMISSIVE' });
    assert.deepEqual(meshSecurity({ defaultMode: 'STRICT' }, 'example.org'), { trustDomain: 'example.org', defaultMode: 'STRICT' });
    assert.equal(meshSecurity(undefined, null), null);
    assert.equal(meshSecurity(false, 'cluster.local'), null);
    assert.deepEqual(meshSecurity({ trustDomain: 'other.org' }, null), { trustDomain: 'other.org', defaultMode: 'PERMISSIVE' });
    assert.throws(() => meshSecurity({ trustDomain: 'other.org' }, 'cluster.local'), /trust domain "other\.org" differs from the certificate authority's "cluster\.local"/);
    const p = parseControlPlaneArgs(['-f', 'x', '--mtls-mode', 'strict']);
    assert.ok(p.ok && p.options.mtlsMode === 'STRICT');
    const bad = parseControlPlaneArgs(['-f', 'x', '--mtls-mode', 'sometimes']);
    assert.ok(!bad.ok && /--mtls-mode must be one of STRICT, PERMISSIVE, DISABLE/.test(bad.error));
    const noCa = parseControlPlaneArgs(['-f', 'x', '--mtls-mode', 'STRICT', '--no-ca']);
    assert.ok(!noCa.ok && /--mtls-mode needs the certificate authority/.test(noCa.error));
  });
});
