// Table tests of RBAC matching (principals, permissions, and/or/not), engine actions and order, remote address, config validation, DYNAMIC_METADATA.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DownstreamConnectionInfo, RequestHead } from '../../src/http/exchange.ts';
import type { PeerCertificateInfo } from '../../src/listener/client-cert.ts';
import { grpcMessage, rbacAccessDenied } from '../../src/http/error-response.ts';
import { RBAC_DISABLED, type RbacFilterConfig } from '../../src/http/filters/rbac-config.ts';
import { RBAC_FILTER } from '../../src/http/filters/rbac-filter.ts';
import { compileHttpFilterConfig, validateHttpFilterConfig } from '../../src/http/filters/registry.ts';
import { compileJsonFormat, compileTextFormat, DEFAULT_JSON_FORMAT } from '../../src/observability/access-log-format.ts';
import type { AccessLogEntry } from '../../src/observability/types.ts';
import { decide, downstreamRemoteIp, ruleMatches, type RbacEngine, type RbacRequest, type RbacRule } from '../../src/policy/rbac.ts';

const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';

const FRONTEND = 'spiffe://cluster.local/ns/shop/sa/frontend';
const CART = 'spiffe://cluster.local/ns/shop/sa/cart';
const BILLING = 'spiffe://cluster.local/ns/billing/sa/api';

interface ReqOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string | string[]>;
  /** TLS connection (default: true when a certificate is given). */
  tls?: boolean;
  uris?: string[];
  dns?: string[];
  subject?: string;
  remote?: string;
  localAddress?: string;
  localPort?: number;
  sni?: string | null;
  /** What remoteIp() returns (default: the peer). */
  remoteIp?: string;
  /** Dynamic metadata of earlier filters. */
  md?: Record<string, Record<string, unknown>>;
}

function cert(o: ReqOptions): PeerCertificateInfo {
  return { sha256: 'x', subject: o.subject ?? '', uriSans: o.uris ?? [], dnsSans: o.dns ?? [], pem: () => '', chainPem: () => '' };
}

function req(o: ReqOptions = {}): RbacRequest {
  const hasCert = o.uris !== undefined || o.dns !== undefined || o.subject !== undefined;
  const tls = o.tls ?? hasCert;
  const connection: DownstreamConnectionInfo = {
    remoteAddress: o.remote ?? '10.1.2.3', remotePort: 40000, localAddress: o.localAddress ?? '10.0.0.5', localPort: o.localPort ?? 8080,
    tls, serverName: o.sni ?? null, peerUriSans: hasCert ? o.uris ?? [] : [], peerCertificate: hasCert ? cert(o) : null,
  };
  const head: RequestHead = {
    method: o.method ?? 'GET', scheme: tls ? 'https' : 'http', authority: 'shop.local', path: o.path ?? '/', headers: o.headers ?? {}, protocol: 'HTTP/1.1',
  };
  return { head, connection, remoteIp: () => o.remoteIp ?? connection.remoteAddress, dynamicMetadata: o.md ?? null };
}

/** What jwt_authn leaves with payload_in_metadata: payload. */
const JWT_MD = {
  'envoy.filters.http.jwt_authn': {
    payload: { iss: 'https://idp.example', sub: 'alice', groups: ['dev', 'admins'], org: { tenant: 't1' }, email_verified: true, level: 3, nothing: null },
  },
};

function jwtMd(path: string[], value: object): { metadata: object } {
  return { metadata: { filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'payload' }, ...path.map((key) => ({ key }))], value } };
}

function config(raw: object, perRoute = false): RbacFilterConfig {
  const c = compileHttpFilterConfig(RBAC_FILTER, raw, perRoute);
  assert.ok(c !== null, `config did not compile: ${JSON.stringify(validateHttpFilterConfig(perRoute ? PER_ROUTE_TYPE : RBAC_TYPE, raw, perRoute).errors)}`);
  return c;
}

function engine(rules: object): RbacEngine {
  const e = config({ rules }).rules;
  assert.ok(e !== null);
  return e;
}

/** A Principal compiled alone (inside an ALLOW policy with permission any). */
function principal(p: object): RbacRule {
  return engine({ policies: { p: { permissions: [{ any: true }], principals: [p] } } }).policies[0].principals[0];
}

