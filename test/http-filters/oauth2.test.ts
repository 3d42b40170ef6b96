// Unit tests of the oauth2 filter's parts: config validation, cookie signing and encryption, state, PKCE, return-URL sanitizing, SDS secret files.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateHttpFilterConfig } from '../../src/http/filters/registry.ts';
import { DEFAULT_COOKIE_NAMES, parseCookies, setCookie } from '../../src/policy/oauth2/cookies.ts';
import { compileUriTemplate, formatUri, queryParams, sameOriginPath, sessionHost } from '../../src/policy/oauth2/redirects.ts';
import { genericSecretSource, secretFromText } from '../../src/policy/oauth2/secret-file.ts';
import { SecretStore } from '../../src/secrets/secret-store.ts';
import { compileBootstrap } from '../../src/model/compile-bootstrap.ts';
import {
  checkCsrfToken, codeChallenge, decodeState, decryptValue, encodeState, encryptValue, newCsrfToken, sessionHmac, sessionHmacValid,
} from '../../src/policy/oauth2/session-crypto.ts';
import { newSession, readSession, REFRESH_MARGIN_S, type SessionSettings } from '../../src/policy/oauth2/session.ts';
import type { RequestHead } from '../../src/http/exchange.ts';
import { MAX_EXPIRES_IN_S } from '../../src/policy/oauth2/token-client.ts';

const TYPE = 'type.googleapis.com/envoy.extensions.filters.http.oauth2.v3.OAuth2';
const sds = (name: string) => ({ name, sds_config: { path_config_source: { path: '/etc/pilotfish/oauth2.yaml' } } });

function base(): Record<string, unknown> {
  return {
    token_endpoint: { uri: 'https://idp.example/token', cluster: 'idp', timeout: '3s' },
    authorization_endpoint: 'https://idp.example/authorize',
    credentials: { client_id: 'web', token_secret: sds('token'), hmac_secret: sds('hmac') },
    redirect_uri: '%REQ(x-forwarded-proto?:scheme)%://%REQ(:authority)%/callback',
    redirect_path_matcher: { path: { exact: '/callback' } },
    signout_path: { path: { exact: '/signout' } },
    auth_scopes: ['openid', 'email'],
  };
}

function check(mutate: (c: Record<string, unknown>) => void) {
  const c = base();
  mutate(c);
  return validateHttpFilterConfig(TYPE, { config: c });
}

