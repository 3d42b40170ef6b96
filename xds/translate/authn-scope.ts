// Decides which RequestAuthentications apply to a gateway HCM or a workload's inbound HCM and composes their oauth2 / jwt_authn filters, per-route configs and identity-header stripping.
import { usesClaims } from '../input/authn-checks.ts';
import { identityHeaders, workloadTrust } from '../input/authn-trust.ts';
import type { AnyRoute, GatewayListener, RequestAuthentication } from '../input/types.ts';
import { key } from '../input/types.ts';
import { JWT_FILTER } from './authz.ts';
import {
  anyRequirement, DISABLED_FILTER, jwtAuthnFilter, jwtPerRoute, jwtProvider, OAUTH2_FILTER, oauth2Filter, oidcProvider, passThroughRules,
  providerName, type AuthnClusters,
} from './authn.ts';
import type { MeshView } from './mesh-view.ts';
import type { Json } from './resource.ts';

/** What a connection manager gets: filters before RBAC and the router, and per-route additions to typed_per_filter_config. */
export interface HcmAuthn {
  readonly httpFilters: Json[];
  /** typed_per_filter_config entries for the routes of a given HTTPRoute/GRPCRoute, or null. */
  perRoute(route: AnyRoute): Json | null;
  /**
   * Identity header names (filled from tokens somewhere on this Gateway) that no provider of this HCM sets: the route
   * configuration removes them from every request (the names this HCM's jwt_authn sets it removes itself, first).
   */
  readonly requestHeadersToRemove: readonly string[];
  /** True when end-user authentication applies on this Gateway: headers with underscores are refused (x_user_sub). */
  readonly rejectUnderscoreHeaders: boolean;
}

function all(view: MeshView): readonly RequestAuthentication[] {
  return view.model.authentications ?? [];
}

/** The providers of one policy, added to `providers`; returns their requirements ({provider_name}). */
function addProviders(view: MeshView, a: RequestAuthentication, providers: Record<string, Json>, into: AuthnClusters, withLogin: boolean): Json[] {
  const reqs: Json[] = [];
  for (const p of a.jwt?.providers ?? []) {
    const n = providerName(a, p.name);
    providers[n] = jwtProvider(view, p, into);
    reqs.push({ provider_name: n });
  }
  if (withLogin && a.oidc) {
    const n = providerName(a, 'oidc');
    providers[n] = oidcProvider(view, a.oidc, into);
    reqs.push({ provider_name: n });
  }
  return reqs;
}

/** Header names the providers' claim_to_headers set (jwt_authn removes a request's own values of these first). */
function ownedHeaders(providers: Record<string, Json>): Set<string> {
  const out = new Set<string>();
  for (const p of Object.values(providers)) for (const c of (p.claim_to_headers as Json[] | undefined) ?? []) out.add(c.header_name as string);
  return out;
}

function routeKey(r: { kind: string; namespace: string; name: string }): string {
  return `${r.kind}/${key(r.namespace, r.name)}`;
}

/** Policies that apply anywhere on Gateway `gwKey`: on the Gateway or one of its listeners, or on a route attached to it. */
function onGateway(view: MeshView, gwKey: string): RequestAuthentication[] {
  const routes = new Set((view.gatewayRoutes.get(gwKey) ?? []).map(routeKey));
  return all(view).filter((a) => a.targets.some((t) => (t.kind === 'Gateway' ? key(t.namespace, t.name) === gwKey : routes.has(routeKey(t)))));
}

/**
 * Authentication on a gateway HCM serving `listeners` (of Gateway `gwKey`) with `routes` attached: policies targeting
 * the Gateway or these listeners apply to every request (rules: prefix "/"), the login's pass-through paths first.
 * A policy targeting a route adds its requirement on that route's paths (PerRouteConfig: requires_all of the
 * listener's requirement and its own; the login stays on); with `replaceListenerAuthentication` (only honoured in the
 * Gateway's namespace) its requirement alone applies there and the login is turned off on the route.
 */
