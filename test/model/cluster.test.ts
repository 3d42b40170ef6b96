// Tests compileCluster and compileClusterLoadAssignment: types, LB policies, protocol options, TLS, circuit breakers, endpoints.
import assert from 'node:assert/strict';
import { compileCluster, compileClusterLoadAssignment } from '../../src/model/compile-bootstrap.ts';
import type { ClusterConfig, LoadAssignment } from '../../src/model/types.ts';
import {
  CA_PEM,
  CERT_PEM,
  HTTP_OPTIONS_KEY,
  HTTP_OPTIONS_TYPE,
  KEY_PEM,
  UPSTREAM_TLS_TYPE,
  type Case,
  type Json,
  cluster,
  endpoint,
  io,
  runCases,
} from './fixtures.ts';

const C = 'cluster "backend"';

function dnsCluster(type: string, extra: Json = {}): Json {
  return {
    name: 'backend',
    type,
    load_assignment: { cluster_name: 'backend', endpoints: [{ lb_endpoints: [endpoint('backend.svc', 8080)] }] },
    ...extra,
  };
}

function httpOptions(body: Json): Json {
  return { typed_extension_protocol_options: { [HTTP_OPTIONS_KEY]: { '@type': HTTP_OPTIONS_TYPE, ...body } } };
}

