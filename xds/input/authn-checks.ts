// Cross-reference checks for RequestAuthentication (targets, Secret keys, one login per listener) and for claim rules in TrafficPolicy authorization.
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

export function checkAuthentications(k: Known, list: readonly RequestAuthentication[], errors: InputError[]): void {
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
    }
  }
  const providers = list.some((a) => (a.jwt?.providers.length ?? 0) > 0 || a.oidc !== null);
  for (const p of k.policies.values()) {
    if (!usesClaims(p) || providers) continue;
    errors.push({
      file: p.src.file, doc: p.src.doc, kind: 'TrafficPolicy', name: key(p.namespace, p.name), field: 'spec.authorization',
      message: 'rules on requestPrincipals or claims need a RequestAuthentication (jwt providers or an oidc login) whose tokens the workload can validate',
    });
  }
}