describe('OAuth2 config validation', () => {
  test('a complete config is accepted', () => {
    const r = check((c) => {
      Object.assign(c, {
        end_session_endpoint: 'https://idp.example/logout', forward_bearer_token: true, auth_type: 'BASIC_AUTH',
        use_refresh_token: { value: true }, default_expires_in: '600s', pass_through_matcher: [{ name: 'x-health', present_match: true }],
        deny_redirect_matcher: [{ name: 'x-requested-with', string_match: { exact: 'XMLHttpRequest' } }], resources: ['https://api.example'],
        cookie_configs: { bearer_token_cookie_config: { same_site: 'STRICT' }, oauth_nonce_cookie_config: { same_site: 'NONE', partitioned: true, path: '/' } },
        csrf_token_expires_in: '300s', code_verifier_token_expires_in: '300s', disable_id_token_set_cookie: false, stat_prefix: 'login_',
      });
      (c.credentials as Record<string, unknown>).cookie_names = { id_token: 'MyIdToken' };
      (c.credentials as Record<string, unknown>).cookie_domain = 'example.com';
    });
    assert.deepEqual(r.errors, []);
    assert.equal(r.known, true);
  });

  const cases: [string, (c: Record<string, unknown>) => void, string, string][] = [
    ['no token_endpoint', (c) => { delete c.token_endpoint; }, 'config.token_endpoint', 'is required'],
    ['token_endpoint without timeout', (c) => { c.token_endpoint = { uri: 'https://idp.example/token', cluster: 'idp' }; }, 'config.token_endpoint.timeout', 'is required'],
    ['token_endpoint uri not http(s)', (c) => { c.token_endpoint = { uri: 'ftp://idp/token', cluster: 'idp', timeout: '1s' }; }, 'config.token_endpoint.uri', 'is not an http(s) URL'],
    ['token_endpoint uri neither a URL nor host/path', (c) => { c.token_endpoint = { uri: 'not a uri', cluster: 'idp', timeout: '1s' }; }, 'config.token_endpoint.uri', 'is not an http(s) URL'],
    ['no authorization_endpoint', (c) => { delete c.authorization_endpoint; }, 'config.authorization_endpoint', 'is required'],
    ['authorization_endpoint not a URL', (c) => { c.authorization_endpoint = 'idp/authorize'; }, 'config.authorization_endpoint', 'is not an http(s) URL'],
    ['no credentials', (c) => { delete c.credentials; }, 'config.credentials', 'is required'],
    ['no client_id', (c) => { delete (c.credentials as Record<string, unknown>).client_id; }, 'config.credentials.client_id', 'is required'],
    ['no hmac_secret', (c) => { delete (c.credentials as Record<string, unknown>).hmac_secret; }, 'config.credentials.hmac_secret', 'is required'],
    ['secret over ADS', (c) => { (c.credentials as Record<string, unknown>).token_secret = { name: 't', sds_config: { ads: {} } }; }, 'config.credentials.token_secret.sds_config', 'not supported yet'],
    ['bad cookie name', (c) => { (c.credentials as Record<string, unknown>).cookie_names = { bearer_token: 'a b' }; }, 'config.credentials.cookie_names.bearer_token', 'not a valid cookie name'],
    ['two cookies with one name', (c) => { (c.credentials as Record<string, unknown>).cookie_names = { id_token: 'BearerToken' }; }, 'config.credentials.cookie_names.id_token', 'also used for bearer_token'],
    ['bad cookie_domain', (c) => { (c.credentials as Record<string, unknown>).cookie_domain = 'exa mple.com'; }, 'config.credentials.cookie_domain', 'not a domain name'],
    ['no redirect_uri', (c) => { delete c.redirect_uri; }, 'config.redirect_uri', 'is required'],
    ['redirect_uri with another command', (c) => { c.redirect_uri = '%DOWNSTREAM_REMOTE_ADDRESS%/cb'; }, 'config.redirect_uri', 'only %REQ(header)%'],
    ['no redirect_path_matcher', (c) => { delete c.redirect_path_matcher; }, 'config.redirect_path_matcher', 'is required'],
    ['no signout_path', (c) => { delete c.signout_path; }, 'config.signout_path', 'is required'],
    ['forward_bearer_token with preserve_authorization_header', (c) => { c.forward_bearer_token = true; c.preserve_authorization_header = true; }, 'config.preserve_authorization_header', 'cannot be true'],
    ['end_session_endpoint without openid', (c) => { c.end_session_endpoint = 'https://idp/logout'; c.auth_scopes = ['user']; }, 'config.end_session_endpoint', 'only supported for OpenID Connect'],
    ['scope with a space', (c) => { c.auth_scopes = ['openid email']; }, 'config.auth_scopes[0]', 'is not a scope'],
    ['unknown auth_type', (c) => { c.auth_type = 'DIGEST'; }, 'config.auth_type', 'invalid value "DIGEST"'],
    ['unknown same_site', (c) => { c.cookie_configs = { id_token_cookie_config: { same_site: 'SOMETIMES' } }; }, 'config.cookie_configs.id_token_cookie_config.same_site', 'invalid value'],
    ['partitioned without SameSite=None', (c) => { c.cookie_configs = { id_token_cookie_config: { partitioned: true } }; }, 'config.cookie_configs.id_token_cookie_config.partitioned', 'same_site: NONE'],
    ['allow_failed_matcher', (c) => { c.allow_failed_matcher = [{ name: 'x', present_match: true }]; }, 'config.allow_failed_matcher', 'not supported yet'],
    ['unknown field', (c) => { c.bogus = 1; }, 'config.bogus', 'unknown field "bogus"'],
  ];
  for (const [name, mutate, field, message] of cases) {
    test(`${name}: error at ${field}`, () => {
      const r = check(mutate);
      assert.ok(r.errors.some((e) => e.field === field && e.message.includes(message)), `expected "${message}" at ${field}, got ${JSON.stringify(r.errors)}`);
    });
  }

  // Forms from Envoy's docs (oauth2_filter.rst): static secrets (no sds_config), the legacy sds_config.path, a URI without scheme.
  const accepted: [string, (c: Record<string, unknown>) => void, string | null][] = [
    ['static secrets (no sds_config: static_resources.secrets)', (c) => { Object.assign(c.credentials as object, { token_secret: { name: 'token' }, hmac_secret: { name: 'hmac' } }); }, null],
    ['legacy sds_config.path', (c) => { (c.credentials as Record<string, unknown>).token_secret = { name: 'token', sds_config: { path: '/etc/envoy/token-secret.yaml' } }; }, null],
    ['token_endpoint uri without scheme', (c) => { c.token_endpoint = { uri: 'oauth.com/token', cluster: 'idp', timeout: '3s' }; }, 'config.token_endpoint.uri'],
  ];
  for (const [name, mutate, warnAt] of accepted) {
    test(`accepted: ${name}`, () => {
      const r = check(mutate);
      assert.deepEqual(r.errors, []);
      if (warnAt !== null) assert.ok(r.warnings.some((w) => w.field === warnAt && w.message.includes('has no scheme')), JSON.stringify(r.warnings));
    });
  }

  test('retry_policy is accepted with a warning; an OAuth2 without config lets everything through (warning)', () => {
    assert.ok(check((c) => { c.retry_policy = { num_retries: 2 }; }).warnings.some((w) => w.field === 'config.retry_policy'));
    const empty = validateHttpFilterConfig(TYPE, {});
    assert.deepEqual(empty.errors, []);
    assert.match(empty.warnings[0].message, /lets every request through/);
  });
});

