// Tests compileListener: addresses, filter chains and matches, listener filters, downstream TLS, tcp_proxy, access logs.
import assert from 'node:assert/strict';
import { compileListener } from '../../src/model/compile-bootstrap.ts';
import { predicateMatches } from '../../src/model/listener.ts';
import type { ListenerConfig, TcpProxyConfig } from '../../src/model/types.ts';
import {
  CA_PEM,
  CERT_PEM,
  DOWNSTREAM_TLS_TYPE,
  KEY_PEM,
  type Case,
  type Json,
  hcm,
  io,
  listener,
  runCases,
  socketAddress,
  tcpProxy,
} from './fixtures.ts';

function tlsSocket(context: Json): Json {
  return { name: 'envoy.transport_sockets.tls', typed_config: { '@type': DOWNSTREAM_TLS_TYPE, ...context } };
}

const fileCert = { certificate_chain: { filename: '/certs/server.pem' }, private_key: { filename: '/certs/server.key' } };

function withChain(chain: Json, typedConfig: Json = hcm(), extra: Json = {}): Json {
  return listener(typedConfig, extra, chain);
}

const cases: readonly Case<Json, ListenerConfig>[] = [
  {
    name: 'defaults',
    input: listener(),
    expect: (l) => {
      assert.equal(l.name, 'ingress');
      assert.deepEqual(l.address, { host: '0.0.0.0', port: 8080 });
      assert.equal(l.perConnectionBufferLimitBytes, 1048576);
      assert.deepEqual(l.listenerFilters, []);
      assert.deepEqual(l.accessLog, []);
      assert.equal(l.defaultFilterChain, null);
      const fc = l.filterChains[0];
      assert.equal(fc.tls, null);
      assert.deepEqual(fc.match, {
        destinationPort: null,
        serverNames: [],
        transportProtocol: null,
        applicationProtocols: [],
        prefixRanges: [],
        sourcePrefixRanges: [],
      });
    },
  },
  { name: 'IPv6 address', input: listener(hcm(), { address: socketAddress('::', 443) }), expect: (l) => assert.equal(l.address.host, '::') },
  { name: 'port 0 (ephemeral) is allowed', input: listener(hcm(), { address: socketAddress('127.0.0.1', 0) }), expect: (l) => assert.equal(l.address.port, 0) },
  { name: 'port above 65535', input: listener(hcm(), { address: socketAddress('0.0.0.0', 65536) }), errorContains: 'listener "ingress": address.socket_address.port_value: 65536 is out of range [0, 65535]' },
  { name: 'negative port', input: listener(hcm(), { address: socketAddress('0.0.0.0', -1) }), errorContains: 'port_value: -1 is out of range' },
  { name: 'fractional port', input: listener(hcm(), { address: socketAddress('0.0.0.0', 80.5) }), errorContains: 'port_value: expected an integer, got 80.5' },
  { name: 'hostname listener address', input: listener(hcm(), { address: socketAddress('example.com', 80) }), errorContains: 'address.socket_address.address: "example.com" is not an IP address' },
  { name: 'missing address', input: listener(hcm(), { address: undefined }), errorContains: 'listener "ingress": address: is required' },
  { name: 'UDP is not supported', input: listener(hcm(), { address: { socket_address: { address: '0.0.0.0', port_value: 53, protocol: 'UDP' } } }), errorContains: 'address.socket_address.protocol: protocol is not supported yet' },
  { name: 'unix pipe is not supported', input: listener(hcm(), { address: { pipe: { path: '/tmp/s' } } }), errorContains: 'address.pipe: pipe is not supported yet' },
  { name: 'camelCase JSON names are accepted', input: listener(hcm(), { address: { socketAddress: { address: '127.0.0.1', portValue: 81 } }, perConnectionBufferLimitBytes: 1024 }), expect: (l) => {
    assert.deepEqual(l.address, { host: '127.0.0.1', port: 81 });
    assert.equal(l.perConnectionBufferLimitBytes, 1024);
  } },
  { name: 'per_connection_buffer_limit_bytes as UInt32Value', input: listener(hcm(), { per_connection_buffer_limit_bytes: { value: 32768 } }), expect: (l) => assert.equal(l.perConnectionBufferLimitBytes, 32768) },
  { name: 'unsupported listener field', input: listener(hcm(), { transparent: true }), errorContains: 'listener "ingress": transparent: transparent is not supported yet' },
  { name: 'unsupported field set to its default is fine', input: listener(hcm(), { transparent: false, bind_to_port: true, stat_prefix: 'x', metadata: { a: 1 } }), expect: (l) => assert.equal(l.name, 'ingress') },
  { name: 'bind_to_port: false (reachable by use_original_dst handoff only)', input: listener(hcm(), { bind_to_port: false }), expect: (l) => assert.equal(l.bindToPort, false) },
  { name: 'unknown listener field', input: listener(hcm(), { filterchains: [] }), errorContains: 'listener "ingress": filterchains: unknown field "filterchains" in envoy.config.listener.v3.Listener' },
  {
    name: 'filter_chain_match fields',
    input: withChain({
      name: 'tls-chain',
      filter_chain_match: {
        destination_port: 8443,
        server_names: ['API.example.com', '*.example.org'],
        transport_protocol: 'tls',
        application_protocols: ['h2'],
        prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }],
        source_prefix_ranges: [{ address_prefix: '::1', prefix_len: { value: 128 } }],
      },
    }, hcm(), { listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }] }),
    expect: (l, warnings) => {
      assert.deepEqual(l.filterChains[0].match, {
        destinationPort: 8443,
        serverNames: ['api.example.com', '*.example.org'],
        transportProtocol: 'tls',
        applicationProtocols: ['h2'],
        prefixRanges: [{ addressPrefix: '10.0.0.0', prefixLen: 8 }],
        sourcePrefixRanges: [{ addressPrefix: '::1', prefixLen: 128 }],
      });
      assert.equal(l.filterChains[0].name, 'tls-chain');
      assert.deepEqual(l.listenerFilters, ['envoy.filters.listener.tls_inspector']);
      assert.deepEqual(warnings, []);
    },
  },
  { name: 'SNI matching without tls_inspector warns', input: withChain({ filter_chain_match: { server_names: ['a.example.com'] } }), warningContains: 'filter_chains[0].filter_chain_match: matching on server_names/transport_protocol/ALPN needs the envoy.filters.listener.tls_inspector listener filter' },
  { name: 'bad CIDR prefix length', input: withChain({ filter_chain_match: { prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 33 }] } }), errorContains: 'filter_chains[0].filter_chain_match.prefix_ranges[0].prefix_len: 33 is out of range [0, 32]' },
  { name: 'bad CIDR address', input: withChain({ filter_chain_match: { source_prefix_ranges: [{ address_prefix: 'ten', prefix_len: 8 }] } }), errorContains: 'source_prefix_ranges[0].address_prefix: "ten" is not an IP address' },
  { name: 'destination_port 0 is invalid', input: withChain({ filter_chain_match: { destination_port: 0 } }), errorContains: 'filter_chain_match.destination_port: 0 is out of range [1, 65535]' },
  { name: 'source_ports not supported', input: withChain({ filter_chain_match: { source_ports: [1234] } }), errorContains: 'filter_chain_match.source_ports: source_ports is not supported yet' },
  {
    name: 'two filter chains with the same match',
    input: { ...listener(), filter_chains: [listener().filter_chains as unknown[]].flat().concat(listener().filter_chains as unknown[]) },
    errorContains: 'filter_chains[1].filter_chain_match: has the same matching rules as filter_chains[0]',
  },
  {
    name: 'listener filters: tls_inspector, http_inspector, original_dst (by name or type)',
    input: listener(hcm(), {
      listener_filters: [
        { name: 'envoy.filters.listener.http_inspector' },
        { name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' } },
        { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector', enable_ja3_fingerprinting: true } },
      ],
    }),
    expect: (l) => assert.deepEqual(l.listenerFilters, ['envoy.filters.listener.http_inspector', 'envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector']),
  },
  {
    name: 'listener filter filter_disabled (Istio: or_match of destination_port_range) compiles to a predicate',
    input: listener(hcm(), {
      listener_filters: [
        { name: 'envoy.filters.listener.tls_inspector', filter_disabled: { or_match: { rules: [{ destination_port_range: { start: 3306, end: 3307 } }, { not_match: { any_match: true } }] } } },
        { name: 'envoy.filters.listener.http_inspector', filter_disabled: { and_match: { rules: [{ destination_port_range: { start: 1, end: 100 } }, { destination_port_range: { start: 50, end: 60 } }] } } },
      ],
    }),
    expect: (l) => {
      const tls = l.listenerFilterDisabled?.['envoy.filters.listener.tls_inspector'];
      const http = l.listenerFilterDisabled?.['envoy.filters.listener.http_inspector'];
      assert.ok(tls && http);
      const table: [typeof tls, number, boolean][] = [[tls, 3306, true], [tls, 3307, false], [tls, 3305, false], [http, 55, true], [http, 60, false], [http, 10, false]];
      for (const [p, port, want] of table) assert.equal(predicateMatches(p, port), want, `port ${port}`);
    },
  },
  { name: 'filter_disabled with an empty port range', input: listener(hcm(), { listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', filter_disabled: { destination_port_range: { start: 80, end: 80 } } }] }), errorContains: 'listener_filters[0].filter_disabled.destination_port_range.end: must be greater than start (80)' },
  { name: 'filter_disabled or_match with one rule', input: listener(hcm(), { listener_filters: [{ name: 'envoy.filters.listener.http_inspector', filter_disabled: { or_match: { rules: [{ any_match: true }] } } }] }), errorContains: 'filter_disabled.or_match.rules: needs at least 2 items' },
  { name: 'filter_disabled without a rule', input: listener(hcm(), { listener_filters: [{ name: 'envoy.filters.listener.http_inspector', filter_disabled: {} }] }), errorContains: 'filter_disabled: one of or_match, and_match, not_match, any_match, destination_port_range is required' },
  { name: 'filter_disabled on original_dst', input: listener(hcm(), { listener_filters: [{ name: 'envoy.filters.listener.original_dst', filter_disabled: { any_match: true } }] }), errorContains: 'listener_filters[0].filter_disabled: is not supported for original_dst' },
  { name: 'unknown listener filter', input: listener(hcm(), { listener_filters: [{ name: 'envoy.filters.listener.proxy_protocol' }] }), errorContains: 'listener_filters[0]: unsupported listener filter envoy.filters.listener.proxy_protocol' },
  {
    name: 'default_filter_chain',
    input: listener(hcm(), { filter_chains: [], default_filter_chain: { filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: tcpProxy() }] } }),
    expect: (l) => {
      assert.equal(l.filterChains.length, 0);
      assert.equal(l.defaultFilterChain?.network.kind, 'tcp');
    },
  },
  { name: 'no filter chain at all', input: listener(hcm(), { filter_chains: undefined }), errorContains: 'listener "ingress": filter_chains: at least one filter chain (or default_filter_chain) is required' },
  { name: 'filter chain without filters', input: withChain({ filters: [] }), errorContains: 'filter_chains[0].filters: a filter chain needs a network filter' },
  {
    name: 'unsupported network filter',
    input: withChain({ filters: [{ name: 'envoy.filters.network.rbac', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC' } }, { name: 'hcm', typed_config: hcm() }] }),
    errorContains: 'filter_chains[0].filters[0].typed_config.@type: unsupported network filter envoy.filters.network.rbac (type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC)',
  },
  {
    name: 'v2 HCM type URL is rejected',
    input: withChain({ filters: [{ name: 'envoy.http_connection_manager', typed_config: { ...hcm(), '@type': 'type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager' } }] }),
    errorContains: 'unsupported network filter envoy.http_connection_manager (type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager)',
  },
  {
    name: 'terminal filter must be last',
    input: withChain({ filters: [{ name: 'tcp', typed_config: tcpProxy() }, { name: 'hcm', typed_config: hcm() }] }),
    errorContains: 'filter_chains[0].filters[0]: tcp is a terminal filter and must be the last network filter',
  },
  // ------------------------------------------------------------ downstream TLS
  {
    name: 'TLS from files, with client validation and SAN matchers',
    input: withChain({
      transport_socket: tlsSocket({
        require_client_certificate: true,
        common_tls_context: {
          tls_certificates: [fileCert],
          validation_context: {
            trusted_ca: { filename: '/certs/ca.pem' },
            match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } }],
            match_subject_alt_names: [{ exact: 'client.example.com' }],
          },
          alpn_protocols: ['http/1.1'],
          tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
        },
      }),
    }),
    expect: (l) => {
      const tls = l.filterChains[0].tls!;
      assert.deepEqual(tls.certificates, [{ certificateChain: CERT_PEM, privateKey: KEY_PEM }]);
      assert.equal(tls.trustedCa, CA_PEM);
      assert.equal(tls.requireClientCertificate, true);
      assert.deepEqual(tls.alpnProtocols, ['http/1.1']);
      assert.equal(tls.minVersion, 'TLSv1.2');
      assert.equal(tls.maxVersion, 'TLSv1.3');
      assert.deepEqual(tls.matchSubjectAltNames.map((m) => [m.kind, m.value]), [['prefix', 'spiffe://cluster.local/'], ['exact', 'client.example.com']]);
      assert.deepEqual(tls.subjectAltNameMatchers?.map((m) => m.sanType), ['URI', 'ANY']);
    },
  },
  {
    name: 'TLS inline_string and inline_bytes; ALPN defaults from the codec',
    input: withChain({
      transport_socket: tlsSocket({
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { inline_string: CERT_PEM }, private_key: { inline_bytes: Buffer.from(KEY_PEM).toString('base64') } }],
        },
      }),
    }),
    expect: (l) => {
      const tls = l.filterChains[0].tls!;
      assert.deepEqual(tls.certificates, [{ certificateChain: CERT_PEM, privateKey: KEY_PEM }]);
      assert.deepEqual(tls.alpnProtocols, ['h2', 'http/1.1']);
      assert.equal(tls.trustedCa, null);
      assert.equal(tls.requireClientCertificate, false);
      assert.equal(tls.minVersion, null);
    },
  },
  {
    name: 'ALPN default for an HTTP/1-only codec and for tcp_proxy',
    input: {
      ...listener(),
      filter_chains: [
        { filter_chain_match: { destination_port: 1 }, filters: [{ name: 'h', typed_config: hcm({ codec_type: 'HTTP1' }) }], transport_socket: tlsSocket({ common_tls_context: { tls_certificates: [fileCert] } }) },
        { filter_chain_match: { destination_port: 2 }, filters: [{ name: 't', typed_config: tcpProxy() }], transport_socket: tlsSocket({ common_tls_context: { tls_certificates: [fileCert] } }) },
      ],
    },
    expect: (l) => assert.deepEqual(l.filterChains.map((c) => c.tls?.alpnProtocols), [['http/1.1'], []]),
  },
  { name: 'TLS certificate file that cannot be read', input: withChain({ transport_socket: tlsSocket({ common_tls_context: { tls_certificates: [{ ...fileCert, private_key: { filename: '/certs/missing.key' } }] } }) }), errorContains: 'filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificates[0].private_key.filename: cannot read "/certs/missing.key": ENOENT' },
  { name: 'TLS without a certificate', input: withChain({ transport_socket: tlsSocket({ common_tls_context: {} }) }), errorContains: 'common_tls_context.tls_certificates: a server certificate is required' },
  { name: 'TLS certificate without private key', input: withChain({ transport_socket: tlsSocket({ common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: CERT_PEM } }] } }) }), errorContains: 'tls_certificates[0].private_key: is required' },
  { name: 'DataSource with two sources', input: withChain({ transport_socket: tlsSocket({ common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: CERT_PEM, filename: '/certs/server.pem' }, private_key: { inline_string: KEY_PEM } }] } }) }), errorContains: 'certificate_chain.inline_string: only one of filename, inline_string, inline_bytes may be set' },
  { name: 'min TLS version above max', input: withChain({ transport_socket: tlsSocket({ common_tls_context: { tls_certificates: [fileCert], tls_params: { tls_minimum_protocol_version: 'TLSv1_3', tls_maximum_protocol_version: 'TLSv1_2' } } }) }), errorContains: 'tls_params.tls_minimum_protocol_version: TLSv1.3 is above tls_maximum_protocol_version TLSv1.2' },
  { name: 'cipher_suites not supported yet', input: withChain({ transport_socket: tlsSocket({ common_tls_context: { tls_certificates: [fileCert], tls_params: { cipher_suites: ['ECDHE-RSA-AES128-GCM-SHA256'] } } }) }), errorContains: 'tls_params.cipher_suites: cipher_suites is not supported yet' },
  { name: 'SDS secrets compile to names (more in test/identity/sds-model.test.ts)', input: withChain({ transport_socket: tlsSocket({ common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'cert', sds_config: { ads: {} } }] } }) }), expect: (l) => assert.deepEqual(l.filterChains[0].tls?.sds, { certificates: [{ name: 'cert', source: 'ads' }], validation: null }) },
  { name: 'SAN matcher needs a san_type', input: withChain({ transport_socket: tlsSocket({ common_tls_context: { tls_certificates: [fileCert], validation_context: { match_typed_subject_alt_names: [{ matcher: { exact: 'a' } }] } } }) }), errorContains: 'match_typed_subject_alt_names[0].san_type: is required' },
  { name: 'raw_buffer transport socket is plaintext', input: withChain({ transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } }), expect: (l) => assert.equal(l.filterChains[0].tls, null) },
  { name: 'other transport sockets are rejected', input: withChain({ transport_socket: { name: 'envoy.transport_sockets.alts' } }), errorContains: 'transport_socket.name: transport socket "envoy.transport_sockets.alts" is not supported yet' },
  { name: 'upstream TLS context on a listener is rejected', input: withChain({ transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' } } }), errorContains: 'transport_socket.typed_config.@type: expected type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext' },
  // ------------------------------------------------------------ tcp_proxy
  {
    name: 'tcp_proxy fields and defaults',
    input: listener(tcpProxy({ idle_timeout: '30s', max_connect_attempts: 3, access_log: [{ name: 'envoy.access_loggers.stderr' }] })),
    expect: (l) => {
      const t = l.filterChains[0].network as TcpProxyConfig;
      assert.deepEqual(t, {
        kind: 'tcp',
        statPrefix: 'tcp',
        cluster: 'backend',
        weightedClusters: null,
        totalWeight: 0,
        idleTimeoutMs: 30000,
        maxConnectAttempts: 3,
        accessLog: [{ sink: 'stderr', path: null, textFormat: null, jsonFormat: null }],
      });
    },
  },
  {
    name: 'tcp_proxy defaults and weighted clusters',
    input: listener(tcpProxy({ cluster: undefined, weighted_clusters: { clusters: [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }] } })),
    expect: (l) => {
      const t = l.filterChains[0].network as TcpProxyConfig;
      assert.deepEqual(t.weightedClusters, [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }]);
      assert.equal(t.totalWeight, 4);
      assert.equal(t.idleTimeoutMs, 3_600_000);
      assert.equal(t.maxConnectAttempts, 1);
      assert.equal(t.cluster, null);
    },
  },
  { name: 'tcp_proxy idle_timeout 0s disables', input: listener(tcpProxy({ idle_timeout: '0s' })), expect: (l) => assert.equal((l.filterChains[0].network as TcpProxyConfig).idleTimeoutMs, 0) },
  { name: 'tcp_proxy needs a cluster', input: listener(tcpProxy({ cluster: undefined })), errorContains: 'filter_chains[0].filters[0].typed_config: one of cluster, weighted_clusters is required' },
  { name: 'tcp_proxy weight 0', input: listener(tcpProxy({ cluster: undefined, weighted_clusters: { clusters: [{ name: 'a', weight: 0 }] } })), errorContains: 'weighted_clusters.clusters[0].weight: 0 is out of range [1, 4294967295]' },
  { name: 'tcp_proxy needs stat_prefix', input: listener(tcpProxy({ stat_prefix: undefined })), errorContains: 'typed_config.stat_prefix: is required' },
  { name: 'tcp_proxy tunneling not supported', input: listener(tcpProxy({ tunneling_config: { hostname: 'x' } })), errorContains: 'typed_config.tunneling_config: tunneling_config is not supported yet' },
  // ------------------------------------------------------------ listener access log
  {
    name: 'listener access_log',
    input: listener(hcm(), { access_log: [{ name: 'envoy.access_loggers.file', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: '/var/log/conn.log' } }] }),
    expect: (l) => assert.deepEqual(l.accessLog, [{ sink: 'file', path: '/var/log/conn.log', textFormat: null, jsonFormat: null }]),
  },
];

runCases('compileListener', cases, (json) => compileListener(json, io));
