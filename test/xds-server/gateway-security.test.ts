// Security of the end-user authentication translation: IdP TLS names, plain-HTTP refusal, claim trust bound to issuers, identity-header stripping, same-namespace references and route policies adding to a listener's login.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type protobuf from 'protobufjs';
import { xdsProtoRoot } from '../../src/xds/protos.ts';
import { parseYamlText } from '../../xds/input/load-files.ts';
import { compileMesh, formatInputError } from '../../xds/input/mesh.ts';
import { announcementOf, MeshView } from '../../xds/translate/mesh-view.ts';
import { readNodeIdentity } from '../../xds/translate/node.ts';
import type { Json } from '../../xds/translate/resource.ts';
import { Translator, type NodeSnapshot } from '../../xds/translate/snapshot.ts';
import { assertKnownFields, service } from './fixtures.ts';

let root: protobuf.Root;
const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-secrets-'));
process.env.PILOTFISH_SECRET_DIR = secretDir;
const TYPES: Record<string, string> = { LDS: 'envoy.config.listener.v3.Listener', RDS: 'envoy.config.route.v3.RouteConfiguration', CDS: 'envoy.config.cluster.v3.Cluster' };
const JWKS = '{"keys": [{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}';

function errorsOf(yaml: string): string[] {
  const r = parseYamlText('in.yaml', yaml);
  const c = compileMesh(r.docs, r.errors);
  return c.ok ? [] : c.errors.map(formatInputError);
}

function snapshot(yaml: string, meta: Record<string, unknown>): NodeSnapshot {
  const r = parseYamlText('in.yaml', yaml);
  const c = compileMesh(r.docs, r.errors);
  if (!c.ok) throw new Error(c.errors.map(formatInputError).join('\n'));
  const anns = 'service' in meta ? [announcementOf(readNodeIdentity('a0', '', { pilotfish: meta }))!] : [];
  const s = new Translator(new MeshView(c.model, anns, { trustDomain: 'cluster.local', defaultMode: 'PERMISSIVE' })).snapshot(readNodeIdentity('n', '', { pilotfish: meta }));
  for (const t of ['LDS', 'RDS', 'CDS'] as const) for (const res of s.wildcard(t).values()) assertKnownFields(root, TYPES[t], res.body, `${t} ${res.name}`);
  return s;
}

function hcmOf(s: NodeSnapshot, listener: string, chain: string | null = null): Json {
  const l = s.wildcard('LDS').get(listener)!.body;
  const c = (l.filter_chains as Json[]).find((x) => chain === null || x.name === chain)!;
  return (c.filters as Json[])[0].typed_config as Json;
}

function jwtOf(h: Json): Json | undefined {
  return ((h.http_filters as Json[]).find((f) => f.name === 'envoy.filters.http.jwt_authn')?.typed_config as Json | undefined);
}

function expectError(yaml: string, re: RegExp): void {
  const errs = errorsOf(yaml);
  assert.ok(errs.some((e) => re.test(e)), `expected ${re} in:\n${errs.join('\n')}`);
}

const MESH = service('frontend', '[{name: http, port: 8080}]') + service('idp', '[{name: http, port: 9000}]', 'auth');
const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public}
spec:
  gatewayClassName: pilotfish
  listeners:
  - {name: web, port: 80, protocol: HTTP}
  - {name: shop, port: 443, protocol: HTTPS, hostname: shop.example.com, tls: {options: {pilotfish.io/certificate-file: /etc/x.crt, pilotfish.io/private-key-file: /etc/x.key}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: public}]
  hostnames: [shop.example.com]
  rules: [{backendRefs: [{name: frontend, port: 8080}]}]
---
apiVersion: v1
kind: Secret
metadata: {name: shop-oidc}
type: Opaque
stringData: {client-secret: s3cret}
---
`;
const oidc = (base: string, extra = '') => `apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: login}
spec:
  targetRefs: [{kind: Gateway, name: public, sectionName: shop}]
  oidc:
    issuer: ${base}
    authorizationEndpoint: ${base}/auth
    tokenEndpoint: ${base}/token
    jwksUri: ${base}/jwks
    clientId: shop
    clientSecret: {secretRef: {name: shop-oidc, key: client-secret}}