describe('session cookies', () => {
  const secret = 'hmac-secret';
  const tokens = { accessToken: 'at', idToken: 'id', refreshToken: 'rt' };

  test('the HMAC covers host, expiry and every token', () => {
    const h = sessionHmac(secret, 'app.example', '1700000000', tokens);
    assert.ok(sessionHmacValid(secret, 'app.example', '1700000000', tokens, h));
    assert.ok(!sessionHmacValid(secret, 'evil.example', '1700000000', tokens, h));
    assert.ok(!sessionHmacValid(secret, 'app.example', '1700000001', tokens, h));
    assert.ok(!sessionHmacValid(secret, 'app.example', '1700000000', { ...tokens, accessToken: 'at2' }, h));
    assert.ok(!sessionHmacValid(secret, 'app.example', '1700000000', { ...tokens, refreshToken: '' }, h));
    assert.ok(!sessionHmacValid('other-secret', 'app.example', '1700000000', tokens, h));
    assert.ok(!sessionHmacValid(secret, 'app.example', '1700000000', tokens, ''));
  });

  test('token cookies are encrypted and authenticated: a changed byte or another secret does not decrypt', () => {
    const enc = encryptValue(secret, 'eyJ.payload.sig');
    assert.notEqual(enc, encryptValue(secret, 'eyJ.payload.sig'), 'a fresh IV every time');
    assert.equal(decryptValue(secret, enc), 'eyJ.payload.sig');
    const flipped = enc.slice(0, -2) + (enc.at(-2) === 'A' ? 'B' : 'A') + enc.at(-1);
    assert.equal(decryptValue(secret, flipped), null);
    assert.equal(decryptValue('other', enc), null);
    assert.equal(decryptValue(secret, 'plain-token'), null);
  });

  const settings: SessionSettings = {
    cookieNames: DEFAULT_COOKIE_NAMES, cookieDomain: null,
    cookies: Object.fromEntries(Object.keys(DEFAULT_COOKIE_NAMES).map((k) => [k, { sameSite: 'LAX', path: '/', partitioned: false }])) as SessionSettings['cookies'],
    useRefreshToken: true, defaultRefreshTokenExpiresInS: 604800, disableIdTokenSetCookie: false, disableAccessTokenSetCookie: false,
    disableRefreshTokenSetCookie: false, disableTokenEncryption: true,
  };
  /** The cookies a browser would send back for a new session's Set-Cookie lines. */
  const jar = (lines: string[]) => new Map(lines.filter((l) => !l.includes('=deleted;')).map((l) => { const pair = l.split(';')[0]; const eq = pair.indexOf('='); return [pair.slice(0, eq), pair.slice(eq + 1)] as [string, string]; }));

  test('a new session reads back as valid, then expired inside the refresh margin; tampering makes it invalid', () => {
    const now = 1_700_000_000;
    const s = newSession(settings, { accessToken: 'at', idToken: 'id', refreshToken: 'rt', expiresIn: 3600 }, secret, 'app.example', now, new Map());
    for (const l of s.setCookies) assert.match(l, /; Path=\/; Max-Age=\d+; Secure; HttpOnly; SameSite=Lax$/);
    assert.match(s.setCookies.find((l) => l.startsWith('OauthHMAC='))!, /Max-Age=604800/, 'with a refresh token the session outlives the access token');
    const cookies = jar(s.setCookies);
    assert.equal(readSession(settings, cookies, secret, 'app.example', now).kind, 'valid');
    assert.equal(readSession(settings, cookies, secret, 'app.example', now + 3600 - REFRESH_MARGIN_S).kind, 'expired');
    assert.equal(readSession(settings, cookies, secret, 'other.example', now).kind, 'invalid');
    assert.equal(readSession(settings, new Map([...cookies, ['BearerToken', 'forged']]), secret, 'app.example', now).kind, 'invalid');
    assert.equal(readSession(settings, new Map(), secret, 'app.example', now).kind, 'none');
    const noRefresh = newSession(settings, { accessToken: 'at', idToken: '', refreshToken: '', expiresIn: 60 }, secret, 'app.example', now, new Map([['IdToken', 'old']]));
    assert.ok(noRefresh.setCookies.some((l) => l.startsWith('IdToken=deleted;')), 'a token no longer issued is deleted');
    assert.match(noRefresh.setCookies[0], /Max-Age=60;/);
    assert.equal(readSession(settings, jar(noRefresh.setCookies), secret, 'app.example', now + 59).kind, 'valid', 'no margin without a refresh token');
  });

  test('an ID token expiring before the access token bounds OauthExpires', () => {
    const now = 1_700_000_000;
    const jwt = ['e30', Buffer.from(JSON.stringify({ exp: now + 100 })).toString('base64url'), 'sig'].join('.');
    const s = newSession(settings, { accessToken: 'at', idToken: jwt, refreshToken: '', expiresIn: 3600 }, secret, 'app.example', now, new Map());
    assert.equal(s.expires, String(now + 100));
  });

  test('a huge expires_in is clamped: OauthExpires stays a readable timestamp', () => {
    const now = 1_700_000_000;
    const s = newSession(settings, { accessToken: 'at', idToken: '', refreshToken: '', expiresIn: 1e21 }, secret, 'app.example', now, new Map());
    assert.equal(s.expires, String(now + MAX_EXPIRES_IN_S));
    assert.equal(readSession(settings, jar(s.setCookies), secret, 'app.example', now).kind, 'valid');
    assert.ok(s.setCookies.every((l) => !/e\+/.test(l)), s.setCookies.join('\n'));
  });

  test('Set-Cookie lines carry Domain, SameSite and Partitioned as configured', () => {
    assert.equal(setCookie('IdToken', 'v', 60, { sameSite: 'NONE', path: '/app', partitioned: true }, 'example.com'),
      'IdToken=v; Domain=example.com; Path=/app; Max-Age=60; Secure; HttpOnly; SameSite=None; Partitioned');
    assert.equal(setCookie('IdToken', 'v', 60, { sameSite: 'DISABLED', path: '/', partitioned: false }, null), 'IdToken=v; Path=/; Max-Age=60; Secure; HttpOnly');
  });

  test('Cookie headers: every header and pair, first value wins', () => {
    const c = parseCookies(['a=1; b=2', 'a=3;c="q"']);
    assert.deepEqual([...c], [['a', '1'], ['b', '2'], ['c', 'q']]);
  });
});

