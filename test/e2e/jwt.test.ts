// End-to-end JWT authentication on a real sidecar: JWKS fetched over TLS through a cluster, claims to headers, Envoy's refusals, fail-closed, key rotation, claim-based RBAC over mTLS.
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { bootstrap, DOWNSTREAM_TLS_TYPE, httpConnectionManager, listener, route, routerFilter, staticCluster, stdoutAccessLog } from '../helpers/bootstrap.ts';
import { send, testId } from '../helpers/http-client.ts';
import { closeAll, startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { makeLeaf, makeRoot, type Issuer } from '../identity/pki.ts';
import { ISSUER, JWT_TYPE, jwks, signingKey, token, unsigned, type SigningKey } from '../http-filters/jwt-fixtures.ts';

const T = { timeout: 60_000 };
const UPSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const FORMAT = 'ACCESS %REQ(X-TEST-ID)% %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_HOST% %PROTOCOL% %RESPONSE_CODE_DETAILS%\n';
const GATEWAY = 'spiffe://cluster.local/ns/ingress/sa/gateway';
const now = () => Math.floor(Date.now() / 1000);

/** A JWKS endpoint over HTTPS serving whatever `body` holds. */
interface JwksServer { port: number; body: string; hits: number; close(): Promise<void> }

async function startJwksServer(cert: { certPem: string; keyPem: string }, body: string): Promise<JwksServer> {
  const s: JwksServer = { port: 0, body, hits: 0, close: async () => {} };
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    s.hits++;
    if (req.url !== '/.well-known/jwks.json') { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'application/json' }).end(s.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.port = (server.address() as net.AddressInfo).port;
  s.close = () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
  return s;
}

/** A port nothing listens on (bound, read, closed). */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function remoteJwks(cluster: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    issuer: ISSUER, audiences: ['api'],
    remote_jwks: { http_uri: { uri: 'https://idp.test/.well-known/jwks.json', cluster, timeout: '5s' }, cache_duration: '600s' },
    ...extra,
  };
}

const jwtFilter = (config: object) => ({ name: 'envoy.filters.http.jwt_authn', typed_config: { '@type': JWT_TYPE, ...config } });

let root: Issuer;
let rsa: SigningKey;
let rotated: SigningKey;
let jwksServer: JwksServer | undefined;
let up: HttpUpstream | undefined;
let sc: Sidecar | undefined;
let base = '';
let downBase = '';
let mtlsPort = 0;
let gatewayCert: { cert: string; key: string };
let otherCert: { cert: string; key: string };

before(async () => {
  root = makeRoot('jwt e2e root');
  [rsa, rotated] = await Promise.all([signingKey('RS256', 'key-2026-01'), signingKey('ES256', 'key-2026-02')]);
  jwksServer = await startJwksServer(makeLeaf({ dns: ['idp.test'], issuer: root }), jwks(rsa));
  up = await startHttpEcho('app');
  const leaf = (uri: string) => { const l = makeLeaf({ uri, issuer: root }); return { cert: l.chainPem, key: l.keyPem }; };
  gatewayCert = leaf(GATEWAY);
  otherCert = leaf('spiffe://cluster.local/ns/shop/sa/frontend');
  const server = makeLeaf({ dns: ['localhost'], issuer: root });
  const accessLog = { access_log: stdoutAccessLog(FORMAT) };
  const hcm = (statPrefix: string, filters: object[]) => httpConnectionManager({
    statPrefix, accessLog: false, virtualHosts: [{ name: 'app', domains: ['*'], routes: [route({ prefix: '/' }, 'app')] }],
    extra: { http_filters: [...filters, routerFilter], ...accessLog },
  });
  const idp = remoteJwks('jwks', {
    claim_to_headers: [{ header_name: 'x-user', claim_name: 'sub' }, { header_name: 'x-email', claim_name: 'email' }],
    payload_in_metadata: 'payload',
  });
  sc = await startSidecar(bootstrap(
    [
      listener('api', [hcm('api_http', [jwtFilter({ providers: { idp }, rules: [{ match: { prefix: '/health' } }, { match: { prefix: '/' }, requires: { provider_name: 'idp' } }] })])]),
      listener('down', [hcm('down_http', [jwtFilter({ providers: { idp: remoteJwks('jwks_down') }, rules: [{ match: { prefix: '/' }, requires: { provider_name: 'idp' } }] })])]),
      listener('mtls', [hcm('mtls_http', [
        jwtFilter({ providers: { idp }, rules: [{ match: { prefix: '/' }, requires: { provider_name: 'idp' } }] }),
        {
          name: 'envoy.filters.http.rbac',
          typed_config: {
            '@type': RBAC_TYPE,
            rules: {
              action: 'ALLOW',
              policies: {
                // Only the gateway's identity, carrying a user in group admins, may call DELETE on /orders.
                'admins-delete-orders': {
                  permissions: [{ and_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'DELETE' } } }, { url_path: { path: { prefix: '/orders' } } }] } }],
                  principals: [{
                    and_ids: {
                      ids: [
                        { authenticated: { principal_name: { exact: GATEWAY } } },
                        { metadata: { filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'payload' }, { key: 'groups' }], value: { list_match: { one_of: { string_match: { exact: 'admins' } } } } } },
                      ],
                    },
                  }],
                },
                'anyone-get': { permissions: [{ header: { name: ':method', string_match: { exact: 'GET' } } }], principals: [{ any: true }] },
              },
            },
          },
        },
      ])], {
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': DOWNSTREAM_TLS_TYPE,
            require_client_certificate: true,
            common_tls_context: {
              tls_certificates: [{ certificate_chain: { inline_string: server.certPem }, private_key: { inline_string: server.keyPem } }],
              validation_context: { trusted_ca: { inline_string: root.certPem } },
            },
          },
        },
      }),
    ],
    [
      staticCluster('app', [up.port]),
      staticCluster('jwks', [jwksServer.port], {
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': UPSTREAM_TLS_TYPE,
            sni: 'idp.test',
            common_tls_context: {
              validation_context: { trusted_ca: { inline_string: root.certPem }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'idp.test' } }] },
            },
          },
        },
      }),
      staticCluster('jwks_down', [await closedPort()]),
    ],
  ));
  base = sc.url('api');
  downBase = sc.url('down');
  mtlsPort = sc.port('mtls');
});

