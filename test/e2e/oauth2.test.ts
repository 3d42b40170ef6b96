// End-to-end OpenID Connect login through envoy.filters.http.oauth2 against a live oidc-provider: a browser-like client logs in, reaches the backend, refreshes, signs out; bad input is refused.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootstrap, httpConnectionManager, listener, route, routerFilter, staticCluster } from '../helpers/bootstrap.ts';
import { closeAll, startHttpEcho, type EchoReply, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { Browser, startOidcProvider, type BrowserResponse, type OidcProviderHandle } from '../helpers/oidc-provider.ts';
import { startSidecar, tempDir, type Sidecar } from '../helpers/sidecar.ts';

const T = { timeout: 60_000 };
const OAUTH2_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.oauth2.v3.OAuth2';
const USERS = [
  { username: 'alice', password: 'wonderland', email: 'alice@example.com', groups: ['admins', 'staff'] },
  { username: 'bob', password: 'builder', email: 'bob@example.com', groups: ['staff'] },
];

let idp: OidcProviderHandle;
let app: HttpUpstream;
let sc: Sidecar;
let dir: string;
let web = '';
let short = '';
let broken = '';
let composed = '';
let unreachable = '';
let nosecret = '';
let staticSecrets = '';

/** A port nothing listens on (bound once, then closed). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
const JWT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';

/** jwt_authn after oauth2 (contract 1): the ID token from the IdToken cookie, its claims copied into headers. */
function jwtAuthn(): object {
  return {
    name: 'envoy.filters.http.jwt_authn',
    typed_config: {
      '@type': JWT_TYPE,
      providers: {
        idp: {
          issuer: idp.issuer,
          audiences: ['web'],
          remote_jwks: { http_uri: { uri: idp.endpoints.jwks, cluster: 'idp', timeout: '5s' } },
          from_cookies: ['IdToken'],
          claim_to_headers: [
            { header_name: 'x-user-sub', claim_name: 'sub' },
            { header_name: 'x-user-email', claim_name: 'email' },
            { header_name: 'x-user-groups', claim_name: 'groups' },
          ],
        },
      },
      rules: [{ match: { prefix: '/' }, requires: { provider_name: 'idp' } }],
    },
  };
}

const sds = (name: string) => ({ name, sds_config: { path_config_source: { path: path.join(dir, 'secrets.yaml') } } });

function oauth2(clientId: string, tokenSecret: string, extra: Record<string, unknown> = {}, tokenCluster = 'idp'): object {
  return {
    name: 'envoy.filters.http.oauth2',
    typed_config: {
      '@type': OAUTH2_TYPE,
      config: {
        token_endpoint: { uri: idp.endpoints.token, cluster: tokenCluster, timeout: '5s' },
        authorization_endpoint: idp.endpoints.authorization,
        credentials: { client_id: clientId, token_secret: sds(tokenSecret), hmac_secret: sds('hmac') },
        redirect_uri: '%REQ(x-forwarded-proto?:scheme)%://%REQ(:authority)%/callback',
        redirect_path_matcher: { path: { exact: '/callback' } },
        signout_path: { path: { exact: '/signout' } },
        forward_bearer_token: true,
        auth_scopes: ['openid', 'email', 'groups'],
        pass_through_matcher: [{ name: 'x-health-check', present_match: true }],
        deny_redirect_matcher: [{ name: 'x-requested-with', string_match: { exact: 'XMLHttpRequest' } }],
        ...extra,
      },
    },
  };
}

function hcm(statPrefix: string, filter: object, more: object[] = []): object {
  return httpConnectionManager({
    statPrefix,
    accessLog: false,
    virtualHosts: [{
      name: 'app',
      domains: ['*'],
      routes: [
        // A route that turns the filter off (OAuth2 without config in typed_per_filter_config).
        route({ prefix: '/public/' }, 'app', {}, { typed_per_filter_config: { 'envoy.filters.http.oauth2': { '@type': OAUTH2_TYPE } } }),
        route({ prefix: '/' }, 'app'),
      ],
    }],
    extra: { http_filters: [filter, ...more, routerFilter] },
  });
}

before(async () => {
  dir = tempDir();
  idp = await startOidcProvider({
    clients: [
      { clientId: 'web', clientSecret: 'web-secret', redirectUris: ['http://127.0.0.1/callback'], postLogoutRedirectUris: ['http://127.0.0.1/'] },
      // Tokens live 2 s, under the filter's refresh margin: every request after login refreshes them.
      { clientId: 'short', clientSecret: 'short-secret', redirectUris: ['http://127.0.0.1/callback'], tokenEndpointAuthMethod: 'client_secret_post', accessTokenTtlS: 2 },
    ],
    users: USERS,
  });
  fs.writeFileSync(path.join(dir, 'secrets.yaml'), [
    'resources:',
    '- "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
    '  name: web-token',
    '  generic_secret: { secret: { inline_string: web-secret } }',
    '- "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
    '  name: short-token',
    '  generic_secret: { secret: { inline_string: short-secret } }',
    '- "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
    '  name: wrong-token',
    '  generic_secret: { secret: { inline_string: not-the-secret } }',
    '- "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
    '  name: hmac',
    `  generic_secret: { secret: { inline_bytes: ${Buffer.from('hmac-secret-for-tests').toString('base64')} } }`,
    '',
  ].join('\n'));
  app = await startHttpEcho('app');
  const closedPort = await freePort();
  // Envoy's docs form: token_secret / hmac_secret without sds_config name generic secrets in static_resources.secrets.
  const staticCreds = { credentials: { client_id: 'web', token_secret: { name: 'static-token' }, hmac_secret: { name: 'static-hmac' } } };
  const config = bootstrap(
    [
      listener('static', [hcm('static', oauth2('web', 'web-token', { auth_type: 'BASIC_AUTH', ...staticCreds }))]),
      listener('web', [hcm('web', oauth2('web', 'web-token', { auth_type: 'BASIC_AUTH', end_session_endpoint: idp.endpoints.endSession }))]),
      listener('short', [hcm('short', oauth2('short', 'short-token'))]),
      listener('broken', [hcm('broken', oauth2('web', 'wrong-token', { auth_type: 'BASIC_AUTH' }))]),
      listener('unreachable', [hcm('unreachable', oauth2('web', 'web-token', { auth_type: 'BASIC_AUTH' }, 'nowhere'))]),
      listener('nosecret', [hcm('nosecret', oauth2('web', 'missing-token'))]),
      listener('composed', [hcm('composed', oauth2('web', 'web-token', { auth_type: 'BASIC_AUTH' }), [jwtAuthn()])]),
    ],
    [staticCluster('app', [app.port]), staticCluster('idp', [idp.port]), staticCluster('nowhere', [closedPort])],
  ) as { static_resources: Record<string, unknown> };
  config.static_resources.secrets = [
    { name: 'static-token', generic_secret: { secret: { inline_string: 'web-secret' } } },
    { name: 'static-hmac', generic_secret: { secret: { inline_bytes: Buffer.from('another-hmac-secret').toString('base64') } } },
  ];
  sc = await startSidecar(config);
  staticSecrets = sc.url('static');
  web = sc.url('web');
  short = sc.url('short');
  broken = sc.url('broken');
  composed = sc.url('composed');
  unreachable = sc.url('unreachable');
  nosecret = sc.url('nosecret');
});

after(async () => {
  await sc?.stop();
  await idp?.close();
  await closeAll(app);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Follows the proxy's redirect to the provider's login page, logs in as `user`, follows everything back. */
async function login(b: Browser, url: string, user = 'alice'): Promise<BrowserResponse> {
  const page = await b.get(url);
  assert.equal(page.status, 200, `expected the provider's login page, got ${page.status} at ${page.url}: ${page.text.slice(0, 200)}`);
  assert.match(page.url, /\/interaction\//);
  return idp.login(b, page, user);
}

function echoed(res: BrowserResponse): EchoReply {
  assert.equal(res.status, 200, `expected the backend's answer, got ${res.status} at ${res.url}: ${res.text.slice(0, 300)}`);
  return JSON.parse(res.text) as EchoReply;
}

function cookieNames(header: unknown): string[] {
  return String(header ?? '').split(';').map((p) => p.trim().split('=')[0]).filter((n) => n !== '');
}

function claims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
}

function waitForLog(text: string): Promise<string> {
  return sc.waitForLine((l) => l.includes(text), { stream: 'stderr', timeoutMs: 10_000 });
}

describe('oauth2 login', T, () => {
  test('an unauthenticated browser request is redirected to the provider with code flow, PKCE S256 and state', async () => {
    const b = new Browser();
    const res = await b.get(`${web}/orders?page=2`, { follow: false });
    assert.equal(res.status, 302);
    const loc = new URL(String(res.headers.location));
    assert.equal(`${loc.origin}${loc.pathname}`, idp.endpoints.authorization);
    const q = loc.searchParams;
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('client_id'), 'web');
    assert.equal(q.get('scope'), 'openid email groups');
    assert.equal(q.get('redirect_uri'), `${web}/callback`);
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok((q.get('state') ?? '').length > 20);
    const setCookies = res.headers['set-cookie'] ?? [];
    for (const name of ['OauthNonce', 'OauthCodeVerifier']) {
      const line = setCookies.find((c) => c.startsWith(`${name}=`));
      assert.ok(line, `${name} cookie set`);
      assert.match(line, /; HttpOnly/);
      assert.match(line, /; Secure/);
      assert.match(line, /; SameSite=Lax/);
      assert.match(line, /; Max-Age=600/);
    }
    assert.equal(app.seen.length, 0, 'nothing reached the backend');
  });

  test('the whole login reaches the backend with the bearer token and the ID token cookie; flow cookies stay at the proxy', async () => {
    const b = new Browser();
    const res = await login(b, `${web}/orders?page=2`);
    assert.equal(new URL(res.url).pathname + new URL(res.url).search, '/orders?page=2', 'back at the original URL');
    const seen = echoed(res);
    assert.equal(seen.url, '/orders?page=2');
    assert.match(String(seen.headers.authorization), /^Bearer [\w-]+/);
    const names = cookieNames(seen.headers.cookie);
    assert.ok(names.includes('IdToken') && names.includes('BearerToken'), `backend cookies: ${names.join(', ')}`);
    for (const hidden of ['OauthHMAC', 'OauthExpires', 'RefreshToken', 'OauthNonce', 'OauthCodeVerifier']) assert.ok(!names.includes(hidden), `${hidden} must not reach the backend`);
    // The backend (or a jwt_authn filter after oauth2) sees the decrypted ID token.
    const idToken = /(?:^|; )IdToken=([^;]+)/.exec(String(seen.headers.cookie))![1];
    const c = claims(idToken);
    assert.equal(c.sub, 'alice');
    assert.equal(c.email, 'alice@example.com');
    assert.deepEqual(c.groups, ['admins', 'staff']);
    assert.equal(c.iss, idp.issuer);
    // In the browser the token cookies are encrypted, and every session cookie is HttpOnly + Secure.
    assert.notEqual(b.cookie('127.0.0.1', 'IdToken'), idToken);
    const callback = res.chain.find((s) => s.url.startsWith(`${web}/callback`));
    assert.ok(callback && callback.status === 302);
    await idp.waitForGrant((g) => g.grantType === 'authorization_code' && g.clientId === 'web' && g.ok);
  });

  test('secrets from static_resources.secrets (no sds_config): the whole login works with them', async () => {
    const b = new Browser();
    const res = await login(b, `${staticSecrets}/orders`);
    const seen = echoed(res);
    assert.equal(seen.url, '/orders');
    assert.match(String(seen.headers.authorization), /^Bearer [\w-]+/);
    // The session (signed with the static HMAC secret) lets the next request through without the provider.
    const again = await b.get(`${staticSecrets}/again`);
    assert.equal(echoed(again).url, '/again');
  });

  test('a logged-in browser is let through without the provider; a forged Authorization header is replaced', async () => {
    const b = new Browser();
    await login(b, `${web}/first`);
    const grants = idp.grants.length;
    const seen = echoed(await b.get(`${web}/second`, { headers: { authorization: 'Bearer forged' } }));
    assert.equal(seen.url, '/second');
    assert.notEqual(seen.headers.authorization, 'Bearer forged');
    assert.match(String(seen.headers.authorization), /^Bearer /);
    assert.equal(idp.grants.length, grants, 'no token endpoint call for a valid session');
  });

  test('expired tokens are refreshed at the token endpoint before the request goes on', async () => {
    const b = new Browser();
    const res = await login(b, `${short}/dashboard`);
    const first = echoed(res);
    // The 2 s tokens are inside the refresh margin already: the request after the callback was refreshed.
    const refresh = await idp.waitForGrant((g) => g.grantType === 'refresh_token' && g.clientId === 'short');
    assert.ok(refresh.ok, `refresh failed: ${refresh.error}`);
    assert.match(String(first.headers.authorization), /^Bearer /);
    const setCookies = res.headers['set-cookie'] ?? [];
    for (const name of ['OauthHMAC', 'OauthExpires', 'BearerToken', 'IdToken', 'RefreshToken']) {
      assert.ok(setCookies.some((c) => c.startsWith(`${name}=`)), `the refreshed ${name} is stored in the browser`);
    }
    const callback = res.chain.find((s) => s.url.startsWith(`${short}/callback`));
    assert.ok(callback, 'the login went through the callback');
    // The backend saw the refreshed tokens, not the ones of the code exchange.
    const idToken = /(?:^|; )IdToken=([^;]+)/.exec(String(first.headers.cookie))![1];
    assert.ok(Number(claims(idToken).exp) > Math.floor(Date.now() / 1000) - 1);
    const again = echoed(await b.get(`${short}/dashboard`));
    assert.match(String(again.headers.authorization), /^Bearer /);
  });

  test('sign-out clears every cookie and goes to the provider\'s end_session_endpoint; afterwards the login starts over', async () => {
    const b = new Browser();
    const done = echoed(await login(b, `${web}/account`));
    const idToken = /(?:^|; )IdToken=([^;]+)/.exec(String(done.headers.cookie))![1];
    const out = await b.get(`${web}/signout`, { follow: false });
    assert.equal(out.status, 302);
    const loc = new URL(String(out.headers.location));
    assert.equal(`${loc.origin}${loc.pathname}`, idp.endpoints.endSession);
    assert.equal(loc.searchParams.get('id_token_hint'), idToken);
    assert.equal(loc.searchParams.get('client_id'), 'web');
    assert.equal(loc.searchParams.get('post_logout_redirect_uri'), `${web}/`);
    for (const name of ['OauthHMAC', 'OauthExpires', 'BearerToken', 'IdToken', 'RefreshToken', 'OauthNonce', 'OauthCodeVerifier']) {
      assert.ok((out.headers['set-cookie'] ?? []).some((c) => c.startsWith(`${name}=deleted;`)), `${name} deleted`);
      assert.equal(b.cookie('127.0.0.1', name), undefined);
    }
    const next = await b.get(`${web}/account`, { follow: false });
    assert.equal(next.status, 302);
    assert.ok(String(next.headers.location).startsWith(idp.endpoints.authorization));
    // The provider asks to confirm the logout (RP-initiated logout); confirming ends its session too.
    const confirm = await b.get(loc.toString());
    assert.equal(confirm.status, 200);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.text)?.[1];
    const action = /<form[^>]*action="([^"]+)"/.exec(confirm.text)?.[1];
    assert.ok(xsrf && action, 'logout confirmation form');
    const back = await b.post(new URL(action, loc).toString(), { xsrf, logout: 'yes' });
    assert.equal(back.status, 200);
    assert.match(back.url, /\/interaction\//, 'after logout the proxy sends the browser to a fresh login');
  });

  test('requests matching pass_through_matcher, and routes that disable the filter, skip it', async () => {
    const seen = echoed(await new Browser().get(`${web}/healthz`, { headers: { 'x-health-check': '1' } }));
    assert.equal(seen.url, '/healthz');
    const pub = echoed(await new Browser().get(`${web}/public/logo.png`, { follow: false }));
    assert.equal(pub.url, '/public/logo.png');
  });

  test('the filter keeps Envoy\'s oauth stats', async () => {
    const res = await fetch(`${sc.admin}/stats/prometheus`);
    const text = await res.text();
    for (const stat of ['oauth_success', 'oauth_unauthorized_rq', 'oauth_passthrough']) {
      assert.match(text, new RegExp(`envoy_http_${stat}\\{envoy_http_conn_manager_prefix="web"\\} [1-9]`), stat);
    }
  });
});

