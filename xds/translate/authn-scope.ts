// Decides which RequestAuthentications apply to a gateway HCM or a workload's inbound HCM and composes their oauth2 / jwt_authn filters and per-route configs.
import { usesClaims } from '../input/authn-checks.ts';
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
}

const NONE: HcmAuthn = { httpFilters: [], perRoute: () => null };

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

function routeKey(r: { kind: string; namespace: string; name: string }): string {
  return `${r.kind}/${key(r.namespace, r.name)}`;
}

/**
 * Authentication on a gateway HCM serving `listeners` (of Gateway `gwKey`) with `routes` attached: policies targeting
 * the Gateway or these listeners apply to every request (rules: prefix "/"), the login's pass-through paths first;
 * policies targeting a route apply to its routes only (PerRouteConfig requirement_name, and the login turned off there).
 */
export function gatewayAuthn(
  view: MeshView, gwKey: string, listeners: readonly GatewayListener[], routes: readonly AnyRoute[], scheme: 'http' | 'https', into: AuthnClusters,
): HcmAuthn {
  const names = new Set(listeners.map((l) => l.name));
  const onListener = all(view).filter((a) => a.targets.some((t) => t.kind === 'Gateway' && key(t.namespace, t.name) === gwKey
    && (t.sectionName === null || names.has(t.sectionName))));
  const routeKeys = new Set(routes.map(routeKey));
  const onRoute = new Map<string, RequestAuthentication[]>();
  for (const a of all(view)) {
    for (const t of a.targets) {
      const rk = `${t.kind}/${key(t.namespace, t.name)}`;
      if ((t.kind === 'HTTPRoute' || t.kind === 'GRPCRoute') && routeKeys.has(rk) && a.jwt) onRoute.set(rk, [...(onRoute.get(rk) ?? []), a]);
    }
  }
  if (onListener.length === 0 && onRoute.size === 0) return NONE;
  const providers: Record<string, Json> = {};
  const login = onListener.find((a) => a.oidc !== null) ?? null;
  const reqs: Json[] = [];
  let optional = false;
  for (const a of onListener) {
    reqs.push(...addProviders(view, a, providers, into, a === login));
    if (a.jwt && !a.jwt.required && !a.oidc) optional = true;
  }
  if (optional) reqs.push({ allow_missing: {} });
  const rules: Json[] = login?.oidc ? passThroughRules(login.oidc) : [];
  if (reqs.length > 0) rules.push({ match: { prefix: '/' }, requires: anyRequirement(reqs) });
  const requirementMap: Record<string, Json> = {};
  for (const [rk, list] of onRoute) {
    const r = list.flatMap((a) => addProviders(view, a, providers, into, false));
    if (list.some((a) => !a.jwt!.required)) r.push({ allow_missing: {} });
    requirementMap[rk] = anyRequirement(r);
  }
  const httpFilters: Json[] = [];
  if (login?.oidc) httpFilters.push(oauth2Filter(view, login, login.oidc, scheme, into));
  httpFilters.push(jwtAuthnFilter(providers, rules, requirementMap));
  return {
    httpFilters,
    perRoute(route) {
      const rk = routeKey(route);
      if (!requirementMap[rk]) return null;
      const out: Json = { [JWT_FILTER]: jwtPerRoute(rk) };
      if (login) out[OAUTH2_FILTER] = DISABLED_FILTER;
      return out;
    },
  };
}

/**
 * Authentication on a workload's inbound HCM: policies targeting its Service (a login, providers; required or not),
 * and — when its authorization matches on claims and no policy targets it — every provider of the mesh with the token
 * optional (`allow_missing`), so a token the gateway forwarded is validated and its payload is there for RBAC.
 */
export function inboundAuthn(view: MeshView, svcKey: string, into: AuthnClusters): Json[] {
  const own = all(view).filter((a) => a.targets.some((t) => t.kind === 'Service' && key(t.namespace, t.name) === svcKey));
  const claims = usesClaims(view.policy(svcKey));
  if (own.length === 0 && !claims) return [];
  const providers: Record<string, Json> = {};
  const reqs: Json[] = [];
  let optional = false;
  const login = own.find((a) => a.oidc !== null) ?? null;
  for (const a of own) {
    reqs.push(...addProviders(view, a, providers, into, a === login));
    if (a.jwt && !a.jwt.required && !a.oidc) optional = true;
  }
  if (own.length === 0) {
    optional = true;
    for (const a of all(view)) {
      reqs.push(...addProviders(view, a, providers, into, false));
      if (a.oidc) {
        const n = providerName(a, 'oidc');
        providers[n] = oidcProvider(view, a.oidc, into, true);
        reqs.push({ provider_name: n });
      }
    }
  }
  if (optional) reqs.push({ allow_missing: {} });
  const rules: Json[] = login?.oidc ? passThroughRules(login.oidc) : [];
  if (reqs.length > 0) rules.push({ match: { prefix: '/' }, requires: anyRequirement(reqs) });
  const out: Json[] = [];
  if (login?.oidc) out.push(oauth2Filter(view, login, login.oidc, null, into));
  out.push(jwtAuthnFilter(providers, rules, {}));
  return out;
}
