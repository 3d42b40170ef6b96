// The whole browser login through a Pilotfish gateway configured by the control plane (oauth2 + jwt_authn from a RequestAuthentication) against a live oidc-provider, into a mesh backend over mTLS.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ControlPlane } from '../../xds/control-plane.ts';
import { startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { adsBootstrap, freePort, startMeshControlPlane } from '../helpers/mesh-control-plane.ts';
import { Browser, startOidcProvider, type OidcProviderHandle } from '../helpers/oidc-provider.ts';
import { startSidecar, tempDir, type Sidecar } from '../helpers/sidecar.ts';
import { untilOk } from '../helpers/wait.ts';
import { send } from '../helpers/http-client.ts';


let idp: OidcProviderHandle;
let cp: ControlPlane;
let app: HttpUpstream;
let gateway: Sidecar;
let backend: Sidecar;
let entry: string;

describe('gateway OIDC login against a live OpenID provider', () => {
  before(async () => {
    const dir = tempDir();
    process.env.PILOTFISH_SECRET_DIR = path.join(dir, 'secrets');
    idp = await startOidcProvider({
      clients: [{ clientId: 'shop', clientSecret: 'shop-secret-0123456789', redirectUris: ['http://127.0.0.1/oauth2/callback'] }],
      users: [{ username: 'alice', password: 'pw', email: 'alice@example.com', groups: ['admins'] }, { username: 'bob', password: 'pw', email: 'bob@example.com', groups: ['staff'] }],
    });
    const mesh = await startMeshControlPlane(dir, `apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Secret
metadata: {name: shop-oidc}
stringData: {client-secret: shop-secret-0123456789}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public}
spec: {gatewayClassName: pilotfish, listeners: [{name: web, port: 80, protocol: HTTP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec: {parentRefs: [{name: public}], rules: [{backendRefs: [{name: web, port: 8080}]}]}
---
apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: login}
spec:
  targetRefs: [{kind: Gateway, name: public}]
  oidc:
    issuer: ${idp.issuer}
    authorizationEndpoint: ${idp.endpoints.authorization}
    tokenEndpoint: ${idp.endpoints.token}
    jwksUri: ${idp.endpoints.jwks}
    clientId: shop
    clientSecret: {secretRef: {name: shop-oidc, key: client-secret}}
    scopes: [openid, email, profile, groups]
    passThroughPaths: [/healthz]
---
apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: web}
spec:
  targetRef: {kind: Service, name: web}
  authorization:
    action: ALLOW
    rules:
    - from: [{serviceAccounts: [public-gw], claims: {groups: admins}, requestPrincipals: ["${idp.issuer}/*"]}]
      to: [{methods: [DELETE]}]
    - from: [{serviceAccounts: [public-gw]}]
      to: [{methods: [GET]}]
`, { ca: { tokens: { 'gateway-token-0123456789abcdef': { serviceAccount: 'public-gw' }, 'web-token-0123456789abcdef': { serviceAccount: 'web' } } } });
    cp = mesh.cp;
    app = await startHttpEcho('web-app');
    const inbound = await freePort();
    const gwPort = await freePort();
    entry = `http://127.0.0.1:${gwPort}`;
    backend = await startSidecar(adsBootstrap(cp.xdsPort, 'web-1', { service: 'web', ports: { http: app.port }, inboundPort: inbound, outboundPort: 0 }), { args: mesh.identity('web') });
    gateway = await startSidecar(adsBootstrap(cp.xdsPort, 'gw-1', { gateway: 'public', serviceAccount: 'public-gw', gatewayPorts: { 80: gwPort } }), { args: mesh.identity('public-gw') });
    await untilOk(() => new Browser().get(`${entry}/healthz`, { follow: false }), 'the pass-through path through the gateway');
  });

  after(async () => {
    await gateway?.stop();
    await backend?.stop();
    await app?.close();
    await cp?.close();
    await idp?.close();
  });

  it('a browser follows the whole login and the backend sees the user\'s headers (client-sent ones replaced), over mTLS from the gateway', async () => {
    const browser = new Browser();
    const page = await browser.get(`${entry}/account?x=1`, { headers: { 'x-user-sub': 'mallory' } });
    assert.match(page.url, /\/interaction\//, `expected the provider's login page, got ${page.status} ${page.url}`);
    const done = await idp.login(browser, page, 'alice');
    assert.equal(done.status, 200, done.text);
    const seen = JSON.parse(done.text) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/account?x=1');
    assert.equal(seen.headers['x-user-sub'], 'alice');
    assert.equal(seen.headers['x-user-email'], 'alice@example.com');
    // A list claim: the sidecar's jwt_authn sends it as given (e.g. "admins") or base64 of its JSON.
    const groups = String(seen.headers['x-user-groups']);
    assert.match(groups.includes('admins') ? groups : Buffer.from(groups, 'base64').toString('utf8'), /admins/);
    assert.match(seen.headers['x-forwarded-client-cert'], /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/public-gw$/);
    const again = await browser.get(`${entry}/again`, { headers: { 'x-user-sub': 'mallory' } });
    assert.equal(again.status, 200);
    assert.equal((JSON.parse(again.text) as { headers: Record<string, string> }).headers['x-user-sub'], 'alice', 'a forged identity header is replaced');
  });

  it('the backend\'s claim rule reads the forwarded ID token: DELETE for a user in group admins only', async () => {
    const del = async (user: string) => {
      const browser = new Browser();
      await idp.login(browser, await browser.get(`${entry}/`), user);
      // The browser's session cookies on a DELETE (what a page's fetch() would send).
      const cookie = ['IdToken', 'BearerToken', 'OauthHMAC', 'OauthExpires', 'RefreshToken'].map((n) => [n, browser.cookie('127.0.0.1', n)]).filter(([, v]) => v).map(([n, v]) => `${n}=${v}`).join('; ');
      return send(`${entry}/items/${user}`, { method: 'DELETE', headers: { cookie } });
    };
    assert.equal((await del('alice')).status, 200);
    const denied = await del('bob');
    assert.equal(denied.status, 403, denied.text);
    assert.match(denied.text, /RBAC: access denied/);
    assert.equal(app.seen.filter((x) => x.method === 'DELETE').map((x) => x.url).join(), '/items/alice');
  });

  it('a tampered session cookie is not accepted: back to the login, nothing reaches the backend', async () => {
    const browser = new Browser();
    await idp.login(browser, await browser.get(`${entry}/`), 'alice');
    const host = new URL(entry).hostname;
    browser.setCookie(host, 'IdToken', `${browser.cookie(host, 'IdToken')}x`);
    const before = app.seen.length;
    const r = await browser.get(`${entry}/tampered`, { follow: false });
    assert.ok(r.status === 302 || r.status === 401, `status ${r.status}`);
    assert.equal(app.seen.slice(before).filter((x) => x.url === '/tampered').length, 0);
  });

  it('sign-out clears the session: the next request goes to the login again', async () => {
    const browser = new Browser();
    await idp.login(browser, await browser.get(`${entry}/`), 'alice');
    await browser.get(`${entry}/oauth2/signout`, { follow: false });
    const r = await browser.get(`${entry}/after-signout`, { follow: false });
    assert.equal(r.status, 302);
    assert.match(String(r.headers.location), new RegExp(`^${idp.endpoints.authorization.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });
});