after(async () => {
  await sc?.stop();
  await closeAll(up, jwksServer);
});

interface Call { status: number; text: string; headers: http.IncomingHttpHeaders; id: string; details: string }

async function call(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Call> {
  const id = testId('jwt');
  const res = await send(url, { method, headers: { 'x-test-id': id, ...headers } });
  const line = await sc!.waitForAccess(id);
  return { status: res.status, text: res.text, headers: res.headers, id, details: line.raw.trim().split(' ')[6] };
}

const backendSaw = (id: string) => up!.seen.find((s) => s.headers['x-test-id'] === id);
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('jwt_authn on a sidecar with a remote JWKS (HTTPS through a cluster)', () => {
  test('a valid token reaches the backend with claim headers; forged claim headers and the token are gone', T, async () => {
    const t = await token(rsa, { email: 'alice@example.com' });
    const c = await call(`${base}/api/orders`, { ...bearer(t), 'x-user': 'mallory' });
    assert.equal(c.status, 200, c.text);
    const seen = backendSaw(c.id);
    assert.ok(seen);
    assert.equal(seen.headers['x-user'], 'alice');
    assert.equal(seen.headers['x-email'], 'alice@example.com');
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(c.details, 'via_upstream');
    assert.equal(jwksServer!.hits, 1, 'the JWKS was fetched once');
  });

  test('a path without a requirement passes without a token', T, async () => {
    assert.equal((await call(`${base}/health`)).status, 200);
  });

  test('key rotation: a token with a new kid makes the sidecar refetch the JWKS and pass', T, async () => {
    jwksServer!.body = jwks(rsa, rotated);
    const c = await call(`${base}/api/orders`, bearer(await token(rotated)));
    assert.equal(c.status, 200, c.text);
    assert.equal(jwksServer!.hits, 2);
    // Old and new keys both work now.
    assert.equal((await call(`${base}/api/orders`, bearer(await token(rsa)))).status, 200);
  });

  const refusals: { name: string; headers: () => Promise<Record<string, string>>; status: number; body: string; missing?: boolean }[] = [
    { name: 'no token', headers: async () => ({}), status: 401, body: 'Jwt is missing', missing: true },
    { name: 'expired', headers: async () => bearer(await token(rsa, { exp: now() - 3600 })), status: 401, body: 'Jwt is expired' },
    { name: 'not yet valid', headers: async () => bearer(await token(rsa, { nbf: now() + 3600 })), status: 401, body: 'Jwt not yet valid' },
    { name: 'wrong issuer', headers: async () => bearer(await token(rsa, { iss: 'https://evil.example' })), status: 401, body: 'Jwt issuer is not configured' },
    { name: 'wrong audience', headers: async () => bearer(await token(rsa, { aud: 'billing' })), status: 401, body: 'Audiences in Jwt are not allowed' },
    { name: 'bad signature', headers: async () => bearer(await token({ ...(await signingKey('RS256', 'key-2026-01')) })), status: 401, body: 'Jwt verification fails' },
    { name: 'alg none', headers: async () => bearer(unsigned({ alg: 'none' }, { iss: ISSUER, aud: 'api', sub: 'root' }, '')), status: 401, body: 'Jwt header [alg] is not supported' },
    {
      name: 'HS256 keyed with the RSA public key',
      headers: async () => bearer(await new SignJWT({ iss: ISSUER, aud: 'api', sub: 'root' }).setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
        .sign(new TextEncoder().encode(JSON.stringify(rsa.publicJwk)))),
      status: 401, body: "Jwks doesn't have key to match kid or alg from Jwt",
    },
    { name: 'unknown kid', headers: async () => bearer(await token(rsa, {}, { kid: 'not-a-key' })), status: 401, body: "Jwks doesn't have key to match kid or alg from Jwt" },
    { name: 'oversized', headers: async () => bearer(await token(rsa, { pad: 'x'.repeat(10_000) })), status: 401, body: 'Jwt is too large' },
    { name: 'malformed', headers: async () => bearer('not.a-jwt'), status: 401, body: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections' },
  ];
  for (const r of refusals) {
    test(`refused (${r.name}): ${r.status} "${r.body}" with WWW-Authenticate; the backend sees nothing`, T, async () => {
      const c = await call(`${base}/api/orders?page=2`, await r.headers());
      assert.equal(c.status, r.status);
      assert.equal(c.text, r.body);
      const realm = `Bearer realm="http://${new URL(base).host}/api/orders?page=2"`;
      assert.equal(c.headers['www-authenticate'], r.missing ? realm : `${realm}, error="invalid_token"`);
      assert.equal(c.details, `jwt_authn_access_denied{${r.body.replace(/ /g, '_')}}`);
      assert.equal(backendSaw(c.id), undefined);
      await sc!.waitForLine((l) => l.includes('jwt_authn: refused') && l.includes(r.body.replace(/"/g, '\\"')), { stream: 'stderr' });
    });
  }

  test('the JWKS server unreachable: 401 "Jwks remote fetch is failed" (fail closed), the backend sees nothing', T, async () => {
    const c = await call(`${downBase}/api/orders`, bearer(await token(rsa)));
    assert.equal(c.status, 401);
    assert.equal(c.text, 'Jwks remote fetch is failed');
    assert.equal(c.headers['www-authenticate'], `Bearer realm="http://${new URL(downBase).host}/api/orders", error="invalid_token"`);
    assert.equal(backendSaw(c.id), undefined);
    await sc!.waitForLine((l) => l.includes('JWKS fetch failed') && l.includes('cluster \\"jwks_down\\"'), { stream: 'stderr' });
  });

  test('stats: allowed, denied, jwks fetches', T, async () => {
    const text = (await send(`${sc!.admin}/stats/prometheus`)).text;
    assert.match(text, /envoy_http_jwt_authn_allowed\{envoy_http_conn_manager_prefix="api_http"\} [1-9]/);
    assert.match(text, /envoy_http_jwt_authn_denied\{envoy_http_conn_manager_prefix="api_http"\} [1-9]/);
    assert.match(text, /envoy_http_jwt_authn_jwks_fetch_success\{envoy_http_conn_manager_prefix="api_http"\} [1-9]/);
    assert.match(text, /envoy_http_jwt_authn_jwks_fetch_failed\{envoy_http_conn_manager_prefix="down_http"\} [1-9]/);
  });
});

/** One request over mTLS with a client certificate; never rejects. */
function mtlsCall(path: string, method: string, client: { cert: string; key: string }, headers: Record<string, string>): Promise<{ status: number; body: string; id: string }> {
  const id = testId('jwt-rbac');
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: mtlsPort, path, method, agent: false, ca: root.certPem, cert: client.cert, key: client.key,
      headers: { 'x-test-id': id, ...headers }, checkServerIdentity: () => undefined, timeout: 15_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), id }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('claim-based RBAC: the gateway identity carrying a user in group admins may DELETE /orders', () => {
  const admin = () => token(rsa, { groups: ['dev', 'admins'] });
  const user = () => token(rsa, { groups: ['dev'] });

  test('gateway certificate + admins token: DELETE /orders/7 reaches the backend', T, async () => {
    const r = await mtlsCall('/orders/7', 'DELETE', gatewayCert, bearer(await admin()));
    assert.equal(r.status, 200, r.body);
    assert.equal(backendSaw(r.id)?.method, 'DELETE');
  });

  const denied: { name: string; path: string; method: string; cert: () => { cert: string; key: string }; tok: () => Promise<string> }[] = [
    { name: 'a token without group admins', path: '/orders/7', method: 'DELETE', cert: () => gatewayCert, tok: user },
    { name: 'another workload identity', path: '/orders/7', method: 'DELETE', cert: () => otherCert, tok: admin },
    { name: 'another path', path: '/payments/7', method: 'DELETE', cert: () => gatewayCert, tok: admin },
  ];
  for (const d of denied) {
    test(`403 "RBAC: access denied" for ${d.name}; the backend sees nothing`, T, async () => {
      const r = await mtlsCall(d.path, d.method, d.cert(), bearer(await d.tok()));
      assert.equal(r.status, 403);
      assert.equal(r.body, 'RBAC: access denied');
      assert.equal(backendSaw(r.id), undefined);
    });
  }

  test('GET is open to any authenticated user; without a token the JWT filter answers 401 before RBAC', T, async () => {
    assert.equal((await mtlsCall('/orders/7', 'GET', otherCert, bearer(await user()))).status, 200);
    const r = await mtlsCall('/orders/7', 'DELETE', gatewayCert, {});
    assert.equal(r.status, 401);
    assert.equal(r.body, 'Jwt is missing');
  });
});