describe('state, CSRF nonce and PKCE', () => {
  const secret = 'hmac-secret';

  test('the CSRF token is signed', () => {
    const now = 1_800_000_000;
    const t = newCsrfToken(secret, now);
    const [rand, at, sig] = t.split('.');
    assert.equal(checkCsrfToken(secret, t, now, 600), 'ok');
    assert.equal(checkCsrfToken('other', t, now, 600), 'invalid');
    assert.equal(checkCsrfToken(secret, `${rand}0.${at}.${sig}`, now, 600), 'invalid');
    assert.equal(checkCsrfToken(secret, 'nodot', now, 600), 'invalid');
  });

  test('the CSRF token carries its signed issue time and expires', () => {
    const now = 1_800_000_000;
    const t = newCsrfToken(secret, now - 601);
    assert.equal(checkCsrfToken(secret, t, now, 600), 'expired');
    assert.equal(checkCsrfToken(secret, newCsrfToken(secret, now - 599), now, 600), 'ok');
    const [rand, , sig] = t.split('.');
    assert.equal(checkCsrfToken(secret, `${rand}.${now}.${sig}`, now, 600), 'invalid', 'a changed issue time breaks the signature');
  });

  test('the state carries the original URL and the CSRF token, signed', () => {
    const st = encodeState(secret, 'https://app.example/orders?x=1', 'nonce.sig');
    assert.deepEqual(decodeState(secret, st), { ok: true, url: 'https://app.example/orders?x=1', csrfToken: 'nonce.sig' });
    const raw = JSON.parse(Buffer.from(st, 'base64url').toString()) as Record<string, string>;
    const forged = Buffer.from(JSON.stringify({ ...raw, url: 'https://evil.example/' })).toString('base64url');
    assert.match((decodeState(secret, forged) as { reason: string }).reason, /tampered state/);
    assert.match((decodeState(secret, 'not base64!') as { reason: string }).reason, /base64url/);
    assert.match((decodeState(secret, Buffer.from('[1]').toString('base64url')) as { reason: string }).reason, /lacks url/);
    assert.equal(decodeState('other', st).ok, false);
  });

  test('S256 code challenge matches RFC 7636 appendix B', () => {
    assert.equal(codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });
});

describe('return URL and redirect_uri', () => {
  const cases: [string, string | null][] = [
    ['https://app.example/orders?x=1', '/orders?x=1'],
    ['http://app.example/', '/'],
    ['/relative/path?q=1', '/relative/path?q=1'],
    ['https://evil.example/steal', null],
    ['https://app.example.evil.example/', null],
    ['https://app.example@evil.example/', null],
    ['https://user:pw@app.example/', null],
    ['//evil.example/x', null],
    ['https://app.example//evil.example/x', null],
    ['/\\evil.example', null],
    ['https://app.example/\\evil.example', null],
    ['javascript:alert(1)', null],
    ['data:text/html,hi', null],
    ['/ok\r\nset-cookie: x=1', null],
    ['relative/without/slash', null],
  ];
  for (const [url, want] of cases) {
    test(`${JSON.stringify(url)} → ${want ?? 'refused'}`, () => {
      const r = sameOriginPath(url, 'app.example');
      if (want === null) assert.equal(r.ok, false, JSON.stringify(r));
      else assert.deepEqual(r, { ok: true, path: want });
    });
  }

  test('redirect_uri: %REQ(a?b)% takes the first present header; other commands are refused', () => {
    const t = compileUriTemplate('%REQ(x-forwarded-proto?:scheme)%://%REQ(:authority)%/callback');
    assert.ok(typeof t !== 'string');
    const head = (headers: Record<string, string>): RequestHead => ({ method: 'GET', scheme: 'http', authority: 'app.example:8080', path: '/x', headers, protocol: 'HTTP/1.1' });
    assert.equal(formatUri(t, head({})), 'http://app.example:8080/callback');
    assert.equal(formatUri(t, head({ 'x-forwarded-proto': 'https' })), 'https://app.example:8080/callback');
    assert.match(compileUriTemplate('%START_TIME%') as string, /only %REQ\(header\)%/);
  });

  test('a Host with a default port is the same origin and the same session host', () => {
    assert.deepEqual(sameOriginPath('https://shop.example.com:443/cart?x=1', 'shop.example.com:443'), { ok: true, path: '/cart?x=1' });
    assert.deepEqual(sameOriginPath('https://shop.example.com/cart', 'Shop.Example.com:443'), { ok: true, path: '/cart' });
    assert.deepEqual(sameOriginPath('http://shop.example.com:80/a', 'shop.example.com'), { ok: true, path: '/a' });
    assert.equal(sameOriginPath('https://shop.example.com:8443/a', 'shop.example.com').ok, false);
    assert.equal(sessionHost('Shop.example.com:443'), 'shop.example.com');
    assert.equal(sessionHost('shop.example.com:80'), 'shop.example.com');
    assert.equal(sessionHost('[::1]:8443'), '[::1]:8443');
  });

  test('callback query parameters are decoded', () => {
    assert.deepEqual([...queryParams('/callback?code=a%2Bb&state=xy&error_description=access+denied')], [['code', 'a+b'], ['state', 'xy'], ['error_description', 'access denied']]);
  });
});

describe('secrets from file-based SDS', () => {
  const file = (body: string) => `resources:\n- "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret\n${body}`;

  test('inline_string, inline_bytes and environment_variable are read', () => {
    assert.equal(secretFromText(file('  name: t\n  generic_secret: { secret: { inline_string: s3cret } }\n'), 'f.yaml', 't'), 's3cret');
    assert.equal(secretFromText(file(`  name: t\n  generic_secret: { secret: { inline_bytes: ${Buffer.from('bytes').toString('base64')} } }\n`), 'f.yaml', 't'), 'bytes');
    process.env.PILOTFISH_TEST_OAUTH_SECRET = 'from-env';
    assert.equal(secretFromText(JSON.stringify({ resources: [{ name: 't', generic_secret: { secret: { environment_variable: 'PILOTFISH_TEST_OAUTH_SECRET' } } }] }), 'f.json', 't'), 'from-env');
  });

  test('a missing, empty or malformed secret is an error naming the file and field', () => {
    assert.throws(() => secretFromText(file('  name: t\n  generic_secret: { secret: { inline_string: x } }\n'), 'f.yaml', 'other'), /f.yaml: no Secret named "other"/);
    assert.throws(() => secretFromText(file('  name: t\n  generic_secret: { secret: { inline_string: "" } }\n'), 'f.yaml', 't'), /secret "t" is empty/);
    assert.throws(() => secretFromText(file('  name: t\n  tls_certificate: {}\n'), 'f.yaml', 't'), /has no generic_secret/);
    assert.throws(() => secretFromText('resources: 3', 'f.yaml', 't'), /expected \{resources: \[\.\.\.\]\}/);
    assert.throws(() => secretFromText(file('  name: t\n  generic_secret: { secret: { environment_variable: PILOTFISH_NOT_SET_X } }\n'), 'f.yaml', 't'), /PILOTFISH_NOT_SET_X is not set/);
  });
});

describe('secrets from static_resources.secrets (no sds_config)', () => {
  const io = { readFile: (): string => { throw new Error('no files'); } };
  const bootstrap = (secrets: unknown[], creds: Record<string, unknown> = { token_secret: { name: 'token' }, hmac_secret: { name: 'hmac' } }) => ({
    static_resources: {
      secrets,
      clusters: [{ name: 'idp', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'idp', endpoints: [] } }],
      listeners: [{
        name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 18080 } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: 'in',
          route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'idp' } }] }] },
          http_filters: [
            { name: 'envoy.filters.http.oauth2', typed_config: { '@type': TYPE, config: { ...base(), credentials: { client_id: 'web', ...creds } } } },
            { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
          ],
        } }] }],
      }],
    },
  });
  const generic = (name: string, value: string) => ({ name, generic_secret: { secret: { inline_string: value } } });
  const cases: [string, unknown[], Record<string, unknown> | undefined, string | null][] = [
    ['both secrets present', [generic('token', 't'), generic('hmac', 'h')], undefined, null],
    ['one from static, one from an SDS file', [generic('hmac', 'h')], { token_secret: sds('token'), hmac_secret: { name: 'hmac' } }, null],
    ['a missing static secret', [generic('token', 't')], undefined, 'credentials.hmac_secret: unknown static secret "hmac"'],
    ['a static secret that is a TLS certificate', [generic('token', 't'), { name: 'hmac', validation_context: { trusted_ca: { inline_string: 'x' } } }], undefined, 'credentials.hmac_secret: static secret "hmac" is not a generic_secret'],
  ];
  for (const [name, secrets, creds, error] of cases) {
    test(`bootstrap: ${name}`, () => {
      const r = compileBootstrap(bootstrap(secrets, creds), io);
      const messages = r.ok ? [] : r.errors.map((e) => `${e.field}: ${e.message}`);
      if (error === null) assert.deepEqual(messages, []);
      else assert.ok(messages.some((m) => m.includes(error)), JSON.stringify(messages));
    });
  }

  test('the filter reads the value from the SecretStore, and sees changes and removals', () => {
    const store = new SecretStore();
    const errors: string[] = [];
    const src = genericSecretSource({ name: 'hmac', path: null }, store, (m) => errors.push(m));
    assert.equal(src.value(), null);
    assert.match(src.error ?? '', /static_resources\.secrets has no generic_secret of that name/);
    store.set('hmac', { tlsCertificate: null, validationContext: null, genericSecret: 'h1' }, 'static');
    assert.equal(src.value(), 'h1');
    assert.equal(src.error, null);
    store.set('hmac', { tlsCertificate: null, validationContext: null, genericSecret: 'h2' }, 'static');
    assert.equal(src.value(), 'h2');
    store.delete('hmac');
    assert.equal(src.value(), null);
    assert.equal(errors.length, 2);
  });
});