/** x-user-groups as jwt_authn writes a list claim (joined, or base64 of its JSON): its text either way. */
function groupsOf(seen: EchoReply): string {
  const raw = String(seen.headers['x-user-groups'] ?? '');
  return raw.includes('staff') ? raw : Buffer.from(raw, 'base64').toString('utf8');
}

describe('oauth2 + jwt_authn: the user\'s identity reaches the backend as headers', T, () => {
  test('claims of the ID token cookie become x-user-* headers; the client\'s own x-user-* headers are dropped', async () => {
    const b = new Browser();
    const res = await login(b, `${composed}/profile`);
    const seen = echoed(res);
    assert.equal(seen.headers['x-user-sub'], 'alice');
    assert.equal(seen.headers['x-user-email'], 'alice@example.com');
    assert.match(groupsOf(seen), /admins/);
    const forged = echoed(await b.get(`${composed}/profile`, { headers: { 'x-user-email': 'mallory@example.com', 'x-user-sub': 'mallory' } }));
    assert.equal(forged.headers['x-user-email'], 'alice@example.com');
    assert.equal(forged.headers['x-user-sub'], 'alice');
    const bob = echoed(await login(new Browser(), `${composed}/profile`, 'bob'));
    assert.equal(bob.headers['x-user-sub'], 'bob');
    assert.match(groupsOf(bob), /staff/);
    assert.doesNotMatch(groupsOf(bob), /admins/);
  });
});

