// Capture translation for interception "iptables" nodes: virtualOutbound/virtualInbound shapes per mTLS mode, traffic policy and protocol, compiled by the sidecar's model.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type protobuf from 'protobufjs';
import { selectFilterChain, type ConnectionFacts } from '../../src/listener/filter-chain-match.ts';
import { compileListener } from '../../src/model/compile-resources.ts';
import { decodeAny, encodeAny, xdsProtoRoot } from '../../src/xds/protos.ts';
import { parseControlPlaneArgs } from '../../xds/cli.ts';
import { parseYamlText } from '../../xds/input/load-files.ts';
import { compileMesh, formatInputError } from '../../xds/input/mesh.ts';
import type { MtlsMode } from '../../xds/input/types.ts';
import { captureProtocol, virtualInbound } from '../../xds/translate/capture.ts';
import { announcementOf, MeshView, type OutboundTrafficPolicy } from '../../xds/translate/mesh-view.ts';
import { readNodeIdentity } from '../../xds/translate/node.ts';
import { TYPE_URLS, type Json, type Resource } from '../../xds/translate/resource.ts';
import { Translator, type NodeSnapshot } from '../../xds/translate/snapshot.ts';
import { B_RETRY_POLICY, chains, compiled as compiledBySidecar, filterOf } from '../helpers/captured-listeners.ts';
import { assertKnownFields, service } from './fixtures.ts';

let root: protobuf.Root;

const B_ID = 'spiffe://cluster.local/ns/default/sa/b';
const MESH = service('a', '[{name: http, port: 8080}]') + service('b', '[{name: http, port: 8080}]')
  + service('db', '[{name: tcp-db, port: 5432}]') + service('web', '[{name: web, port: 9000}]')
  + service('rpc', '[{name: api, port: 7070, appProtocol: grpc}]');

/** Captured workloads: each pod has its own address and announces its app ports (no inbound listener port). */
const PODS: Record<string, Record<string, unknown>> = {
  a: { service: 'a', address: '10.9.0.1', ports: { http: 8080 }, interception: 'iptables' },
  b: { service: 'b', address: '10.9.0.2', ports: { http: 8080 }, interception: 'iptables' },
  db: { service: 'db', address: '10.9.0.3', ports: { 'tcp-db': 5432 }, interception: 'iptables' },
  web: { service: 'web', address: '10.9.0.4', ports: { web: 9000 }, interception: 'iptables' },
  rpc: { service: 'rpc', address: '10.9.0.5', ports: { api: 7070 }, interception: 'iptables' },
};

function translator(opts: { mode?: MtlsMode | null; policy?: OutboundTrafficPolicy; yaml?: string } = {}): Translator {
  const r = parseYamlText('t.yaml', MESH + (opts.yaml ?? ''));
  const c = compileMesh(r.docs, r.errors);
  if (!c.ok) throw new Error(c.errors.map(formatInputError).join('\n'));
  const anns = Object.values(PODS).map((m, i) => announcementOf(readNodeIdentity(`pod${i}`, '', { pilotfish: m }))).filter((a) => a !== null);
  const mode = opts.mode === undefined ? 'PERMISSIVE' : opts.mode;
  return new Translator(new MeshView(c.model, anns, mode === null ? null : { trustDomain: 'cluster.local', defaultMode: mode }, opts.policy));
}

const compiled = (r: Resource): Json => compiledBySidecar(root, r);

function snap(t: Translator, pod: string): NodeSnapshot {
  return t.snapshot(readNodeIdentity(`${pod}-1`, '', { pilotfish: PODS[pod] }));
}

function lds(s: NodeSnapshot, name: string): Json {
  const r = s.wildcard('LDS').get(name);
  assert.ok(r, `listener ${name}`);
  return compiled(r);
}

function cds(s: NodeSnapshot, name: string): Json {
  const r = s.wildcard('CDS').get(name);
  assert.ok(r, `cluster ${name}`);
  return compiled(r);
}

