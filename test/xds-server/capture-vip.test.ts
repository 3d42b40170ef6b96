// Capture translation for Services' virtual IPs (clusterIP/clusterIPs) and for endpoints known both from EndpointSlices and from the captured sidecar's announcement.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type protobuf from 'protobufjs';
import { xdsProtoRoot } from '../../src/xds/protos.ts';
import { parseYamlText } from '../../xds/input/load-files.ts';
import { compileMesh, formatInputError } from '../../xds/input/mesh.ts';
import type { MtlsMode } from '../../xds/input/types.ts';
import { announcementOf, MeshView } from '../../xds/translate/mesh-view.ts';
import { readNodeIdentity } from '../../xds/translate/node.ts';
import type { Json, Resource } from '../../xds/translate/resource.ts';
import { Translator, type NodeSnapshot } from '../../xds/translate/snapshot.ts';
import { B_RETRY_POLICY, chains, compiled as compiledBySidecar, filterOf } from '../helpers/captured-listeners.ts';
import { slice } from './fixtures.ts';

let root: protobuf.Root;

const B_ID = 'spiffe://cluster.local/ns/default/sa/b';
const B_EDS = 'outbound|80||b.default.svc.cluster.local';
/** b: a ClusterIP Service whose ports differ from the pods' target ports; h: headless; dual: dual-stack. */
const MESH = `apiVersion: v1
kind: Service
metadata: {name: a}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec:
  clusterIP: 10.96.0.10
  ports: [{name: http, port: 80, targetPort: 8080}, {name: tcp-echo, port: 9000}, {name: web, port: 81, targetPort: 8081}]
---
apiVersion: v1
kind: Service
metadata: {name: h}
spec: {clusterIP: None, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: dual}
spec: {clusterIP: 10.96.0.20, clusterIPs: [10.96.0.20, "fd00::20"], ports: [{name: http, port: 80}]}
---
${B_RETRY_POLICY}`;

const PODS: Record<string, Record<string, unknown>> = {
  a: { service: 'a', address: '10.9.0.1', ports: { http: 8080 }, interception: 'iptables' },
  b: { service: 'b', address: '10.9.0.2', ports: { http: 8080, 'tcp-echo': 9000, web: 8081 }, interception: 'iptables' },
  h: { service: 'h', address: '10.9.0.3', ports: { http: 80 }, interception: 'iptables' },
};

function translator(mode: MtlsMode, yaml = '', pods = PODS): Translator {
  const r = parseYamlText('t.yaml', MESH + yaml);
  const c = compileMesh(r.docs, r.errors);
  if (!c.ok) throw new Error(c.errors.map(formatInputError).join('\n'));
  const anns = Object.entries(pods).map(([n, m]) => announcementOf(readNodeIdentity(`${n}.default`, '', { pilotfish: m }))).filter((a) => a !== null);
  return new Translator(new MeshView(c.model, anns, { trustDomain: 'cluster.local', defaultMode: mode }));
}

const compiled = (r: Resource): Json => compiledBySidecar(root, r);

const snap = (t: Translator, pod: string): NodeSnapshot => t.snapshot(readNodeIdentity(`${pod}-1`, '', { pilotfish: PODS[pod] }));
const outbound = (s: NodeSnapshot): Json => compiled(s.wildcard('LDS').get('virtualOutbound')!);
const chain = (l: Json, name: string): Json | undefined => chains(l).find((c) => c.name === name);
const routeOf = (c: Json): Json =>
  ((((filterOf(c).typed_config as Json).route_config as Json).virtual_hosts as Json[])[0].routes as Json[])[0].route as Json;
const lbEndpoints = (s: NodeSnapshot, cluster: string): Json[] =>
  ((s.wildcard('EDS').get(cluster)!.body.endpoints as Json[] | undefined) ?? []).flatMap((l) => l.lb_endpoints as Json[]).map((e) => (e.endpoint as Json).address as Json);

