// Model compilation of SDS references, Secret resources, static secret checks, handshake timeouts and XFCC settings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileBootstrap, compileCluster, compileListener, compileSecret, formatConfigError } from '../../src/model/compile-bootstrap.ts';
import type { CompileResult, HttpConnectionManagerConfig } from '../../src/model/types.ts';
import { CA_PEM, CERT_PEM, DOWNSTREAM_TLS_TYPE, hcm, io, KEY_PEM, UPSTREAM_TLS_TYPE, type Json } from '../model/fixtures.ts';

const LOCAL = { api_config_source: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] }, resource_api_version: 'V3' };
const ADS = { ads: {}, resource_api_version: 'V3' };

function tlsListener(context: Json, chainExtra: Json = {}, downstreamExtra: Json = {}, network: Json = hcm()): Json {
  return {
    name: 'in',
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: network }],
      transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': DOWNSTREAM_TLS_TYPE, common_tls_context: context, ...downstreamExtra } },
      ...chainExtra,
    }],
  };
}

function ok<T>(r: CompileResult<T>): T {
  if (!r.ok) assert.fail(r.errors.map(formatConfigError).join('\n'));
  return r.value;
}

function errors<T>(r: CompileResult<T>): string {
  assert.equal(r.ok, false, 'expected errors');
  return r.ok ? '' : r.errors.map(formatConfigError).join('\n');
}

test("Istio's shape: certificate and combined validation context from the local agent, SAN matchers kept", () => {
  const l = ok(compileListener(tlsListener({
    tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: LOCAL }],
    combined_validation_context: {
      default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } }] },
      validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: LOCAL },
    },
  }, { transport_socket_connect_timeout: '2.5s' }, { require_client_certificate: true }), io));
  const t = l.filterChains[0].tls!;
  assert.deepEqual(t.sds, { certificates: [{ name: 'default', source: 'local' }], validation: { name: 'ROOTCA', source: 'local' } });
  assert.deepEqual(t.certificates, []);
  assert.equal(t.trustedCa, null);
  assert.equal(t.subjectAltNameMatchers?.[0].sanType, 'URI');
  assert.equal(t.requireClientCertificate, true);
  assert.equal(t.handshakeTimeoutMs, 2500);
});

test('ads sds_config and static references; errors name the field', () => {
  const l = ok(compileListener(tlsListener({
    tls_certificate_sds_secret_configs: [{ name: 'cert', sds_config: ADS }],
    validation_context_sds_secret_config: { name: 'ca' },
  }), io));
  assert.deepEqual(l.filterChains[0].tls!.sds, { certificates: [{ name: 'cert', source: 'ads' }], validation: { name: 'ca', source: 'static' } });
  assert.match(errors(compileListener(tlsListener({ tls_certificate_sds_secret_configs: [{ sds_config: ADS }] }), io)), /tls_certificate_sds_secret_configs\[0\]\.name: is required/);
  assert.match(errors(compileListener(tlsListener({
    tls_certificates: [{ certificate_chain: { inline_string: CERT_PEM }, private_key: { inline_string: KEY_PEM } }],
    validation_context: { trusted_ca: { inline_string: CA_PEM } },
    validation_context_sds_secret_config: { name: 'ca' },
  }), io)), /only one of validation_context, validation_context_sds_secret_config, combined_validation_context may be set/);
  assert.match(errors(compileListener(tlsListener({
    tls_certificate_sds_secret_configs: [{ name: 'c', sds_config: ADS }], combined_validation_context: { default_validation_context: {} },
  }), io)), /combined_validation_context\.validation_context_sds_secret_config: is required/);
  assert.match(errors(compileListener(tlsListener({}), io)), /a server certificate is required/);
});

test('upstream TLS with SDS', () => {
  const c = ok(compileCluster({
    name: 'orders', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'orders', endpoints: [] },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': UPSTREAM_TLS_TYPE, sni: 'outbound_.80_._.orders',
        common_tls_context: {
          tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: LOCAL }],
          combined_validation_context: {
            default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/orders' } }] },
            validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: LOCAL },
          },
        },
      },
    },
  }, io));
  assert.deepEqual(c.tls?.sds, { certificates: [{ name: 'default', source: 'local' }], validation: { name: 'ROOTCA', source: 'local' } });
  assert.equal(c.tls?.certificate, null);
  assert.equal(c.tls?.sni, 'outbound_.80_._.orders');
});