/** The chain our sidecar's own matcher picks on listener `l` for a connection (null: none, the connection is closed). */
function picked(l: Json, facts: Partial<ConnectionFacts> & { destinationPort: number }): Json | null {
  const json = decodeAny(root, TYPE_URLS.LDS, encodeAny(root, TYPE_URLS.LDS, l).value);
  const out = compileListener(json, { readFile: () => { throw new Error('no files'); } });
  assert.ok(out.ok, 'the listener compiles');
  const c = selectFilterChain(out.value, { destinationIp: '10.9.0.2', sourceIp: '10.9.0.9', transportProtocol: 'raw_buffer', serverName: null, alpn: [], ...facts });
  if (c === null) return null;
  return [...chains(l), l.default_filter_chain as Json].find((x) => x?.name === c.name) ?? null;
}
/** A chain's tcp_proxy cluster, or "HCM" with its HTTP filters for an HTTP chain. */
function destination(c: Json | null): string {
  if (c === null) return 'closed';
  const f = filterOf(c);
  const cfg = f.typed_config as Json;
  return f.name === 'envoy.filters.network.tcp_proxy' ? cfg.cluster as string : `HCM ${(cfg.http_filters as Json[]).map((h) => h.name).join(',')}`;
}
const chainFor = (l: Json, port: number, addr?: string): Json[] => chains(l).filter((c) => {
  const m = c.filter_chain_match as Json | undefined;
  return (m?.destination_port as Json | undefined)?.value === port && (addr === undefined || (m!.prefix_ranges as Json[]).some((p) => p.address_prefix === addr));
});