describe('capture: Services\' virtual IPs', () => {
  before(async () => {
    root = await xdsProtoRoot();
  });

  it('an HTTP service port: <clusterIP>/32 at the service port, routed like RDS outbound to the EDS cluster (mTLS, retries, timeout)', () => {
    const s = snap(translator('STRICT'), 'a');
    const l = outbound(s);
    const vip = chain(l, 'b.default.svc.cluster.local:80|vip')!;
    assert.ok(vip, 'a chain for the VIP');
    assert.deepEqual(vip.filter_chain_match, { destination_port: { value: 80 }, prefix_ranges: [{ address_prefix: '10.96.0.10', prefix_len: { value: 32 } }] });
    assert.equal(filterOf(vip).name, 'envoy.filters.network.http_connection_manager');
    const route = routeOf(vip);
    assert.equal(route.cluster, B_EDS, 'the load-balanced EDS cluster, not an ORIGINAL_DST one (nothing listens on the VIP)');
    assert.deepEqual([route.timeout, route.retry_policy], [{ seconds: 3 }, { retry_on: '5xx', num_retries: { value: 2 } }]);
    const eds = compiled(s.wildcard('CDS').get(B_EDS)!);
    assert.deepEqual(((((eds.transport_socket as Json).typed_config as Json).common_tls_context as Json).combined_validation_context as Json).default_validation_context,
      { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: B_ID } }] });
    // The endpoints are the pods at the target port; their own chain matches the target port, not the service port.
    assert.deepEqual(lbEndpoints(s, B_EDS), [{ socket_address: { address: '10.9.0.2', port_value: 8080 } }]);
    assert.deepEqual(chain(l, 'b.default.svc.cluster.local:80|8080')!.filter_chain_match,
      { destination_port: { value: 8080 }, prefix_ranges: [{ address_prefix: '10.9.0.2', prefix_len: { value: 32 } }] });
    assert.equal(chains(l).some((c) => (c.filter_chain_match as Json | undefined)?.destination_port && ((c.filter_chain_match as Json).destination_port as Json).value === 80
      && ((c.filter_chain_match as Json).prefix_ranges as Json[]).some((p) => p.address_prefix === '10.9.0.2')), false, 'no pod chain at the service port');
  });

  it('a TCP service port: tcp_proxy to the EDS cluster; a port without a declared protocol: HTTP and TCP chains', () => {
    const l = outbound(snap(translator('STRICT'), 'a'));
    const tcp = chain(l, 'b.default.svc.cluster.local:9000|vip')!;
    assert.deepEqual([filterOf(tcp).name, (filterOf(tcp).typed_config as Json).cluster], ['envoy.filters.network.tcp_proxy', 'outbound|9000||b.default.svc.cluster.local']);
    const http = chain(l, 'b.default.svc.cluster.local:81|vip|http')!;
    const raw = chain(l, 'b.default.svc.cluster.local:81|vip|tcp')!;
    assert.deepEqual((http.filter_chain_match as Json).application_protocols, ['http/1.0', 'http/1.1', 'h2c']);
    assert.equal(routeOf(http).cluster, 'outbound|81||b.default.svc.cluster.local');
    assert.equal((filterOf(raw).typed_config as Json).cluster, 'outbound|81||b.default.svc.cluster.local');
    assert.deepEqual((raw.filter_chain_match as Json).destination_port, { value: 81 });
  });

  it('headless Services (clusterIP: None) get no VIP chain; dual-stack Services match both addresses', () => {
    const l = outbound(snap(translator('PERMISSIVE'), 'a'));
    assert.equal(chains(l).some((c) => (c.name as string).startsWith('h.default.svc.cluster.local:80|vip')), false);
    assert.ok(chain(l, 'h.default.svc.cluster.local:80|80'), 'the headless service\'s pods are still reached by their own addresses');
    assert.deepEqual((chain(l, 'dual.default.svc.cluster.local:80|vip')!.filter_chain_match as Json).prefix_ranges, [
      { address_prefix: '10.96.0.20', prefix_len: { value: 32 } }, { address_prefix: 'fd00::20', prefix_len: { value: 128 } }]);
  });

  it('reads clusterIP/clusterIPs and refuses values Kubernetes would refuse', () => {
    const bad = (spec: string): string[] => {
      const r = parseYamlText('t.yaml', `apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {${spec}, ports: [{port: 80}]}\n`);
      const c = compileMesh(r.docs, r.errors);
      return c.ok ? [] : c.errors.map(formatInputError);
    };
    const ok = compileMesh(parseYamlText('t.yaml', MESH).docs, []);
    assert.ok(ok.ok);
    assert.deepEqual(ok.model.services.get('default/b')!.clusterIPs, ['10.96.0.10']);
    assert.equal(ok.model.services.get('default/h')!.clusterIPs, undefined);
    assert.deepEqual(ok.model.services.get('default/dual')!.clusterIPs, ['10.96.0.20', 'fd00::20']);
    assert.match(bad('clusterIP: banana').join('\n'), /spec\.clusterIP: "banana" is not an IP address/);
    assert.match(bad('clusterIP: 10.0.0.1, clusterIPs: [10.0.0.2]').join('\n'), /spec\.clusterIPs: clusterIPs\[0\] must equal clusterIP/);
    assert.match(bad('clusterIPs: [10.0.0.1, 10.0.0.2]').join('\n'), /spec\.clusterIPs\[1\]: a second IPv4 address/);
    assert.match(bad('clusterIPs: [None, 10.0.0.2]').join('\n'), /spec\.clusterIPs: "None" \(headless\) must be the only value/);
  });
});

