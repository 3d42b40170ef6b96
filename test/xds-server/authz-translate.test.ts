// Translation tables for TrafficPolicy authorization: RBAC filter JSON (DENY then ALLOW), principals, permissions, port mapping and input errors.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type protobuf from 'protobufjs';
import { xdsProtoRoot } from '../../src/xds/protos.ts';
import { untranslated } from '../../xds/input/compile-inputs.ts';
import { parseYamlText } from '../../xds/input/load-files.ts';
import { compileMesh, formatInputError } from '../../xds/input/mesh.ts';
import type { MeshModel } from '../../xds/input/types.ts';
import { announcementOf, MeshView, type MeshSecurity } from '../../xds/translate/mesh-view.ts';
import { readNodeIdentity } from '../../xds/translate/node.ts';
import type { Json } from '../../xds/translate/resource.ts';
import { Translator } from '../../xds/translate/snapshot.ts';
import { assertKnownFields, service } from './fixtures.ts';

let root: protobuf.Root;

const MESH = service('payments', '[{name: http, port: 8080, targetPort: 8081}, {name: grpc, port: 9090, appProtocol: grpc}, {name: tcp-db, port: 5432}]', 'shop');
const NODE = { service: 'payments', namespace: 'shop', ports: { http: 18081, grpc: 19090, 'tcp-db': 15432 }, inboundPort: { http: 15006, grpc: 15007, 'tcp-db': 15008 } };
const RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';

function model(yaml: string): MeshModel {
  const r = parseYamlText('t.yaml', yaml);
  const c = compileMesh(r.docs, r.errors);
  if (!c.ok) throw new Error(c.errors.map(formatInputError).join('\n'));
  return c.model;
}

function authz(spec: string): string {
  return `${MESH}apiVersion: pilotfish.io/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: payments, namespace: shop}\nspec:\n  targetRef: {kind: Service, name: payments}\n${spec}\n`;
}

/** The inbound HCM http_filters of the payments sidecar on `listener` (its first chain). */
function filters(yaml: string, listener = 'inbound|15006', security: MeshSecurity | null = { trustDomain: 'cluster.local', defaultMode: 'PERMISSIVE' }): Json[] {
  const node = readNodeIdentity('p', '', { pilotfish: NODE });
  const t = new Translator(new MeshView(model(yaml), [announcementOf(node)!], security));
  const l = t.snapshot(node).wildcard('LDS').get(listener)!.body;
  assertKnownFields(root, 'envoy.config.listener.v3.Listener', l);
  const chains = l.filter_chains as Json[];
  const hcm = (chains[0].filters as Json[])[0].typed_config as Json;
  const list = (hcm.http_filters as Json[]) ?? [];
  for (const c of chains.slice(1)) assert.deepEqual(((c.filters as Json[])[0].typed_config as Json).http_filters, list, 'every chain enforces the same filters');
  return list;
}

function rules(f: Json): Json {
  assert.equal((f.typed_config as Json)['@type'], RBAC);
  return (f.typed_config as Json).rules as Json;
}

const ROUTER = 'envoy.filters.http.router';
const authn = (m: Json): Json => ({ authenticated: { principal_name: m } });
const method = (m: string): Json => ({ header: { name: ':method', string_match: { exact: m } } });

