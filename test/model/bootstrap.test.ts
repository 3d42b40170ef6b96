// Tests compileBootstrap: Envoy's front-proxy example, node/admin, cross-resource checks and frozen output.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileBootstrap, formatConfigError } from '../../src/model/compile-bootstrap.ts';
import { parseConfigText } from '../../src/model/parse-config-text.ts';
import type { HttpConnectionManagerConfig, RouteAction, Snapshot } from '../../src/model/types.ts';
import {
  type Case,
  type Json,
  assertHasError,
  bootstrap,
  cluster,
  hcm,
  io,
  listener,
  routeConfig,
  routeTo,
  runCases,
  socketAddress,
  tcpProxy,
  valueOf,
} from './fixtures.ts';

/** The shape of Envoy's examples/front-proxy/envoy.yaml (plain HTTP listener, STRICT_DNS services, admin on 8001). */
const FRONT_PROXY_YAML = `
static_resources:
  listeners:
  - address:
      socket_address:
        address: 0.0.0.0
        port_value: 8080
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          codec_type: AUTO
          stat_prefix: ingress_http
          route_config:
            name: local_route
            virtual_hosts:
            - name: backend
              domains:
              - "*"
              routes:
              - match:
                  prefix: "/service/1"
                route:
                  cluster: service1
              - match:
                  prefix: "/service/2"
                route:
                  cluster: service2
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: service1
    type: STRICT_DNS
    lb_policy: ROUND_ROBIN
    load_assignment:
      cluster_name: service1
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address:
                address: service1
                port_value: 8000
  - name: service2
    type: STRICT_DNS
    lb_policy: ROUND_ROBIN
    load_assignment:
      cluster_name: service2
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address:
                address: service2
                port_value: 8000
admin:
  address:
    socket_address:
      address: 0.0.0.0
      port_value: 8001
layered_runtime:
  layers:
  - name: static_layer_0
    static_layer:
      envoy:
        resource_limits:
          listener:
            example_listener_name:
              connection_limit: 10000
`;

function frontProxy(): unknown {
  const parsed = parseConfigText(FRONT_PROXY_YAML, 'front-proxy.yaml');
  assert.ok(parsed.ok);
  return parsed.ok ? parsed.value : null;
}

describe('Envoy front-proxy example', () => {
  test('compiles to the expected snapshot', () => {
    const r = compileBootstrap(frontProxy(), io);
    const s = valueOf(r);
    assert.equal(s.version, 'static');
    assert.deepEqual(s.admin, { address: { host: '0.0.0.0', port: 8001 }, accessLogPath: null });
    assert.equal(s.listeners.length, 1);
    const l = s.listeners[0];
    assert.deepEqual(l.address, { host: '0.0.0.0', port: 8080 });
    assert.equal(l.name, '0.0.0.0_8080', 'an unnamed listener is named after its address');
    const net = l.filterChains[0].network as HttpConnectionManagerConfig;
    assert.equal(net.kind, 'http');
    assert.equal(net.codecType, 'AUTO');
    assert.equal(net.httpFilters.at(-1)?.name, 'envoy.filters.http.router');
    const vh = net.routeConfig!.virtualHosts[0];
    assert.deepEqual(vh.domains, [{ kind: 'any', value: '' }]);
    assert.deepEqual(
      vh.routes.map((r) => [r.match.pathKind, r.match.pathValue, (r.action as RouteAction).cluster]),
      [
        ['prefix', '/service/1', 'service1'],
        ['prefix', '/service/2', 'service2'],
      ],
    );
    assert.deepEqual([...s.clusters.keys()], ['service1', 'service2']);
    const c = s.clusters.get('service1')!;
    assert.equal(c.type, 'STRICT_DNS');
    assert.equal(c.connectTimeoutMs, 5000);
    assert.deepEqual(c.loadAssignment!.endpoints[0].lbEndpoints[0].address, { host: 'service1', port: 8000 });
    assert.ok(r.warnings.some((w) => w.field === 'layered_runtime'), 'layered_runtime is ignored with a warning');
    assert.deepEqual(s.source.bootstrap, frontProxy());
    assert.equal(s.source.listeners.length, 1);
    assert.equal(s.source.clusters.length, 2);
  });

  test('the snapshot is deeply frozen, regexes still work', () => {
    const doc = bootstrap([
      listener(
        hcm({
          route_config: routeConfig([{ match: { safe_regex: { regex: '/v[0-9]+/.*' } }, route: { cluster: 'backend' } }]),
        }),
      ),
    ]);
    const s = valueOf(compileBootstrap(doc, io));
    assert.ok(Object.isFrozen(s));
    assert.ok(Object.isFrozen(s.listeners));
    const net = s.listeners[0].filterChains[0].network as HttpConnectionManagerConfig;
    const route = net.routeConfig!.virtualHosts[0].routes[0];
    assert.ok(Object.isFrozen(route.match));
    assert.ok(Object.isFrozen(s.clusters.get('backend')!.loadAssignment!.endpoints));
    assert.ok(Object.isFrozen(s.source.bootstrap));
    assert.throws(() => (s.clusters as Map<string, unknown>).set('x', {}), TypeError);
    assert.throws(() => {
      (s as { version: string }).version = 'x';
    }, TypeError);
    const re = route.match.pathRegex!;
    assert.equal(re.global, false);
    assert.ok(re.test('/v1/users'));
    assert.ok(re.test('/v1/users'), 'repeated tests do not depend on lastIndex');
    assert.ok(!re.test('/x/v1/users'));
    assert.equal(Object.isFrozen(doc), false, 'the caller input is not frozen (source is a copy)');
  });
});

