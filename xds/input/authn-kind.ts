// Parses pilotfish.io/v1alpha1 RequestAuthentication: JWT providers and an OIDC login for Gateways, their listeners and routes, and Services.
import { Fields } from './doc-reader.ts';
import type { Meta } from './core-kinds.ts';
import { GATEWAY_GROUP } from './gateway-kinds.ts';
import type { AuthnTarget, JwtProvider, OidcLogin, RequestAuthentication, SecretValue } from './types.ts';

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const PROVIDER_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const CLAIM = /^[A-Za-z0-9_:.\-]+$/;

/** An absolute http(s) URL with a host; reports and returns undefined otherwise. */
function url(f: Fields, k: string, required: boolean): string | undefined {
  const v = f.str(k, required);
  if (v === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    f.error(k, `"${v}" is not an absolute URL`);
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') f.error(k, `"${v}" must be an http:// or https:// URL`);
  else if (u.username || u.password) f.error(k, 'must not carry credentials');
  else return v;
  return undefined;
}

function headerName(f: Fields, k: string): string | undefined {
  const v = f.str(k);
  if (v !== undefined && !HEADER_NAME.test(v.toLowerCase())) f.error(k, `"${v}" is not a header name`);
  return v?.toLowerCase();
}

function path(f: Fields, k: string, dflt: string): string {
  const v = f.str(k) ?? dflt;
  if (!/^\/[^\s?#]*$/.test(v)) f.error(k, `"${v}" must be a path starting with "/" (no query)`);
  return v;
}

/** `{secretRef: {name, namespace?, key}}` or `{file: /path/to/sds.yaml, name: <secret name in it>}`. */
function secretValue(f: Fields | undefined, namespace: string, dfltName: string): SecretValue | undefined {
  if (!f) return undefined;
  f.only(['secretRef', 'file', 'name']);
  const ref = f.obj('secretRef');
  const file = f.str('file');
  if ((ref ? 1 : 0) + (file !== undefined ? 1 : 0) !== 1) {
    f.error('', 'exactly one of secretRef or file is required');
    return undefined;
  }
  if (file !== undefined) {
    if (!file.startsWith('/')) f.error('file', `"${file}" must be an absolute path on the proxy's file system`);
    return { file, name: f.str('name') ?? dfltName };
  }
  ref!.only(['name', 'namespace', 'key']);
  const name = ref!.str('name', true);
  const key = ref!.str('key', true);
  const ns = ref!.str('namespace');
  // Gateway API: a reference into another namespace needs a ReferenceGrant, which Pilotfish does not implement.
  if (ns !== undefined && ns !== namespace) {
    ref!.error('namespace', `"${ns}": a Secret in another namespace cannot be referenced (no ReferenceGrant support); put the Secret in namespace "${namespace}"`);
    return undefined;
  }
  if (name === undefined || key === undefined) return undefined;
  return { secret: `${namespace}/${name}`, key };
}

function parseTargets(spec: Fields, namespace: string): AuthnTarget[] {
  const out: AuthnTarget[] = [];
  for (const t of spec.objList('targetRefs', true)) {
    t.only(['group', 'kind', 'name', 'namespace', 'sectionName']);
    const kind = t.oneOf('kind', ['Gateway', 'HTTPRoute', 'GRPCRoute', 'Service'] as const, true);
    const group = t.str('group') ?? (kind === 'Service' ? '' : GATEWAY_GROUP);
    if (kind === 'Service' && group !== '' && group !== 'core') t.error('group', `must be "" (core) for kind Service, got "${group}"`);
    if (kind !== undefined && kind !== 'Service' && group !== GATEWAY_GROUP) t.error('group', `must be "${GATEWAY_GROUP}" for kind ${kind}, got "${group}"`);
    const name = t.str('name', true);
    const sectionName = t.str('sectionName') ?? null;
    if (sectionName !== null && kind !== 'Gateway') t.error('sectionName', 'only Gateway targets have sections (listener names)');
    const ns = t.str('namespace');
    // Gateway API policy attachment: a target in another namespace would let one team open or re-secure another's routes.
    if (ns !== undefined && ns !== namespace) {
      t.error('namespace', `"${ns}": a RequestAuthentication targets objects in its own namespace ("${namespace}") only`);
      continue;
    }
    if (kind !== undefined && name !== undefined) out.push({ kind, name, namespace, sectionName });
  }
  return out;
}

function parseProvider(p: Fields): JwtProvider | undefined {
  p.only(['name', 'issuer', 'audiences', 'jwksUri', 'jwks', 'forwardOriginalToken', 'outputClaimToHeaders', 'fromHeaders', 'fromCookies', 'caFile', 'insecureHttp']);
  const name = p.str('name', true);
  if (name !== undefined && !PROVIDER_NAME.test(name)) p.error('name', `"${name}" is not a valid name (lower-case letters, digits, "-" and ".")`);
  const issuer = p.str('issuer', true);
  const jwksUri = url(p, 'jwksUri', false) ?? null;
  const jwks = p.str('jwks') ?? null;
  if (p.has('jwksUri') === p.has('jwks')) p.error('', 'exactly one of jwksUri or jwks is required');
  if (jwks !== null) {
    try {
      const keys = (JSON.parse(jwks) as { keys?: unknown }).keys;
      if (!Array.isArray(keys) || keys.length === 0) p.error('jwks', 'must be a JSON Web Key Set: {"keys": [...]} with at least one key');
    } catch (err) {
      p.error('jwks', `not valid JSON: ${(err as Error).message}`);
    }
  }
  const outputClaimToHeaders = p.objList('outputClaimToHeaders').flatMap((h) => {
    h.only(['header', 'claim']);
    const header = headerName(h, 'header');
    const claim = h.str('claim', true);
    if (h.value.header === undefined) h.error('header', 'required');
    if (claim !== undefined && !CLAIM.test(claim)) h.error('claim', `"${claim}" is not a claim name`);
    return header === undefined || claim === undefined ? [] : [{ header, claim }];
  });
  const fromHeaders = p.objList('fromHeaders').flatMap((h) => {
    h.only(['name', 'prefix']);
    const n = headerName(h, 'name');
    if (h.value.name === undefined) h.error('name', 'required');
    return n === undefined ? [] : [{ name: n, prefix: h.str('prefix') ?? '' }];
  });
  const fromCookies = p.strList('fromCookies');
  fromCookies.forEach((c, i) => { if (!COOKIE_NAME.test(c)) p.error(`fromCookies[${i}]`, `"${c}" is not a cookie name`); });
  if (name === undefined || issuer === undefined) return undefined;
  return {
    name, issuer, audiences: p.strList('audiences'), jwksUri, jwks, forwardOriginalToken: p.bool('forwardOriginalToken') ?? false,
    outputClaimToHeaders, fromHeaders, fromCookies, caFile: p.str('caFile') ?? null, insecureHttp: p.bool('insecureHttp') ?? false,
  };
}

function parseOidc(o: Fields, namespace: string): OidcLogin | undefined {
  o.only([
    'issuer', 'authorizationEndpoint', 'tokenEndpoint', 'jwksUri', 'endSessionEndpoint', 'clientId', 'clientSecret', 'hmacSecret',
    'redirectPath', 'signoutPath', 'scopes', 'cookieDomain', 'headers', 'passThroughPaths', 'forwardAccessToken', 'caFile', 'insecureHttp',
  ]);
  const issuer = url(o, 'issuer', true);
  // The endpoints are given, not discovered: the control plane does no I/O to the provider.
  const authorizationEndpoint = url(o, 'authorizationEndpoint', true);
  const tokenEndpoint = url(o, 'tokenEndpoint', true);
  const jwksUri = url(o, 'jwksUri', true);
  const endSessionEndpoint = url(o, 'endSessionEndpoint', false) ?? null;
  const clientId = o.str('clientId', true);
  const clientSecret = secretValue(o.obj('clientSecret', true), namespace, 'client-secret');
  const hmacSecret = secretValue(o.obj('hmacSecret'), namespace, 'hmac') ?? null;
  const scopes = o.has('scopes') ? o.strList('scopes') : ['openid', 'email', 'profile'];
  if (!scopes.includes('openid')) o.error('scopes', 'must include "openid" (the login needs an ID token)');
  const h = o.obj('headers');
  h?.only(['subject', 'email', 'groups', 'name']);
  const headers = {
    subject: h ? (headerName(h, 'subject') ?? null) : 'x-user-sub',
    email: h ? (headerName(h, 'email') ?? null) : 'x-user-email',
    groups: h ? (headerName(h, 'groups') ?? null) : 'x-user-groups',
    name: h ? (headerName(h, 'name') ?? null) : null,
  };
  const cookieDomain = o.str('cookieDomain') ?? null;
  if (cookieDomain !== null && !/^\.?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(cookieDomain)) o.error('cookieDomain', `"${cookieDomain}" is not a domain`);
  const passThroughPaths = o.strList('passThroughPaths');
  passThroughPaths.forEach((p, i) => { if (!/^\/[^\s*]*\*?$/.test(p)) o.error(`passThroughPaths[${i}]`, `"${p}" must be an exact path or "/prefix*"`); });
  const redirectPath = path(o, 'redirectPath', '/oauth2/callback');
  const signoutPath = path(o, 'signoutPath', '/oauth2/signout');
  if (redirectPath === signoutPath) o.error('signoutPath', 'must differ from redirectPath');
  if (issuer === undefined || clientId === undefined || !clientSecret || !authorizationEndpoint || !tokenEndpoint || !jwksUri) return undefined;
  return {
    issuer, authorizationEndpoint, tokenEndpoint, jwksUri, endSessionEndpoint, clientId, clientSecret, hmacSecret, redirectPath, signoutPath,
    scopes, cookieDomain, headers, passThroughPaths, forwardAccessToken: o.bool('forwardAccessToken') ?? true, caFile: o.str('caFile') ?? null,
    insecureHttp: o.bool('insecureHttp') ?? false,
  };
}

export function parseRequestAuthentication(root: Fields, meta: Meta): RequestAuthentication | undefined {
  root.only(['apiVersion', 'kind', 'metadata', 'spec'], ['status']);
  const spec = root.obj('spec', true);
  if (!spec) return undefined;
  spec.only(['targetRefs', 'jwt', 'oidc', 'replaceListenerAuthentication']);
  const targets = parseTargets(spec, meta.namespace);
  let jwt: RequestAuthentication['jwt'] = null;
  const j = spec.obj('jwt');
  if (j) {
    j.only(['required', 'providers']);
    const providers = j.objList('providers', true).map(parseProvider).filter((p): p is JwtProvider => p !== undefined);
    const seen = new Set<string>();
    providers.forEach((p, i) => {
      if (seen.has(p.name)) j.error(`providers[${i}].name`, `duplicate provider name "${p.name}"`);
      seen.add(p.name);
    });
    jwt = { required: j.bool('required') ?? true, providers };
  }
  const o = spec.obj('oidc');
  const oidc = o ? (parseOidc(o, meta.namespace) ?? null) : null;
  if (!j && !o) spec.error('', 'at least one of jwt or oidc is required');
  if (o) {
    targets.forEach((t, i) => {
      if (t.kind === 'HTTPRoute' || t.kind === 'GRPCRoute') spec.error(`targetRefs[${i}].kind`, 'an oidc login applies to a Gateway, one of its listeners (sectionName) or a Service, not to a route');
    });
  }
  const replace = spec.bool('replaceListenerAuthentication') ?? false;
  if (replace && (o || targets.some((t) => t.kind !== 'HTTPRoute' && t.kind !== 'GRPCRoute'))) {
    spec.error('replaceListenerAuthentication', 'only a jwt policy whose targets are all routes (HTTPRoute/GRPCRoute) can replace a Gateway listener\'s authentication');
  }
  return { name: meta.name, namespace: meta.namespace, targets, jwt, oidc, replaceListenerAuthentication: replace, src: meta.src };
}