describe('capture: EndpointSlice endpoints and the captured sidecar\'s announcement', () => {
  it('merge into one sidecar endpoint (podIP:targetPort), so callers use mTLS even in PERMISSIVE mode', () => {
    // In a cluster both arrive: the EndpointSlice (podIP:targetPort) and the sidecar's announcement (podIP:app port).
    const withSlice = slice('b', ['10.9.0.2'], 'http', 8080);
    const t = translator('PERMISSIVE', withSlice);
    const s = snap(t, 'a');
    assert.deepEqual(lbEndpoints(s, B_EDS), [{ socket_address: { address: '10.9.0.2', port_value: 8080 } }], 'one endpoint, not two');
    assert.deepEqual(t.view.peers.get(B_EDS), { identities: [B_ID], sidecars: 1, plain: 0 });
    assert.ok(compiled(s.wildcard('CDS').get(B_EDS)!).transport_socket, 'mTLS: no plaintext fallback in PERMISSIVE');
    assert.ok(compiled(s.wildcard('CDS').get('outbound|80|original-dst|b.default.svc.cluster.local')!).transport_socket);
    // Before the sidecar announces itself the slice's endpoint is a plain one (PERMISSIVE: plaintext reaches it anyway).
    const early = translator('PERMISSIVE', withSlice, { a: PODS.a });
    assert.deepEqual(early.view.peers.get(B_EDS), { identities: [], sidecars: 0, plain: 1 });
    assert.equal(compiled(snap(early, 'a').wildcard('CDS').get(B_EDS)!).transport_socket, undefined);
  });

  it("a pod is a sidecar endpoint by address and port number, whatever its port names and app label (Helm: my-release-web, port-8080)", () => {
    // The reviewer's case: Service web, port http 80 → 8080; the injected pod's container port is unnamed (announced as
    // port-8080) and its app label (the announced service) is my-release-web; the EndpointSlice of web has podIP:8080.
    const web = `apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: 10.96.0.30, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: web}
spec:
  targetRef: {kind: Service, name: web}
  authorization: [{name: only-a, action: ALLOW, rules: [{from: [{serviceAccounts: [a]}]}]}]
---
` + slice('web', ['10.9.0.7'], 'http', 8080);
    const helm = { service: 'my-release-web', serviceAccount: 'web', address: '10.9.0.7', ports: { 'port-8080': 8080, metrics: 9090 }, interception: 'iptables' };
    const WEB_EDS = 'outbound|80||web.default.svc.cluster.local';
    const WEB_ID = 'spiffe://cluster.local/ns/default/sa/web';
    for (const mode of ['PERMISSIVE', 'STRICT'] as const) {
      const t = translator(mode, web, { a: PODS.a, helm });
      assert.deepEqual(t.view.peers.get(WEB_EDS), { identities: [WEB_ID], sidecars: 1, plain: 0 }, mode);
      const s = snap(t, 'a');
      assert.deepEqual(lbEndpoints(s, WEB_EDS), [{ socket_address: { address: '10.9.0.7', port_value: 8080 } }]);
      const tls = compiled(s.wildcard('CDS').get(WEB_EDS)!).transport_socket as Json | undefined;
      assert.ok(tls, `${mode}: the calling cluster uses mTLS`);
      assert.deepEqual((((tls.typed_config as Json).common_tls_context as Json).combined_validation_context as Json).default_validation_context,
        { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: WEB_ID } }] });
      // A captured caller dialing the pod (or the VIP) is routed as web (not as the label-named service), over mTLS.
      const l = outbound(s);
      const pod = chains(l).find((c) => ((c.filter_chain_match as Json).prefix_ranges as Json[] | undefined)?.some((p) => p.address_prefix === '10.9.0.7')
        && ((c.filter_chain_match as Json).destination_port as Json | undefined)?.value === 8080)!;
      assert.equal(routeOf(pod).cluster, 'outbound|80|original-dst|web.default.svc.cluster.local');
      assert.ok(compiled(s.wildcard('CDS').get('outbound|80|original-dst|web.default.svc.cluster.local')!).transport_socket);
      assert.equal(routeOf(chain(l, 'web.default.svc.cluster.local:80|vip')!).cluster, WEB_EDS);
      // The pod's own sidecar applies web's mode and authorization to 8080.
      const inbound = compiled(t.snapshot(readNodeIdentity('helm-1', '', { pilotfish: helm })).wildcard('LDS').get('virtualInbound')!);
      const app = chains(inbound).filter((c) => ((c.filter_chain_match as Json | undefined)?.destination_port as Json | undefined)?.value === 8080);
      assert.deepEqual(app.map((c) => [(c.filter_chain_match as Json).transport_protocol ?? null, ((filterOf(c).typed_config as Json).http_filters as Json[]).map((f) => f.name)]),
        (mode === 'STRICT' ? [null] : ['tls', 'raw_buffer']).map((tp) => [tp, ['envoy.filters.http.rbac.allow', 'envoy.filters.http.router']]), mode);
    }
    // Before the pod's sidecar connects, its slice endpoint is a plain one.
    assert.deepEqual(translator('PERMISSIVE', web, { a: PODS.a }).view.peers.get(WEB_EDS), { identities: [], sidecars: 0, plain: 1 });
    // A node whose traffic is not captured (explicit inbound listener) is still matched by name only.
    const explicit = { ...helm, interception: 'none', inboundPort: 15006 };
    assert.equal(translator('PERMISSIVE', web, { a: PODS.a, helm: explicit }).view.peers.get(WEB_EDS)!.sidecars, 0);
  });

  it('file mode (no EndpointSlices): announced ports match Service ports by name, else by numeric targetPort', () => {
    const svc = `apiVersion: v1
kind: Service
metadata: {name: api}
spec: {ports: [{name: http, port: 80, targetPort: 8080}, {name: admin, port: 9091}]}
---
`;
    const t = translator('STRICT', svc, { a: PODS.a, api: { service: 'api', address: '10.9.0.8', ports: { 'port-8080': 8080, metrics: 9090 }, interception: 'iptables' } });
    assert.deepEqual(t.view.peers.get('outbound|80||api.default.svc.cluster.local'), { identities: ['spiffe://cluster.local/ns/default/sa/api'], sidecars: 1, plain: 0 });
    assert.deepEqual(t.view.endpoints.get('outbound|9091||api.default.svc.cluster.local'), [], 'no announced port is called admin or is 9091');
  });
});
