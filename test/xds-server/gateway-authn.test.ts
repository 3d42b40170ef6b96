// Gateway translation: SNI chains per hostname with their certificates (Secret or file), route attachment, RequestAuthentication → oauth2/jwt_authn, claim rules → RBAC metadata, and input errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { writeAuthnSecrets } from '../../xds/input/authn-secrets.ts';
import { after, before, describe, it } from 'node:test';
import type protobuf from 'protobufjs';
import { xdsProtoRoot } from '../../src/xds/protos.ts';
import { parseYamlText } from '../../xds/input/load-files.ts';
import { compileMesh, formatInputError } from '../../xds/input/mesh.ts';
import { announcementOf, MeshView } from '../../xds/translate/mesh-view.ts';
import { readNodeIdentity } from '../../xds/translate/node.ts';
import type { Json } from '../../xds/translate/resource.ts';
import { Translator, type NodeSnapshot } from '../../xds/translate/snapshot.ts';
import { generateCert } from '../helpers/certs.ts';
import { formatConfigError } from '../../src/model/compile-context.ts';
import { compileCluster, compileListener, compileRouteConfiguration } from '../../src/model/compile-resources.ts';
import { decodeAny, encodeAny } from '../../src/xds/protos.ts';
import { TYPE_URLS } from '../../xds/translate/resource.ts';
import { assertKnownFields, service } from './fixtures.ts';

let root: protobuf.Root;
const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-secrets-'));
process.env.PILOTFISH_SECRET_DIR = secretDir;
const TYPES: Record<string, string> = { LDS: 'envoy.config.listener.v3.Listener', RDS: 'envoy.config.route.v3.RouteConfiguration', CDS: 'envoy.config.cluster.v3.Cluster' };

function errorsOf(yaml: string): string[] {
  const r = parseYamlText('in.yaml', yaml);
  const c = compileMesh(r.docs, r.errors);
  return c.ok ? [] : c.errors.map(formatInputError);
}