export function gatewayAuthn(
  view: MeshView, gwKey: string, listeners: readonly GatewayListener[], routes: readonly AnyRoute[], scheme: 'http' | 'https', into: AuthnClusters,
): HcmAuthn {
  const gwNamespace = gwKey.slice(0, gwKey.indexOf('/'));
  const anywhere = onGateway(view, gwKey);
  const identity = new Set(anywhere.flatMap(identityHeaders));
  const rejectUnderscoreHeaders = anywhere.length > 0;
  const names = new Set(listeners.map((l) => l.name));
  const onListener = all(view).filter((a) => a.targets.some((t) => t.kind === 'Gateway' && key(t.namespace, t.name) === gwKey
    && (t.sectionName === null || names.has(t.sectionName))));
  const routeKeys = new Set(routes.map(routeKey));
  const onRoute = new Map<string, RequestAuthentication[]>();
  for (const a of all(view)) {
    for (const t of a.targets) {
      const rk = routeKey(t);
      if ((t.kind === 'HTTPRoute' || t.kind === 'GRPCRoute') && routeKeys.has(rk) && a.jwt) onRoute.set(rk, [...(onRoute.get(rk) ?? []), a]);
    }
  }
  if (onListener.length === 0 && onRoute.size === 0) {
    return { httpFilters: [], perRoute: () => null, requestHeadersToRemove: [...identity].sort(), rejectUnderscoreHeaders };
  }
  const providers: Record<string, Json> = {};
  const login = onListener.find((a) => a.oidc !== null) ?? null;
  const listenerReqs: Json[] = [];
  let optional = false;
  for (const a of onListener) {
    listenerReqs.push(...addProviders(view, a, providers, into, a === login));
    if (a.jwt && !a.jwt.required && !a.oidc) optional = true;
  }
  const reqs = optional ? [...listenerReqs, { allow_missing: {} }] : listenerReqs;
  const rules: Json[] = login?.oidc ? passThroughRules(login.oidc) : [];
  if (reqs.length > 0) rules.push({ match: { prefix: '/' }, requires: anyRequirement(reqs) });
  // In an AND of the listener's and a route's requirement, an optional half must not refuse the other half's token (an
  // issuer it does not know): a missing or unverifiable token passes an optional half, the other half still decides.
  const listenerHalf = listenerReqs.length === 0 ? null
    : optional ? anyRequirement([...listenerReqs, { allow_missing_or_failed: {} }]) : anyRequirement(reqs);
  const requirementMap: Record<string, Json> = {};
  const replaced = new Set<string>();
  for (const [rk, list] of onRoute) {
    const r = list.flatMap((a) => addProviders(view, a, providers, into, false));
    const routeOptional = list.some((a) => !a.jwt!.required);
    const replace = list.some((a) => a.replaceListenerAuthentication === true && a.namespace === gwNamespace);
    if (replace) replaced.add(rk);
    if (replace || listenerHalf === null) {
      requirementMap[rk] = anyRequirement(routeOptional ? [...r, { allow_missing: {} }] : r);
    } else {
      const routeHalf = anyRequirement(routeOptional ? [...r, { allow_missing_or_failed: {} }] : r);
      requirementMap[rk] = { requires_all: { requirements: [listenerHalf, routeHalf] } };
    }
  }
  const owned = ownedHeaders(providers);
  const httpFilters: Json[] = [];
  if (login?.oidc) httpFilters.push(oauth2Filter(view, login, login.oidc, scheme, into));
  httpFilters.push(jwtAuthnFilter(providers, rules, requirementMap));
  return {
    httpFilters,
    perRoute(route) {
      const rk = routeKey(route);
      if (!requirementMap[rk]) return null;
      const out: Json = { [JWT_FILTER]: jwtPerRoute(rk) };
      if (login && replaced.has(rk)) out[OAUTH2_FILTER] = DISABLED_FILTER;
      return out;
    },
    requestHeadersToRemove: [...identity].filter((h) => !owned.has(h)).sort(),
    rejectUnderscoreHeaders,
  };
}

/**
 * Authentication on a workload's inbound HCM, from what it trusts (input/authn-trust.ts): policies targeting its
 * Service apply as configured (a login, providers; required or not). Policies of the Gateways and routes that reach it,
 * and same-namespace providers its rules name by issuer, validate a forwarded token when there is one
 * (`allow_missing_or_failed`): its payload is there for claim rules, and their claim headers are set again from the
 * token this sidecar validated — jwt_authn removes a request's own values of those headers first, so a client in the
 * mesh cannot forge them. Nothing when the workload has no own policy, no claim rules and no identity headers to guard.
 */
export function inboundAuthn(view: MeshView, svcKey: string, into: AuthnClusters): Json[] {
  const policy = view.policy(svcKey);
  const trust = workloadTrust({ gateways: view.model.gateways, routes: view.model.routes, authentications: all(view) }, svcKey, policy);
  const own = trust.own;
  const guards = trust.others.some((o) => identityHeaders(o.auth).length > 0);
  if (own.length === 0 && !usesClaims(policy) && !guards) return [];
  const providers: Record<string, Json> = {};
  const ownReqs: Json[] = [];
  let optional = false;
  const login = own.find((a) => a.oidc !== null) ?? null;
  for (const a of own) {
    ownReqs.push(...addProviders(view, a, providers, into, a === login));
    if (a.jwt && !a.jwt.required && !a.oidc) optional = true;
  }
  if (optional) ownReqs.push({ allow_missing: {} });
  const otherReqs: Json[] = [];
  for (const o of trust.others) {
    for (const p of o.providers) {
      const n = providerName(o.auth, p.name);
      providers[n] = jwtProvider(view, p, into);
      otherReqs.push({ provider_name: n });
    }
    if (o.oidc) {
      const n = providerName(o.auth, 'oidc');
      providers[n] = oidcProvider(view, o.auth.oidc!, into);
      otherReqs.push({ provider_name: n });
    }
  }
  const parts: Json[] = [];
  if (ownReqs.length > 0) parts.push(anyRequirement(ownReqs));
  if (otherReqs.length > 0) parts.push(anyRequirement([...otherReqs, { allow_missing_or_failed: {} }]));
  const rules: Json[] = login?.oidc ? passThroughRules(login.oidc) : [];
  if (parts.length > 0) rules.push({ match: { prefix: '/' }, requires: parts.length === 1 ? parts[0] : { requires_all: { requirements: parts } } });
  const out: Json[] = [];
  if (login?.oidc) out.push(oauth2Filter(view, login, login.oidc, null, into));
  out.push(jwtAuthnFilter(providers, rules, {}));
  return out;
}