/** A Permission compiled alone (principal any). */
function permission(p: object): RbacRule {
  return engine({ policies: { p: { permissions: [p], principals: [{ any: true }] } } }).policies[0].permissions[0];
}

const exact = (v: string) => ({ authenticated: { principal_name: { exact: v } } });

describe('principals', () => {
  const cases: [string, object, ReqOptions, boolean][] = [
    ['exact SPIFFE ID: same identity', exact(FRONTEND), { uris: [FRONTEND] }, true],
    ['exact SPIFFE ID: another service account', exact(FRONTEND), { uris: [CART] }, false],
    ['exact SPIFFE ID: plaintext', exact(FRONTEND), {}, false],
    ['exact SPIFFE ID: one of several URI SANs', exact(FRONTEND), { uris: ['spiffe://other/x', FRONTEND] }, true],
    ['namespace prefix: a service account in it', { authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/shop/' } } }, { uris: [CART] }, true],
    ['namespace prefix: another namespace', { authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/shop/' } } }, { uris: [BILLING] }, false],
    ['namespace prefix: a namespace that only starts the same', { authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/shop/' } } }, { uris: ['spiffe://cluster.local/ns/shopping/sa/x'] }, false],
    ['"*" (Istio: safe_regex .+): any identity', { authenticated: { principal_name: { safe_regex: { regex: '.+' } } } }, { uris: [BILLING] }, true],
    ['"*" (Istio: safe_regex .+): TLS without a client certificate', { authenticated: { principal_name: { safe_regex: { regex: '.+' } } } }, { tls: true }, false],
    ['"*" (Istio: safe_regex .+): plaintext', { authenticated: { principal_name: { safe_regex: { regex: '.+' } } } }, {}, false],
    ['regex for one namespace', { authenticated: { principal_name: { safe_regex: { regex: 'spiffe://cluster\\.local/ns/shop/sa/[a-z]+' } } } }, { uris: [CART] }, true],
    ['authenticated {}: any TLS connection, even without a client certificate (Envoy)', { authenticated: {} }, { tls: true }, true],
    ['authenticated {}: plaintext', { authenticated: {} }, {}, false],
    ['principal_name falls back to DNS SANs', exact('web.shop.svc'), { dns: ['web.shop.svc'] }, true],
    ['principal_name falls back to the subject', exact('CN=client,O=acme'), { subject: 'CN=client,O=acme' }, true],
    ['principal_name does not look at the subject for a URI match', exact('CN=client'), { uris: [FRONTEND], subject: 'CN=other' }, false],
    ['ignore_case', { authenticated: { principal_name: { exact: FRONTEND.toUpperCase(), ignore_case: true } } }, { uris: [FRONTEND] }, true],
    ['any: plaintext too', { any: true }, {}, true],
    ['direct_remote_ip in the block', { direct_remote_ip: { address_prefix: '10.1.0.0', prefix_len: 16 } }, { remote: '10.1.2.3' }, true],
    ['direct_remote_ip outside', { direct_remote_ip: { address_prefix: '10.2.0.0', prefix_len: 16 } }, { remote: '10.1.2.3' }, false],
    ['direct_remote_ip: IPv4-mapped peer address', { direct_remote_ip: { address_prefix: '127.0.0.0', prefix_len: 8 } }, { remote: '::ffff:127.0.0.1' }, true],
    ['source_ip (deprecated) is the peer', { source_ip: { address_prefix: '10.1.2.3', prefix_len: 32 } }, { remote: '10.1.2.3' }, true],
    ['remote_ip uses the derived remote address', { remote_ip: { address_prefix: '203.0.113.0', prefix_len: 24 } }, { remote: '10.1.2.3', remoteIp: '203.0.113.9' }, true],
    ['remote_ip: peer only in direct_remote_ip', { remote_ip: { address_prefix: '10.1.2.3', prefix_len: 32 } }, { remote: '10.1.2.3', remoteIp: '203.0.113.9' }, false],
    ['IPv6 block, IPv4 peer', { direct_remote_ip: { address_prefix: '::', prefix_len: 0 } }, { remote: '10.1.2.3' }, false],
    ['IPv6 block', { direct_remote_ip: { address_prefix: 'fd00::', prefix_len: 8 } }, { remote: 'fd12::1' }, true],
    ['header', { header: { name: 'x-caller', string_match: { exact: 'batch' } } }, { headers: { 'x-caller': 'batch' } }, true],
    ['url_path', { url_path: { path: { prefix: '/public/' } } }, { path: '/public/a?x=1' }, true],
    ['not_id', { not_id: exact(FRONTEND) }, { uris: [CART] }, true],
    ['not_id: the negated one', { not_id: exact(FRONTEND) }, { uris: [FRONTEND] }, false],
    ['and_ids: all', { and_ids: { ids: [exact(FRONTEND), { direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }] } }, { uris: [FRONTEND], remote: '10.9.9.9' }, true],
    ['and_ids: one fails', { and_ids: { ids: [exact(FRONTEND), { direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }] } }, { uris: [FRONTEND], remote: '192.168.0.1' }, false],
    ['or_ids: either', { or_ids: { ids: [exact(FRONTEND), exact(CART)] } }, { uris: [CART] }, true],
    ['or_ids: neither', { or_ids: { ids: [exact(FRONTEND), exact(CART)] } }, { uris: [BILLING] }, false],
    ['metadata: groups list has admins', jwtMd(['groups'], { list_match: { one_of: { string_match: { exact: 'admins' } } } }), { md: JWT_MD }, true],
    ['metadata: groups list lacks root', jwtMd(['groups'], { list_match: { one_of: { string_match: { exact: 'root' } } } }), { md: JWT_MD }, false],
    ['metadata: nested string (iss)', jwtMd(['iss'], { string_match: { prefix: 'https://idp' } }), { md: JWT_MD }, true],
    ['metadata: deeper path', jwtMd(['org', 'tenant'], { string_match: { exact: 't1' } }), { md: JWT_MD }, true],
    ['metadata: no metadata at all', jwtMd(['sub'], { present_match: true }), {}, false],
    ['metadata: present', jwtMd(['sub'], { present_match: true }), { md: JWT_MD }, true],
    ['metadata: present_match false never matches', jwtMd(['nope'], { present_match: false }), { md: JWT_MD }, false],
    ['metadata: invert', { metadata: { filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'payload' }, { key: 'sub' }], value: { string_match: { exact: 'bob' } }, invert: true } }, { md: JWT_MD }, true],
    ['metadata: bool', jwtMd(['email_verified'], { bool_match: true }), { md: JWT_MD }, true],
    ['metadata: double range', jwtMd(['level'], { double_match: { range: { start: 1, end: 5 } } }), { md: JWT_MD }, true],
    ['metadata: double exact misses', jwtMd(['level'], { double_match: { exact: 4 } }), { md: JWT_MD }, false],
    ['metadata: null', jwtMd(['nothing'], { null_match: {} }), { md: JWT_MD }, true],
    ['metadata: or_match', jwtMd(['sub'], { or_match: { value_matchers: [{ string_match: { exact: 'bob' } }, { string_match: { exact: 'alice' } }] } }), { md: JWT_MD }, true],
    ['metadata: another filter namespace', { metadata: { filter: 'other', path: [{ key: 'payload' }], value: { present_match: true } } }, { md: JWT_MD }, false],
    ['sourced_metadata (DYNAMIC)', { sourced_metadata: { metadata_matcher: jwtMd(['sub'], { string_match: { exact: 'alice' } }).metadata } }, { md: JWT_MD }, true],
  ];
  for (const [name, p, o, want] of cases) {
    test(name, () => assert.equal(ruleMatches(principal(p), req(o)), want));
  }
});

describe('permissions', () => {
  const method = (m: string) => ({ header: { name: ':method', string_match: { exact: m } } });
  const cases: [string, object, ReqOptions, boolean][] = [
    [':method header', method('GET'), { method: 'GET' }, true],
    [':method header: other method', method('GET'), { method: 'POST' }, false],
    [':method legacy exact_match', { header: { name: ':method', exact_match: 'DELETE' } }, { method: 'DELETE' }, true],
    [':path header includes the query', { header: { name: ':path', string_match: { exact: '/api?x=1' } } }, { path: '/api?x=1' }, true],
    [':path header with prefix', { header: { name: ':path', string_match: { prefix: '/api/' } } }, { path: '/api/v1' }, true],
    [':authority header', { header: { name: ':authority', string_match: { suffix: '.local' } } }, {}, true],
    ['url_path ignores the query', { url_path: { path: { exact: '/api' } } }, { path: '/api?x=1' }, true],
    ['url_path ignores a fragment', { url_path: { path: { exact: '/api' } } }, { path: '/api#top' }, true],
    ['url_path prefix: outside', { url_path: { path: { prefix: '/admin' } } }, { path: '/api/admin' }, false],
    ['url_path regex', { url_path: { path: { safe_regex: { regex: '/items/[0-9]+' } } } }, { path: '/items/42' }, true],
    ['url_path regex is a full match', { url_path: { path: { safe_regex: { regex: '/items/[0-9]+' } } } }, { path: '/items/42/x' }, false],
    ['header present_match', { header: { name: 'authorization', present_match: true } }, { headers: { authorization: 'Bearer x' } }, true],
    ['header present_match: absent', { header: { name: 'authorization', present_match: true } }, {}, false],
    ['header invert_match', { header: { name: 'x-env', string_match: { exact: 'prod' }, invert_match: true } }, { headers: { 'x-env': 'dev' } }, true],
    ['header with several values joined by ","', { header: { name: 'x-v', string_match: { exact: 'a,b' } } }, { headers: { 'x-v': ['a', 'b'] } }, true],
    ['header names are case-insensitive', { header: { name: 'X-Caller', string_match: { exact: 'batch' } } }, { headers: { 'x-caller': 'batch' } }, true],
    ['destination_port', { destination_port: 8080 }, { localPort: 8080 }, true],
    ['destination_port: other', { destination_port: 9090 }, { localPort: 8080 }, false],
    ['destination_port_range [8000, 8081)', { destination_port_range: { start: 8000, end: 8081 } }, { localPort: 8080 }, true],
    ['destination_port_range end is exclusive', { destination_port_range: { start: 8000, end: 8080 } }, { localPort: 8080 }, false],
    ['destination_ip', { destination_ip: { address_prefix: '10.0.0.0', prefix_len: 24 } }, { localAddress: '10.0.0.5' }, true],
    ['requested_server_name', { requested_server_name: { exact: 'shop.example' } }, { sni: 'shop.example', tls: true }, true],
    ['requested_server_name without SNI matches ""', { requested_server_name: { exact: '' } }, {}, true],
    ['any', { any: true }, {}, true],
    ['and_rules: GET under /api', { and_rules: { rules: [method('GET'), { url_path: { path: { prefix: '/api' } } }] } }, { method: 'GET', path: '/api/x' }, true],
    ['and_rules: POST under /api', { and_rules: { rules: [method('GET'), { url_path: { path: { prefix: '/api' } } }] } }, { method: 'POST', path: '/api/x' }, false],
    ['or_rules: port 80 or 8080', { or_rules: { rules: [{ destination_port: 80 }, { destination_port: 8080 }] } }, { localPort: 8080 }, true],
    ['not_rule: not under /admin', { not_rule: { url_path: { path: { prefix: '/admin' } } } }, { path: '/shop' }, true],
    ['not_rule: under /admin', { not_rule: { url_path: { path: { prefix: '/admin' } } } }, { path: '/admin/x' }, false],
    ['nested: GET and not (/admin or port 9000)', {
      and_rules: { rules: [method('GET'), { not_rule: { or_rules: { rules: [{ url_path: { path: { prefix: '/admin' } } }, { destination_port: 9000 }] } } }] },
    }, { method: 'GET', path: '/x', localPort: 8080 }, true],
    ['metadata in a permission: DELETE by an admin', { and_rules: { rules: [method('DELETE'), jwtMd(['groups'], { list_match: { one_of: { string_match: { exact: 'admins' } } } })] } }, { method: 'DELETE', md: JWT_MD }, true],
    ['metadata in a permission: no metadata', jwtMd(['groups'], { list_match: { one_of: { string_match: { exact: 'admins' } } } }), { method: 'DELETE' }, false],
  ];
  for (const [name, p, o, want] of cases) {
    test(name, () => assert.equal(ruleMatches(permission(p), req(o)), want));
  }
});

describe('engine actions and policy order', () => {
  const policies = {
    'shop-readers': { permissions: [{ header: { name: ':method', string_match: { exact: 'GET' } } }], principals: [{ authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/shop/' } } }] },
    'frontend-all': { permissions: [{ any: true }], principals: [exact(FRONTEND)] },
  };

  test('ALLOW: a matching policy allows and is named; none matching denies with no policy', () => {
    const e = engine({ action: 'ALLOW', policies });
    assert.deepEqual(decide(e, req({ uris: [CART], method: 'GET' })), { allowed: true, policy: 'shop-readers' });
    assert.deepEqual(decide(e, req({ uris: [CART], method: 'POST' })), { allowed: false, policy: null });
    assert.deepEqual(decide(e, req({ uris: [BILLING] })), { allowed: false, policy: null });
  });

  test('policies are tried in name order: the first by name is reported', () => {
    const e = engine({ action: 'ALLOW', policies });
    assert.deepEqual(e.policies.map((p) => p.name), ['frontend-all', 'shop-readers']);
    assert.deepEqual(decide(e, req({ uris: [FRONTEND], method: 'GET' })), { allowed: true, policy: 'frontend-all' });
  });

  test('DENY: a match denies and is named; no match allows', () => {
    const e = engine({ action: 'DENY', policies });
    assert.deepEqual(decide(e, req({ uris: [FRONTEND], method: 'DELETE' })), { allowed: false, policy: 'frontend-all' });
    assert.deepEqual(decide(e, req({ uris: [BILLING] })), { allowed: true, policy: null });
  });

  test('LOG: always allowed, the match is reported', () => {
    const e = engine({ action: 'LOG', policies });
    assert.deepEqual(decide(e, req({ uris: [FRONTEND] })), { allowed: true, policy: 'frontend-all' });
    assert.deepEqual(decide(e, req()), { allowed: true, policy: null });
  });

  test('rules present but no policies: ALLOW denies everything, DENY allows everything', () => {
    assert.equal(decide(engine({}), req()).allowed, false, 'action defaults to ALLOW');
    assert.equal(decide(engine({ action: 'DENY' }), req()).allowed, true);
  });

  test('a policy needs a matching permission AND a matching principal', () => {
    const e = engine({ policies: { p: { permissions: [{ destination_port: 1 }, { destination_port: 8080 }], principals: [exact(CART), exact(FRONTEND)] } } });
    assert.equal(decide(e, req({ uris: [FRONTEND], localPort: 8080 })).allowed, true);
    assert.equal(decide(e, req({ uris: [FRONTEND], localPort: 9 })).allowed, false);
    assert.equal(decide(e, req({ uris: [BILLING], localPort: 8080 })).allowed, false);
  });

  test('Istio layering: a DENY engine first, then an ALLOW engine', () => {
    const deny = engine({ action: 'DENY', policies: { 'no-delete': { permissions: [{ header: { name: ':method', string_match: { exact: 'DELETE' } } }], principals: [{ any: true }] } } });
    const allow = engine({ action: 'ALLOW', policies: { 'shop-only': { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/shop/' } } }] } } });
    const chain = (r: RbacRequest) => {
      const d = decide(deny, r);
      return d.allowed ? decide(allow, r) : d;
    };
    assert.deepEqual(chain(req({ uris: [FRONTEND], method: 'DELETE' })), { allowed: false, policy: 'no-delete' }, 'DENY wins over ALLOW');
    assert.deepEqual(chain(req({ uris: [FRONTEND] })), { allowed: true, policy: 'shop-only' });
    assert.deepEqual(chain(req({ uris: [BILLING] })), { allowed: false, policy: null });
  });
});

describe('filter configs', () => {
  test('no rules: nothing enforced (a warning); shadow rules compile separately with their prefixes', () => {
    const c = config({ shadow_rules: { action: 'DENY', policies: {} }, shadow_rules_stat_prefix: 'dry_run_', rules_stat_prefix: 'main_' });
    assert.equal(c.rules, null);
    assert.equal(c.shadowRules?.action, 'DENY');
    assert.equal(c.shadowRulesStatPrefix, 'dry_run_');
    assert.equal(c.rulesStatPrefix, 'main_');
    assert.match(validateHttpFilterConfig(RBAC_TYPE, {}).warnings[0].message, /neither rules nor shadow_rules/);
  });

  test('a metadata matcher on a namespace no Pilotfish filter fills (Istio\'s istio_authn) is accepted with a warning saying it never matches', () => {
    const policy = (filter: string) => ({ rules: { action: 'ALLOW', policies: { p: { permissions: [{ any: true }], principals: [{ metadata: { filter, path: [{ key: 'request.auth.principal' }], value: { string_match: { exact: 'iss/sub' } } } }] } } } });
    const istio = validateHttpFilterConfig(RBAC_TYPE, policy('istio_authn'));
    assert.deepEqual(istio.errors, []);
    assert.ok(istio.warnings.some((w) => /never matches/.test(w.message) && /istio_authn/.test(w.message)), JSON.stringify(istio.warnings));
    assert.deepEqual(validateHttpFilterConfig(RBAC_TYPE, policy('envoy.filters.http.jwt_authn')).warnings, []);
  });

  test('RBACPerRoute: without rbac the filter is off on the route; with rbac its rules replace the filter\'s', () => {
    assert.equal(config({ '@type': PER_ROUTE_TYPE }, true), RBAC_DISABLED);
    const c = config({ '@type': PER_ROUTE_TYPE, rbac: { rules: { action: 'DENY' } } }, true);
    assert.equal(c.rules?.action, 'DENY');
    assert.deepEqual(validateHttpFilterConfig(PER_ROUTE_TYPE, { rbac: {} }, true).errors, []);
  });

  test('RBACPerRoute only per route, RBAC only at the filter level', () => {
    assert.match(validateHttpFilterConfig(PER_ROUTE_TYPE, {}, false).errors[0].message, /belongs in typed_per_filter_config/);
    assert.match(validateHttpFilterConfig(RBAC_TYPE, { rules: {} }, true).errors[0].message, /takes envoy\.extensions\.filters\.http\.rbac\.v3\.RBACPerRoute/);
  });

  const bad: [string, object, string, RegExp][] = [
    ['a policy without permissions', { rules: { policies: { p: { principals: [{ any: true }] } } } }, 'rules.policies.p.permissions', /at least one item/],
    ['a policy with empty principals', { rules: { policies: { p: { permissions: [{ any: true }], principals: [] } } } }, 'rules.policies.p.principals', /at least one item/],
    ['a permission with no rule', { rules: { policies: { p: { permissions: [{}], principals: [{ any: true }] } } } }, 'rules.policies.p.permissions[0]', /one of the rule fields is required/],
    ['two rules in one permission', { rules: { policies: { p: { permissions: [{ any: true, destination_port: 80 }], principals: [{ any: true }] } } } }, 'rules.policies.p.permissions[0].destination_port', /only one of/],
    ['any: false', { rules: { policies: { p: { permissions: [{ any: false }], principals: [{ any: true }] } } } }, 'rules.policies.p.permissions[0].any', /must be true/],
    ['metadata without a path', { rules: { policies: { p: { permissions: [{ metadata: { filter: 'x', value: { present_match: true } } }], principals: [{ any: true }] } } } }, 'rules.policies.p.permissions[0].metadata.path', /at least one item/],
    ['metadata without a value', { rules: { policies: { p: { permissions: [{ any: true }], principals: [{ metadata: { filter: 'x', path: [{ key: 'a' }] } }] } } } }, 'rules.policies.p.principals[0].metadata.value', /is required/],
    ['sourced_metadata from the route', { rules: { policies: { p: { permissions: [{ any: true }], principals: [{ sourced_metadata: { metadata_matcher: { filter: 'x', path: [{ key: 'a' }], value: { present_match: true } }, metadata_source: 'ROUTE' } }] } } } }, 'rules.policies.p.principals[0].sourced_metadata.metadata_source', /not supported yet/],
    ['an or_match with one matcher', { rules: { policies: { p: { permissions: [{ any: true }], principals: [{ metadata: { filter: 'x', path: [{ key: 'a' }], value: { or_match: { value_matchers: [{ bool_match: true }] } } } }] } } } }, 'rules.policies.p.principals[0].metadata.value.or_match.value_matchers', /at least 2 items/],
    ['a CEL condition', { rules: { policies: { p: { permissions: [{ any: true }], principals: [{ any: true }], condition: { const_expr: {} } } } } }, 'rules.policies.p.condition', /not supported yet/],
    ['a bad regex', { rules: { policies: { p: { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { safe_regex: { regex: '(' } } } }] } } } }, 'rules.policies.p.principals[0].authenticated.principal_name.safe_regex.regex', /invalid regex/],
    ['a bad CIDR address', { rules: { policies: { p: { permissions: [{ destination_ip: { address_prefix: 'ten', prefix_len: 8 } }], principals: [{ any: true }] } } } }, 'rules.policies.p.permissions[0].destination_ip.address_prefix', /not an IP address/],
    ['an IPv4 prefix length above 32', { rules: { policies: { p: { permissions: [{ any: true }], principals: [{ remote_ip: { address_prefix: '10.0.0.0', prefix_len: 33 } }] } } } }, 'rules.policies.p.principals[0].remote_ip.prefix_len', /out of range/],
    ['destination_port above 65535', { rules: { policies: { p: { permissions: [{ destination_port: 70000 }], principals: [{ any: true }] } } } }, 'rules.policies.p.permissions[0].destination_port', /65535/],
    ['an empty and_rules', { rules: { policies: { p: { permissions: [{ and_rules: { rules: [] } }], principals: [{ any: true }] } } } }, 'rules.policies.p.permissions[0].and_rules.rules', /at least one item/],
    ['a bad rule deep inside not_id', { rules: { policies: { p: { permissions: [{ any: true }], principals: [{ not_id: { or_ids: { ids: [{ header: { name: 'x', string_match: {} } }] } } }] } } } }, 'rules.policies.p.principals[0].not_id.or_ids.ids[0].header.string_match', /required/],
    ['an unknown action', { rules: { action: 'MAYBE' } }, 'rules.action', /ALLOW, DENY, LOG/],
    ['the matcher API', { matcher: { matcher_list: {} } }, 'matcher', /not supported yet/],
    ['an unknown field', { rules: { policies: { p: { permissions: [{ any: true }], principals: [{ any: true }], roles: [] } } } }, 'rules.policies.p.roles', /unknown field/],
    ['a port range out of order', { rules: { policies: { p: { permissions: [{ destination_port_range: { start: 90, end: 80 } }], principals: [{ any: true }] } } } }, 'rules.policies.p.permissions[0].destination_port_range.end', /greater than start/],
  ];
  for (const [what, raw, field, message] of bad) {
    test(`rejects ${what}, naming ${field}`, () => {
      const { errors } = validateHttpFilterConfig(RBAC_TYPE, raw);
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.equal(errors[0].field, field);
      assert.match(errors[0].message, message);
    });
  }

  test('track_per_rule_stats is accepted with a warning', () => {
    const r = validateHttpFilterConfig(RBAC_TYPE, { rules: {}, track_per_rule_stats: true });
    assert.deepEqual(r.errors, []);
    assert.ok(r.warnings.some((w) => w.field === 'track_per_rule_stats'));
  });

  test('camelCase JSON names and enum numbers are accepted', () => {
    const c = config({ rules: { action: 1, policies: { p: { permissions: [{ urlPath: { path: { prefix: '/' } } }], principals: [{ directRemoteIp: { addressPrefix: '10.0.0.0', prefixLen: { value: 8 } } }] } } } });
    assert.equal(c.rules?.action, 'DENY');
    assert.equal(decide(c.rules!, req({ remote: '10.0.0.1' })).allowed, false);
  });
});

describe('downstream remote address (remote_ip)', () => {
  const head = (xff?: string): RequestHead => ({ method: 'GET', scheme: 'http', authority: 'a', path: '/', headers: xff === undefined ? {} : { 'x-forwarded-for': xff }, protocol: 'HTTP/1.1' });
  const conn = req({ remote: '10.0.0.9' }).connection;
  const cases: [string, string | undefined, boolean, number, string][] = [
    ['use_remote_address: the peer', '1.1.1.1, 2.2.2.2', true, 0, '10.0.0.9'],
    ['use_remote_address with 1 trusted hop: the last XFF address', '1.1.1.1, 2.2.2.2', true, 1, '2.2.2.2'],
    ['use_remote_address with 2 trusted hops', '1.1.1.1, 2.2.2.2', true, 2, '1.1.1.1'],
    ['without use_remote_address: the last XFF address', '1.1.1.1, 2.2.2.2', false, 0, '2.2.2.2'],
    ['without use_remote_address, 1 trusted hop', '1.1.1.1,2.2.2.2', false, 1, '1.1.1.1'],
    ['no XFF: the peer', undefined, false, 0, '10.0.0.9'],
    ['XFF not an IP: the peer', 'unknown', false, 0, '10.0.0.9'],
    ['more hops than addresses: the peer', '1.1.1.1', false, 3, '10.0.0.9'],
  ];
  for (const [name, xff, useRemote, hops, want] of cases) {
    test(name, () => assert.equal(downstreamRemoteIp(head(xff), conn, useRemote, hops), want));
  }
});

describe('%DYNAMIC_METADATA% in access logs', () => {
  const entry = (md: AccessLogEntry['dynamicMetadata']): AccessLogEntry => ({
    startTime: 0, method: 'GET', path: '/', protocol: 'HTTP/1.1', responseCode: 403, responseFlags: '-', bytesReceived: 0, bytesSent: 0,
    durationMs: 1, upstreamServiceTimeMs: null, upstreamHost: null, upstreamCluster: null, upstreamLocalAddress: null,
    downstreamRemoteAddress: '1.2.3.4:5', downstreamLocalAddress: '1.2.3.4:6', requestId: null, authority: 'a', userAgent: null,
    forwardedFor: null, routeName: null, requestHeaders: null, responseHeaders: null, responseTrailers: null,
    responseCodeDetails: 'rbac_access_denied_matched_policy[deny-all]', connectionTerminationDetails: null, dynamicMetadata: md,
  });
  const md = { 'envoy.filters.http.rbac': { enforced_effective_policy_id: 'deny-all', enforced_engine_result: 'denied' }, 'envoy.common': { access_log_hint: true } };

  test('text: a key, a missing key, a boolean, a whole namespace as JSON', () => {
    const f = compileTextFormat('%DYNAMIC_METADATA(envoy.filters.http.rbac:enforced_effective_policy_id)% %DYNAMIC_METADATA(envoy.filters.http.rbac:nope)% %DYNAMIC_METADATA(envoy.common:access_log_hint)% %DYNAMIC_METADATA(envoy.common)%');
    assert.equal(f(entry(md)), 'deny-all - true {"access_log_hint":true}');
    assert.equal(f(entry(undefined)), '- - - -');
  });

  test('the default JSON line carries rbac_result and rbac_policy', () => {
    const line = JSON.parse(compileJsonFormat(DEFAULT_JSON_FORMAT)(entry(md))) as Record<string, unknown>;
    assert.equal(line.rbac_policy, 'deny-all');
    assert.equal(line.rbac_result, 'denied');
    assert.equal(line.response_code_details, 'rbac_access_denied_matched_policy[deny-all]');
    const plain = JSON.parse(compileJsonFormat(DEFAULT_JSON_FORMAT)(entry(null))) as Record<string, unknown>;
    assert.equal(plain.rbac_policy, null);
  });

  test('DYNAMIC_METADATA without a namespace is a format error', () => {
    assert.throws(() => compileTextFormat('%DYNAMIC_METADATA%'), /requires parameters/);
  });
});

describe('the denial reply', () => {
  test('403 "RBAC: access denied", no response flag, details naming the policy (spaces as _) or none', () => {
    assert.deepEqual(rbacAccessDenied('ns[shop]-policy[deny all]'), {
      status: 403, flag: null, body: 'RBAC: access denied', details: 'rbac_access_denied_matched_policy[ns[shop]-policy[deny_all]]',
    });
    assert.equal(rbacAccessDenied(null).details, 'rbac_access_denied_matched_policy[none]');
  });

  test('grpc-message keeps printable ASCII and percent-encodes the rest', () => {
    assert.equal(grpcMessage('RBAC: access denied'), 'RBAC: access denied');
    assert.equal(grpcMessage('100% ü\n'), '100%25 %C3%BC%0A');
  });
});
