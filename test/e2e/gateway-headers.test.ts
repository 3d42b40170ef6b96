// Identity headers and claim trust end to end: a real control plane, a gateway with a JWT listener and a plain one sharing a route, and the backend's sidecar; forged identity headers never reach the app, claims count only from trusted issuers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ControlPlane } from '../../xds/control-plane.ts';
import { send } from '../helpers/http-client.ts';
import { startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { adsBootstrap, freePort, startMeshControlPlane } from '../helpers/mesh-control-plane.ts';
import { startSidecar, tempDir, type Sidecar } from '../helpers/sidecar.ts';
import { untilOk } from '../helpers/wait.ts';
import { jwks, signingKey, token, type SigningKey } from '../http-filters/jwt-fixtures.ts';

const ISSUER = 'https://login.example.com';
const SANDBOX = 'https://sandbox.local';

/**
 * orders and shop behind Gateway public: listener `web` (no policy) and `api` (JWT, x-user from sub) share their
 * routes; orders has claim rules, shop has no policy at all; namespace sandbox has its own provider.
 */
function inputs(corp: SigningKey, sandbox: SigningKey, partner: SigningKey): string {
  return `apiVersion: v1
kind: Service
metadata: {name: orders}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: toy, namespace: sandbox}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public}
spec:
  gatewayClassName: pilotfish
  listeners:
  - {name: web, port: 80, protocol: HTTP}
  - {name: api, port: 81, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: orders}
spec:
  parentRefs: [{name: public}]
  rules: [{matches: [{path: {type: PathPrefix, value: /orders}}], backendRefs: [{name: orders, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: public}]
  rules: [{matches: [{path: {type: PathPrefix, value: /shop}}], backendRefs: [{name: shop, port: 8080}]}]
---
apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: api-jwt}
spec:
  targetRefs: [{kind: Gateway, name: public, sectionName: api}]
  jwt:
    providers:
    - name: corp
      issuer: ${ISSUER}
      jwks: '${jwks(corp)}'
      forwardOriginalToken: true
      outputClaimToHeaders: [{header: x-user, claim: sub}]
---
apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: shop-partner}
spec:
  targetRefs: [{kind: HTTPRoute, name: shop}]
  jwt:
    required: false
    providers: [{name: partner, issuer: https://partner.example, jwks: '${jwks(partner)}'}]
---
apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: toy-jwt, namespace: sandbox}
spec:
  targetRefs: [{kind: Service, name: toy}]
  jwt:
    providers: [{name: mine, issuer: ${SANDBOX}, jwks: '${jwks(sandbox)}'}]
---
apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: orders}
spec:
  targetRef: {kind: Service, name: orders}
  authorization:
  - name: admins-delete
    action: ALLOW
    rules:
    - from: [{claims: {groups: admins}}]
      to: [{methods: [DELETE]}]
    - to: [{methods: [GET]}]
`;
}

let cp: ControlPlane;
let app: HttpUpstream;
let shopApp: HttpUpstream;
let gateway: Sidecar;
let backend: Sidecar;
let shopSidecar: Sidecar;
let shopInbound: string;
let web: string;
let api: string;
let inbound: string;
let corp: SigningKey;
let sandbox: SigningKey;
let partner: SigningKey;

/** What the app saw for the request carrying `x-test-id: id` (undefined: it never arrived). */
function seen(id: string): Record<string, string | string[] | undefined> | undefined {
  return [...app.seen, ...shopApp.seen].find((x) => x.headers['x-test-id'] === id)?.headers;
}

before(async () => {
  corp = await signingKey('RS256', 'corp-1');
  sandbox = await signingKey('RS256', 'sb-1');
  partner = await signingKey('RS256', 'partner-1');
  ({ cp } = await startMeshControlPlane(tempDir(), inputs(corp, sandbox, partner)));
  app = await startHttpEcho('orders-app');
  shopApp = await startHttpEcho('shop-app');
  const inboundPort = await freePort();
  const shopPort = await freePort();
  shopSidecar = await startSidecar(adsBootstrap(cp.xdsPort, 'shop-1', { service: 'shop', ports: { http: shopApp.port }, inboundPort: shopPort, outboundPort: 0 }));
  shopInbound = `http://127.0.0.1:${shopPort}`;
  const [webPort, apiPort] = [await freePort(), await freePort()];
  backend = await startSidecar(adsBootstrap(cp.xdsPort, 'orders-1', { service: 'orders', ports: { http: app.port }, inboundPort, outboundPort: 0 }));
  gateway = await startSidecar(adsBootstrap(cp.xdsPort, 'public-gw-1', { gateway: 'public', gatewayPorts: { 80: webPort, 81: apiPort } }));
  web = `http://127.0.0.1:${webPort}`;
  api = `http://127.0.0.1:${apiPort}`;
  inbound = `http://127.0.0.1:${inboundPort}`;
  for (const p of ['/orders/ready', '/shop/ready']) {
    await untilOk(() => send(`${web}${p}`), `the first request through the gateway to ${p}`);
  }
  await untilOk(() => send(`${shopInbound}/ready`), 'shop\'s inbound listener');
});

after(async () => {
  await gateway?.stop();
  await backend?.stop();
  await shopSidecar?.stop();
  await app?.close();
  await shopApp?.close();
  await cp?.close();
});

describe('identity headers cannot be forged', () => {
  it('on the gateway listener without a policy, a client\'s x-user is removed before the backend', async () => {
    const r = await send(`${web}/shop/1`, { headers: { 'x-user': 'admin', 'x-test-id': 'web-forged' } });
    assert.equal(r.status, 200, r.text);
    assert.ok(seen('web-forged'), 'the request reached the app');
    assert.equal(seen('web-forged')!['x-user'], undefined);
  });

  it('on the JWT listener the backend sees the token\'s subject, not the client\'s value', async () => {
    const t = await token(corp, { iss: ISSUER, sub: 'alice' });
    const r = await send(`${api}/shop/1`, { headers: { authorization: `Bearer ${t}`, 'x-user': 'admin', 'x-test-id': 'api-ok' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(seen('api-ok')!['x-user'], 'alice');
  });

  it('straight to a backend\'s sidecar (from inside the mesh): a forged x-user is removed, a forwarded token sets it again', async () => {
    const r = await send(`${shopInbound}/shop/2`, { headers: { 'x-user': 'admin', 'x-test-id': 'direct-forged' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(seen('direct-forged')!['x-user'], undefined);
    const t = await token(corp, { iss: ISSUER, sub: 'bob' });
    const ok = await send(`${shopInbound}/shop/2`, { headers: { authorization: `Bearer ${t}`, 'x-user': 'admin', 'x-test-id': 'direct-token' } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(seen('direct-token')!['x-user'], 'bob');
  });

  it('underscore variants (x_user) are refused with 400 at the gateway and at the sidecar', async () => {
    for (const [url, id] of [[web, 'web-underscore'], [shopInbound, 'direct-underscore']] as const) {
      const r = await send(`${url}/shop/3`, { headers: { x_user: 'admin', 'x-test-id': id } });
      assert.equal(r.status, 400, `${url}: ${r.status} ${r.text}`);
      assert.equal(seen(id), undefined);
    }
  });
});

describe('a route policy adds to the listener\'s authentication', () => {
  it('an optional JWT on route shop does not open it on the JWT listener: no token or only the route\'s token is 401, the listener\'s token passes', async () => {
    const none = await send(`${api}/shop/5`, { headers: { 'x-test-id': 'route-none' } });
    assert.equal(none.status, 401, none.text);
    const p = await token(partner, { iss: 'https://partner.example', sub: 'pat' });
    const only = await send(`${api}/shop/5`, { headers: { authorization: `Bearer ${p}`, 'x-test-id': 'route-partner' } });
    assert.equal(only.status, 401, only.text);
    assert.equal(seen('route-none'), undefined);
    assert.equal(seen('route-partner'), undefined);
    const t = await token(corp, { iss: ISSUER, sub: 'alice' });
    const ok = await send(`${api}/shop/5`, { headers: { authorization: `Bearer ${t}`, 'x-test-id': 'route-corp' } });
    assert.equal(ok.status, 200, ok.text);
  });
});

describe('claim rules trust only the providers that reach the workload', () => {
  it('a token with groups [admins] from another namespace\'s provider does not open DELETE; the gateway\'s provider does', async () => {
    const minted = await token(sandbox, { iss: SANDBOX, sub: 'nobody', groups: ['admins'] });
    const denied = await send(`${inbound}/orders/9`, { method: 'DELETE', headers: { authorization: `Bearer ${minted}`, 'x-test-id': 'sandbox-admin' } });
    assert.equal(denied.status, 403, denied.text);
    assert.equal(seen('sandbox-admin'), undefined);
    const real = await token(corp, { iss: ISSUER, sub: 'alice', groups: ['admins'] });
    const ok = await send(`${inbound}/orders/9`, { method: 'DELETE', headers: { authorization: `Bearer ${real}`, 'x-test-id': 'corp-admin' } });
    assert.equal(ok.status, 200, ok.text);
  });
});
