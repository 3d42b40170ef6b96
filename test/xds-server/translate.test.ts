// Translation tables: mesh model + node identity -> Envoy listeners, routes, clusters and endpoints (checked against the Envoy protos).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type protobuf from 'protobufjs';
import { decodeAny, encodeAny, xdsProtoRoot } from '../../src/xds/protos.ts';
import { parseYamlText } from '../../xds/input/load-files.ts';
import { compileMesh, formatInputError } from '../../xds/input/mesh.ts';
import { announcementOf, MeshView } from '../../xds/translate/mesh-view.ts';
import { parseOutboundClusterName, parseServiceAuthority, portProtocol } from '../../xds/translate/names.ts';
import { readNodeIdentity, structToJson } from '../../xds/translate/node.ts';
import { TYPE_URLS, type Json, type Resource, type ResourceType } from '../../xds/translate/resource.ts';
import { Translator, type NodeSnapshot } from '../../xds/translate/snapshot.ts';
import { intersectHostnames } from '../../xds/translate/gateway.ts';
import { generateCert } from '../helpers/certs.ts';
import { jsonToStruct } from '../../xds/testing/ads-client.ts';
import { assertKnownFields, service, slice } from './fixtures.ts';

let root: protobuf.Root;

function translator(yaml: string, nodes: Record<string, unknown>[] = []): Translator {
  const r = parseYamlText('t.yaml', yaml);
  const c = compileMesh(r.docs, r.errors);
  if (!c.ok) throw new Error(c.errors.map(formatInputError).join('\n'));
  const anns = nodes.map((m, i) => announcementOf(readNodeIdentity(`n${i}`, '', { pilotfish: m }))).filter((a) => a !== null);
  return new Translator(new MeshView(c.model, anns));
}

function snap(t: Translator, meta: Record<string, unknown> = {}, id = 'node'): NodeSnapshot {
  return t.snapshot(readNodeIdentity(id, '', { pilotfish: meta }));
}

/** Every resource must name only real proto fields and survive encoding. */
function checkResource(r: Resource): void {
  const typeName = TYPE_URLS[r.type].split('/')[1];
  assertKnownFields(root, typeName, r.body);
  const back = decodeAny(root, TYPE_URLS[r.type], encodeAny(root, TYPE_URLS[r.type], r.body).value);
  assert.equal(back.name ?? back.cluster_name, r.name);
}

function all(s: NodeSnapshot): Resource[] {
  return (['LDS', 'RDS', 'CDS', 'EDS'] as ResourceType[]).flatMap((t) => [...s.wildcard(t).values()]);
}

function routesOf(rc: Resource | undefined, vhost?: string): Json[] {
  assert.ok(rc, 'route configuration missing');
  const vhs = rc.body.virtual_hosts as Json[];
  const vh = vhost === undefined ? vhs[0] : vhs.find((v) => v.name === vhost);
  assert.ok(vh, `no virtual host ${vhost}`);
  return vh.routes as Json[];
}

const ORDERS = service('orders', '[{name: http, port: 8080}]') + service('orders-v2', '[{name: http, port: 8080}]')
  + service('payments', '[{name: grpc, port: 9090, appProtocol: grpc}]', 'shop');

function route(spec: string, kind = 'HTTPRoute'): string {
  return `apiVersion: gateway.networking.k8s.io/v1\nkind: ${kind}\nmetadata: {name: r}\nspec:\n${spec}\n---\n`;
}

