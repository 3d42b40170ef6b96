// Translates TrafficPolicy authorization into Envoy RBAC HTTP filters (DENY first, then ALLOW), as Istio does for AuthorizationPolicy.
import type { Authorization, AuthorizationHeader, AuthorizationSource, AuthorizationTarget, TrafficPolicy } from '../input/types.ts';
import type { Json } from './resource.ts';

export const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
/** Filter names in http_filters (the typed_config's type selects the filter; distinct names keep per-filter stats apart). */
export const RBAC_DENY_FILTER = 'envoy.filters.http.rbac.deny';
export const RBAC_ALLOW_FILTER = 'envoy.filters.http.rbac.allow';

/** The inbound listener an RBAC config is for: rule ports naming this service port become its listener port. */
export interface AuthzPort {
  /** The port the sidecar accepts on (what `destination_port` sees). */
  readonly listenerPort: number;
  /** Numbers that mean this port in a rule: the Service port, its targetPort, the app port and the listener port. */
  readonly aliases: readonly number[];
}

const ANY: Json = { any: true };

function anyOf(list: Json[], key: 'or_ids' | 'or_rules'): Json {
  if (list.length === 1) return list[0];
  return key === 'or_ids' ? { or_ids: { ids: list } } : { or_rules: { rules: list } };
}

function allOf(list: Json[], key: 'and_ids' | 'and_rules'): Json {
  if (list.length === 0) return ANY;
  if (list.length === 1) return list[0];
  return key === 'and_ids' ? { and_ids: { ids: list } } : { and_rules: { rules: list } };
}

function authenticated(principalName: Json): Json {
  return { authenticated: { principal_name: principalName } };
}

const ANY_AUTHENTICATED = authenticated({ safe_regex: { regex: '.+' } });

/** One principal entry: "*", a SPIFFE ID, "ns/<ns>/sa/<sa>" or "ns/<ns>/*". */
function principal(p: string, td: string): Json {
  if (p === '*') return ANY_AUTHENTICATED;
  if (p.startsWith('spiffe://')) return authenticated({ exact: p });
  if (p.endsWith('/*')) return authenticated({ prefix: `spiffe://${td}/${p.slice(0, -1)}` });
  return authenticated({ exact: `spiffe://${td}/${p}` });
}

/** "ns/name", "name" (in the policy's namespace) or "ns/*". */
function serviceAccount(sa: string, td: string, policyNs: string): Json {
  const [ns, name] = sa.includes('/') ? sa.split('/') : [policyNs, sa];
  if (name === '*') return authenticated({ prefix: `spiffe://${td}/ns/${ns}/` });
  return authenticated({ exact: `spiffe://${td}/ns/${ns}/sa/${name}` });
}

function namespace(ns: string, td: string): Json {
  return ns === '*' ? ANY_AUTHENTICATED : authenticated({ prefix: `spiffe://${td}/ns/${ns}/` });
}

/** Where the sidecar's jwt_authn filter stores a validated token's payload (`payload_in_metadata` of every provider). */
export const JWT_FILTER = 'envoy.filters.http.jwt_authn';
export const JWT_PAYLOAD_KEY = 'jwt_payload';

/** A MetadataMatcher principal on one claim of the validated JWT payload. */
function claimMatcher(claim: string, value: Json): Json {
  return { metadata: { filter: JWT_FILTER, path: [{ key: JWT_PAYLOAD_KEY }, { key: claim }], value } };
}

/** The claim equals `v`, or is a list holding `v` (e.g. groups). */
function claimValue(claim: string, v: string): Json {
  return anyOf([
    claimMatcher(claim, { string_match: { exact: v } }),
    claimMatcher(claim, { list_match: { one_of: { string_match: { exact: v } } } }),
  ], 'or_ids');
}

/** "<issuer>/<subject>" (split at the last "/"), "<issuer>/*", or "*" (any validated token: an issuer is present). */
function requestPrincipal(rp: string): Json {
  if (rp === '*') return claimMatcher('iss', { present_match: true });
  const cut = rp.lastIndexOf('/');
  const iss = claimMatcher('iss', { string_match: { exact: rp.slice(0, cut) } });
  const sub = rp.slice(cut + 1);
  return allOf([iss, sub === '*' ? claimMatcher('sub', { present_match: true }) : claimMatcher('sub', { string_match: { exact: sub } })], 'and_ids');
}

/**
 * The token's issuer is one the workload trusts (TrafficPolicy.claimIssuers); without any (a policy that did not go
 * through the compiler) nothing matches: claims are never read from a token of an unknown issuer.
 */
function trustedIssuer(issuers: readonly string[]): Json {
  if (issuers.length === 0) return { not_id: ANY };
  return anyOf(issuers.map((i) => claimMatcher('iss', { string_match: { exact: i } })), 'or_ids');
}

