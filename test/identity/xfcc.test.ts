// x-forwarded-client-cert per forward_client_cert_details mode, formatted as Envoy writes it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DownstreamConnectionInfo, HeaderRecord } from '../../src/http/exchange.ts';
import { applyXfcc } from '../../src/http/xfcc.ts';
import type { ForwardClientCertConfig } from '../../src/model/types.ts';

const base = { remoteAddress: '127.0.0.1', remotePort: 5000, localAddress: '127.0.0.1', localPort: 15006, serverName: null };
const mtls: DownstreamConnectionInfo = {
  ...base, tls: true, peerUriSans: ['spiffe://cluster.local/ns/default/sa/frontend'], localUriSans: ['spiffe://cluster.local/ns/default/sa/orders'],
  peerCertificate: {
    sha256: 'ab'.repeat(32), subject: 'O=cluster.local', uriSans: ['spiffe://cluster.local/ns/default/sa/frontend'], dnsSans: ['frontend.default'],
    pem: () => '-----BEGIN CERTIFICATE-----\nA+/=\n-----END CERTIFICATE-----\n', chainPem: () => 'CHAIN',
  },
};
const plain: DownstreamConnectionInfo = { ...base, tls: false, peerUriSans: [] };
const OURS = `By=spiffe://cluster.local/ns/default/sa/orders;Hash=${'ab'.repeat(32)}`;

function run(mode: ForwardClientCertConfig['mode'] | null, conn: DownstreamConnectionInfo, incoming?: string, details: ForwardClientCertConfig['details'] = ['URI']): string | undefined {
  const headers: HeaderRecord = incoming === undefined ? {} : { 'x-forwarded-client-cert': incoming };
  applyXfcc(headers, conn, mode === null ? undefined : { mode, details });
  return headers['x-forwarded-client-cert'] as string | undefined;
}

test('SANITIZE (default) removes the header, even on mTLS', () => {
  assert.equal(run(null, mtls, 'By=x'), undefined);
  assert.equal(run('SANITIZE', mtls, 'By=x'), undefined);
});

test('SANITIZE_SET replaces what the client sent with our element', () => {
  assert.equal(run('SANITIZE_SET', mtls, 'URI=spiffe://evil'), `${OURS};URI=spiffe://cluster.local/ns/default/sa/frontend`);
  assert.equal(run('SANITIZE_SET', plain, 'URI=spiffe://evil'), undefined, 'no client certificate: removed');
});

test('APPEND_FORWARD appends; FORWARD_ONLY passes it on; ALWAYS_FORWARD_ONLY even without mTLS', () => {
  assert.equal(run('APPEND_FORWARD', mtls, 'By=a;URI=b'), `By=a;URI=b,${OURS};URI=spiffe://cluster.local/ns/default/sa/frontend`);
  assert.equal(run('APPEND_FORWARD', mtls), `${OURS};URI=spiffe://cluster.local/ns/default/sa/frontend`);
  assert.equal(run('FORWARD_ONLY', mtls, 'By=a'), 'By=a');
  assert.equal(run('FORWARD_ONLY', plain, 'By=a'), undefined);
  assert.equal(run('ALWAYS_FORWARD_ONLY', plain, 'By=a'), 'By=a');
});

test('every detail, in Envoy order', () => {
  assert.equal(run('SANITIZE_SET', mtls, undefined, ['Subject', 'URI', 'Cert', 'Chain', 'DNS']),
    `${OURS};Subject="O=cluster.local";URI=spiffe://cluster.local/ns/default/sa/frontend;Cert="${encodeURIComponent('-----BEGIN CERTIFICATE-----\nA+/=\n-----END CERTIFICATE-----\n')}";Chain="CHAIN";DNS=frontend.default`);
  const noUri = { ...mtls, peerCertificate: { ...mtls.peerCertificate!, uriSans: [] } };
  assert.equal(run('SANITIZE_SET', noUri, undefined, ['URI']), `${OURS};URI=`);
});