test('Secret resources: a certificate or a validation context', () => {
  const cert = ok(compileSecret({ name: 'default', tls_certificate: { certificate_chain: { inline_string: CERT_PEM }, private_key: { inline_string: KEY_PEM } } }, io));
  assert.deepEqual(cert, { name: 'default', tlsCertificate: { certificateChain: CERT_PEM, privateKey: KEY_PEM }, validationContext: null });
  const ca = ok(compileSecret({ name: 'ROOTCA', validation_context: { trusted_ca: { filename: '/certs/ca.pem' }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'a' } }] } }, io));
  assert.equal(ca.validationContext?.trustedCa, CA_PEM);
  assert.equal(ca.validationContext?.subjectAltNameMatchers[0].sanType, 'DNS');
  assert.match(errors(compileSecret({ name: 'x', validation_context: {} }, io)), /secret "x": validation_context\.trusted_ca: is required in a validation_context secret/);
  assert.equal(ok(compileSecret({ name: 'x', generic_secret: { secret: { inline_string: 'a' } } }, io)).genericSecret, 'a');
  assert.equal(ok(compileSecret({ name: 'x', generic_secret: { secret: { inline_bytes: Buffer.from('b').toString('base64') } } }, io)).genericSecret, 'b');
  assert.match(errors(compileSecret({ name: 'x', generic_secret: { secret: { inline_string: '' } } }, io)), /generic_secret\.secret: is empty/);
  assert.match(errors(compileSecret({ name: 'x', generic_secret: {} }, io)), /generic_secret\.secret: is required/);
  assert.match(errors(compileSecret({ name: 'x', generic_secret: { secrets: { a: { inline_string: 'a' } } } }, io)), /generic_secret\.secrets: .*not supported yet/);
  assert.match(errors(compileSecret({ tls_certificate: {} }, io)), /name: is required/);
});

test('bootstrap static secrets: compiled into the snapshot; a reference to a missing one is an error', () => {
  const listener = tlsListener({ tls_certificate_sds_secret_configs: [{ name: 'server' }] });
  const cluster = { name: 'backend', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'backend', endpoints: [] } };
  const secret = { name: 'server', tls_certificate: { certificate_chain: { inline_string: CERT_PEM }, private_key: { inline_string: KEY_PEM } } };
  const s = ok(compileBootstrap({ static_resources: { listeners: [listener], clusters: [cluster], secrets: [secret] } }, io));
  assert.equal(s.secrets?.get('server')?.source, 'static');
  assert.equal(s.secrets?.get('server')?.config.tlsCertificate?.privateKey, KEY_PEM);
  assert.match(errors(compileBootstrap({ static_resources: { listeners: [listener], clusters: [cluster] } }, io)),
    /static_resources\.listeners\[0\]\.filter_chains\[0\]\.transport_socket: unknown static secret "server"/);
  assert.match(errors(compileBootstrap({ static_resources: { listeners: [listener], clusters: [cluster], secrets: [secret, secret] } }, io)), /duplicate secret name "server"/);
});

test('forward_client_cert_details and set_current_client_cert_details', () => {
  const net = (extra: Json): HttpConnectionManagerConfig => {
    const l = ok(compileListener(tlsListener({ tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: LOCAL }] }, {}, {}, hcm(extra)), io));
    return l.filterChains[0].network as HttpConnectionManagerConfig;
  };
  assert.equal(net({}).forwardClientCert, undefined, 'SANITIZE by default');
  assert.deepEqual(net({ forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { dns: true, uri: true, cert: true, chain: true, subject: { value: true } } }).forwardClientCert,
    { mode: 'SANITIZE_SET', details: ['Subject', 'URI', 'Cert', 'Chain', 'DNS'] });
  assert.deepEqual(net({ forward_client_cert_details: 4 }).forwardClientCert, { mode: 'ALWAYS_FORWARD_ONLY', details: [] });
  const r = compileListener(tlsListener({ tls_certificate_sds_secret_configs: [{ name: 'd', sds_config: LOCAL }] }, {}, {}, hcm({ forward_client_cert_details: 'FORWARD_ONLY', set_current_client_cert_details: { uri: true } })), io);
  assert.match(r.warnings.map(formatConfigError).join('\n'), /set_current_client_cert_details: has no effect unless forward_client_cert_details is APPEND_FORWARD or SANITIZE_SET \(it is FORWARD_ONLY\)/);
});
