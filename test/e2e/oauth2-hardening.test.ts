// OAuth2 filter edge cases against a scripted token endpoint: cookies on routes without login, refresh without ID token, huge expires_in, Host ports, stale nonces.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeState, encryptValue, newCsrfToken } from '../../src/policy/oauth2/session-crypto.ts';
import { bootstrap, httpConnectionManager, listener, route, routerFilter, staticCluster } from '../helpers/bootstrap.ts';
import { closeAll, startHttpEcho, type EchoReply, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { startSidecar, tempDir, type Sidecar } from '../helpers/sidecar.ts';
import { jwks, localProvider, signingKey, token, type SigningKey } from '../http-filters/jwt-fixtures.ts';

const OAUTH2_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.oauth2.v3.OAuth2';
const FILTER_CONFIG = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
const JWT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
const HMAC_SECRET = 'hmac-secret-for-hardening';

/** What the scripted token endpoint answers next, per grant type. */
const answers: { code: Record<string, unknown>; refresh: Record<string, unknown> } = { code: {}, refresh: {} };
const grants: string[] = [];
let idpServer: http.Server;
let app: HttpUpstream;
let sc: Sidecar;
let dir: string;
let key: SigningKey;

function oauth2(): object {
  const sds = (name: string) => ({ name, sds_config: { path_config_source: { path: path.join(dir, 'secrets.yaml') } } });
  const port = (idpServer.address() as net.AddressInfo).port;
  return {
    name: 'envoy.filters.http.oauth2',
    typed_config: {
      '@type': OAUTH2_TYPE,
      config: {
        token_endpoint: { uri: `http://127.0.0.1:${port}/token`, cluster: 'idp', timeout: '5s' },
        authorization_endpoint: 'https://idp.example/authorize',
        credentials: { client_id: 'web', token_secret: sds('token'), hmac_secret: sds('hmac') },
        redirect_uri: 'http://%REQ(:authority)%/callback',
        redirect_path_matcher: { path: { exact: '/callback' } },
        signout_path: { path: { exact: '/signout' } },
        use_refresh_token: true,
        auth_scopes: ['openid'],
      },
    },
  };
}

function jwtAuthn(): object {
  return { name: 'envoy.filters.http.jwt_authn', typed_config: { '@type': JWT_TYPE,
    providers: { idp: localProvider(jwks(key), { from_cookies: ['IdToken'] }) },
    rules: [{ match: { prefix: '/public/' } }, { match: { prefix: '/open/' } }, { match: { prefix: '/' }, requires: { provider_name: 'idp' } }] } };
}

function hcm(name: string, filters: object[]): object {
  return httpConnectionManager({
    statPrefix: name,
    accessLog: false,
    virtualHosts: [{ name: 'app', domains: ['*'], routes: [
      // OAuth2 without config turns the filter off on the route; FilterConfig{disabled} does so without running it at all.
      route({ prefix: '/public/' }, 'app', {}, { typed_per_filter_config: { 'envoy.filters.http.oauth2': { '@type': OAUTH2_TYPE } } }),
      route({ prefix: '/open/' }, 'app', {}, { typed_per_filter_config: { 'envoy.filters.http.oauth2': { '@type': FILTER_CONFIG, disabled: true } } }),
      route({ prefix: '/' }, 'app'),
    ] }],
    extra: { http_filters: [...filters, routerFilter] },
  });
}

before(async () => {
  dir = tempDir();
  key = await signingKey('RS256', 'k1');
  idpServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const grant = new URLSearchParams(body).get('grant_type') ?? '';
      grants.push(grant);
      const answer = grant === 'refresh_token' ? answers.refresh : answers.code;
      res.writeHead(200, { 'content-type': 'application/json' });
      // Written by hand so numbers such as 1e21 reach the filter as the provider wrote them.
      res.end('{' + Object.entries(answer).map(([k, v]) => `${JSON.stringify(k)}:${typeof v === 'number' ? String(v) : JSON.stringify(v)}`).join(',') + '}');
    });
  });
  await new Promise<void>((r) => idpServer.listen(0, '127.0.0.1', r));
  fs.writeFileSync(path.join(dir, 'secrets.yaml'), [
    'resources:',
    '- "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
    '  name: token',
    '  generic_secret: { secret: { inline_string: web-secret } }',
    '- "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
    '  name: hmac',
    `  generic_secret: { secret: { inline_bytes: ${Buffer.from(HMAC_SECRET).toString('base64')} } }`,
    '',
  ].join('\n'));
  app = await startHttpEcho('app');
  sc = await startSidecar(bootstrap(
    [listener('plain', [hcm('plain', [oauth2()])]), listener('composed', [hcm('composed', [oauth2(), jwtAuthn()])])],
    [staticCluster('app', [app.port]), staticCluster('idp', [(idpServer.address() as net.AddressInfo).port])],
  ));
});