const cases: readonly Case<unknown, Snapshot>[] = [
  {
    name: 'node id, cluster and metadata',
    input: bootstrap(undefined, undefined, { node: { id: 'sidecar~10.0.0.1', cluster: 'web', metadata: { team: 'a' }, locality: { zone: 'z' } } }),
    expect: (s) => assert.deepEqual(s.node, { id: 'sidecar~10.0.0.1', cluster: 'web', metadata: { team: 'a' } }),
  },
  {
    name: 'node defaults',
    input: bootstrap(),
    expect: (s) => {
      assert.deepEqual(s.node, { id: '', cluster: '', metadata: {} });
      assert.equal(s.admin, null);
    },
  },
  {
    name: 'admin access_log_path',
    input: bootstrap(undefined, undefined, { admin: { access_log_path: '/dev/null', address: socketAddress('127.0.0.1', 9901) } }),
    expect: (s) => assert.deepEqual(s.admin, { address: { host: '127.0.0.1', port: 9901 }, accessLogPath: '/dev/null' }),
  },
  {
    name: 'admin access_log (file and stdout loggers)',
    input: bootstrap(undefined, undefined, {
      admin: {
        access_log: [
          { name: 'envoy.access_loggers.stdout', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog' } },
        ],
        address: socketAddress('127.0.0.1', 9901),
      },
    }),
    expect: (s) => assert.equal(s.admin?.accessLogPath, '/dev/stdout'),
  },
  {
    name: 'admin with both access_log_path and access_log',
    input: bootstrap(undefined, undefined, {
      admin: { access_log_path: '/tmp/a', access_log: [{ name: 'envoy.access_loggers.stderr' }], address: socketAddress('127.0.0.1', 9901) },
    }),
    errorContains: 'bootstrap: admin.access_log: only one of access_log_path, access_log may be set',
  },
  {
    name: 'admin address must be an IP',
    input: bootstrap(undefined, undefined, { admin: { address: socketAddress('localhost', 9901) } }),
    errorContains: 'bootstrap: admin.address.socket_address.address: "localhost" is not an IP address',
  },
  {
    name: 'dynamic_resources is accepted (xDS comes later)',
    input: bootstrap(undefined, undefined, { dynamic_resources: { ads_config: { api_type: 'GRPC' }, lds_config: { ads: {} }, cds_config: { ads: {} } } }),
    expect: (s) => assert.equal(s.listeners.length, 1),
  },
  {
    name: 'rds without dynamic_resources',
    input: bootstrap([listener(hcm({ route_config: undefined, rds: { route_config_name: 'routes', config_source: { ads: {} } } }))]),
    errorContains: 'listener "ingress": filter_chains[0].filters[0].typed_config.rds: route configuration "routes" is to come from RDS, but the bootstrap has no dynamic_resources',
  },
  {
    name: 'rds with dynamic_resources',
    input: bootstrap([listener(hcm({ route_config: undefined, rds: { route_config_name: 'routes', config_source: { ads: {} } } }))], undefined, {
      dynamic_resources: { ads_config: {} },
    }),
    expect: (s) => assert.equal((s.listeners[0].filterChains[0].network as HttpConnectionManagerConfig).rdsRouteConfigName, 'routes'),
  },
  {
    name: 'duplicate listener name',
    input: bootstrap([listener(), listener(hcm(), { address: socketAddress('0.0.0.0', 8081) })]),
    errorContains: 'bootstrap: static_resources.listeners[1].name: duplicate listener name "ingress" (also static_resources.listeners[0])',
  },
  {
    name: 'duplicate cluster name',
    input: bootstrap(undefined, [cluster(), cluster()]),
    errorContains: 'bootstrap: static_resources.clusters[1].name: duplicate cluster name "backend"',
  },
  {
    name: 'two listeners on the same address:port',
    input: bootstrap([listener(), listener(hcm(), { name: 'other' })]),
    errorContains: 'bootstrap: static_resources.listeners[1].address: listener "other" uses 0.0.0.0:8080, as does listener "ingress"',
  },
  {
    name: 'listeners on port 0 do not conflict',
    input: bootstrap([listener(hcm(), { address: socketAddress('127.0.0.1', 0) }), listener(hcm(), { name: 'b', address: socketAddress('127.0.0.1', 0) })]),
    expect: (s) => assert.equal(s.listeners.length, 2),
  },
  {
    name: 'listener on the admin address',
    input: bootstrap(undefined, undefined, { admin: { address: socketAddress('0.0.0.0', 8080) } }),
    errorContains: 'uses 0.0.0.0:8080, as does the admin endpoint',
  },
  {
    name: 'route to an unknown cluster names the route field',
    input: bootstrap([listener(hcm({ route_config: routeConfig([routeTo('backend', '/a'), routeTo('nope', '/b')]) }))]),
    errorContains:
      'listener "ingress": filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[1].route.cluster: unknown cluster "nope"',
  },
  {
    name: 'weighted cluster naming an unknown cluster',
    input: bootstrap([
      listener(
        hcm({
          route_config: routeConfig([
            { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'backend', weight: 1 }, { name: 'ghost', weight: 1 }] } } },
          ]),
        }),
      ),
    ]),
    errorContains: 'routes[0].route.weighted_clusters.clusters[1].name: unknown cluster "ghost"',
  },
  {
    name: 'validate_clusters: false allows unknown clusters',
    input: bootstrap([listener(hcm({ route_config: routeConfig([routeTo('later')], {}, { validate_clusters: false }) }))]),
    expect: (s) => assert.equal(s.listeners.length, 1),
  },
  {
    name: 'tcp_proxy naming an unknown cluster',
    input: bootstrap([listener(tcpProxy({ cluster: 'db' }))]),
    errorContains: 'listener "ingress": filter_chains[0].filters[0].typed_config.cluster: unknown cluster "db"',
  },
  {
    name: 'errors from every resource are collected',
    input: bootstrap(
      [listener(hcm({ route_config: routeConfig([routeTo('nope')]) }), { address: socketAddress('0.0.0.0', 70000) })],
      [cluster('backend', { connect_timeout: 'soon' }), cluster('db', { lb_subset_config: { fallback_policy: 'ANY_ENDPOINT' } })],
      { tracing: { http: {} } },
    ),
    errorContains: [
      'bootstrap: tracing: tracing is not supported yet',
      'listener "ingress": address.socket_address.port_value: 70000 is out of range [0, 65535]',
      'cluster "backend": connect_timeout: invalid duration "soon"',
      'cluster "db": lb_subset_config: lb_subset_config is not supported yet',
    ],
  },
  {
    name: 'unknown bootstrap field',
    input: bootstrap(undefined, undefined, { static_resource: {} }),
    errorContains: 'bootstrap: static_resource: unknown field "static_resource" in envoy.config.bootstrap.v3.Bootstrap',
  },
  { name: 'bootstrap must be an object', input: ['x'], errorContains: 'bootstrap: expected an object (envoy.config.bootstrap.v3.Bootstrap), got a list' },
  {
    name: 'a static secret needs a certificate or a validation context',
    input: { static_resources: { listeners: [listener()], clusters: [cluster()], secrets: [{ name: 's' }] } } satisfies Json,
    errorContains: 'secret "s": one of tls_certificate, validation_context, generic_secret is required',
  },
];

runCases('compileBootstrap', cases, (doc) => compileBootstrap(doc, io));

test('formatConfigError is one line: resource, field, message', () => {
  assert.equal(
    formatConfigError({ resource: 'listener "ingress"', field: 'filter_chains[0].name', message: 'bad' }),
    'listener "ingress": filter_chains[0].name: bad',
  );
  assert.equal(formatConfigError({ resource: 'bootstrap', field: '', message: 'bad' }), 'bootstrap: bad');
});

test('bootstrap errors are all reported (not just the first)', () => {
  const r = compileBootstrap(bootstrap([listener(hcm({ http_filters: [] }), { transparent: true })], [cluster('backend', { hosts: [] })]), io);
  assertHasError(r, 'transparent is not supported yet', 'http_filters: the router filter', 'hosts: is not supported');
});

test('a cluster with errors does not also make the routes to it "unknown"', () => {
  const r = compileBootstrap(bootstrap(undefined, [cluster('backend', { lb_policy: 'MAGLEV' })]), io);
  assertHasError(r, 'cluster "backend": lb_policy: MAGLEV is not supported yet (RING_HASH is)');
  assert.equal(r.ok ? 0 : r.errors.filter((e) => e.message.includes('unknown cluster')).length, 0);
});