function snapshot(yaml: string, meta: Record<string, unknown>, announce: Record<string, unknown>[] = []): NodeSnapshot {
  const r = parseYamlText('in.yaml', yaml);
  const c = compileMesh(r.docs, r.errors);
  if (!c.ok) throw new Error(c.errors.map(formatInputError).join('\n'));
  const anns = announce.map((m, i) => announcementOf(readNodeIdentity(`a${i}`, '', { pilotfish: m }))!);
  const s = new Translator(new MeshView(c.model, anns, { trustDomain: 'cluster.local', defaultMode: 'PERMISSIVE' })).snapshot(readNodeIdentity('n', '', { pilotfish: meta }));
  for (const t of ['LDS', 'RDS', 'CDS'] as const) for (const res of s.wildcard(t).values()) assertKnownFields(root, TYPES[t], res.body, `${t} ${res.name}`);
  return s;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
function tlsSecret(name: string, cert: { cert: string; key: string }): string {
  return `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}}\ntype: kubernetes.io/tls\ndata: {tls.crt: ${b64(cert.cert)}, tls.key: ${b64(cert.key)}}\n---\n`;
}

const MESH = service('orders', '[{name: http, port: 8080}]') + service('api', '[{name: grpc, port: 9090, appProtocol: grpc}]');
const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public}
spec:
  gatewayClassName: pilotfish
  listeners:
  - {name: web, port: 80, protocol: HTTP}
  - {name: shop, port: 443, protocol: HTTPS, hostname: shop.example.com, tls: {certificateRefs: [{name: shop-tls}]}}
  - name: admin
    port: 443
    protocol: HTTPS
    hostname: admin.example.com
    tls: {options: {pilotfish.io/certificate-file: /etc/certs/admin.crt, pilotfish.io/private-key-file: /etc/certs/admin.key}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: public, sectionName: shop}]
  rules: [{backendRefs: [{name: orders, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: orders-api}
spec:
  parentRefs: [{name: public, port: 443}]
  hostnames: [shop.example.com, admin.example.com]
  rules: [{matches: [{path: {type: PathPrefix, value: /api}}], backendRefs: [{name: orders, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: api}
spec:
  parentRefs: [{name: public, sectionName: admin}]
  rules: [{matches: [{method: {service: shop.Api}}], backendRefs: [{name: api, port: 9090}]}]
---
`;

const CLIENT_SECRET = 'apiVersion: v1\nkind: Secret\nmetadata: {name: oidc}\nstringData: {client-secret: s3cret, hmac: 0123456789abcdef}\n---\n';
const LOGIN = `apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: login}
spec:
  targetRefs: [{kind: Gateway, name: public, sectionName: shop}]
  oidc:
    issuer: http://127.0.0.1:9000
    authorizationEndpoint: http://127.0.0.1:9000/auth
    tokenEndpoint: http://127.0.0.1:9000/token
    jwksUri: http://127.0.0.1:9000/jwks
    clientId: shop
    clientSecret: {secretRef: {name: oidc, key: client-secret}}
    hmacSecret: {secretRef: {name: oidc, key: hmac}}
    passThroughPaths: [/healthz, /public/*]
---
apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: api-jwt}
spec:
  targetRefs: [{kind: HTTPRoute, name: orders-api}]
  jwt:
    providers:
    - name: corp
      issuer: https://idp.example.com
      audiences: [orders]
      jwksUri: https://idp.example.com:8443/keys
      forwardOriginalToken: true
      outputClaimToHeaders: [{header: x-user, claim: sub}]
---
`;

/** Compiles every LDS/RDS/CDS resource with the sidecar's model (after a proto round trip, as over xDS). */
function compileAll(s: NodeSnapshot): void {
  // Files are read for real: the system CA bundle of an https IdP cluster; admin.crt/key do not exist here.
  const io = { readFile: (p: string) => fs.readFileSync(p, 'utf8') };
  for (const type of ['LDS', 'RDS', 'CDS'] as const) {
    for (const res of s.wildcard(type).values()) {
      const json = decodeAny(root, TYPE_URLS[type], encodeAny(root, TYPE_URLS[type], res.body).value);
      const out = type === 'LDS' ? compileListener(json, io) : type === 'RDS' ? compileRouteConfiguration(json, io) : compileCluster(json, io);
      if (!out.ok && type === 'LDS' && out.errors.every((e) => /admin\.(crt|key)/.test(formatConfigError(e)))) continue;
      assert.ok(out.ok, `${type} ${res.name}: ${out.ok ? '' : out.errors.map(formatConfigError).join('\n')}`);
    }
  }
}

function hcmOf(s: NodeSnapshot, listener: string, chain: string | null = null): Json {
  const l = s.wildcard('LDS').get(listener)!.body;
  const c = (l.filter_chains as Json[]).find((x) => chain === null || x.name === chain)!;
  return ((c.filters as Json[])[0].typed_config as Json);
}

describe('gateway translation', () => {
  before(async () => {
    root = await xdsProtoRoot();
  });
  after(() => fs.rmSync(secretDir, { recursive: true, force: true }));

  it('HTTPS on one port: one filter chain per hostname with server_names and its own certificate (Secret or files)', () => {
    const cert = generateCert({ dnsNames: ['shop.example.com'] });
    const s = snapshot(MESH + tlsSecret('shop-tls', cert) + GATEWAY, { gateway: 'public', gatewayPorts: { 80: 18080, 443: 18443 } });
    assert.deepEqual([...s.wildcard('LDS').keys()], ['gateway|80', 'gateway|443']);
    const l = s.wildcard('LDS').get('gateway|443')!.body;
    assert.deepEqual(l.address, { socket_address: { address: '127.0.0.1', port_value: 18443 } });
    assert.equal((l.listener_filters as Json[])[0].name, 'envoy.filters.listener.tls_inspector');
    const chains = l.filter_chains as Json[];
    assert.deepEqual(chains.map((c) => [c.name, c.filter_chain_match]), [['shop', { server_names: ['shop.example.com'] }], ['admin', { server_names: ['admin.example.com'] }]]);
    const certOf = (c: Json) => (((c.transport_socket as Json).typed_config as Json).common_tls_context as Json).tls_certificates as Json[];
    assert.equal((certOf(chains[0])[0].certificate_chain as Json).inline_string, cert.cert);
    assert.deepEqual(certOf(chains[1]), [{ certificate_chain: { filename: '/etc/certs/admin.crt' }, private_key: { filename: '/etc/certs/admin.key' } }]);
    cert.remove();
  });

  it('routes attach by sectionName and port; hostnames intersect; GRPCRoutes too; HTTP listener gets none of them', () => {
    const cert = generateCert({ dnsNames: ['shop.example.com'] });
    const s = snapshot(MESH + tlsSecret('shop-tls', cert) + GATEWAY, { gateway: 'public' });
    const names = (rc: string) => ((s.wildcard('RDS').get(rc)!.body.virtual_hosts as Json[]).flatMap((v) => (v.routes as Json[]).map((r) => `${v.name as string} ${r.name as string}`)));
    assert.deepEqual(names('gateway|default/public|443|shop'), ['shop.example.com default/orders-api/rule0/match0', 'shop.example.com default/shop/rule0/match0']);
    assert.deepEqual(names('gateway|default/public|443|admin'), ['admin.example.com default/api/rule0/match0', 'admin.example.com default/orders-api/rule0/match0']);
    assert.deepEqual(names('gateway|default/public|80'), []);
    assert.ok(s.wildcard('CDS').has('outbound|9090||api.default.svc.cluster.local'), 'GRPCRoute backend cluster');
    cert.remove();
  });

  it('traffic into the mesh is mTLS: the gateway\'s clusters present its own certificate and check the backend\'s identity', () => {
    const cert = generateCert({ dnsNames: ['shop.example.com'] });
    const s = snapshot(MESH + tlsSecret('shop-tls', cert) + GATEWAY, { gateway: 'public', serviceAccount: 'public-gw' },
      [{ service: 'orders', ports: { http: 18081 }, inboundPort: 15006 }]);
    const c = s.wildcard('CDS').get('outbound|8080||orders.default.svc.cluster.local')!.body;
    const tls = (c.transport_socket as Json).typed_config as Json;
    const ctx = tls.common_tls_context as Json;
    assert.equal((ctx.tls_certificate_sds_secret_configs as Json[])[0].name, 'default');
    assert.deepEqual(((ctx.combined_validation_context as Json).default_validation_context as Json).match_typed_subject_alt_names, [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/orders' } }]);
    cert.remove();
  });

  it('an OIDC login on one listener: oauth2 then jwt_authn reading the IdToken cookie; a JWT route requirement adds to the login there', () => {
    const cert = generateCert({ dnsNames: ['shop.example.com'] });
    const s = snapshot(MESH + tlsSecret('shop-tls', cert) + GATEWAY + CLIENT_SECRET + LOGIN, { gateway: 'public' });
    const shop = hcmOf(s, 'gateway|443', 'shop');
    const filters = shop.http_filters as Json[];
    assert.deepEqual(filters.map((f) => f.name), ['envoy.filters.http.oauth2', 'envoy.filters.http.jwt_authn', 'envoy.filters.http.router']);
    const oauth = ((filters[0].typed_config as Json).config as Json);
    assert.equal(oauth.authorization_endpoint, 'http://127.0.0.1:9000/auth');
    assert.deepEqual(oauth.token_endpoint, { uri: 'http://127.0.0.1:9000/token', cluster: 'outbound|9000||127.0.0.1', timeout: { seconds: 5 } });
    assert.equal(oauth.redirect_uri, 'https://%REQ(:authority)%/oauth2/callback');
    assert.deepEqual(oauth.redirect_path_matcher, { path: { exact: '/oauth2/callback' } });
    assert.deepEqual(oauth.auth_scopes, ['openid', 'email', 'profile']);
    const sds = (n: string) => ({ name: n, sds_config: { path_config_source: { path: path.join(secretDir, 'default.login.oauth2.yaml') }, resource_api_version: 'V3' } });
    assert.deepEqual((oauth.credentials as Json).token_secret, sds('default/login/token'));
    assert.deepEqual((oauth.credentials as Json).hmac_secret, sds('default/login/hmac'));
    const jwt = filters[1].typed_config as Json;
    const oidc = (jwt.providers as Json)['default/login/oidc'] as Json;
    assert.deepEqual(oidc.from_cookies, ['IdToken']);
    assert.deepEqual(oidc.audiences, ['shop']);
    assert.deepEqual(oidc.claim_to_headers, [
      { header_name: 'x-user-sub', claim_name: 'sub' }, { header_name: 'x-user-email', claim_name: 'email' }, { header_name: 'x-user-groups', claim_name: 'groups' },
    ]);
    assert.deepEqual(jwt.rules, [
      { match: { path: '/healthz' }, requires: { allow_missing: {} } },
      { match: { prefix: '/public/' }, requires: { allow_missing: {} } },
      { match: { prefix: '/' }, requires: { provider_name: 'default/login/oidc' } },
    ]);
    const corp = (jwt.providers as Json)['default/api-jwt/corp'] as Json;
    assert.equal(corp.forward, true);
    assert.equal(corp.payload_in_metadata, 'jwt_payload');
    assert.deepEqual((corp.remote_jwks as Json).http_uri, { uri: 'https://idp.example.com:8443/keys', cluster: 'outbound|8443||idp.example.com', timeout: { seconds: 5 } });
    // Both apply on the JWT route: the listener's login (oauth2 stays on) AND the route's provider.
    assert.deepEqual(jwt.requirement_map, {
      'HTTPRoute/default/orders-api': { requires_all: { requirements: [{ provider_name: 'default/login/oidc' }, { provider_name: 'default/api-jwt/corp' }] } },
    });
    const api = (s.wildcard('RDS').get('gateway|default/public|443|shop')!.body.virtual_hosts as Json[])[0].routes as Json[];
    assert.deepEqual(api[0].typed_per_filter_config, {
      'envoy.filters.http.jwt_authn': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig', requirement_name: 'HTTPRoute/default/orders-api' },
    });
    assert.equal(api[1].typed_per_filter_config, undefined, 'the login route has no per-route override');
    // The admin listener has no login: only jwt_authn (for the API route), no rules.
    const admin = hcmOf(s, 'gateway|443', 'admin');
    assert.deepEqual((admin.http_filters as Json[]).map((f) => f.name), ['envoy.filters.http.jwt_authn', 'envoy.filters.http.router']);
    assert.equal(((admin.http_filters as Json[])[0].typed_config as Json).rules, undefined);
    // The HTTP listener has neither.
    assert.deepEqual((hcmOf(s, 'gateway|80').http_filters as Json[]).map((f) => f.name), ['envoy.filters.http.router']);
    // IdP clusters: STATIC for an IP, STRICT_DNS with TLS (SNI, system CAs) for a name.
    const idp = s.wildcard('CDS').get('outbound|9000||127.0.0.1')!.body;
    assert.equal(idp.type, 'STATIC');
    const remote = s.wildcard('CDS').get('outbound|8443||idp.example.com')!.body;
    assert.equal(remote.type, 'STRICT_DNS');
    assert.equal(((remote.transport_socket as Json).typed_config as Json).sni, 'idp.example.com');
    cert.remove();
  });

  it('claim rules: RBAC principals AND the gateway identity with jwt payload metadata; the backend gets jwt_authn with allow_missing', () => {
    const yaml = `${MESH}apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public}
spec: {gatewayClassName: pilotfish, listeners: [{name: web, port: 80, protocol: HTTP}]}
---
apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: api-jwt}
spec:
  targetRefs: [{kind: Gateway, name: public}]
  jwt:
    required: false
    providers: [{name: corp, issuer: https://idp.example.com, jwks: '{"keys": [{"kty": "oct", "k": "AAAA"}]}', forwardOriginalToken: true}]
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
    - from: [{serviceAccounts: [public-gw], claims: {groups: admins}, requestPrincipals: ["https://idp.example.com/*"]}]
      to: [{methods: [DELETE], paths: [/orders/*]}]
    - to: [{methods: [GET]}]
`;
    const errs = errorsOf(yaml);
    assert.deepEqual(errs, []);
    const s = snapshot(yaml, { service: 'orders', ports: { http: 18081 }, inboundPort: 15006 }, [{ service: 'orders', ports: { http: 18081 }, inboundPort: 15006 }]);
    const hcm = hcmOf(s, 'inbound|15006', 'mtls');
    const filters = hcm.http_filters as Json[];
    assert.deepEqual(filters.map((f) => f.name), ['envoy.filters.http.jwt_authn', 'envoy.filters.http.rbac.allow', 'envoy.filters.http.router']);
    const jwt = filters[0].typed_config as Json;
    assert.deepEqual(Object.keys(jwt.providers as Json), ['default/api-jwt/corp']);
    assert.deepEqual(jwt.rules, [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'default/api-jwt/corp' }, { allow_missing_or_failed: {} }] } } }]);
    const policy = ((filters[1].typed_config as Json).rules as Json).policies as Record<string, Json>;
    const md = (claim: string, value: Json) => ({ metadata: { filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'jwt_payload' }, { key: claim }], value } });
    assert.deepEqual(policy['default.admins-delete.0'].principals, [{
      and_ids: {
        ids: [
          { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/public-gw' } } },
          { and_ids: { ids: [md('iss', { string_match: { exact: 'https://idp.example.com' } }), md('sub', { present_match: true })] } },
          md('iss', { string_match: { exact: 'https://idp.example.com' } }), // claims only from a trusted issuer
          { or_ids: { ids: [md('groups', { string_match: { exact: 'admins' } }), md('groups', { list_match: { one_of: { string_match: { exact: 'admins' } } } })] } },
        ],
      },
    }]);
    compileAll(s);
  });

  it('every resource of a gateway with a login, JWT routes and claim rules compiles with the sidecar model', () => {
    const cert = generateCert({ dnsNames: ['shop.example.com'] });
    const s = snapshot(MESH + tlsSecret('shop-tls', cert) + GATEWAY + CLIENT_SECRET + LOGIN, { gateway: 'public' });
    // Files the resources name are read for real: the system CA bundle of the IdP cluster; admin.crt/key do not exist here.
    compileAll(s);
    cert.remove();
  });

  it('writes the login\'s client secret and a generated HMAC key as an SDS file (0600), keeping the key across rewrites', () => {
    const cert = generateCert({ dnsNames: ['shop.example.com'] });
    const r = parseYamlText('in.yaml', MESH + tlsSecret('shop-tls', cert) + GATEWAY + CLIENT_SECRET + LOGIN.replace('    hmacSecret: {secretRef: {name: oidc, key: hmac}}\n', ''));
    cert.remove();
    const c = compileMesh(r.docs, r.errors);
    assert.ok(c.ok, c.ok ? '' : c.errors.map(formatInputError).join('\n'));
    assert.deepEqual(writeAuthnSecrets(c.model), []);
    const file = path.join(secretDir, 'default.login.oauth2.yaml');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const read = () => (YAML.parse(fs.readFileSync(file, 'utf8')) as { resources: { name: string; generic_secret: { secret: { inline_string: string } } }[] }).resources;
    const first = read();
    assert.deepEqual(first.map((x) => x.name), ['default/login/token', 'default/login/hmac']);
    assert.equal(first[0].generic_secret.secret.inline_string, 's3cret');
    assert.ok(first[1].generic_secret.secret.inline_string.length >= 32);
    writeAuthnSecrets(c.model);
    assert.deepEqual(read(), first, 'the generated HMAC key persists');
  });

  it('bad input: clear file/document/field errors', () => {
    const gw = MESH + GATEWAY.replace(/  - \{name: shop[\s\S]*?admin.key\}\}\n/, '');
    const ra = (spec: string) => `${gw}apiVersion: pilotfish.io/v1alpha1\nkind: RequestAuthentication\nmetadata: {name: bad}\nspec:\n${spec}\n`;
    const cases: [string, RegExp][] = [
      [ra('  targetRefs: [{kind: Gateway, name: nope}]\n  jwt: {providers: [{name: p, issuer: i, jwks: "{}"}]}'), /document \d+ \(RequestAuthentication default\/bad\): spec.targetRefs\[0\].name: no Gateway default\/nope/],
      [ra('  targetRefs: [{kind: Gateway, name: public, sectionName: x}]\n  jwt: {providers: [{name: p, issuer: i, jwksUri: http://a/k}]}'), /spec.targetRefs\[0\].sectionName: Gateway default\/public has no listener "x"/],
      [ra('  targetRefs: [{kind: Gateway, name: public}]\n  jwt: {providers: [{name: p, issuer: i}]}'), /spec.jwt.providers\[0\]: exactly one of jwksUri or jwks is required/],
      [ra('  targetRefs: [{kind: Gateway, name: public}]\n  jwt: {providers: [{name: p, issuer: i, jwksUri: "ftp://x/k"}]}'), /spec.jwt.providers\[0\].jwksUri: "ftp:\/\/x\/k" must be an http:\/\/ or https:\/\/ URL/],
      [ra('  targetRefs: [{kind: Gateway, name: public}]\n  jwt: {providers: [{name: p, issuer: i, jwks: "not json"}]}'), /spec.jwt.providers\[0\].jwks: not valid JSON/],
      [ra('  targetRefs: [{kind: Gateway, name: public}]'), /spec: at least one of jwt or oidc is required/],
      [ra('  targetRefs: [{kind: HTTPRoute, name: orders-api}]\n  oidc: {issuer: http://i, authorizationEndpoint: http://i/a, tokenEndpoint: http://i/t, jwksUri: http://i/j, clientId: c, clientSecret: {file: /s}}'), /spec.targetRefs\[0\].kind: an oidc login applies to a Gateway/],
      [ra('  targetRefs: [{kind: Gateway, name: public}]\n  oidc: {issuer: http://i, authorizationEndpoint: http://i/a, tokenEndpoint: http://i/t, jwksUri: http://i/j, clientId: c, clientSecret: {secretRef: {name: gone, key: k}}}'), /spec.oidc.clientSecret.secretRef.name: no Secret default\/gone of type Opaque/],
      [ra('  targetRefs: [{kind: Gateway, name: public}]\n  oidc: {issuer: http://i, authorizationEndpoint: http://i/a, tokenEndpoint: http://i/t, clientId: c, scopes: [email], clientSecret: {file: relative}}'), /spec.oidc.jwksUri: required/],
      [`${MESH}apiVersion: pilotfish.io/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: orders}\nspec:\n  targetRef: {kind: Service, name: orders}\n  authorization: {rules: [{from: [{claims: {groups: admins}}]}]}\n`, /\(TrafficPolicy default\/orders\): spec.authorization: rules on requestPrincipals or claims need a RequestAuthentication/],
      [`${MESH}apiVersion: pilotfish.io/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: orders}\nspec:\n  targetRef: {kind: Service, name: orders}\n  authorization: {rules: [{from: [{requestPrincipals: ["a b"], claims: {groups: 3}}]}]}\n`, /requestPrincipals\[0\]: "a b" is not "<issuer>\/<subject>"/],
      [MESH + GATEWAY.replace('{name: shop, port: 443, protocol: HTTPS, hostname: shop.example.com, tls: {certificateRefs: [{name: shop-tls}]}}', '{name: shop, port: 443, protocol: HTTPS, hostname: shop.example.com}'), /spec.listeners\[1\].tls.certificateRefs: an HTTPS listener needs a certificate/],
    ];
    for (const [yaml, re] of cases) {
      const errs = errorsOf(yaml);
      assert.ok(errs.some((e) => re.test(e)), `expected ${re} in:\n${errs.join('\n')}`);
    }
    const more = errorsOf(ra('  targetRefs: [{kind: Gateway, name: public}]\n  oidc: {issuer: http://i, authorizationEndpoint: http://i/a, tokenEndpoint: http://i/t, jwksUri: http://i/j, clientId: c, scopes: [email], clientSecret: {file: relative}}'));
    assert.ok(more.some((e) => /spec.oidc.scopes: must include "openid"/.test(e)), more.join('\n'));
    assert.ok(more.some((e) => /spec.oidc.clientSecret.file: "relative" must be an absolute path/.test(e)), more.join('\n'));
  });
});
