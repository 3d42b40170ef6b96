// Decides which RequestAuthentications (and which of their providers) a workload trusts: its own, those of the Gateways and routes that reach it, and same-namespace ones whose issuers its rules name.
import { key, type AnyRoute, type Gateway, type JwtProvider, type RequestAuthentication, type TrafficPolicy } from './types.ts';

export interface TrustInputs {
  readonly gateways: ReadonlyMap<string, Gateway>;
  readonly routes: readonly AnyRoute[];
  readonly authentications: readonly RequestAuthentication[];
}

/** A policy trusted by a workload that does not target it: which of its JWT providers, and whether its OIDC login's ID token. */
export interface TrustedOther {
  readonly auth: RequestAuthentication;
  readonly providers: readonly JwtProvider[];
  readonly oidc: boolean;
}

export interface WorkloadTrust {
  /** Policies targeting the workload's Service (all their providers apply, as configured). */
  readonly own: readonly RequestAuthentication[];
  /** Policies whose tokens the workload validates when present (forwarded by a gateway), never requires. */
  readonly others: readonly TrustedOther[];
  /** Issuers of every trusted provider: the only `iss` values claim rules accept. */
  readonly issuers: readonly string[];
}

/** True when a route is attached to `gw`'s listener `listener` (by sectionName / port, or to all its listeners). */
export function routeAttachedTo(r: AnyRoute, gw: Gateway, listener: string): boolean {
  const l = gw.listeners.find((x) => x.name === listener);
  return r.parentRefs.some((p) => p.kind === 'Gateway' && p.namespace === gw.namespace && p.name === gw.name
    && (p.sectionName === null || p.sectionName === listener) && (p.port === null || p.port === l?.port));
}

function reachesService(r: AnyRoute, svcKey: string): boolean {
  return r.rules.some((rule) => rule.backendRefs.some((b) => key(b.namespace, b.name) === svcKey));
}

/** True when `a` applies to requests on route `r` at a gateway: it targets the route, or a listener of a Gateway the route is attached to. */
export function appliesToGatewayRoute(a: RequestAuthentication, r: AnyRoute, gateways: ReadonlyMap<string, Gateway>): boolean {
  return a.targets.some((t) => {
    if (t.kind === r.kind) return key(t.namespace, t.name) === key(r.namespace, r.name) && r.parentRefs.some((p) => p.kind === 'Gateway');
    if (t.kind !== 'Gateway') return false;
    const gw = gateways.get(key(t.namespace, t.name));
    if (!gw) return false;
    return gw.listeners.some((l) => (t.sectionName === null || t.sectionName === l.name) && routeAttachedTo(r, gw, l.name));
  });
}

/** Issuers named by a policy's requestPrincipals ("<issuer>/<subject>"; "*" names none). */
function namedIssuers(p: TrafficPolicy | undefined): Set<string> {
  const out = new Set<string>();
  for (const a of p?.authorization ?? []) {
    for (const r of a.rules) for (const f of r.from) for (const rp of f.requestPrincipals) if (rp !== '*') out.add(rp.slice(0, rp.lastIndexOf('/')));
  }
  return out;
}

/**
 * What the workload of Service `svcKey` trusts: policies targeting the Service; policies on a Gateway listener or a
 * route through which a gateway route of the Service's namespace reaches it (the gateway forwards the token); and providers of policies
 * in the Service's own namespace whose issuer one of its rules names in requestPrincipals. Nothing else: a provider
 * defined anywhere in the mesh does not get to vouch for claims here.
 */
export function workloadTrust(k: TrustInputs, svcKey: string, policy: TrafficPolicy | undefined): WorkloadTrust {
  const own = k.authentications.filter((a) => a.targets.some((t) => t.kind === 'Service' && key(t.namespace, t.name) === svcKey));
  const ns = svcKey.slice(0, svcKey.indexOf('/'));
  // Only routes of the Service's own namespace count: a route elsewhere naming this Service as a backend (no
  // ReferenceGrant needed here) must not let its namespace, or a Gateway it owns, vouch for users of this workload.
  const reaching = k.routes.filter((r) => r.namespace === ns && r.parentRefs.some((p) => p.kind === 'Gateway') && reachesService(r, svcKey));
  const others: TrustedOther[] = [];
  const seen = new Set<RequestAuthentication>(own);
  for (const a of k.authentications) {
    if (seen.has(a) || !reaching.some((r) => appliesToGatewayRoute(a, r, k.gateways))) continue;
    seen.add(a);
    others.push({ auth: a, providers: a.jwt?.providers ?? [], oidc: a.oidc !== null });
  }
  const named = namedIssuers(policy);
  for (const a of k.authentications) {
    if (seen.has(a) || a.namespace !== ns) continue;
    const providers = (a.jwt?.providers ?? []).filter((p) => named.has(p.issuer));
    const oidc = a.oidc !== null && named.has(a.oidc.issuer);
    if (providers.length > 0 || oidc) others.push({ auth: a, providers, oidc });
  }
  const issuers = new Set<string>();
  for (const a of own) {
    for (const p of a.jwt?.providers ?? []) issuers.add(p.issuer);
    if (a.oidc) issuers.add(a.oidc.issuer);
  }
  for (const o of others) {
    for (const p of o.providers) issuers.add(p.issuer);
    if (o.oidc) issuers.add(o.auth.oidc!.issuer);
  }
  return { own, others, issuers: [...issuers].sort() };
}

/** Header names a policy fills from token claims (its JWT providers' outputClaimToHeaders and its login's headers). */
export function identityHeaders(a: RequestAuthentication): string[] {
  const out = new Set<string>();
  for (const p of a.jwt?.providers ?? []) for (const c of p.outputClaimToHeaders) out.add(c.header);
  const h = a.oidc?.headers;
  if (h) for (const v of [h.subject, h.email, h.groups, h.name]) if (v) out.add(v);
  return [...out];
}
