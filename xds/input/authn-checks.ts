// Cross-reference checks for RequestAuthentication (targets, Secret keys, one login per listener, IdP URLs) and for claim rules in TrafficPolicy authorization.
import { isIP } from 'node:net';
import { routeAttachedTo, workloadTrust } from './authn-trust.ts';
import { key, type AnyRoute, type Gateway, type InputError, type OpaqueSecret, type RequestAuthentication, type SecretValue, type Service, type TrafficPolicy } from './types.ts';

interface Known {
  readonly services: ReadonlyMap<string, Service>;
  readonly gateways: ReadonlyMap<string, Gateway>;
  readonly routes: readonly AnyRoute[];
  readonly opaqueSecrets: ReadonlyMap<string, OpaqueSecret>;
  readonly policies: ReadonlyMap<string, TrafficPolicy>;
}

/** True when any rule of the policy matches on end-user claims (needs a jwt_authn filter on the workload). */
export function usesClaims(p: TrafficPolicy | undefined): boolean {
  return (p?.authorization ?? []).some((a) => a.rules.some((r) => r.from.some((f) => f.requestPrincipals.length > 0 || f.claims.length > 0)));
}

/** True for a loopback host (the IdP runs next to the proxy). */
function loopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * Why a plain http:// URL the proxy fetches from or sends browsers to is refused, or null: allowed are https, loopback,
 * and a mesh Service by FQDN `<name>.<namespace>.svc.cluster.local` on one of its ports (the mesh's mTLS protects it).
 */
function insecureUrl(services: ReadonlyMap<string, Service>, uri: string): string | null {
  const u = new URL(uri);
  if (u.protocol !== 'http:') return null;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (loopback(host)) return null;
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(host);
  const port = Number(u.port || 80);
  if (m && services.get(`${m[2]}/${m[1]}`)?.ports.some((p) => p.port === port)) return null;
  return `"${uri}" is plain HTTP to a host outside the mesh (keys, codes and client secrets could be read or forged on the way): `
    + 'use https://, a mesh Service (<name>.<namespace>.svc.cluster.local:<port>) or loopback, or set insecureHttp: true to accept the risk';
}

/**
 * Checks every RequestAuthentication and the claim rules of TrafficPolicies; returns, per policy with claim rules, the
 * issuers its workload trusts (TrafficPolicy.claimIssuers).
 */
export function checkAuthentications(k: Known, list: readonly RequestAuthentication[], errors: InputError[]): Map<TrafficPolicy, string[]> {
  /** "Gateway ns/name#listener" or "Service ns/name" → the RequestAuthentication with an oidc login there. */
  const logins = new Map<string, RequestAuthentication>();
  for (const a of list) {
    const err = (field: string, message: string) => errors.push({ file: a.src.file, doc: a.src.doc, kind: 'RequestAuthentication', name: key(a.namespace, a.name), field, message });
    a.targets.forEach((t, i) => {
      const f = `spec.targetRefs[${i}]`;
      const tk = key(t.namespace, t.name);
      if (t.kind === 'Service') {
        if (!k.services.has(tk)) err(`${f}.name`, `no Service ${tk}`);
      } else if (t.kind === 'Gateway') {
        const gw = k.gateways.get(tk);
        if (!gw) err(`${f}.name`, `no Gateway ${tk}`);
        else if (t.sectionName !== null && !gw.listeners.some((l) => l.name === t.sectionName)) err(`${f}.sectionName`, `Gateway ${tk} has no listener "${t.sectionName}"`);
      } else if (!k.routes.some((r) => r.kind === t.kind && key(r.namespace, r.name) === tk)) {
        err(`${f}.name`, `no ${t.kind} ${tk}`);
      }
      if (!a.oidc) return;
      const spots = t.kind === 'Service' ? [`Service ${tk}`]
        : t.kind === 'Gateway' ? (k.gateways.get(tk)?.listeners ?? []).filter((l) => t.sectionName === null || l.name === t.sectionName).map((l) => `Gateway ${tk} listener "${l.name}"`)
          : [];
      for (const spot of spots) {
        const prev = logins.get(spot);
        if (prev && prev !== a) err(`${f}`, `${spot} already has an oidc login from RequestAuthentication ${key(prev.namespace, prev.name)} (one login per listener)`);
        else logins.set(spot, a);
      }
    });
    const secret = (v: SecretValue | null, field: string) => {
      if (!v || !('secret' in v)) return;
      const s = k.opaqueSecrets.get(v.secret);
      if (!s) err(`${field}.secretRef.name`, `no Secret ${v.secret} of type Opaque`);
      else if (s.data[v.key] === undefined || s.data[v.key] === '') err(`${field}.secretRef.key`, `Secret ${v.secret} has no key "${v.key}" (keys: ${Object.keys(s.data).join(', ') || 'none'})`);
    };
    if (a.oidc) {
      secret(a.oidc.clientSecret, 'spec.oidc.clientSecret');
      secret(a.oidc.hmacSecret, 'spec.oidc.hmacSecret');
      for (const f of ['authorizationEndpoint', 'tokenEndpoint', 'jwksUri'] as const) {
        const why = a.oidc.insecureHttp ? null : insecureUrl(k.services, a.oidc[f]);
        if (why) err(`spec.oidc.${f}`, why);
      }
    }
    a.jwt?.providers.forEach((p, i) => {
      const why = p.jwksUri === null || p.insecureHttp ? null : insecureUrl(k.services, p.jwksUri);
      if (why) err(`spec.jwt.providers[${i}].jwksUri`, why);
    });
    if (a.replaceListenerAuthentication) {
      for (const t of a.targets) {
        for (const r of k.routes.filter((x) => x.kind === t.kind && x.namespace === t.namespace && x.name === t.name)) {
          for (const gw of k.gateways.values()) {
            if (gw.namespace === a.namespace || !gw.listeners.some((l) => routeAttachedTo(r, gw, l.name))) continue;
            err('spec.replaceListenerAuthentication', `${r.kind} ${key(r.namespace, r.name)} is attached to Gateway ${key(gw.namespace, gw.name)}: only a policy in the Gateway's namespace may replace its listener's authentication`);
          }
        }
      }
    }
  }
  const issuers = new Map<TrafficPolicy, string[]>();
  for (const p of k.policies.values()) {
    if (!usesClaims(p)) continue;
    const svcKey = key(p.target.namespace, p.target.name);
    const trust = workloadTrust({ gateways: k.gateways, routes: k.routes, authentications: list }, svcKey, p);
    issuers.set(p, [...trust.issuers]);
    if (trust.issuers.length > 0) continue;
    errors.push({
      file: p.src.file, doc: p.src.doc, kind: 'TrafficPolicy', name: key(p.namespace, p.name), field: 'spec.authorization',
      message: `rules on requestPrincipals or claims need a RequestAuthentication Service ${svcKey} trusts: one targeting the Service, one on a `
        + `Gateway listener or route whose routes reach it, or one in namespace ${p.target.namespace} with a provider whose issuer a requestPrincipals entry names`,
    });
  }
  return issuers;
}
