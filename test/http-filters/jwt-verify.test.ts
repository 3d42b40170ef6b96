// jwt_authn in process: valid tokens pass with claims in headers and metadata; each bad token is refused with Envoy's status, body and challenge.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { harness, ISSUER, jwks, jwksServer, localProvider, remoteProvider, signingKey, token, unsigned, type Harness, type SigningKey } from './jwt-fixtures.ts';

const REQUIRE_P = [{ match: { prefix: '/' }, requires: { provider_name: 'p' } }];
const now = () => Math.floor(Date.now() / 1000);

let rsa: SigningKey;
let ec: SigningKey;
let ed: SigningKey;
let other: SigningKey;

before(async () => {
  [rsa, ec, ed, other] = await Promise.all([signingKey('RS256', 'rsa-1'), signingKey('ES256', 'ec-1'), signingKey('EdDSA', 'ed-1'), signingKey('RS256', 'rsa-1')]);
});

function local(extra: Record<string, unknown> = {}): Harness {
  return harness({ providers: { p: localProvider(jwks(rsa, ec, ed), extra) }, rules: REQUIRE_P });
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('jwt_authn verification', () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    test(`a valid ${alg} token reaches the router; the Authorization header is removed`, async () => {
      const key = alg === 'RS256' ? rsa : alg === 'ES256' ? ec : ed;
      const o = await local().send('/orders', bearer(await token(key)));
      assert.equal(o.routed, true, o.body);
      assert.equal(o.requestHeaders.authorization, undefined);
    });
  }

  test('a token in the access_token query parameter is accepted (Envoy default location)', async () => {
    const o = await local().send(`/orders?access_token=${await token(rsa)}`);
    assert.equal(o.routed, true, o.body);
  });

  const refusals: { name: string; make: () => Promise<string>; status: number; body: string }[] = [
    { name: 'expired', make: () => token(rsa, { exp: now() - 120 }), status: 401, body: 'Jwt is expired' },
    { name: 'not yet valid', make: () => token(rsa, { nbf: now() + 3600 }), status: 401, body: 'Jwt not yet valid' },
    { name: 'wrong audience (401, as issue 9 asks; Envoy answers 403)', make: () => token(rsa, { aud: 'other' }), status: 401, body: 'Audiences in Jwt are not allowed' },
    { name: 'wrong issuer', make: () => token(rsa, { iss: 'https://evil.example' }), status: 401, body: 'Jwt issuer is not configured' },
    { name: 'bad signature (another key with the same kid)', make: () => token(other), status: 401, body: 'Jwt verification fails' },
    { name: 'tampered payload', make: async () => { const [h, , s] = (await token(rsa)).split('.'); return `${h}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: 'api', sub: 'root' })).toString('base64url')}.${s}`; }, status: 401, body: 'Jwt verification fails' },
    { name: 'alg none', make: async () => unsigned({ alg: 'none', typ: 'JWT' }, { iss: ISSUER, aud: 'api', sub: 'root' }, ''), status: 401, body: 'Jwt header [alg] is not supported' },
    { name: 'alg none with a signature', make: async () => unsigned({ alg: 'none' }, { iss: ISSUER, aud: 'api' }), status: 401, body: 'Jwt header [alg] is not supported' },
    {
      name: 'HS256 signed with the RSA public key as secret',
      make: async () => {
        const secret = new TextEncoder().encode(JSON.stringify(rsa.publicJwk));
        return new SignJWT({ iss: ISSUER, aud: 'api', sub: 'root', exp: now() + 600 }).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).sign(secret);
      },
      status: 401, body: "Jwks doesn't have key to match kid or alg from Jwt",
    },
    { name: 'HS256 without kid', make: async () => new SignJWT({ iss: ISSUER, aud: 'api' }).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32)), status: 401, body: "Jwks doesn't have key to match kid or alg from Jwt" },
    { name: 'unknown kid', make: () => token(rsa, {}, { kid: 'nope' }), status: 401, body: "Jwks doesn't have key to match kid or alg from Jwt" },
    { name: 'oversized', make: () => token(rsa, { pad: 'x'.repeat(9000) }), status: 401, body: 'Jwt is too large' },
    { name: 'malformed: two segments', make: async () => 'abc.def', status: 401, body: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections' },
    { name: 'malformed: header not JSON', make: async () => `${Buffer.from('nope').toString('base64url')}.e30.c2ln`, status: 401, body: 'Jwt header is an invalid JSON' },
    { name: 'malformed: payload not JSON', make: async () => `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.bm9wZQ.c2ln`, status: 401, body: 'Jwt payload is an invalid JSON' },
    { name: 'malformed: exp not a number', make: async () => unsigned({ alg: 'RS256' }, { iss: ISSUER, exp: 'soon' }), status: 401, body: 'Jwt payload [exp] field is not an integer' },
  ];
  for (const c of refusals) {
    test(`refused: ${c.name}`, async () => {
      const h = local();
      const o = await h.send('/orders?x=1', bearer(await c.make()));
      assert.equal(o.routed, false);
      assert.equal(o.status, c.status);
      assert.equal(o.body, c.body);
      assert.equal(o.replyHeaders['www-authenticate'], 'Bearer realm="http://api.example/orders?x=1", error="invalid_token"');
      assert.equal(o.details, `jwt_authn_access_denied{${c.body.replace(/ /g, '_')}}`);
      assert.match(h.stats.renderPrometheus(), /envoy_http_jwt_authn_denied\{[^}]*\} 1/);
    });
  }

  test('a missing token is 401 "Jwt is missing" with a challenge without error=', async () => {
    const o = await local().send('/orders', { authorization: 'Basic dXNlcjpwdw==' });
    assert.equal(o.status, 401);
    assert.equal(o.body, 'Jwt is missing');
    assert.equal(o.replyHeaders['www-authenticate'], 'Bearer realm="http://api.example/orders"');
    assert.equal(o.details, 'jwt_authn_access_denied{Jwt_is_missing}');
  });

  test('claim_to_headers copies claims (nested, numbers, lists as base64 JSON); forged claim headers are stripped first', async () => {
    const h = local({
      claim_to_headers: [
        { header_name: 'x-user', claim_name: 'sub' }, { header_name: 'x-tenant', claim_name: 'org.tenant' },
        { header_name: 'x-level', claim_name: 'level' }, { header_name: 'x-groups', claim_name: 'groups' },
        { header_name: 'x-email', claim_name: 'email' },
      ],
      forward_payload_header: 'x-jwt-payload',
    });
    const t = await token(rsa, { org: { tenant: 't1' }, level: 3, groups: ['admins', 'dev'] });
    const o = await h.send('/orders', { ...bearer(t), 'x-user': 'mallory', 'x-email': 'forged@x', 'x-jwt-payload': 'forged' });
    assert.equal(o.routed, true, o.body);
    assert.equal(o.requestHeaders['x-user'], 'alice');
    assert.equal(o.requestHeaders['x-tenant'], 't1');
    assert.equal(o.requestHeaders['x-level'], '3');
    assert.equal(Buffer.from(o.requestHeaders['x-groups'] as string, 'base64').toString(), '["admins","dev"]');
    assert.equal(o.requestHeaders['x-email'], undefined, 'a forged header for an absent claim is gone');
    assert.equal(o.requestHeaders['x-jwt-payload'], t.split('.')[1]);
    // Without a token, the forged headers are stripped too (and the request is refused).
    const forged = await h.send('/orders', { 'x-user': 'mallory' });
    assert.equal(forged.requestHeaders['x-user'], undefined);
    assert.equal(forged.status, 401);
  });

  test('forward: true keeps the token; payload_in_metadata / header_in_metadata fill dynamic metadata', async () => {
    const h = local({ forward: true, payload_in_metadata: 'jwt_payload', header_in_metadata: 'jwt_header', normalize_payload_in_metadata: { space_delimited_claims: ['scope'] } });
    const t = await token(rsa, { scope: 'read write', groups: ['admins'] });
    const o = await h.send('/orders', bearer(t));
    assert.equal(o.routed, true);
    assert.equal(o.requestHeaders.authorization, `Bearer ${t}`);
    const md = o.metadata?.['envoy.filters.http.jwt_authn'] as Record<string, Record<string, unknown>>;
    assert.equal(md.jwt_payload.sub, 'alice');
    assert.deepEqual(md.jwt_payload.groups, ['admins']);
    assert.deepEqual(md.jwt_payload.scope, ['read', 'write']);
    assert.equal(md.jwt_header.kid, 'rsa-1');
  });

  test('rules: first match wins; unmatched paths and empty requirements pass; allow_missing', async () => {
    const h = harness({
      providers: { p: localProvider(jwks(rsa)) },
      rules: [
        { match: { prefix: '/public' } },
        { match: { prefix: '/maybe' }, requires: { allow_missing: {} } },
        { match: { prefix: '/any' }, requires: { requires_any: { requirements: [{ provider_name: 'p' }, { allow_missing_or_failed: {} }] } } },
        { match: { prefix: '/api' }, requires: { provider_name: 'p' } },
      ],
    });
    assert.equal((await h.send('/public/x')).routed, true);
    assert.equal((await h.send('/other')).routed, true);
    assert.equal((await h.send('/maybe')).routed, true);
    assert.equal((await h.send('/maybe', bearer('garbage'))).status, 401, 'allow_missing still refuses a bad token');
    assert.equal((await h.send('/any', bearer('garbage'))).routed, true);
    assert.equal((await h.send('/api')).status, 401);
  });

  test('per-route: disabled skips; requirement_name picks from requirement_map; an unknown name is 403', async () => {
    const h = harness({
      providers: { p: localProvider(jwks(rsa)) },
      rules: REQUIRE_P,
      requirement_map: { aud_x: { provider_and_audiences: { provider_name: 'p', audiences: ['x'] } } },
    }, {
      routes: [
        { match: { prefix: '/open' }, route: { cluster: 'backend' }, typed_per_filter_config: { 'envoy.filters.http.jwt_authn': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig', disabled: true } } },
        { match: { prefix: '/x' }, route: { cluster: 'backend' }, typed_per_filter_config: { 'envoy.filters.http.jwt_authn': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig', requirement_name: 'aud_x' } } },
        { match: { prefix: '/typo' }, route: { cluster: 'backend' }, typed_per_filter_config: { 'envoy.filters.http.jwt_authn': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig', requirement_name: 'nope' } } },
        { match: { prefix: '/' }, route: { cluster: 'backend' } },
      ],
    });
    assert.equal((await h.send('/open')).routed, true);
    assert.equal((await h.send('/x', bearer(await token(rsa)))).status, 401, 'aud "api" is not "x"');
    assert.equal((await h.send('/x', bearer(await token(rsa, { aud: 'x' })))).routed, true);
    const typo = await h.send('/typo', bearer(await token(rsa)));
    assert.equal(typo.status, 403);
    assert.equal(typo.body, 'Failed JWT authentication: Wrong requirement_name: nope. It should be one of [aud_x]');
  });

  test('from_cookies, custom header prefix and subjects', async () => {
    const h = local({ from_cookies: ['IdToken'], from_headers: [{ name: 'x-token', value_prefix: 'JWT ' }], subjects: { prefix: 'al' } });
    assert.equal((await h.send('/', { cookie: `a=b; IdToken=${await token(rsa)}` })).routed, true);
    assert.equal((await h.send('/', { 'x-token': `JWT ${await token(ec)}` })).routed, true);
    assert.equal((await h.send('/', bearer(await token(rsa)))).status, 401, 'Authorization is not a location any more');
    const bob = await h.send('/', { 'x-token': `JWT ${await token(ec, { sub: 'bob' })}` });
    assert.equal(bob.status, 401);
    assert.equal(bob.body, 'Jwt subject is not allowed');
  });

  test('bypass_cors_preflight lets an OPTIONS preflight through without a token', async () => {
    const h = harness({ providers: { p: localProvider(jwks(rsa)) }, rules: REQUIRE_P, bypass_cors_preflight: true });
    assert.equal((await h.send('/', { origin: 'https://app', 'access-control-request-method': 'DELETE' }, 'OPTIONS')).routed, true);
    assert.equal((await h.send('/', {}, 'OPTIONS')).status, 401);
  });

  test('strip_failure_response: no body and no challenge', async () => {
    const h = harness({ providers: { p: localProvider(jwks(rsa)) }, rules: REQUIRE_P, strip_failure_response: true });
    const o = await h.send('/');
    assert.equal(o.status, 401);
    assert.equal(o.body, '');
    assert.equal(o.replyHeaders['www-authenticate'], undefined);
  });
});

describe('jwt_authn remote JWKS', () => {
  test('fetched once and cached; a new kid triggers one refetch (rate-limited); fetch failure fails closed', async () => {
    const server = jwksServer(jwks(rsa));
    const h = harness({ providers: { p: remoteProvider() }, rules: REQUIRE_P }, { fetch: server.fetch });
    assert.equal((await h.send('/', bearer(await token(rsa)))).routed, true);
    assert.equal((await h.send('/', bearer(await token(rsa)))).routed, true);
    assert.equal(server.calls(), 1);
    // Rotation: the issuer now signs with ec-1.
    server.set(jwks(rsa, ec));
    assert.equal((await h.send('/', bearer(await token(ec)))).routed, true);
    assert.equal(server.calls(), 2);
    // Made-up kids right after do not refetch again.
    const o = await h.send('/', bearer(await token(rsa, {}, { kid: 'made-up' })));
    assert.equal(o.body, "Jwks doesn't have key to match kid or alg from Jwt");
    assert.equal(server.calls(), 2);

    const down = jwksServer(jwks(rsa));
    down.set(null);
    const h2 = harness({ providers: { p: remoteProvider() }, rules: REQUIRE_P }, { fetch: down.fetch });
    const failed = await h2.send('/', bearer(await token(rsa)));
    assert.equal(failed.status, 401);
    assert.equal(failed.body, 'Jwks remote fetch is failed');
    assert.match(h2.stats.renderPrometheus(), /envoy_http_jwt_authn_jwks_fetch_failed\{[^}]*\} 1/);
    // The server comes back: the next request fetches again and passes.
    down.set(jwks(rsa));
    assert.equal((await h2.send('/', bearer(await token(rsa)))).routed, true);
  });

  test('jwt_cache_config: a cached token is refused once the key set it verified against is replaced, and once it expires', async () => {
    const server = jwksServer(jwks(rsa));
    const h = harness({
      providers: { p: remoteProvider({ jwt_cache_config: { jwt_cache_size: 2 }, clock_skew_seconds: 1, remote_jwks: { http_uri: { uri: 'https://issuer.example/jwks.json', cluster: 'idp', timeout: '2s' }, cache_duration: '0.05s' } }) },
      rules: REQUIRE_P,
    }, { fetch: server.fetch });
    const t = await token(rsa);
    assert.equal((await h.send('/', bearer(t))).routed, true);
    assert.equal((await h.send('/', bearer(t))).routed, true, 'a cache hit still passes');
    // The issuer rotates to another key under the same kid: the cached token must not outlive the key set it was checked with.
    server.set(jwks(other));
    const deadline = Date.now() + 10_000;
    let o = await h.send('/', bearer(t));
    while (o.routed && Date.now() < deadline) o = await h.send('/', bearer(t));
    assert.equal(o.status, 401);
    assert.equal(o.body, 'Jwt verification fails');
    // A cached token still has its lifetime checked on every request.
    server.set(jwks(rsa));
    const short = await token(rsa, { exp: now() + 2 });
    let first = await h.send('/', bearer(short));
    while (!first.routed && Date.now() < deadline) first = await h.send('/', bearer(short));
    assert.equal(first.routed, true, first.body);
    let e = await h.send('/', bearer(short));
    while (e.routed && Date.now() < deadline + 5_000) e = await h.send('/', bearer(short));
    assert.equal(e.body, 'Jwt is expired');
  });

  test('a JWKS answer that is not a key set fails closed', async () => {
    const server = jwksServer('<html>login</html>');
    const h = harness({ providers: { p: remoteProvider() }, rules: REQUIRE_P }, { fetch: server.fetch });
    const o = await h.send('/', bearer(await token(rsa)));
    assert.equal(o.status, 401);
    assert.equal(o.body, 'Jwks remote fetch is failed');
  });
});

describe('jwt_authn key handling', () => {
  test('an RSA key without alg never verifies HS256 (the public key as HMAC secret): Jwt verification fails', async () => {
    const { alg: _alg, ...noAlg } = rsa.publicJwk;
    const h = harness({ providers: { p: localProvider(JSON.stringify({ keys: [noAlg] })) }, rules: REQUIRE_P });
    const secret = new TextEncoder().encode(JSON.stringify(noAlg));
    const forged = await new SignJWT({ iss: ISSUER, aud: 'api', sub: 'root' }).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).sign(secret);
    const o = await h.send('/', bearer(forged));
    assert.equal(o.status, 401);
    assert.equal(o.body, 'Jwt verification fails');
    assert.equal((await h.send('/', bearer(await token(rsa)))).routed, true, 'the key still verifies RS256');
  });

  test('async_fetch: the JWKS is fetched when the filter is created, before any request', async () => {
    const server = jwksServer(jwks(rsa));
    const h = harness({ providers: { p: remoteProvider({ remote_jwks: { http_uri: { uri: 'https://i/j', cluster: 'idp', timeout: '1s' }, async_fetch: {} } }) }, rules: REQUIRE_P }, { fetch: server.fetch });
    assert.equal(server.calls(), 1);
    assert.equal((await h.send('/', bearer(await token(rsa)))).routed, true);
    assert.equal(server.calls(), 1);
  });

  test('retry_policy: a failed JWKS fetch is retried', async () => {
    let calls = 0;
    const body = jwks(rsa);
    const fetch = () => (++calls === 1
      ? Promise.reject(new Error('connect error'))
      : Promise.resolve({ status: 200, headers: {}, body: Buffer.from(body) }));
    const h = harness({
      providers: { p: remoteProvider({ remote_jwks: { http_uri: { uri: 'https://i/j', cluster: 'idp', timeout: '1s' }, retry_policy: { num_retries: 2, retry_back_off: { base_interval: '0.01s' } } } }) },
      rules: REQUIRE_P,
    }, { fetch });
    assert.equal((await h.send('/', bearer(await token(rsa)))).routed, true);
    assert.equal(calls, 2);
  });

  test('a non-200 JWKS answer fails closed', async () => {
    const fetch = () => Promise.resolve({ status: 503, headers: {}, body: Buffer.from('down') });
    const h = harness({ providers: { p: remoteProvider() }, rules: REQUIRE_P }, { fetch });
    assert.equal((await h.send('/', bearer(await token(rsa)))).body, 'Jwks remote fetch is failed');
  });

  test('max_lifetime and require_expiration', async () => {
    const h = local({ max_lifetime: '3600s' });
    assert.equal((await h.send('/', bearer(await token(rsa)))).routed, true);
    assert.equal((await h.send('/', bearer(await token(rsa, { exp: now() + 86400 })))).body, 'Jwt lifetime is longer than the provider allows');
    const noExp = await new SignJWT({ iss: ISSUER, aud: 'api' }).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).sign(rsa.privateKey);
    assert.equal((await local({ require_expiration: true }).send('/', bearer(noExp))).body, 'Jwt has no [exp] but the provider requires one');
    assert.equal((await local().send('/', bearer(noExp))).routed, true, 'exp is optional by default');
  });

  test('clock_skew_seconds: a token expired 30 s ago passes with the default 60 s skew, not with 10 s', async () => {
    const t = await token(rsa, { exp: now() - 30 });
    assert.equal((await local().send('/', bearer(t))).routed, true);
    assert.equal((await local({ clock_skew_seconds: 10 }).send('/', bearer(t))).body, 'Jwt is expired');
  });

  test('two tokens: both must verify', async () => {
    const h = local({ from_headers: [{ name: 'x-a' }, { name: 'x-b' }] });
    assert.equal((await h.send('/', { 'x-a': await token(rsa), 'x-b': await token(ec) })).routed, true);
    assert.equal((await h.send('/', { 'x-a': await token(rsa), 'x-b': await token(ec, { exp: now() - 3600 }) })).body, 'Jwt is expired');
  });
});

test('a gRPC request without a token gets a trailers-only UNAUTHENTICATED (16) reply', async () => {
  const o = await local().send('/pkg.Svc/Call', { 'content-type': 'application/grpc' }, 'POST');
  assert.equal(o.status, 200);
  assert.equal(o.replyHeaders['grpc-status'], '16');
  assert.equal(o.replyHeaders['grpc-message'], 'Jwt is missing');
});
