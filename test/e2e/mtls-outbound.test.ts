// Sidecar to sidecar mTLS with identities from a gRPC CA: the server's SPIFFE ID is checked (mismatch: 503 UF), XFCC reaches the app.
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { bootstrap, http2Upstream, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { send, sendJson, testId } from '../helpers/http-client.ts';
import { startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { startTestCa, type TestCa } from '../identity/ca-server.ts';
import { identityArgs, meshNode, meshUpstream, spiffe, strictInbound } from '../identity/mesh.ts';

let ca: TestCa;
let app: HttpUpstream;
let server: Sidecar;
let client: Sidecar;

before(async () => {
  ca = await startTestCa({ tokens: { 'orders-token-0123456789': spiffe('orders'), 'frontend-token-0123456789': spiffe('frontend') } });
  app = await startHttpEcho('orders-app');
  const inbound = httpConnectionManager({
    virtualHosts: [{ name: 'app', domains: ['*'], routes: [route({ prefix: '/' }, 'app')] }],
    extra: { forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { uri: true } },
  });
  server = await startSidecar(bootstrap([listener('inbound', [inbound], strictInbound())], [staticCluster('app', [app.port])], { node: meshNode('orders') }), {
    args: identityArgs(ca, 'orders-token-0123456789'),
  });
  const port = server.port('inbound');
  const outbound = httpConnectionManager({
    virtualHosts: [{
      name: 'orders', domains: ['*'], routes: [
        route({ prefix: '/wrong' }, 'orders-wrong-san'),
        route({ prefix: '/h2' }, 'orders-h2'),
        route({ prefix: '/' }, 'orders'),
      ],
    }],
  });
  client = await startSidecar(bootstrap([listener('outbound', [outbound])], [
    staticCluster('orders', [port], meshUpstream([spiffe('orders')])),
    staticCluster('orders-h2', [port], { ...meshUpstream([spiffe('orders')]), ...http2Upstream() }),
    staticCluster('orders-wrong-san', [port], meshUpstream([spiffe('payments')])),
  ], { node: meshNode('frontend') }), { args: identityArgs(ca, 'frontend-token-0123456789') });
});

after(async () => {
  await client?.stop();
  await server?.stop();
  await app?.close();
  await ca?.close();
});

/** SHA-256 of the client sidecar's current leaf certificate, read from its /config_dump. */
async function clientCertHash(): Promise<string> {
  const { json } = await sendJson<{ configs: Record<string, any>[] }>(`${client.admin}/config_dump`);
  const secrets = json.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump')!;
  const pem = secrets.dynamic_active_secrets.find((s: { name: string }) => s.name === 'default').secret.tls_certificate.certificate_chain.inline_string as string;
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

describe('outbound mTLS between two sidecars', () => {
  for (const [what, path] of [['HTTP/1.1', '/orders'], ['HTTP/2', '/h2/orders']] as const) {
    it(`${what}: the server presents the SPIFFE ID the cluster allows → 200, and the app learns the caller from XFCC`, async () => {
      const id = testId('ok');
      const r = await send(`${client.url('outbound')}${path}`, { headers: { 'x-test-id': id, 'x-forwarded-client-cert': 'URI=spiffe://cluster.local/ns/default/sa/admin' } });
      assert.equal(r.status, 200, r.text);
      const seen = JSON.parse(r.text) as { headers: Record<string, string> };
      assert.equal(seen.headers['x-forwarded-client-cert'], `By=${spiffe('orders')};Hash=${await clientCertHash()};URI=${spiffe('frontend')}`);
      assert.equal((await client.waitForAccess(id)).code, 200);
    });
  }

  it('a server whose SPIFFE ID the cluster does not allow fails the request: 503, flag UF, "TLS error: SAN mismatch"', async () => {
    const id = testId('san');
    const r = await send(`${client.url('outbound')}/wrong`, { headers: { 'x-test-id': id } });
    assert.equal(r.status, 503);
    assert.match(r.text, /transport failure reason: TLS error: SAN mismatch: certificate SANs \[URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/orders\] match none of match_typed_subject_alt_names/);
    const line = await client.waitForAccess(id);
    assert.equal(line.flags, 'UF');
    assert.equal(app.seen.filter((s) => s.url === '/wrong').length, 0, 'nothing reached the app');
  });
});