describe('oauth2 refusals', T, () => {
  test('XHR requests (deny_redirect_matcher) get 401 instead of a redirect', async () => {
    const before = app.seen.length;
    const res = await new Browser().get(`${web}/api/data`, { headers: { 'x-requested-with': 'XMLHttpRequest' }, follow: false });
    assert.equal(res.status, 401);
    assert.equal(res.text, 'OAuth flow failed.');
    assert.equal(app.seen.length, before);
    await waitForLog('deny_redirect_matcher matched');
  });

  test('tampered session cookies count as no session: redirect (browser) or 401 (XHR), with a log line', async () => {
    const b = new Browser();
    await login(b, `${web}/me`);
    const before = app.seen.length;
    const expires = b.cookie('127.0.0.1', 'OauthExpires')!;
    b.setCookie('127.0.0.1', 'OauthExpires', String(Number(expires) + 86400));
    const res = await b.get(`${web}/me`, { follow: false });
    assert.equal(res.status, 302);
    assert.ok(String(res.headers.location).startsWith(idp.endpoints.authorization));
    await waitForLog('OauthHMAC does not match the session cookies');
    b.setCookie('127.0.0.1', 'OauthExpires', expires);
    b.setCookie('127.0.0.1', 'BearerToken', 'x'.repeat(60));
    const xhr = await b.get(`${web}/me`, { headers: { 'x-requested-with': 'XMLHttpRequest' }, follow: false });
    assert.equal(xhr.status, 401);
    assert.equal(app.seen.length, before, 'nothing reached the backend');
  });

  /** Starts a login and stops at the provider's redirect back to the callback: the callback URL (code + state). */
  async function callbackUrl(b: Browser, base: string, start = '/x'): Promise<URL> {
    const page = await b.get(`${base}${start}`);
    const uid = /\/interaction\/([\w-]+)/.exec(page.url)![1];
    const res = await b.post(new URL(`/interaction/${uid}/login`, page.url).toString(), { username: 'bob', password: 'builder' }, { follow: false });
    let url = new URL(String(res.headers.location), page.url);
    for (let i = 0; i < 5 && !url.pathname.endsWith('/callback'); i++) {
      const r = await b.get(url.toString(), { follow: false });
      url = new URL(String(r.headers.location), url);
    }
    assert.equal(url.pathname, '/callback');
    return url;
  }

  test('a tampered state, a missing nonce cookie or another browser\'s state is refused with 401', async () => {
    const before = app.seen.length;
    const b = new Browser();
    const cb = await callbackUrl(b, web);
    const state = cb.searchParams.get('state')!;
    const decoded = JSON.parse(Buffer.from(state, 'base64url').toString()) as Record<string, string>;
    const forged = new URL(cb);
    forged.searchParams.set('state', Buffer.from(JSON.stringify({ ...decoded, url: 'https://evil.example/' })).toString('base64url'));
    const r1 = await b.get(forged.toString(), { follow: false });
    assert.equal(r1.status, 401);
    await waitForLog('tampered state');

    const other = new Browser();
    await other.get(`${web}/y`, { follow: false }); // has its own nonce cookie
    const r2 = await other.get(cb.toString(), { follow: false });
    assert.equal(r2.status, 401);
    await waitForLog('does not match the OauthNonce cookie');

    const r3 = await new Browser().get(cb.toString(), { follow: false });
    assert.equal(r3.status, 401);
    await waitForLog('OauthNonce cookie is missing');

    const r4 = await b.get(`${web}/callback?error=access_denied&state=${state}`, { follow: false });
    assert.equal(r4.status, 401);
    await waitForLog('error=access_denied');
    assert.equal(app.seen.length, before);
  });

  test('a PKCE mismatch (the code of an older login) is refused by the provider and then by the proxy', async () => {
    const before = app.seen.length;
    const b = new Browser();
    const first = await callbackUrl(b, web, '/tab1');
    await b.get(`${web}/tab2`, { follow: false }); // a second login in another tab replaces the code verifier cookie
    const res = await b.get(first.toString(), { follow: false });
    assert.equal(res.status, 401);
    assert.equal(res.text, 'OAuth flow failed.');
    await waitForLog('invalid_grant');
    assert.equal(app.seen.length, before);
  });

  test('token endpoint errors (a wrong client secret) are refused with 401', async () => {
    const before = app.seen.length;
    const b = new Browser();
    const cb = await callbackUrl(b, broken);
    const res = await b.get(cb.toString(), { follow: false });
    assert.equal(res.status, 401);
    await waitForLog('invalid_client');
    assert.equal(app.seen.length, before);
  });

  test('open redirects through the return URL are neutralised to "/"', async () => {
    // (A browser turns "/\\evil" into "//evil" itself; backslashes are covered by the unit tests.)
    for (const [start, why] of [['//evil.example/steal', 'scheme-relative URL']]) {
      const b = new Browser();
      const cb = await callbackUrl(b, web, start);
      const res = await b.get(cb.toString(), { follow: false });
      assert.equal(res.status, 302, `${start}: ${res.text}`);
      assert.equal(res.headers.location, '/', `${start} must not be followed`);
      await waitForLog(why);
    }
  });

  test('an unreachable token endpoint fails closed with 401', async () => {
    const before = app.seen.length;
    const b = new Browser();
    const cb = await callbackUrl(b, unreachable);
    const res = await b.get(cb.toString(), { follow: false });
    assert.equal(res.status, 401);
    assert.equal(res.text, 'OAuth flow failed.');
    await waitForLog('token endpoint unreachable');
    assert.equal(app.seen.length, before);
  });

  test('a secret missing from its SDS file refuses every request (401) and says which', async () => {
    const res = await new Browser().get(`${nosecret}/x`, { follow: false });
    assert.equal(res.status, 401);
    await waitForLog('no Secret named \\"missing-token\\"');
  });
});