describe('translation', () => {
  before(async () => {
    root = await xdsProtoRoot();
  });

  it('classifies port protocols and parses names', () => {
    const table: [string, string | null, string][] = [
      ['http', null, 'http'], ['grpc', null, 'http2'], ['grpc-web', null, 'http2'], ['http2-api', null, 'http2'], ['web', 'kubernetes.io/h2c', 'http2'],
      ['x', 'grpc', 'http2'], ['tcp-db', null, 'tcp'], ['db', 'mysql', 'tcp'], ['', null, 'http'], ['api', 'http', 'http'],
    ];
    for (const [name, appProtocol, want] of table) assert.equal(portProtocol({ name, appProtocol, protocol: 'TCP' }), want, `${name}/${appProtocol}`);
    assert.deepEqual(parseOutboundClusterName('outbound|8080||orders.default.svc.cluster.local'), { key: 'default/orders', port: 8080 });
    const auth: [string, ReturnType<typeof parseServiceAuthority>][] = [
      ['orders', { key: 'ns1/orders', port: null }], ['orders:80', { key: 'ns1/orders', port: 80 }], ['orders.shop', { key: 'shop/orders', port: null }],
      ['orders.shop.svc', { key: 'shop/orders', port: null }], ['orders.shop.svc.cluster.local:9', { key: 'shop/orders', port: 9 }],
      ['a.b.c', null], ['UPPER', null],
    ];
    for (const [a, want] of auth) assert.deepEqual(parseServiceAuthority(a, 'ns1'), want, a);
  });

  it('reads node metadata from a Struct and reports problems', () => {
    const md = structToJson(jsonToStruct({ pilotfish: { service: 'orders', ports: { http: 8081 }, inboundPort: 15006, dependencies: ['payments'] } }));
    const n = readNodeIdentity('id1', 'c', md);
    assert.deepEqual([n.service, n.namespace, n.address, n.ports, n.inboundPorts, n.outboundPort, n.dependencies, n.problems],
      ['orders', 'default', '127.0.0.1', { http: 8081 }, { '*': 15006 }, 15001, ['payments'], []]);
    const bad = readNodeIdentity('id2', '', { pilotfish: { address: 'nowhere', ports: { http: 'x' }, outboundPort: 70000 } });
    assert.deepEqual(bad.problems, ['pilotfish.address: "nowhere" is not an IP address', 'pilotfish.outboundPort: expected a port number or 0', 'pilotfish.ports.http: expected a port number, got "x"']);
  });

  it('translates HTTPRoute matches, filters, weights and precedence', () => {
    const t = translator(ORDERS + route(`  parentRefs: [{kind: Service, group: "", name: orders}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: orders, weight: 90}, {name: orders-v2, weight: 10}]
    timeouts: {request: 2s}
  - matches: [{path: {type: Exact, value: /login}, method: POST}, {path: {type: PathPrefix, value: /api/v2}, headers: [{name: x-v, value: "2"}], queryParams: [{type: RegularExpression, name: q, value: "a.*"}]}]
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-set, value: s}], add: [{name: x-add, value: a}], remove: [x-drop]}}
    - {type: URLRewrite, urlRewrite: {hostname: internal, path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}
    backendRefs: [{name: orders-v2}]
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, hostname: new.example.com, statusCode: 301}}]
  - matches: [{path: {type: RegularExpression, value: "/r/[0-9]+"}}]
    filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: x-r, value: "1"}]}}, {type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /fixed}}}]
    backendRefs: [{name: orders}]`));
    const s = snap(t);
    const routes = routesOf(s.get('RDS', 'outbound'), 'orders.default.svc.cluster.local:8080');
    assert.deepEqual(routes.map((r) => r.name), [
      'default/r/rule1/match0', 'default/r/rule3/match0', 'default/r/rule1/match1', 'default/r/rule0/match0', 'default/r/rule2/match0',
    ]);
    const [exact, regex, v2, api, old] = routes;
    assert.deepEqual(exact.match, { path: '/login', headers: [{ name: ':method', string_match: { exact: 'POST' } }] });
    assert.deepEqual(regex.match, { safe_regex: { regex: '/r/[0-9]+' } });
    assert.deepEqual((regex.route as Json).regex_rewrite, { pattern: { regex: '^/.*$' }, substitution: '/fixed' });
    assert.deepEqual(regex.response_headers_to_add, [{ header: { key: 'x-r', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]);
    assert.deepEqual(v2.match, {
      path_separated_prefix: '/api/v2',
      headers: [{ name: 'x-v', string_match: { exact: '2' } }],
      query_parameters: [{ name: 'q', string_match: { safe_regex: { regex: 'a.*' } } }],
    });
    assert.deepEqual(v2.route, {
      cluster: 'outbound|8080||orders-v2.default.svc.cluster.local',
      regex_rewrite: { pattern: { regex: '^/api/v2/*' }, substitution: '/' },
      host_rewrite_literal: 'internal',
    });
    assert.deepEqual(v2.request_headers_to_add, [
      { header: { key: 'x-set', value: 's' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-add', value: 'a' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
    assert.deepEqual(v2.request_headers_to_remove, ['x-drop']);
    assert.deepEqual(api.route, {
      weighted_clusters: { clusters: [
        { name: 'outbound|8080||orders.default.svc.cluster.local', weight: { value: 90 } },
        { name: 'outbound|8080||orders-v2.default.svc.cluster.local', weight: { value: 10 } },
      ] },
      timeout: { seconds: 2 },
    });
    assert.deepEqual(old.redirect, { scheme_redirect: 'https', host_redirect: 'new.example.com', response_code: 'MOVED_PERMANENTLY' });
    all(s).forEach(checkResource);
  });

  it('translates GRPCRoute method matches and TrafficPolicy route fields', () => {
    const t = translator(ORDERS + route(`  parentRefs: [{kind: Service, group: "", name: payments, namespace: shop}]
  rules:
  - matches: [{method: {service: shop.Payments, method: Charge}}, {method: {service: shop.Payments}}, {method: {method: Refund}}, {}]
    backendRefs: [{name: payments, namespace: shop, port: 9090}]`, 'GRPCRoute') + `apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: payments, namespace: shop}
spec:
  targetRef: {kind: Service, name: payments}
  timeout: 1500ms
  retry: {attempts: 3, perTryTimeout: 500ms, retryOn: [unavailable, 5xx], backoff: {base: 10ms, max: 100ms}}
  loadBalancer: {policy: RING_HASH, hashOn: {cookie: {name: sticky, ttl: 1h}}}
`);
    const s = snap(t, { namespace: 'shop' });
    const rc = s.get('RDS', 'outbound')!;
    const vh = (rc.body.virtual_hosts as Json[]).find((v) => v.name === 'payments.shop.svc.cluster.local:9090')!;
    assert.deepEqual(vh.domains, [
      'payments.shop.svc.cluster.local', 'payments.shop.svc', 'payments.shop', 'payments',
      'payments.shop.svc.cluster.local:9090', 'payments.shop.svc:9090', 'payments.shop:9090', 'payments:9090',
    ]);
    const routes = vh.routes as Json[];
    assert.deepEqual(routes.map((r) => r.match), [
      { path: '/shop.Payments/Charge' }, { safe_regex: { regex: '/[^/]+/Refund' } }, { prefix: '/shop.Payments/' }, { prefix: '/' },
    ]);
    assert.deepEqual(routes[0].route, {
      cluster: 'outbound|9090||payments.shop.svc.cluster.local',
      timeout: { seconds: 1, nanos: 500_000_000 },
      retry_policy: {
        retry_on: 'unavailable,5xx', num_retries: { value: 3 }, per_try_timeout: { nanos: 500_000_000 },
        retry_back_off: { base_interval: { nanos: 10_000_000 }, max_interval: { nanos: 100_000_000 } },
      },
      hash_policy: [{ cookie: { name: 'sticky', ttl: { seconds: 3600 } } }],
    });
    all(s).forEach(checkResource);
  });

  it('builds clusters with HTTP/2, circuit breakers, retry budget, outlier detection and LB policy', () => {
    const t = translator(ORDERS + `apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: p, namespace: shop}
spec:
  targetRef: {kind: Service, name: payments}
  retry: {attempts: 2, budget: {percent: 25, minRetryConcurrency: 5}}
  circuitBreaker: {maxConnections: 10, maxPendingRequests: 20, maxRequests: 30, maxRetries: 4}
  outlierDetection: {consecutive5xx: 3, consecutiveGatewayErrors: 2, interval: 5s, baseEjectionTime: 30s, maxEjectionTime: 5m, maxEjectionPercent: 50}
  loadBalancer: {policy: LEAST_REQUEST}
`);
    const s = snap(t);
    const c = s.get('CDS', 'outbound|9090||payments.shop.svc.cluster.local')!;
    assert.deepEqual(c.body, {
      name: 'outbound|9090||payments.shop.svc.cluster.local',
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
      connect_timeout: { seconds: 5 },
      lb_policy: 'LEAST_REQUEST',
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
      circuit_breakers: { thresholds: [{
        priority: 'DEFAULT', max_connections: { value: 10 }, max_pending_requests: { value: 20 }, max_requests: { value: 30 }, max_retries: { value: 4 },
        retry_budget: { budget_percent: { value: 25 }, min_retry_concurrency: { value: 5 } },
      }] },
      outlier_detection: {
        consecutive_5xx: { value: 3 }, interval: { seconds: 5 }, base_ejection_time: { seconds: 30 }, max_ejection_percent: { value: 50 },
        consecutive_gateway_failure: { value: 2 }, enforcing_consecutive_gateway_failure: { value: 100 }, max_ejection_time: { seconds: 300 },
      },
    });
    const plain = s.get('CDS', 'outbound|8080||orders.default.svc.cluster.local')!;
    assert.equal(plain.body.lb_policy, 'ROUND_ROBIN');
    assert.equal(plain.body.typed_extension_protocol_options, undefined);
    checkResource(c);
    checkResource(plain);
  });

  it('merges EndpointSlices and announced endpoints into load assignments', () => {
    const t = translator(ORDERS + slice('orders', ['10.0.0.1', '10.0.0.2'], 'http', 8081)
      + `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: orders-2, labels: {kubernetes.io/service-name: orders}}\naddressType: IPv4\n`
      + `endpoints: [{addresses: [10.0.0.3], conditions: {ready: false}}, {addresses: [10.0.0.1]}]\nports: [{name: http, port: 8081}]\n`,
    [{ service: 'orders', address: '127.0.0.1', ports: { http: 18081 }, inboundPort: 15006 }, { service: 'orders', address: '127.0.0.2', ports: { http: 18082 } },
      { service: 'ledger', namespace: 'shop', ports: { 'grpc-api': 7000 } }]);
    const s = snap(t);
    const cla = s.get('EDS', 'outbound|8080||orders.default.svc.cluster.local')!;
    const eps = (cla.body.endpoints as Json[])[0];
    assert.deepEqual(eps.locality, {});
    assert.deepEqual(eps.load_balancing_weight, { value: 1 });
    const addrs = (eps.lb_endpoints as Json[]).map((e) => {
      const sa = ((e.endpoint as Json).address as Json).socket_address as Json;
      return `${sa.address}:${sa.port_value}`;
    });
    assert.deepEqual(addrs, ['10.0.0.1:8081', '10.0.0.2:8081', '127.0.0.1:15006', '127.0.0.2:18082']);
    assert.deepEqual(s.get('EDS', 'outbound|8080||orders-v2.default.svc.cluster.local')!.body, { cluster_name: 'outbound|8080||orders-v2.default.svc.cluster.local' });
    // An announced service without a Service document is synthesized from the announcement.
    const ledger = s.get('CDS', 'outbound|7000||ledger.shop.svc.cluster.local')!;
    assert.ok(ledger.body.typed_extension_protocol_options, 'grpc-* port name means HTTP/2');
    assert.equal(s.get('EDS', 'outbound|7000||ledger.shop.svc.cluster.local')!.body.endpoints !== undefined, true);
    checkResource(cla);
  });

  it("builds a sidecar's inbound and outbound listeners, scoped by dependencies", () => {
    const t = translator(ORDERS + route(`  parentRefs: [{kind: Service, group: "", name: payments, namespace: shop}]
  rules: [{backendRefs: [{name: orders, namespace: default, port: 8080}]}]`));
    const s = snap(t, { service: 'orders', ports: { http: 8081 }, inboundPort: 15006, outboundPort: 15001, dependencies: ['shop/payments'] });
    assert.deepEqual([...s.wildcard('LDS').keys()], ['inbound|15006', 'outbound']);
    const inbound = s.wildcard('LDS').get('inbound|15006')!.body;
    assert.deepEqual(inbound.address, { socket_address: { address: '127.0.0.1', port_value: 15006 } });
    const hcm = ((inbound.filter_chains as Json[])[0].filters as Json[])[0].typed_config as Json;
    assert.deepEqual(((hcm.route_config as Json).virtual_hosts as Json[])[0].routes, [{ match: { prefix: '/' }, route: { cluster: 'inbound|15006|orders', timeout: {} } }]);
    const ic = s.wildcard('CDS').get('inbound|15006|orders')!.body;
    assert.equal(ic.type, 'STATIC');
    assert.deepEqual(((((ic.load_assignment as Json).endpoints as Json[])[0].lb_endpoints as Json[])[0].endpoint as Json).address,
      { socket_address: { address: '127.0.0.1', port_value: 8081 } });
    const outbound = s.wildcard('LDS').get('outbound')!.body;
    const ohcm = ((outbound.filter_chains as Json[])[0].filters as Json[])[0].typed_config as Json;
    assert.deepEqual(ohcm.rds, { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: 'outbound' });
    const rc = s.wildcard('RDS').get('outbound')!;
    assert.deepEqual((rc.body.virtual_hosts as Json[]).map((v) => v.name), ['payments.shop.svc.cluster.local:9090']);
    // payments' route sends to orders, so orders' cluster comes along although orders is not a dependency.
    assert.deepEqual([...s.wildcard('CDS').keys()].sort(), [
      'inbound|15006|orders', 'outbound|8080||orders.default.svc.cluster.local', 'outbound|9090||payments.shop.svc.cluster.local',
    ]);
    assert.deepEqual([...s.wildcard('EDS').keys()].sort(), ['outbound|8080||orders.default.svc.cluster.local', 'outbound|9090||payments.shop.svc.cluster.local']);
    all(s).forEach(checkResource);
    const everything = snap(t, {});
    assert.equal((everything.wildcard('RDS').get('outbound')!.body.virtual_hosts as Json[]).length, 3);
  });

  it('serves api_listeners and their routes to proxyless gRPC clients by target name', () => {
    const t = translator(ORDERS);
    const s = snap(t, { namespace: 'shop' });
    const l = s.get('LDS', 'payments')!;
    assert.deepEqual(l.body, {
      name: 'payments',
      api_listener: { api_listener: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        stat_prefix: 'payments', codec_type: 'AUTO',
        rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: 'payments' },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
      } },
    });
    assert.deepEqual(s.get('RDS', 'payments')!.body, {
      name: 'payments',
      virtual_hosts: [{ name: 'payments', domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: 'outbound|9090||payments.shop.svc.cluster.local' } }] }],
    });
    assert.ok(s.get('LDS', 'orders.default:8080'));
    assert.equal(s.get('LDS', 'orders'), undefined, 'short names resolve in the node namespace');
    assert.equal(s.get('LDS', 'payments:1'), undefined, 'no such port');
    checkResource(l);
    checkResource(s.get('RDS', 'payments')!);
  });

  it('translates a Gateway with HTTP and HTTPS listeners and attached routes (north-south)', () => {
    const cert = generateCert({ dnsNames: ['shop.example.com'] });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const t = translator(`${ORDERS}apiVersion: v1
kind: Secret
metadata: {name: shop-tls}
type: kubernetes.io/tls
data: {tls.crt: ${b64(cert.cert)}, tls.key: ${b64(cert.key)}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public}
spec:
  gatewayClassName: pilotfish
  listeners:
  - {name: web, port: 80, protocol: HTTP}
  - {name: tls, port: 443, protocol: HTTPS, hostname: shop.example.com, tls: {certificateRefs: [{name: shop-tls}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: public}]
  hostnames: [shop.example.com]
  rules: [{matches: [{path: {type: PathPrefix, value: /orders}}], backendRefs: [{name: orders, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: fallback}
spec:
  parentRefs: [{name: public, sectionName: web}]
  rules: [{backendRefs: [{name: orders-v2, port: 8080}]}]
`);
    const s = snap(t, { gateway: 'public', gatewayPorts: { 80: 18080 } });
    assert.deepEqual([...s.wildcard('LDS').keys()], ['gateway|80', 'gateway|443']);
    const http = s.wildcard('LDS').get('gateway|80')!.body;
    assert.deepEqual(http.address, { socket_address: { address: '127.0.0.1', port_value: 18080 } });
    const rc80 = s.wildcard('RDS').get('gateway|default/public|80')!;
    assert.deepEqual((rc80.body.virtual_hosts as Json[]).map((v) => [v.name, v.domains]), [
      ['*', ['*']], ['shop.example.com', ['shop.example.com', 'shop.example.com:80', 'shop.example.com:18080']],
    ]);
    const https = s.wildcard('LDS').get('gateway|443')!.body;
    const chain = (https.filter_chains as Json[])[0];
    assert.deepEqual(chain.filter_chain_match, { server_names: ['shop.example.com'] });
    const tls = (chain.transport_socket as Json).typed_config as Json;
    assert.equal((((tls.common_tls_context as Json).tls_certificates as Json[])[0].certificate_chain as Json).inline_string, cert.cert);
    const rc443 = s.wildcard('RDS').get('gateway|default/public|443|tls')!;
    assert.deepEqual((rc443.body.virtual_hosts as Json[]).map((v) => v.name), ['shop.example.com']);
    assert.deepEqual([...s.wildcard('CDS').keys()], ['outbound|8080||orders-v2.default.svc.cluster.local', 'outbound|8080||orders.default.svc.cluster.local']);
    all(s).forEach(checkResource);
    cert.remove();
  });

  it('intersects route and listener hostnames like Gateway API', () => {
    const table: [string[], string | null, string[]][] = [
      [[], null, ['*']], [[], 'a.com', ['a.com']], [['a.com'], null, ['a.com']], [['a.com'], 'a.com', ['a.com']],
      [['x.a.com'], '*.a.com', ['x.a.com']], [['*.a.com'], 'x.a.com', ['x.a.com']], [['b.com'], 'a.com', []], [['a.com'], '*.a.com', []],
    ];
    for (const [r, l, want] of table) assert.deepEqual(intersectHostnames(r, l), want, `${r} on ${l}`);
  });
});