/**
 * A `from` entry: its fields all match (and_ids), the entries of a field are alternatives (or_ids); every claim must
 * match, and a claim only counts from a token whose issuer the workload trusts.
 */
function sourcePrincipal(s: AuthorizationSource, td: string, policyNs: string, issuers: readonly string[]): Json {
  const fields: Json[] = [];
  if (s.principals.length > 0) fields.push(anyOf(s.principals.map((p) => principal(p, td)), 'or_ids'));
  if (s.serviceAccounts.length > 0) fields.push(anyOf(s.serviceAccounts.map((sa) => serviceAccount(sa, td, policyNs)), 'or_ids'));
  if (s.namespaces.length > 0) fields.push(anyOf(s.namespaces.map((ns) => namespace(ns, td)), 'or_ids'));
  if (s.requestPrincipals.length > 0) fields.push(anyOf(s.requestPrincipals.map(requestPrincipal), 'or_ids'));
  if (s.claims.length > 0) fields.push(trustedIssuer(issuers));
  for (const c of s.claims) fields.push(anyOf(c.values.map((v) => claimValue(c.claim, v)), 'or_ids'));
  return allOf(fields, 'and_ids');
}

/** A pattern as a StringMatcher: "*" → null (anything), "x*" prefix, "*x" suffix, else exact. */
function pattern(v: string): Json | null {
  if (v === '*') return null;
  if (v.endsWith('*')) return { prefix: v.slice(0, -1) };
  if (v.startsWith('*')) return { suffix: v.slice(1) };
  return { exact: v };
}

function pathPermission(p: string): Json {
  const m = pattern(p);
  return m === null ? ANY : { url_path: { path: m } };
}

function headerPermission(h: AuthorizationHeader): Json {
  const m = pattern(h.value);
  return { header: m === null ? { name: h.name, present_match: true } : { name: h.name, string_match: m } };
}

/** A `to` entry: its fields all match (and_rules), the entries of a field are alternatives (or_rules), headers all match. */
function targetPermission(t: AuthorizationTarget, port: AuthzPort): Json {
  const fields: Json[] = [];
  if (t.methods.length > 0) fields.push(anyOf(t.methods.map((m) => ({ header: { name: ':method', string_match: { exact: m } } })), 'or_rules'));
  if (t.paths.length > 0) fields.push(anyOf(t.paths.map(pathPermission), 'or_rules'));
  if (t.ports.length > 0) {
    const ports = [...new Set(t.ports.map((p) => (port.aliases.includes(p) ? port.listenerPort : p)))];
    fields.push(anyOf(ports.map((p) => ({ destination_port: p })), 'or_rules'));
  }
  for (const h of t.headers) fields.push(headerPermission(h));
  return allOf(fields, 'and_rules');
}

/** Envoy RBAC policies of one authorization entry: one per rule, named `<namespace>.<name>.<rule index>`. */
function policiesOf(a: Authorization, ns: string, td: string, port: AuthzPort, issuers: readonly string[]): [string, Json][] {
  return a.rules.map((r, i) => [`${ns}.${a.name}.${i}`, {
    permissions: r.to.length > 0 ? r.to.map((t) => targetPermission(t, port)) : [ANY],
    principals: r.from.length > 0 ? r.from.map((s) => sourcePrincipal(s, td, ns, issuers)) : [ANY],
  }]);
}

function rbacFilter(name: string, action: 'ALLOW' | 'DENY', policies: [string, Json][]): Json {
  return { name, typed_config: { '@type': RBAC_TYPE, rules: { action, policies: Object.fromEntries(policies) } } };
}

/**
 * The RBAC filters for a workload's inbound HTTP listener, in order: a DENY filter when a DENY rule exists (a match is
 * 403), then an ALLOW filter when an ALLOW policy exists (no match is 403; an ALLOW policy without rules allows
 * nothing, as in Istio). No authorization: no filter.
 */
export function rbacFilters(policy: TrafficPolicy | undefined, trustDomain: string, port: AuthzPort): Json[] {
  const list = policy?.authorization ?? [];
  if (!policy || list.length === 0) return [];
  const issuers = policy.claimIssuers ?? [];
  const deny = list.filter((a) => a.action === 'DENY').flatMap((a) => policiesOf(a, policy.namespace, trustDomain, port, issuers));
  const allows = list.filter((a) => a.action === 'ALLOW');
  const out: Json[] = [];
  if (deny.length > 0) out.push(rbacFilter(RBAC_DENY_FILTER, 'DENY', deny));
  if (allows.length > 0) out.push(rbacFilter(RBAC_ALLOW_FILTER, 'ALLOW', allows.flatMap((a) => policiesOf(a, policy.namespace, trustDomain, port, issuers))));
  return out;
}