describe('authorization translation', () => {
  before(async () => {
    root = await xdsProtoRoot();
  });

  it('no authorization: only the router', () => {
    assert.deepEqual(filters(MESH).map((f) => f.name), [ROUTER]);
  });

  it('ALLOW only frontend: one ALLOW RBAC filter before the router, policy <ns>.<name>.<rule>', () => {
    const f = filters(authz('  authorization: {action: ALLOW, rules: [{from: [{principals: [spiffe://cluster.local/ns/default/sa/frontend]}]}]}'));
    assert.deepEqual(f.map((x) => x.name), ['envoy.filters.http.rbac.allow', ROUTER]);
    assert.deepEqual(rules(f[0]), {
      action: 'ALLOW',
      policies: { 'shop.payments.0': { permissions: [{ any: true }], principals: [authn({ exact: 'spiffe://cluster.local/ns/default/sa/frontend' })] } },
    });
  });

  it('DENY first, then ALLOW; every principal form; paths, methods, headers and ports', () => {
    const f = filters(authz(`  authorization:
  - name: no-admin
    action: DENY
    rules:
    - to: [{paths: [/admin/*]}]
    - from: [{namespaces: [untrusted]}]
  - name: callers
    action: ALLOW
    rules:
    - from:
      - principals: ["*"]
      - principals: [ns/default/sa/frontend, ns/ops/*, spiffe://other.org/ns/x/sa/y]
      - serviceAccounts: [checkout, default/web, batch/*]
        namespaces: [default, "*"]
      to:
      - methods: [GET, POST]
        paths: [/api, /api/*, "*.json", "*"]
        ports: [8080, 8081, 15006, 7777]
        headers: [{name: X-Tenant, value: acme}, {name: x-debug, value: "*"}, {name: x-v, value: "v1*"}, {name: x-s, value: "*-beta"}]
    - {}`));
    assert.deepEqual(f.map((x) => x.name), ['envoy.filters.http.rbac.deny', 'envoy.filters.http.rbac.allow', ROUTER]);
    assert.deepEqual(rules(f[0]), {
      action: 'DENY',
      policies: {
        'shop.no-admin.0': { permissions: [{ url_path: { path: { prefix: '/admin/' } } }], principals: [{ any: true }] },
        'shop.no-admin.1': { permissions: [{ any: true }], principals: [authn({ prefix: 'spiffe://cluster.local/ns/untrusted/' })] },
      },
    });
    const allow = rules(f[1]);
    assert.equal(allow.action, 'ALLOW');
    const p = (allow.policies as Record<string, Json>)['shop.callers.0'];
    assert.deepEqual(p.principals, [
      authn({ safe_regex: { regex: '.+' } }),
      { or_ids: { ids: [
        authn({ exact: 'spiffe://cluster.local/ns/default/sa/frontend' }),
        authn({ prefix: 'spiffe://cluster.local/ns/ops/' }),
        authn({ exact: 'spiffe://other.org/ns/x/sa/y' }),
      ] } },
      { and_ids: { ids: [
        { or_ids: { ids: [
          authn({ exact: 'spiffe://cluster.local/ns/shop/sa/checkout' }),
          authn({ exact: 'spiffe://cluster.local/ns/default/sa/web' }),
          authn({ prefix: 'spiffe://cluster.local/ns/batch/' }),
        ] } },
        { or_ids: { ids: [authn({ prefix: 'spiffe://cluster.local/ns/default/' }), authn({ safe_regex: { regex: '.+' } })] } },
      ] } },
    ]);
    assert.deepEqual(p.permissions, [{ and_rules: { rules: [
      { or_rules: { rules: [method('GET'), method('POST')] } },
      { or_rules: { rules: [
        { url_path: { path: { exact: '/api' } } }, { url_path: { path: { prefix: '/api/' } } }, { url_path: { path: { suffix: '.json' } } }, { any: true },
      ] } },
      // 8080 (Service port), 8081 (targetPort) and 15006 (the listener) all mean this listener; 7777 cannot match here.
      { or_rules: { rules: [{ destination_port: 15006 }, { destination_port: 7777 }] } },
      { header: { name: 'x-tenant', string_match: { exact: 'acme' } } },
      { header: { name: 'x-debug', present_match: true } },
      { header: { name: 'x-v', string_match: { prefix: 'v1' } } },
      { header: { name: 'x-s', string_match: { suffix: '-beta' } } },
    ] } }]);
    assert.deepEqual((allow.policies as Record<string, Json>)['shop.callers.1'], { permissions: [{ any: true }], principals: [{ any: true }] }, '{} matches every request');
  });

  it('ports map per listener: the gRPC listener turns 9090 into its own port; an ALLOW policy without rules allows nothing', () => {
    const yaml = authz(`  authorization:
  - {action: ALLOW, rules: [{to: [{ports: [9090], paths: ["/shop.Payments/*"]}]}]}
  - {action: ALLOW, rules: []}`);
    const grpc = filters(yaml, 'inbound|15007');
    assert.deepEqual(rules(grpc[0]).policies, {
      'shop.payments-0.0': {
        permissions: [{ and_rules: { rules: [{ url_path: { path: { prefix: '/shop.Payments/' } } }, { destination_port: 15007 }] } }],
        principals: [{ any: true }],
      },
    });
    const http = filters(yaml, 'inbound|15006');
    assert.deepEqual(((rules(http[0]).policies as Json)['shop.payments-0.0'] as { permissions: Json[] }).permissions,
      [{ and_rules: { rules: [{ url_path: { path: { prefix: '/shop.Payments/' } } }, { destination_port: 9090 }] } }], 'port 9090 is not this listener: never matches here');
    const none = filters(authz('  authorization: {action: ALLOW, rules: []}'));
    assert.deepEqual(rules(none[0]), { action: 'ALLOW', policies: {} });
    assert.deepEqual(filters(authz('  authorization: {action: DENY, rules: []}')).map((x) => x.name), [ROUTER], 'a DENY policy without rules denies nothing');
  });

  it('without mTLS in the mesh, authorization still applies (principals use cluster.local); TCP ports get none and are reported', () => {
    const yaml = authz('  authorization: {action: ALLOW, rules: [{from: [{serviceAccounts: [default/frontend]}]}]}');
    const f = filters(yaml, 'inbound|15006', null);
    assert.deepEqual(f.map((x) => x.name), ['envoy.filters.http.rbac.allow', ROUTER]);
    const node = readNodeIdentity('p', '', { pilotfish: NODE });
    const t = new Translator(new MeshView(model(yaml), [announcementOf(node)!], null));
    const tcp = t.snapshot(node).wildcard('LDS').get('inbound|15008')!.body;
    assert.equal(((tcp.filter_chains as Json[])[0].filters as Json[])[0].name, 'envoy.filters.network.tcp_proxy');
    assert.deepEqual(untranslated(model(yaml), true), ['TrafficPolicy shop/payments: spec.authorization does not apply to TCP port(s) 5432 (HTTP ports only)']);
  });

  it('input: one policy or a list, names, and every bad value named', () => {
    const ok = model(authz('  authorization: {action: DENY, rules: [{to: [{headers: [{name: X-A, value: b}]}]}]}'));
    assert.deepEqual(ok.policies.get('shop/payments')!.authorization, [{ name: 'payments', action: 'DENY', rules: [{ from: [], to: [{ methods: [], paths: [], ports: [], headers: [{ name: 'x-a', value: 'b' }] }] }] }]);
    const r = parseYamlText('t.yaml', authz(`  authorization:
  - name: a
    action: MAYBE
    rules:
    - from: [{principals: [frontend, "spiffe://x", ns/a/b], serviceAccounts: [a/b/c], namespaces: [Bad_NS]}]
      to: [{methods: [get], paths: [api, /a*b], headers: [{name: "bad header"}], hosts: [x]}]
  - {name: a, action: ALLOW, rules: []}`));
    const c = compileMesh(r.docs, r.errors);
    assert.equal(c.ok, false);
    const text = c.ok ? '' : c.errors.map(formatInputError).join('\n');
    for (const re of [
      /spec\.authorization\[0\]\.action: must be one of ALLOW, DENY, got "MAYBE"/,
      /spec\.authorization\[0\]\.rules\[0\]\.from\[0\]\.principals\[0\]: "frontend" is not a SPIFFE ID/,
      /principals\[1\]: "spiffe:\/\/x" is not a SPIFFE ID/,
      /principals\[2\]: "ns\/a\/b" is not a SPIFFE ID/,
      /serviceAccounts\[0\]: "a\/b\/c" is not "namespace\/name", "name" or "namespace\/\*"/,
      /namespaces\[0\]: "Bad_NS" is not a namespace name or "\*"/,
      /to\[0\]\.methods\[0\]: "get" is not an upper-case HTTP method/,
      /to\[0\]\.paths\[0\]: "api" is not a path/,
      /to\[0\]\.paths\[1\]: "\/a\*b" is not a path/,
      /to\[0\]\.headers\[0\]\.name: "bad header" is not a header name/,
      /to\[0\]\.headers\[0\]\.value: required/,
      /to\[0\]\.hosts: unknown or unsupported field "hosts"/,
      /spec\.authorization\[1\]\.name: duplicate authorization name "a"/,
    ]) assert.match(text, re);
  });
});