${extra}---
`;
const LOGIN = oidc('https://login.example.com');
const GW_NODE = { gateway: 'public' };
const FRONTEND_NODE = { service: 'frontend', ports: { http: 18081 }, inboundPort: 15006 };

describe('end-user authentication: security of the translation', () => {
  before(async () => {
    root = await xdsProtoRoot();
  });
  after(() => fs.rmSync(secretDir, { recursive: true, force: true }));

  it('IdP clusters require the certificate to name the host: a DNS SAN for a name, an IP SAN for an IP literal', () => {
    const s = snapshot(MESH + GATEWAY + LOGIN + `apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: api}
spec:
  targetRefs: [{kind: Gateway, name: public, sectionName: web}]
  jwt: {providers: [{name: ip, issuer: https://10.1.2.3, jwksUri: "https://10.1.2.3:8443/keys"}]}
`, GW_NODE);
    const vc = (name: string) => ((((s.wildcard('CDS').get(name)!.body.transport_socket as Json).typed_config as Json).common_tls_context as Json).validation_context as Json);
    assert.deepEqual(vc('outbound|443||login.example.com').match_typed_subject_alt_names, [{ san_type: 'DNS', matcher: { exact: 'login.example.com' } }]);
    assert.deepEqual(vc('outbound|443||login.example.com').trusted_ca, { filename: '/etc/ssl/certs/ca-certificates.crt' });
    assert.deepEqual(vc('outbound|8443||10.1.2.3').match_typed_subject_alt_names, [{ san_type: 'IP_ADDRESS', matcher: { exact: '10.1.2.3' } }]);
  });

  it('plain http:// IdP endpoints are refused unless they name a mesh Service or loopback, or the policy opts in with insecureHttp', () => {
    const errs = errorsOf(MESH + GATEWAY + oidc('http://login.example.com'));
    for (const f of ['authorizationEndpoint', 'tokenEndpoint', 'jwksUri']) {
      assert.ok(errs.some((e) => new RegExp(`\\(RequestAuthentication default/login\\): spec.oidc.${f}: "http://login.example.com/\\w+" is plain HTTP to a host outside the mesh`).test(e)), errs.join('\n'));
    }
    expectError(MESH + GATEWAY + `apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: api}
spec:
  targetRefs: [{kind: Gateway, name: public}]
  jwt: {providers: [{name: corp, issuer: https://i, jwksUri: "http://keys.example.com/jwks"}]}
`, /spec.jwt.providers\[0\].jwksUri: "http:\/\/keys.example.com\/jwks" is plain HTTP .* or set insecureHttp: true/);
    // A Service that does not exist (or not on that port) is not the mesh.
    assert.ok(errorsOf(MESH + GATEWAY + oidc('http://idp.auth.svc.cluster.local:9001')).some((e) => /spec.oidc.jwksUri: .* plain HTTP/.test(e)));
    assert.deepEqual(errorsOf(MESH + GATEWAY + oidc('http://login.example.com', '    insecureHttp: true\n')), []);
    assert.deepEqual(errorsOf(MESH + GATEWAY + oidc('http://idp.auth.svc.cluster.local:9000')), []);
    assert.deepEqual(errorsOf(MESH + GATEWAY + oidc('http://127.0.0.1:9000')), []);
    assert.deepEqual(errorsOf(MESH + GATEWAY + oidc('http://localhost:9000')), []);
  });

  it('references stay in the policy\'s namespace: targetRefs.namespace and secretRef.namespace elsewhere are errors', () => {
    expectError(MESH + GATEWAY + `apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: sneaky, namespace: sandbox}
spec:
  targetRefs: [{kind: HTTPRoute, name: shop, namespace: default}]
  jwt: {required: false, providers: [{name: x, issuer: https://sandbox.local, jwks: '${JWKS}'}]}
`, /\(RequestAuthentication sandbox\/sneaky\): spec.targetRefs\[0\].namespace: "default": a RequestAuthentication targets objects in its own namespace \("sandbox"\) only/);
    expectError(MESH + GATEWAY + LOGIN.replace('{secretRef: {name: shop-oidc, key: client-secret}}', '{secretRef: {name: shop-oidc, namespace: payments, key: client-secret}}'),
      /spec.oidc.clientSecret.secretRef.namespace: "payments": a Secret in another namespace cannot be referenced/);
  });

  it('a route policy adds to the listener\'s login (requires_all, login on); replaceListenerAuthentication replaces it, only from the Gateway\'s namespace', () => {
    const routeJwt = (extra: string, ns = 'default') => `apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: shop-api, namespace: ${ns}}
spec:
  targetRefs: [{kind: HTTPRoute, name: shop}]
${extra}  jwt:
    required: false
    providers: [{name: corp, issuer: https://corp.example.com, jwks: '${JWKS}'}]
---
`;
    const s = snapshot(MESH + GATEWAY + LOGIN + routeJwt(''), GW_NODE);
    const jwt = jwtOf(hcmOf(s, 'gateway|443', 'shop'))!;
    assert.deepEqual(jwt.requirement_map, {
      'HTTPRoute/default/shop': { requires_all: { requirements: [{ provider_name: 'default/login/oidc' }, { requires_any: { requirements: [{ provider_name: 'default/shop-api/corp' }, { allow_missing_or_failed: {} }] } }] } },
    });
    const perRoute = (snap: NodeSnapshot) => ((snap.wildcard('RDS').get('gateway|default/public|443|shop')!.body.virtual_hosts as Json[])[0].routes as Json[])[0].typed_per_filter_config as Json;
    assert.deepEqual(Object.keys(perRoute(s)), ['envoy.filters.http.jwt_authn'], 'the login stays on for the route');
    const r = snapshot(MESH + GATEWAY + LOGIN + routeJwt('  replaceListenerAuthentication: true\n'), GW_NODE);
    assert.deepEqual(jwtOf(hcmOf(r, 'gateway|443', 'shop'))!.requirement_map, {
      'HTTPRoute/default/shop': { requires_any: { requirements: [{ provider_name: 'default/shop-api/corp' }, { allow_missing: {} }] } },
    });
    assert.deepEqual(perRoute(r)['envoy.filters.http.oauth2'], { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', disabled: true });
    // A route in another namespace attached to this Gateway cannot turn its login off.
    const other = `${service('api', '[{name: http, port: 8080}]', 'team')}apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: team}
spec:
  parentRefs: [{name: public, namespace: default}]
  rules: [{backendRefs: [{name: api, port: 8080}]}]
---
`;
    expectError(MESH + GATEWAY + LOGIN + other + routeJwt('  replaceListenerAuthentication: true\n', 'team'),
      /\(RequestAuthentication team\/shop-api\): spec.replaceListenerAuthentication: HTTPRoute team\/shop is attached to Gateway default\/public: only a policy in the Gateway's namespace/);
  });

  it('identity headers of the login are removed on every listener of the Gateway without it (route config) and underscores refused', () => {
    const s = snapshot(MESH + GATEWAY + LOGIN, GW_NODE);
    const rds = (n: string) => s.wildcard('RDS').get(n)!.body;
    assert.deepEqual(rds('gateway|default/public|80').request_headers_to_remove, ['x-user-email', 'x-user-groups', 'x-user-sub']);
    // The login's listener sets them itself from the validated ID token (jwt_authn removes the client's values first).
    assert.equal(rds('gateway|default/public|443|shop').request_headers_to_remove, undefined);
    for (const [l, c] of [['gateway|80', null], ['gateway|443', 'shop']] as const) {
      assert.deepEqual(hcmOf(s, l, c).common_http_protocol_options, { headers_with_underscores_action: 'REJECT_REQUEST' }, l);
    }
    // A Gateway without any end-user authentication is unchanged.
    const plain = snapshot(MESH + GATEWAY, GW_NODE);
    assert.equal(plain.wildcard('RDS').get('gateway|default/public|80')!.body.request_headers_to_remove, undefined);
    assert.equal(hcmOf(plain, 'gateway|80').common_http_protocol_options, undefined);
  });

  it('a backend the login\'s routes reach validates the forwarded ID token and sets the headers itself; underscores refused', () => {
    const s = snapshot(MESH + GATEWAY + LOGIN, FRONTEND_NODE);
    const h = hcmOf(s, 'inbound|15006');
    const jwt = jwtOf(h)!;
    const p = (jwt.providers as Json)['default/login/oidc'] as Json;
    assert.deepEqual(p.from_cookies, ['IdToken']);
    assert.deepEqual((p.claim_to_headers as Json[]).map((c) => c.header_name), ['x-user-sub', 'x-user-email', 'x-user-groups']);
    assert.deepEqual(jwt.rules, [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'default/login/oidc' }, { allow_missing_or_failed: {} }] } } }]);
    assert.deepEqual(h.common_http_protocol_options, { headers_with_underscores_action: 'REJECT_REQUEST' });
    // Not reached by any route of the Gateway: nothing to guard, no filter.
    const other = snapshot(MESH + service('billing', '[{name: http, port: 8080}]') + GATEWAY + LOGIN, { service: 'billing', ports: { http: 18082 }, inboundPort: 15006 });
    assert.equal(jwtOf(hcmOf(other, 'inbound|15006')), undefined);
  });

  it('claim rules trust only providers that reach the workload, and the RBAC matcher requires their issuer', () => {
    const policy = (from: string) => `apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: frontend}
spec:
  targetRef: {kind: Service, name: frontend}
  authorization: {action: ALLOW, rules: [{from: [${from}]}]}
---
`;
    const sandbox = `${service('toy', '[{name: http, port: 8080}]', 'sandbox')}apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: toy-jwt, namespace: sandbox}
spec:
  targetRefs: [{kind: Service, name: toy}]
  jwt: {providers: [{name: mine, issuer: https://sandbox.local, jwks: '${JWKS}'}]}
---
`;
    // Only another namespace's provider exists: an error naming the policy, not a mesh-wide trust.
    expectError(MESH + sandbox + policy('{claims: {groups: admins}}'), /\(TrafficPolicy default\/frontend\): spec.authorization: rules on requestPrincipals or claims need a RequestAuthentication Service default\/frontend trusts/);
    // A Gateway and route owned by another namespace, with that route pointing at frontend, do not make frontend trust them.
    const evil = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: evil-gw, namespace: evil}
spec: {gatewayClassName: pilotfish, listeners: [{name: web, port: 80, protocol: HTTP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: grab, namespace: evil}
spec:
  parentRefs: [{name: evil-gw}]
  rules: [{backendRefs: [{name: frontend, namespace: default, port: 8080}]}]
---
apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: evil-login, namespace: evil}
spec:
  targetRefs: [{kind: Gateway, name: evil-gw}, {kind: HTTPRoute, name: grab}]
  jwt: {providers: [{name: mine, issuer: https://evil.example, jwks: '${JWKS}'}]}
---
`;
    expectError(MESH + evil + policy('{claims: {groups: admins}}'), /\(TrafficPolicy default\/frontend\): spec.authorization: rules on requestPrincipals or claims need/);
    // Naming the sandbox issuer does not help: only providers in the workload's namespace are trusted by issuer.
    expectError(MESH + sandbox + policy('{requestPrincipals: ["https://sandbox.local/*"], claims: {groups: admins}}'), /TrafficPolicy default\/frontend/);
    // With the Gateway's login reaching frontend: only that provider, and claims require its issuer.
    const s = snapshot(MESH + GATEWAY + LOGIN + sandbox + policy('{claims: {groups: admins}}'), FRONTEND_NODE);
    const filters = hcmOf(s, 'inbound|15006').http_filters as Json[];
    assert.deepEqual(Object.keys(jwtOf(hcmOf(s, 'inbound|15006'))!.providers as Json), ['default/login/oidc']);
    const rbac = filters.find((f) => f.name === 'envoy.filters.http.rbac.allow')!.typed_config as Json;
    const principal = (((rbac.rules as Json).policies as Record<string, Json>)['default.frontend.0'].principals as Json[])[0];
    const md = (claim: string, value: Json) => ({ metadata: { filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'jwt_payload' }, { key: claim }], value } });
    assert.deepEqual(principal, { and_ids: { ids: [
      md('iss', { string_match: { exact: 'https://login.example.com' } }),
      { or_ids: { ids: [md('groups', { string_match: { exact: 'admins' } }), md('groups', { list_match: { one_of: { string_match: { exact: 'admins' } } } })] } },
    ] } });
    // A same-namespace provider named by issuer in requestPrincipals is trusted too.
    const named = `apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: partner}
spec:
  targetRefs: [{kind: Service, name: idp, namespace: default}]
  jwt: {providers: [{name: p, issuer: https://partner.example, jwks: '${JWKS}'}]}
---
`;
    const t = snapshot(MESH.replace('metadata: {name: idp, namespace: auth}', 'metadata: {name: idp, namespace: default}') + named
      + policy('{requestPrincipals: ["https://partner.example/*"], claims: {groups: admins}}'), FRONTEND_NODE);
    assert.deepEqual(Object.keys(jwtOf(hcmOf(t, 'inbound|15006'))!.providers as Json), ['default/partner/p']);
  });
});