describe('capture translation (interception: iptables)', () => {
  before(async () => {
    root = await xdsProtoRoot();
  });

  it('reads interception from node metadata and reports bad values', () => {
    assert.equal(readNodeIdentity('n', '', { pilotfish: { interception: 'iptables' } }).interception, 'iptables');
    assert.equal(readNodeIdentity('n', '', { pilotfish: {} }).interception, 'none');
    const bad = readNodeIdentity('n', '', { pilotfish: { interception: 'ebpf' } });
    assert.equal(bad.interception, 'none');
    assert.deepEqual(bad.problems, ['pilotfish.interception: expected "iptables" or "none", got "ebpf"']);
  });

  it('announces captured pods at their app ports as sidecar endpoints (so callers use mTLS)', () => {
    const s = snap(translator(), 'a');
    const eds = s.wildcard('EDS').get('outbound|8080||b.default.svc.cluster.local')!.body;
    assert.deepEqual(((eds.endpoints as Json[])[0].lb_endpoints as Json[]).map((e) => e.endpoint), [{ address: { socket_address: { address: '10.9.0.2', port_value: 8080 } } }]);
    assert.ok(cds(s, 'outbound|8080||b.default.svc.cluster.local').transport_socket, 'EDS cluster to b carries mTLS');
    assert.equal(s.wildcard('LDS').get('outbound'), undefined, 'no explicit outbound listener on a captured node');
    assert.equal(s.wildcard('LDS').get('inbound|8080'), undefined);
  });

  it('virtualOutbound: original_dst + tls/http inspectors, one chain per mesh endpoint, passthrough default (ALLOW_ANY)', () => {
    const s = snap(translator({ yaml: B_RETRY_POLICY }), 'a');
    const l = lds(s, 'virtualOutbound');
    assert.deepEqual(l.address, { socket_address: { address: '0.0.0.0', port_value: 15001 } });
    assert.deepEqual((l.listener_filters as Json[]).map((f) => f.name),
      ['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector', 'envoy.filters.listener.http_inspector']);
    assert.deepEqual(l.listener_filters_timeout, { nanos: 100_000_000 });
    assert.equal(l.continue_on_listener_filters_timeout, true);
    assert.equal(l.traffic_direction, 'OUTBOUND');
    // HTTP (port name "http"): an HCM with b's routes (its TrafficPolicy's retries and timeout) to b's ORIGINAL_DST cluster.
    const [toB, ...more] = chainFor(l, 8080, '10.9.0.2');
    assert.equal(more.length, 0);
    assert.deepEqual(toB.filter_chain_match, { destination_port: { value: 8080 }, prefix_ranges: [{ address_prefix: '10.9.0.2', prefix_len: { value: 32 } }] });
    const route = ((((filterOf(toB).typed_config as Json).route_config as Json).virtual_hosts as Json[])[0].routes as Json[])[0].route as Json;
    assert.equal(route.cluster, 'outbound|8080|original-dst|b.default.svc.cluster.local');
    assert.deepEqual(route.timeout, { seconds: 3 });
    assert.deepEqual(route.retry_policy, { retry_on: '5xx', num_retries: { value: 2 } });
    const od = cds(s, 'outbound|8080|original-dst|b.default.svc.cluster.local');
    assert.equal(od.type, 'ORIGINAL_DST');
    assert.equal(od.lb_policy, 'CLUSTER_PROVIDED');
    const tls = (od.transport_socket as Json).typed_config as Json;
    assert.equal(tls.sni, 'outbound_.8080_._.b.default.svc.cluster.local');
    assert.deepEqual(((tls.common_tls_context as Json).combined_validation_context as Json).default_validation_context,
      { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: B_ID } }] });
    // TCP by name prefix (tcp-db): tcp_proxy, no detection.
    const [toDb] = chainFor(l, 5432, '10.9.0.3');
    assert.equal(filterOf(toDb).name, 'envoy.filters.network.tcp_proxy');
    assert.equal((filterOf(toDb).typed_config as Json).cluster, 'outbound|5432|original-dst|db.default.svc.cluster.local');
    // gRPC by appProtocol: an HCM, HTTP/2 upstream.
    assert.equal(filterOf(chainFor(l, 7070, '10.9.0.5')[0]).name, 'envoy.filters.network.http_connection_manager');
    assert.ok(cds(s, 'outbound|7070|original-dst|rpc.default.svc.cluster.local').typed_extension_protocol_options);
    // Its own address is a mesh destination too (the sidecar's mTLS connection comes back through its virtualInbound).
    assert.equal((filterOf(chainFor(l, 8080, '10.9.0.1')[0]).typed_config as Json).stat_prefix, 'outbound_8080_a');
    // Anything else: tcp_proxy to PassthroughCluster (ORIGINAL_DST, plaintext).
    const dflt = l.default_filter_chain as Json;
    assert.equal((filterOf(dflt).typed_config as Json).cluster, 'PassthroughCluster');
    const pass = cds(s, 'PassthroughCluster');
    assert.deepEqual([pass.type, pass.transport_socket], ['ORIGINAL_DST', undefined]);
  });

  it('detects the protocol when the port declares none: an HTTP chain (http_inspector ALPN, plaintext) and a TCP chain', () => {
    const l = lds(snap(translator(), 'a'), 'virtualOutbound');
    const web = chainFor(l, 9000, '10.9.0.4');
    assert.equal(web.length, 3, 'HTTP, plaintext TCP (raw_buffer) and TCP for any other transport');
    const http = web.find((c) => (c.filter_chain_match as Json).application_protocols)!;
    const tcp = web.find((c) => !(c.filter_chain_match as Json).application_protocols && (c.filter_chain_match as Json).transport_protocol === 'raw_buffer')!;
    assert.ok(web.some((c) => (c.filter_chain_match as Json).transport_protocol === undefined));
    assert.deepEqual([(http.filter_chain_match as Json).transport_protocol, (http.filter_chain_match as Json).application_protocols], ['raw_buffer', ['http/1.0', 'http/1.1', 'h2c']]);
    assert.equal(filterOf(http).name, 'envoy.filters.network.http_connection_manager');
    assert.equal(filterOf(tcp).name, 'envoy.filters.network.tcp_proxy');
    assert.deepEqual([captureProtocol({ name: 'web', appProtocol: null, protocol: 'TCP' }), captureProtocol({ name: 'x', appProtocol: 'HTTP', protocol: 'TCP' }),
      captureProtocol({ name: 'grpc-api', appProtocol: null, protocol: 'TCP' }), captureProtocol({ name: 'https', appProtocol: null, protocol: 'TCP' })],
    ['detect', 'http', 'http2', 'tcp']);
  });

  it('REGISTRY_ONLY: unknown destinations go to BlackHoleCluster (STATIC, no endpoints)', () => {
    const s = snap(translator({ policy: 'REGISTRY_ONLY' }), 'a');
    const l = lds(s, 'virtualOutbound');
    assert.equal((filterOf(l.default_filter_chain as Json).typed_config as Json).cluster, 'BlackHoleCluster');
    const bh = cds(s, 'BlackHoleCluster');
    assert.deepEqual([bh.type, bh.load_assignment], ['STATIC', { cluster_name: 'BlackHoleCluster' }]);
    assert.equal(s.wildcard('CDS').get('PassthroughCluster'), undefined);
  });

  it('virtualInbound STRICT: app port only over mTLS (HCM with XFCC to 127.0.0.1:<port>), other ports pass through, still mTLS only', () => {
    const s = snap(translator({ mode: 'STRICT' }), 'b');
    const l = lds(s, 'virtualInbound');
    assert.deepEqual(l.address, { socket_address: { address: '0.0.0.0', port_value: 15006 } });
    assert.deepEqual((l.listener_filters as Json[]).map((f) => f.name), ['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector']);
    const app = chainFor(l, 8080);
    assert.equal(app.length, 1);
    assert.ok(app[0].transport_socket, 'the app port chain terminates mTLS');
    assert.equal((filterOf(app[0]).typed_config as Json).forward_client_cert_details, 'SANITIZE_SET');
    const cluster = cds(s, 'inbound|8080|b');
    assert.deepEqual(((cluster.load_assignment as Json).endpoints as Json[])[0], { locality: {}, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 8080 } } } }], load_balancing_weight: { value: 1 } });
    // Undeclared ports: one chain without destination_port (less specific than the app port's), mTLS only (STRICT),
    // tcp_proxy to InboundPassthroughCluster: ORIGINAL_DST from 127.0.0.6, which pilotfish iptables never captures again.
    const [pass, ...others] = chains(l).filter((c) => !(c.filter_chain_match as Json | undefined)?.destination_port);
    assert.equal(others.length, 0);
    assert.ok(pass.transport_socket, 'STRICT: undeclared ports still need mTLS');
    assert.equal((filterOf(pass).typed_config as Json).cluster, 'InboundPassthroughCluster');
    assert.equal(l.default_filter_chain, undefined);
    const ipc = cds(s, 'InboundPassthroughCluster');
    assert.deepEqual([ipc.type, ipc.lb_policy, ipc.upstream_bind_config, ipc.transport_socket],
      ['ORIGINAL_DST', 'CLUSTER_PROVIDED', { source_address: { address: '127.0.0.6', port_value: 0 } }, undefined]);
  });

  it('detected ports, by the sidecar\'s own matcher (Envoy never falls back across levels): HTTP → HCM, plaintext non-HTTP and the app\'s own TLS → tcp_proxy', () => {
    // Outbound to web (port 9000, no declared protocol) at its pod address.
    const out = lds(snap(translator({ mode: null }), 'a'), 'virtualOutbound');
    const to = (facts: Partial<ConnectionFacts>) => destination(picked(out, { destinationPort: 9000, destinationIp: '10.9.0.4', ...facts }));
    assert.match(to({ alpn: ['http/1.1'] }), /^HCM /);
    assert.match(to({ alpn: ['http/1.0'] }), /^HCM /);
    assert.equal(to({}), 'outbound|9000|original-dst|web.default.svc.cluster.local', 'plaintext that is not HTTP');
    assert.equal(to({ transportProtocol: 'tls', serverName: 'web.example' }), 'outbound|9000|original-dst|web.default.svc.cluster.local', 'the app\'s own TLS');
    // Inbound on web's pod without mTLS (DISABLE): the same three outcomes to the app.
    const inb = lds(snap(translator({ mode: null }), 'web'), 'virtualInbound');
    const at = (facts: Partial<ConnectionFacts>) => destination(picked(inb, { destinationPort: 9000, destinationIp: '10.9.0.4', ...facts }));
    assert.match(at({ alpn: ['http/1.1'] }), /^HCM /);
    assert.equal(at({}), 'inbound|9000|web');
    assert.equal(at({ transportProtocol: 'tls', serverName: 'web.example' }), 'inbound|9000|web');
  });

  it('undeclared ports: PERMISSIVE passes TLS and plaintext through; DISABLE plaintext; "refuse" still closes them', () => {
    const perm = lds(snap(translator({ mode: 'PERMISSIVE' }), 'b'), 'virtualInbound');
    const pass = chains(perm).filter((c) => (filterOf(c).typed_config as Json).cluster === 'InboundPassthroughCluster');
    assert.deepEqual(pass.map((c) => [(c.filter_chain_match as Json | undefined)?.transport_protocol, c.transport_socket !== undefined]), [['tls', true], ['raw_buffer', false]]);
    const off = lds(snap(translator({ mode: 'DISABLE' }), 'b'), 'virtualInbound');
    assert.ok(chains(off).some((c) => (filterOf(c).typed_config as Json).cluster === 'InboundPassthroughCluster' && c.transport_socket === undefined));
    const refused = virtualInbound(15006, '10.9.0.2', [], 'STRICT', 'cluster.local', null, 'refuse');
    assert.equal((filterOf(refused.listener.default_filter_chain as Json).typed_config as Json).cluster, 'BlackHoleCluster');
  });

  it('virtualOutbound: other ports of a captured workload go to its sidecar (mTLS per its mode), not to PassthroughCluster', () => {
    const s = snap(translator({ mode: 'STRICT' }), 'a');
    const l = lds(s, 'virtualOutbound');
    const toB = chains(l).find((c) => c.name === 'outbound|*|original-dst|b.default.svc.cluster.local')!;
    assert.deepEqual(toB.filter_chain_match, { prefix_ranges: [{ address_prefix: '10.9.0.2', prefix_len: { value: 32 } }] });
    assert.equal(filterOf(toB).name, 'envoy.filters.network.tcp_proxy');
    const c = cds(s, 'outbound|*|original-dst|b.default.svc.cluster.local');
    assert.deepEqual([c.type, c.lb_policy], ['ORIGINAL_DST', 'CLUSTER_PROVIDED']);
    assert.deepEqual((((c.transport_socket as Json).typed_config as Json).common_tls_context as Json).combined_validation_context, {
      default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: B_ID } }] },
      validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: (((((c.transport_socket as Json).typed_config as Json).common_tls_context as Json).combined_validation_context as Json).validation_context_sds_secret_config as Json).sds_config },
    });
    // The declared port keeps its own chain (destination_port wins over the address-only chain).
    assert.equal(chainFor(l, 8080, '10.9.0.2').length, 1);
    // A plaintext mesh: the same chain, plaintext.
    assert.equal(cds(snap(translator({ mode: null }), 'a'), 'outbound|*|original-dst|b.default.svc.cluster.local').transport_socket, undefined);
  });

  it('undeclared inbound ports in passthrough mode: the workload\'s mode, ORIGINAL_DST from 127.0.0.6', () => {
    const { listener, clusters } = virtualInbound(15006, '10.9.0.2', [], 'STRICT', 'cluster.local', null, 'passthrough');
    assertKnownFields(root, 'envoy.config.listener.v3.Listener', listener);
    const [only, ...rest] = chains(listener).filter((c) => !(c.filter_chain_match as Json | undefined)?.destination_port);
    assert.equal(rest.length, 0);
    assert.ok(only.transport_socket, 'STRICT: undeclared ports still need mTLS');
    assert.equal((filterOf(only).typed_config as Json).cluster, 'InboundPassthroughCluster');
    const pass = clusters.find((c) => c.name === 'InboundPassthroughCluster')!;
    assertKnownFields(root, 'envoy.config.cluster.v3.Cluster', pass);
    assert.deepEqual([pass.type, pass.upstream_bind_config], ['ORIGINAL_DST', { source_address: { address: '127.0.0.6', port_value: 0 } }]);
  });

  it('virtualInbound PERMISSIVE: TLS and plaintext chains per port; detection in plaintext for undeclared protocols', () => {
    const s = snap(translator({ mode: 'PERMISSIVE' }), 'b');
    const l = lds(s, 'virtualInbound');
    assert.deepEqual(chainFor(l, 8080).map((c) => (c.filter_chain_match as Json).transport_protocol), ['tls', 'raw_buffer']);
    const w = lds(snap(translator({ mode: 'PERMISSIVE' }), 'web'), 'virtualInbound');
    assert.ok((w.listener_filters as Json[]).some((f) => f.name === 'envoy.filters.listener.http_inspector'));
    const web = chainFor(w, 9000);
    assert.deepEqual(web.map((c) => [(c.filter_chain_match as Json).transport_protocol, filterOf(c).name]), [
      ['tls', 'envoy.filters.network.tcp_proxy'],
      ['raw_buffer', 'envoy.filters.network.http_connection_manager'],
      ['raw_buffer', 'envoy.filters.network.tcp_proxy'],
    ]);
  });

  it('a port without a declared protocol under mTLS with authorization is handled as HTTP, so RBAC runs (fail closed)', () => {
    const authz = `apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: web}
spec:
  targetRef: {kind: Service, name: web}
  authorization: [{name: only-a, action: ALLOW, rules: [{from: [{serviceAccounts: [a]}]}]}]
---
`;
    const l = lds(snap(translator({ mode: 'STRICT', yaml: authz }), 'web'), 'virtualInbound');
    const [mtls, ...rest] = chainFor(l, 9000);
    assert.equal(rest.length, 0);
    const h = filterOf(mtls).typed_config as Json;
    assert.equal(filterOf(mtls).name, 'envoy.filters.network.http_connection_manager');
    assert.deepEqual((h.http_filters as Json[]).map((f) => f.name), ['envoy.filters.http.rbac.allow', 'envoy.filters.http.router']);
  });

  it('a plaintext mesh (no CA) and DISABLE give plaintext capture chains and plaintext ORIGINAL_DST clusters', () => {
    for (const mode of [null, 'DISABLE'] as const) {
      const s = snap(translator({ mode }), 'a');
      assert.equal(cds(s, 'outbound|8080|original-dst|b.default.svc.cluster.local').transport_socket, undefined);
      const inbound = lds(snap(translator({ mode }), 'b'), 'virtualInbound');
      assert.ok(chains(inbound).every((c) => c.transport_socket === undefined));
    }
  });

  it("connections to the sidecar's own ports are closed on both capture listeners, never passed on (no capture-port loop)", () => {
    // a's app dialing 127.0.0.1:15001 reaches virtualOutbound unredirected; so does anyone dialing <pod>:15001. Passed
    // through, such a connection lands on the same port again, and again.
    const s = snap(translator(), 'a');
    const out = lds(s, 'virtualOutbound');
    for (const [ip, port] of [['127.0.0.1', 15001], ['10.9.0.1', 15001], ['10.9.0.2', 15001], ['10.9.0.2', 15006], ['192.0.2.1', 15006]] as const) {
      assert.equal(destination(picked(out, { destinationIp: ip, destinationPort: port })), 'BlackHoleCluster', `${ip}:${port} on virtualOutbound`);
    }
    assert.equal(destination(picked(out, { destinationIp: '10.9.0.2', destinationPort: 9999 })), 'outbound|*|original-dst|b.default.svc.cluster.local');
    assert.equal(destination(picked(out, { destinationIp: '192.0.2.1', destinationPort: 80 })), 'PassthroughCluster');
    const bh = cds(s, 'BlackHoleCluster');
    assert.deepEqual([bh.type, bh.load_assignment], ['STATIC', { cluster_name: 'BlackHoleCluster' }], 'BlackHoleCluster exists under ALLOW_ANY too');
    // virtualInbound: <pod>:15006 / :15001 and the sidecar's admin, probe, status and Prometheus ports never go to
    // InboundPassthroughCluster, whatever the transport; other undeclared ports still do.
    for (const mode of ['PERMISSIVE', 'STRICT', 'DISABLE', null] as const) {
      const tb = snap(translator({ mode }), 'b');
      const inb = lds(tb, 'virtualInbound');
      for (const port of [15006, 15001, 15000, 15020, 15021, 15090]) {
        for (const transportProtocol of ['raw_buffer', 'tls'] as const) {
          assert.equal(destination(picked(inb, { destinationPort: port, transportProtocol })), 'BlackHoleCluster', `${mode} ${transportProtocol} :${port} on virtualInbound`);
        }
      }
      assert.ok(cds(tb, 'BlackHoleCluster'));
      const undeclared = destination(picked(inb, { destinationPort: 8090, transportProtocol: mode === 'STRICT' ? 'tls' : 'raw_buffer' }));
      assert.equal(undeclared, 'InboundPassthroughCluster', `${mode}: other undeclared ports pass through`);
    }
    // The node's actual capture ports (metadata outboundPort / inboundPort), not the defaults.
    const t = translator();
    const custom = t.snapshot(readNodeIdentity('b-2', '', { pilotfish: { ...PODS.b, outboundPort: 16001, inboundPort: 16006 } }));
    for (const name of ['virtualOutbound', 'virtualInbound']) {
      const l = lds(custom, name);
      for (const port of [16001, 16006]) assert.equal(destination(picked(l, { destinationPort: port })), 'BlackHoleCluster', `${name} :${port}`);
    }
    assert.deepEqual(lds(custom, 'virtualInbound').address, { socket_address: { address: '0.0.0.0', port_value: 16006 } });
  });

  it('HTTP/1.0 is HTTP on ports without a declared protocol, and with authorization no plaintext request skips RBAC', () => {
    // http_inspector reports "http/1.0" for an HTTP/1.0 request line: the HTTP chains list it, outbound and inbound.
    const out = lds(snap(translator(), 'a'), 'virtualOutbound');
    assert.match(destination(picked(out, { destinationIp: '10.9.0.4', destinationPort: 9000, alpn: ['http/1.0'] })), /^HCM /);
    const plain = lds(snap(translator({ mode: 'PERMISSIVE' }), 'web'), 'virtualInbound');
    assert.match(destination(picked(plain, { destinationPort: 9000, alpn: ['http/1.0'] })), /^HCM /);
    assert.equal(destination(picked(plain, { destinationPort: 9000, alpn: [] })), 'inbound|9000|web', 'without authorization, non-HTTP is forwarded as TCP');
    const authz = `apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: web}
spec:
  targetRef: {kind: Service, name: web}
  authorization: [{name: only-a, action: ALLOW, rules: [{from: [{serviceAccounts: [a]}]}]}]
---
`;
    // With authorization: HTTP/1.0, HTTP/1.1, h2c, undetected bytes (non-HTTP, or a client slower than the detection
    // timeout) — over mTLS or in plaintext — all meet the RBAC filter; nothing is tcp_proxied to the app.
    for (const mode of ['PERMISSIVE', 'DISABLE', null] as const) {
      const l = lds(snap(translator({ mode, yaml: authz }), 'web'), 'virtualInbound');
      for (const alpn of [['http/1.0'], ['http/1.1'], ['h2c'], []]) {
        assert.equal(destination(picked(l, { destinationPort: 9000, alpn })), 'HCM envoy.filters.http.rbac.allow,envoy.filters.http.router', `${mode} plaintext ${alpn.join() || 'undetected'}`);
      }
      if (mode === 'PERMISSIVE') assert.equal(destination(picked(l, { destinationPort: 9000, transportProtocol: 'tls' })), 'HCM envoy.filters.http.rbac.allow,envoy.filters.http.router');
    }
  });

  it('parses --outbound-traffic-policy and refuses unknown values', () => {
    const ok = parseControlPlaneArgs(['-f', 'x', '--outbound-traffic-policy', 'registry_only']);
    assert.ok(ok.ok && ok.options.outboundTrafficPolicy === 'REGISTRY_ONLY');
    const bad = parseControlPlaneArgs(['-f', 'x', '--outbound-traffic-policy', 'DENY']);
    assert.deepEqual(bad, { ok: false, error: '--outbound-traffic-policy must be one of ALLOW_ANY, REGISTRY_ONLY, got "DENY"' });
  });
});