after(async () => {
  await sc?.stop();
  await closeAll(app);
  await new Promise<void>((r) => idpServer.close(() => r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: string }

/** A browser's cookie jar for one site, and requests through the sidecar with an explicit Host. */
class Jar {
  readonly cookies = new Map<string, string>();
  readonly listenerName: string;
  readonly host: string;
  constructor(listenerName: string, host = 'app.example') {
    this.listenerName = listenerName;
    this.host = host;
  }

  send(target: string, extra: Record<string, string> = {}): Promise<Reply> {
    const headers: Record<string, string> = { host: this.host, ...extra };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') + (extra.cookie ? `; ${extra.cookie}` : '');
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: sc.port(this.listenerName), path: target, headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => {
          for (const line of res.headers['set-cookie'] ?? []) {
            const pair = line.split(';')[0]!;
            const eq = pair.indexOf('=');
            if (line.includes('=deleted;')) this.cookies.delete(pair.slice(0, eq));
            else this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
          }
          resolve({ status: res.statusCode!, headers: res.headers, body });
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Starts a login at `start` and comes back through the callback with a code; the callback's reply. */
  async login(start: string): Promise<Reply> {
    const first = await this.send(start);
    assert.equal(first.status, 302, `login start: ${first.status} ${first.body}`);
    const loc = new URL(String(first.headers.location));
    assert.equal(loc.origin + loc.pathname, 'https://idp.example/authorize');
    return this.send(`/callback?code=c1&state=${encodeURIComponent(loc.searchParams.get('state')!)}`);
  }
}

function echoed(r: Reply): EchoReply {
  assert.equal(r.status, 200, `expected the backend, got ${r.status} ${JSON.stringify(r.headers.location ?? r.body.slice(0, 200))}`);
  return JSON.parse(r.body) as EchoReply;
}

function cookieNames(header: unknown): string[] {
  return String(header ?? '').split(';').map((p) => p.trim().split('=')[0]!).filter((n) => n !== '');
}

const nowS = () => Math.floor(Date.now() / 1000);

describe('oauth2 hardening', { timeout: 60_000 }, () => {
  test('routes that disable the filter do not pass its cookies to the backend; other cookies stay', async () => {
    answers.code = { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, id_token: await token(key, { aud: 'api' }), refresh_token: 'rt-1' };
    const b = new Jar('plain');
    const cb = await b.login('/home');
    assert.equal(cb.status, 302);
    assert.equal(cb.headers.location, '/home');
    for (const name of ['OauthHMAC', 'OauthExpires', 'BearerToken', 'IdToken', 'RefreshToken']) assert.ok(b.cookies.has(name), `${name} set`);
    const inside = echoed(await b.send('/home', { cookie: 'theme=dark' }));
    assert.deepEqual(cookieNames(inside.headers.cookie).sort(), ['BearerToken', 'IdToken', 'theme']);
    for (const target of ['/public/logo.png', '/open/feed']) {
      const seen = echoed(await b.send(target, { cookie: 'theme=dark' }));
      assert.deepEqual(cookieNames(seen.headers.cookie), ['theme'], `${target}: ${String(seen.headers.cookie)}`);
    }
    const only = echoed(await new Jar('plain').send('/open/x', { cookie: 'OauthHMAC=x; RefreshToken=y' }));
    assert.equal(only.headers.cookie, undefined);
  });

  test('a refresh without id_token keeps the ID token cookie (jwt_authn still finds it)', async () => {
    // expires_in 1: inside the refresh margin, so the first request after the login refreshes.
    answers.code = { access_token: 'at-1', expires_in: 1, id_token: await token(key, { exp: nowS() + 3600 }), refresh_token: 'rt-1' };
    answers.refresh = { access_token: 'at-2', expires_in: 3600 };
    const b = new Jar('composed');
    const cb = await b.login('/profile');
    assert.equal(cb.status, 302);
    const refreshesBefore = grants.filter((g) => g === 'refresh_token').length;
    const seen = echoed(await b.send('/profile'));
    assert.equal(grants.filter((g) => g === 'refresh_token').length, refreshesBefore + 1, 'the session was refreshed');
    assert.ok(cookieNames(seen.headers.cookie).includes('IdToken'));
    assert.ok(b.cookies.has('IdToken'), 'the browser keeps an IdToken cookie');
    echoed(await b.send('/profile'));
  });

  test('a refresh without id_token whose kept ID token has expired sends the browser to log in', async () => {
    answers.code = { access_token: 'at-1', expires_in: 3600, id_token: await token(key, { exp: nowS() + 3 }), refresh_token: 'rt-1' };
    answers.refresh = { access_token: 'at-2', expires_in: 3600 };
    const b = new Jar('composed');
    assert.equal((await b.login('/profile')).status, 302);
    const res = await b.send('/profile');
    assert.equal(res.status, 302, `expected a login redirect, got ${res.status} ${res.body}`);
    assert.ok(String(res.headers.location).startsWith('https://idp.example/authorize'));
  });

  test('a huge expires_in does not make the session unreadable (no login loop)', async () => {
    answers.code = { access_token: 'at-1', expires_in: 1e21 };
    const b = new Jar('plain');
    assert.equal((await b.login('/big')).status, 302);
    assert.match(b.cookies.get('OauthExpires') ?? '', /^\d{1,12}$/);
    echoed(await b.send('/big'));
  });

  test('a Host with its default port keeps the return path and the session', async () => {
    answers.code = { access_token: 'at-1', expires_in: 3600 };
    const b = new Jar('plain', 'shop.example.com:80');
    const cb = await b.login('/cart?item=7');
    assert.equal(cb.status, 302);
    assert.equal(cb.headers.location, '/cart?item=7');
    echoed(await b.send('/cart?item=7'));
    const without = new Jar('plain', 'shop.example.com');
    for (const [k, v] of b.cookies) without.cookies.set(k, v);
    echoed(await without.send('/cart'));
  });

  test('a callback with a nonce older than csrf_token_expires_in is refused', async () => {
    answers.code = { access_token: 'at-1', expires_in: 3600 };
    const grantsBefore = grants.length;
    const nonce = newCsrfToken(HMAC_SECRET, nowS() - 601);
    const b = new Jar('plain');
    b.cookies.set('OauthNonce', nonce);
    b.cookies.set('OauthCodeVerifier', encryptValue(HMAC_SECRET, 'v'.repeat(43)));
    const state = encodeState(HMAC_SECRET, 'http://app.example/x', nonce);
    const res = await b.send(`/callback?code=c1&state=${state}`);
    assert.equal(res.status, 401);
    assert.equal(grants.length, grantsBefore, 'no code exchange');
    await sc.waitForLine((l) => l.includes('older than csrf_token_expires_in'), { stream: 'stderr', timeoutMs: 10_000 });
    const fresh = newCsrfToken(HMAC_SECRET, nowS());
    b.cookies.set('OauthNonce', fresh);
    const ok = await b.send(`/callback?code=c1&state=${encodeState(HMAC_SECRET, 'http://app.example/x', fresh)}`);
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.location, '/x');
  });
});