function upstreamTls(context: Json): Json {
  return { transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': UPSTREAM_TLS_TYPE, ...context } } };
}

const cases: readonly Case<Json, ClusterConfig>[] = [
  {
    name: 'STATIC cluster defaults',
    input: cluster(),
    expect: (c) =>
      assert.deepEqual(c, {
        name: 'backend',
        type: 'STATIC',
        connectTimeoutMs: 5000,
        lbPolicy: 'ROUND_ROBIN',
        leastRequestChoiceCount: 2,
        ringHash: { minimumRingSize: 1024, maximumRingSize: 8388608 },
        protocol: 'http1',
        http2: { maxConcurrentStreams: 2147483647, initialStreamWindowSize: 268435456, initialConnectionWindowSize: 268435456 },
        idleTimeoutMs: 3_600_000,
        maxRequestsPerConnection: 0,
        dnsRefreshRateMs: 5000,
        dnsLookupFamily: 'AUTO',
        respectDnsTtl: false,
        loadAssignment: {
          clusterName: 'backend',
          endpoints: [{ locality: null, priority: 0, loadBalancingWeight: null, lbEndpoints: [{ address: { host: '127.0.0.1', port: 9000 }, hostname: null, weight: 1, healthStatus: 'UNKNOWN' }] }],
        },
        edsServiceName: null,
        tls: null,
        circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
        perConnectionBufferLimitBytes: 1048576,
        outlierDetection: null,
        healthChecks: [],
        healthyPanicThreshold: 50,
      }),
  },
  { name: 'STATIC needs IP addresses', input: dnsCluster('STATIC'), errorContains: `${C}: load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: "backend.svc" is not an IP address` },
  {
    name: 'STRICT_DNS with DNS settings',
    input: dnsCluster('strict_dns', { dns_refresh_rate: '10s', dns_lookup_family: 'V4_ONLY', respect_dns_ttl: true, connect_timeout: '0.25s' }),
    expect: (c) => {
      assert.equal(c.type, 'STRICT_DNS');
      assert.equal(c.dnsRefreshRateMs, 10_000);
      assert.equal(c.dnsLookupFamily, 'V4_ONLY');
      assert.equal(c.respectDnsTtl, true);
      assert.equal(c.connectTimeoutMs, 250);
      assert.equal(c.loadAssignment?.endpoints[0].lbEndpoints[0].address.host, 'backend.svc');
    },
  },
  { name: 'LOGICAL_DNS with one endpoint', input: dnsCluster('LOGICAL_DNS', { dns_lookup_family: 3 }), expect: (c) => assert.deepEqual([c.type, c.dnsLookupFamily], ['LOGICAL_DNS', 'V4_PREFERRED']) },
  {
    name: 'LOGICAL_DNS with two endpoints',
    input: dnsCluster('LOGICAL_DNS', { load_assignment: { cluster_name: 'backend', endpoints: [{ lb_endpoints: [endpoint('a', 1), endpoint('b', 1)] }] } }),
    errorContains: `${C}: load_assignment: LOGICAL_DNS clusters need exactly one locality with exactly one endpoint (got 2 endpoints)`,
  },
  {
    name: 'EDS cluster needs no load_assignment',
    input: { name: 'backend', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } },
    expect: (c) => {
      assert.equal(c.type, 'EDS');
      assert.equal(c.loadAssignment, null);
      assert.equal(c.edsServiceName, 'backend');
    },
  },
  { name: 'EDS service_name', input: { name: 'backend', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, service_name: 'outbound|80||backend' } }, expect: (c) => assert.equal(c.edsServiceName, 'outbound|80||backend') },
  { name: 'EDS needs eds_cluster_config', input: { name: 'backend', type: 'EDS' }, errorContains: `${C}: eds_cluster_config: is required for type EDS` },
  { name: 'ORIGINAL_DST with CLUSTER_PROVIDED', input: { name: 'backend', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' }, expect: (c) => assert.deepEqual([c.type, c.lbPolicy, c.loadAssignment], ['ORIGINAL_DST', 'CLUSTER_PROVIDED', null]) },
  { name: 'ORIGINAL_DST needs CLUSTER_PROVIDED', input: { name: 'backend', type: 'ORIGINAL_DST' }, errorContains: `${C}: lb_policy: ROUND_ROBIN is not valid for cluster type ORIGINAL_DST` },
  { name: 'CLUSTER_PROVIDED only for ORIGINAL_DST', input: cluster('backend', { lb_policy: 'CLUSTER_PROVIDED' }), errorContains: `${C}: lb_policy: CLUSTER_PROVIDED is only valid for cluster type ORIGINAL_DST` },
  { name: 'unknown cluster type', input: cluster('backend', { type: 'MAGIC' }), errorContains: `${C}: type: invalid value "MAGIC" (expected one of STATIC, STRICT_DNS, LOGICAL_DNS, EDS, ORIGINAL_DST)` },
  { name: 'custom cluster_type not supported', input: cluster('backend', { cluster_type: { name: 'envoy.clusters.aggregate' } }), errorContains: `${C}: cluster_type: cluster_type is not supported yet` },
  { name: 'cluster name is required', input: cluster('', {}), errorContains: 'cluster "": name: must not be empty' },
  { name: 'connect_timeout must be positive', input: cluster('backend', { connect_timeout: '0s' }), errorContains: `${C}: connect_timeout: must be greater than 0` },
  { name: 'legacy hosts field', input: cluster('backend', { hosts: [{ socket_address: { address: '127.0.0.1', port_value: 80 } }] }), errorContains: `${C}: hosts: is not supported (removed from the v3 API); use load_assignment` },
  // ------------------------------------------------------------ load balancing
  { name: 'LEAST_REQUEST with choice_count', input: cluster('backend', { lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: 3 } }), expect: (c) => assert.deepEqual([c.lbPolicy, c.leastRequestChoiceCount], ['LEAST_REQUEST', 3]) },
  { name: 'choice_count below 2', input: cluster('backend', { lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: 1 } }), errorContains: `${C}: least_request_lb_config.choice_count: 1 is out of range [2, 4294967295]` },
  { name: 'RANDOM', input: cluster('backend', { lb_policy: 'RANDOM' }), expect: (c) => assert.equal(c.lbPolicy, 'RANDOM') },
  { name: 'RING_HASH with sizes', input: cluster('backend', { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: '4096', maximum_ring_size: { value: 65536 } } }), expect: (c) => assert.deepEqual([c.lbPolicy, c.ringHash], ['RING_HASH', { minimumRingSize: 4096, maximumRingSize: 65536 }]) },
  { name: 'RING_HASH minimum above maximum', input: cluster('backend', { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: 2048, maximum_ring_size: 1024 } }), errorContains: `${C}: ring_hash_lb_config.minimum_ring_size: is above maximum_ring_size (1024)` },
  { name: 'RING_HASH with MURMUR_HASH_2', input: cluster('backend', { lb_policy: 'RING_HASH', ring_hash_lb_config: { hash_function: 'MURMUR_HASH_2' } }), errorContains: `${C}: ring_hash_lb_config.hash_function: hash_function is not supported yet` },
  { name: 'MAGLEV is rejected', input: cluster('backend', { lb_policy: 'MAGLEV' }), errorContains: `${C}: lb_policy: MAGLEV is not supported yet (RING_HASH is)` },
  // outlier_detection, health_checks and common_lb_config: test/model/health.test.ts
  { name: 'cosmetic fields are accepted', input: cluster('backend', { alt_stat_name: 'x', metadata: { filter_metadata: {} }, track_cluster_stats: {}, health_checks: [] }), expect: (c) => assert.equal(c.name, 'backend') },
  // ------------------------------------------------------------ protocol
  { name: 'explicit HTTP/2 with options', input: cluster('backend', httpOptions({ explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 100 } }, common_http_protocol_options: { idle_timeout: '30s', max_requests_per_connection: 1000 } })), expect: (c) => {
    assert.equal(c.protocol, 'http2');
    assert.equal(c.http2.maxConcurrentStreams, 100);
    assert.equal(c.idleTimeoutMs, 30_000);
    assert.equal(c.maxRequestsPerConnection, 1000);
  } },
  { name: 'explicit HTTP/1', input: cluster('backend', httpOptions({ explicit_http_config: { http_protocol_options: {} } })), expect: (c) => assert.equal(c.protocol, 'http1') },
  { name: 'use_downstream_protocol_config', input: cluster('backend', httpOptions({ use_downstream_protocol_config: { http2_protocol_options: {} } })), expect: (c) => assert.equal(c.protocol, 'downstream') },
  // Istio's PassthroughCluster / InboundPassthroughCluster: UseDownstreamHttpConfig's fields are not a oneof.
  { name: 'use_downstream_protocol_config with HTTP/1 and HTTP/2 options (Istio)', input: cluster('backend', httpOptions({ use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: { max_concurrent_streams: 7 } } })), expect: (c) => {
    assert.equal(c.protocol, 'downstream');
    assert.equal(c.http2.maxConcurrentStreams, 7);
  } },
  { name: 'explicit_http_config with HTTP/1 and HTTP/2 options is an error (a oneof)', input: cluster('backend', httpOptions({ explicit_http_config: { http_protocol_options: {}, http2_protocol_options: {} } })), errorContains: 'explicit_http_config.http2_protocol_options: only one of http_protocol_options, http2_protocol_options may be set' },
  { name: 'auto_config is HTTP/1.1 with a warning', input: cluster('backend', httpOptions({ auto_config: { http2_protocol_options: {} } })), expect: (c) => assert.equal(c.protocol, 'http1'), warningContains: `${C}: typed_extension_protocol_options["${HTTP_OPTIONS_KEY}"].auto_config: auto_config without TLS uses HTTP/1.1` },
  { name: 'HttpProtocolOptions needs a protocol choice', input: cluster('backend', httpOptions({ common_http_protocol_options: { idle_timeout: '1s' } })), errorContains: `typed_extension_protocol_options["${HTTP_OPTIONS_KEY}"]: one of explicit_http_config, use_downstream_protocol_config, auto_config is required` },
  { name: 'HttpProtocolOptions with a wrong @type', input: cluster('backend', { typed_extension_protocol_options: { [HTTP_OPTIONS_KEY]: { '@type': 'type.googleapis.com/x.Y' } } }), errorContains: `typed_extension_protocol_options["${HTTP_OPTIONS_KEY}"].@type: expected ${HTTP_OPTIONS_TYPE}, got type.googleapis.com/x.Y` },
  { name: 'unknown protocol options are ignored with a warning', input: cluster('backend', { typed_extension_protocol_options: { 'envoy.filters.network.thrift_proxy': { '@type': 'x' } } }), expect: (c) => assert.equal(c.protocol, 'http1'), warningContains: 'protocol options envoy.filters.network.thrift_proxy are not supported yet and are ignored' },
  { name: 'deprecated cluster http2_protocol_options: {}', input: cluster('backend', { http2_protocol_options: {} }), expect: (c) => assert.equal(c.protocol, 'http2') },
  { name: 'deprecated protocol_selection USE_DOWNSTREAM_PROTOCOL', input: cluster('backend', { protocol_selection: 'USE_DOWNSTREAM_PROTOCOL' }), expect: (c) => assert.equal(c.protocol, 'downstream') },
  { name: 'deprecated max_requests_per_connection', input: cluster('backend', { max_requests_per_connection: 1 }), expect: (c) => assert.equal(c.maxRequestsPerConnection, 1) },
  { name: 'deprecated and new protocol options together', input: cluster('backend', { ...httpOptions({ explicit_http_config: { http_protocol_options: {} } }), http2_protocol_options: {} }), errorContains: `${C}: http2_protocol_options: cannot be combined with typed_extension_protocol_options` },
  { name: 'HTTP/3 not supported yet', input: cluster('backend', httpOptions({ explicit_http_config: { http3_protocol_options: {} } })), errorContains: 'explicit_http_config.http3_protocol_options: http3_protocol_options is not supported yet' },
  // ------------------------------------------------------------ TLS
  {
    name: 'upstream TLS',
    input: cluster('backend', {
      ...upstreamTls({
        sni: 'backend.example.com',
        common_tls_context: {
          validation_context: { trusted_ca: { filename: '/certs/ca.pem' }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'backend.example.com' } }] },
          tls_certificates: [{ certificate_chain: { filename: '/certs/server.pem' }, private_key: { filename: '/certs/server.key' } }],
          alpn_protocols: ['h2', 'http/1.1'],
          tls_params: { tls_minimum_protocol_version: 'TLSv1_3' },
        },
      }),
    }),
    expect: (c) => {
      const t = c.tls!;
      assert.equal(t.sni, 'backend.example.com');
      assert.equal(t.trustedCa, CA_PEM);
      assert.deepEqual(t.certificate, { certificateChain: CERT_PEM, privateKey: KEY_PEM });
      assert.deepEqual(t.alpnProtocols, ['h2', 'http/1.1']);
      assert.deepEqual(t.matchSubjectAltNames.map((m) => m.value), ['backend.example.com']);
      assert.deepEqual(t.subjectAltNameMatchers?.map((m) => m.sanType), ['DNS']);
      assert.equal(t.minVersion, 'TLSv1.3');
      assert.equal(t.maxVersion, null);
    },
  },
  { name: 'upstream TLS without anything is plain TLS', input: cluster('backend', upstreamTls({})), expect: (c) => assert.deepEqual(c.tls, { sni: null, trustedCa: null, certificate: null, alpnProtocols: [], matchSubjectAltNames: [], subjectAltNameMatchers: [], minVersion: null, maxVersion: null, sds: null }) },
  { name: 'auto_config with TLS warns about ALPN', input: cluster('backend', { ...upstreamTls({}), ...httpOptions({ auto_config: {} }) }), warningContains: 'choosing HTTP/2 by ALPN is not implemented yet', expect: (c) => assert.equal(c.protocol, 'http1') },
  { name: 'upstream TLS with two client certificates', input: cluster('backend', upstreamTls({ common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: 'a' }, private_key: { inline_string: 'b' } }, { certificate_chain: { inline_string: 'a' }, private_key: { inline_string: 'b' } }] } })), errorContains: 'common_tls_context.tls_certificates: at most one client certificate is supported' },
  { name: 'upstream TLS with a missing CA file', input: cluster('backend', upstreamTls({ common_tls_context: { validation_context: { trusted_ca: { filename: '/x.pem' } } } })), errorContains: `${C}: transport_socket.typed_config.common_tls_context.validation_context.trusted_ca.filename: cannot read "/x.pem"` },
  // ------------------------------------------------------------ circuit breakers and limits
  { name: 'circuit breakers', input: cluster('backend', { circuit_breakers: { thresholds: [{ max_connections: 10, max_pending_requests: { value: 20 }, max_requests: 30, max_retries: 0 }, { priority: 'HIGH', max_connections: 1 }] } }), expect: (c) => assert.deepEqual(c.circuitBreakers, { maxConnections: 10, maxPendingRequests: 20, maxRequests: 30, maxRetries: 0 }), warningContains: 'circuit_breakers.thresholds[1].priority: HIGH priority thresholds are ignored' },
  { name: 'circuit breakers: partial thresholds keep defaults', input: cluster('backend', { circuit_breakers: { thresholds: [{ max_requests: 5 }] } }), expect: (c) => assert.deepEqual(c.circuitBreakers, { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 5, maxRetries: 3 }) },
  { name: 'circuit breakers: retry_budget compiles (more cases in resilience.test.ts)', input: cluster('backend', { circuit_breakers: { thresholds: [{ retry_budget: { budget_percent: { value: 25 } } }] } }), expect: (c) => assert.deepEqual(c.circuitBreakers.retryBudget, { budgetPercent: 25, minRetryConcurrency: 3 }) },
  { name: 'per_connection_buffer_limit_bytes', input: cluster('backend', { per_connection_buffer_limit_bytes: 4096 }), expect: (c) => assert.equal(c.perConnectionBufferLimitBytes, 4096) },
  // ------------------------------------------------------------ endpoints
  {
    name: 'localities, priorities, weights and health status',
    input: cluster('backend', {
      load_assignment: {
        cluster_name: 'backend',
        endpoints: [
          { locality: { region: 'eu', zone: 'eu-1a', sub_zone: 'r1' }, load_balancing_weight: 3, lb_endpoints: [endpoint('10.0.0.1', 80, { load_balancing_weight: 5, health_status: 'HEALTHY' }), { endpoint: { address: { socket_address: { address: '10.0.0.2', port_value: 80 } }, hostname: 'pod-2' }, health_status: 'DRAINING' }] },
          { priority: 1, lb_endpoints: [endpoint('::1', 80)] },
        ],
      },
    }),
    expect: (c) =>
      assert.deepEqual(c.loadAssignment?.endpoints, [
        {
          locality: { region: 'eu', zone: 'eu-1a', subZone: 'r1' },
          priority: 0,
          loadBalancingWeight: 3,
          lbEndpoints: [
            { address: { host: '10.0.0.1', port: 80 }, hostname: null, weight: 5, healthStatus: 'HEALTHY' },
            { address: { host: '10.0.0.2', port: 80 }, hostname: 'pod-2', weight: 1, healthStatus: 'DRAINING' },
          ],
        },
        { locality: null, priority: 1, loadBalancingWeight: null, lbEndpoints: [{ address: { host: '::1', port: 80 }, hostname: null, weight: 1, healthStatus: 'UNKNOWN' }] },
      ]),
  },
  { name: 'endpoint without port', input: cluster('backend', { load_assignment: { cluster_name: 'backend', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1' } } } }] }] } }), errorContains: 'lb_endpoints[0].endpoint.address.socket_address.port_value: is required' },
  { name: 'endpoint weight 0', input: cluster('backend', { load_assignment: { cluster_name: 'backend', endpoints: [{ lb_endpoints: [endpoint('10.0.0.1', 80, { load_balancing_weight: 0 })] }] } }), errorContains: 'lb_endpoints[0].load_balancing_weight: 0 is out of range [1, 4294967295]' },
  { name: 'load_assignment needs cluster_name', input: cluster('backend', { load_assignment: { endpoints: [] } }), errorContains: `${C}: load_assignment.cluster_name: is required` },
];

runCases('compileCluster', cases, (json) => compileCluster(json, io));

const claCases: readonly Case<Json, LoadAssignment>[] = [
  {
    name: 'EDS ClusterLoadAssignment',
    input: { cluster_name: 'outbound|80||web', endpoints: [{ lb_endpoints: [endpoint('10.1.0.5', 8080)] }], policy: { endpoint_stale_after: '30s' } },
    expect: (la) => assert.deepEqual(la, { clusterName: 'outbound|80||web', endpoints: [{ locality: null, priority: 0, loadBalancingWeight: null, lbEndpoints: [{ address: { host: '10.1.0.5', port: 8080 }, hostname: null, weight: 1, healthStatus: 'UNKNOWN' }] }] }),
  },
  { name: 'camelCase (protobuf JSON from a control plane)', input: { clusterName: 'web', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.1.0.5', portValue: 8080 } } }, healthStatus: 'HEALTHY' }] }] }, expect: (la) => assert.equal(la.endpoints[0].lbEndpoints[0].healthStatus, 'HEALTHY') },
  { name: 'EDS endpoints must be IPs', input: { cluster_name: 'web', endpoints: [{ lb_endpoints: [endpoint('web.svc', 80)] }] }, errorContains: 'cluster_load_assignment "web": endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: "web.svc" is not an IP address' },
  { name: 'drop_overloads not supported yet', input: { cluster_name: 'web', policy: { drop_overloads: [{ category: 'x' }] } }, errorContains: 'cluster_load_assignment "web": policy.drop_overloads: drop_overloads is not supported yet' },
  { name: 'priority above 128', input: { cluster_name: 'web', endpoints: [{ priority: 129 }] }, errorContains: 'endpoints[0].priority: 129 is out of range [0, 128]' },
];

runCases('compileClusterLoadAssignment', claCases, (json) => compileClusterLoadAssignment(json));
