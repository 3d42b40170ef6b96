// Translates RequestAuthentication into Envoy HTTP filters (envoy.filters.http.oauth2, then envoy.filters.http.jwt_authn) and the clusters their IdP fetches use.
import { isIP } from 'node:net';
import type { JwtProvider, OidcLogin, RequestAuthentication, SecretValue } from '../input/types.ts';
import { JWT_FILTER, JWT_PAYLOAD_KEY } from './authz.ts';
import { loadAssignment } from './clusters.ts';
import { loginSecretFile } from '../input/authn-secrets.ts';
import type { MeshView } from './mesh-view.ts';
import { outboundClusterName } from './names.ts';
import type { Json } from './resource.ts';
import { TLS_SOCKET, UPSTREAM_TLS_TYPE } from './security.ts';

export const JWT_AUTHN_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
export const JWT_PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig';
export const OAUTH2_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.oauth2.v3.OAuth2';
export const OAUTH2_FILTER = 'envoy.filters.http.oauth2';
const FILTER_CONFIG_TYPE = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
/** The CA bundle an https IdP endpoint is verified with when the input names no caFile. */
export const SYSTEM_CA_FILE = '/etc/ssl/certs/ca-certificates.crt';
const FETCH_TIMEOUT = { seconds: 5 };
/** The cookie Envoy's oauth2 filter keeps the ID token in. */
export const ID_TOKEN_COOKIE = 'IdToken';

/** Clusters the IdP fetches (JWKS, token endpoint) go through, by name; 'mesh' names a mesh Service's own cluster. */
export type AuthnClusters = Map<string, Json | 'mesh'>;

/** `<namespace>/<policy>/<provider>`: an Envoy provider name, unique in the mesh. */
export function providerName(a: RequestAuthentication, p: string): string {
  return `${a.namespace}/${a.name}/${p}`;
}

/**
 * The cluster for an IdP URL's host:port: a mesh Service's own cluster when the URL names one by FQDN, else
 * `outbound|<port>||<host>` (STATIC for an IP, STRICT_DNS for a name), with TLS for https: SNI = host, the chain
 * verified against the CA bundle and the certificate required to name the host (a DNS SAN, or an IP SAN for an IP
 * literal), so a certificate some public CA issued for another name cannot serve forged keys or collect client secrets.
 */
export function endpointCluster(view: MeshView, uri: string, caFile: string | null, into: AuthnClusters): string {
  const u = new URL(uri);
  const https = u.protocol === 'https:';
  const named = u.hostname.replace(/^\[|\]$/g, '');
  // localhost is loopback: a STATIC 127.0.0.1 endpoint (no resolver answer of ::1 to a provider listening on IPv4).
  const host = named === 'localhost' ? '127.0.0.1' : named;
  const port = Number(u.port || (https ? 443 : 80));
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(host);
  const mesh = m ? view.servicePort(`${m[2]}/${m[1]}`, port) : undefined;
  if (mesh && !https) {
    const n = outboundClusterName(mesh.svc, port);
    into.set(n, 'mesh');
    return n;
  }
  const name = `outbound|${port}||${host}`;
  if (into.has(name)) return name;
  const c: Json = {
    name,
    type: isIP(host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: { seconds: 5 },
    lb_policy: 'ROUND_ROBIN',
    load_assignment: loadAssignment(name, [{ address: host, port }]),
  };
  if (https) {
    c.transport_socket = {
      name: TLS_SOCKET,
      typed_config: {
        '@type': UPSTREAM_TLS_TYPE,
        sni: named,
        common_tls_context: {
          validation_context: {
            trusted_ca: { filename: caFile ?? SYSTEM_CA_FILE },
            match_typed_subject_alt_names: [{ san_type: isIP(named) ? 'IP_ADDRESS' : 'DNS', matcher: { exact: named } }],
          },
        },
      },
    };
  }
  into.set(name, c);
  return name;
}

function httpUri(view: MeshView, uri: string, caFile: string | null, into: AuthnClusters): Json {
  return { uri, cluster: endpointCluster(view, uri, caFile, into), timeout: FETCH_TIMEOUT };
}

/** An Envoy JwtProvider for an input provider; the payload always lands in `jwt_payload` (what claim rules match). */
export function jwtProvider(view: MeshView, p: JwtProvider, into: AuthnClusters): Json {
  const out: Json = { issuer: p.issuer };
  if (p.audiences.length > 0) out.audiences = [...p.audiences];
  if (p.jwksUri !== null) out.remote_jwks = { http_uri: httpUri(view, p.jwksUri, p.caFile, into), cache_duration: { seconds: 300 } };
  else out.local_jwks = { inline_string: p.jwks };
  out.forward = p.forwardOriginalToken;
  if (p.fromHeaders.length > 0) out.from_headers = p.fromHeaders.map((h) => ({ name: h.name, value_prefix: h.prefix }));
  if (p.fromCookies.length > 0) out.from_cookies = [...p.fromCookies];
  out.payload_in_metadata = JWT_PAYLOAD_KEY;
  if (p.outputClaimToHeaders.length > 0) out.claim_to_headers = p.outputClaimToHeaders.map((c) => ({ header_name: c.header, claim_name: c.claim }));
  return out;
}

/**
 * The provider that validates an OIDC login's ID token from the `IdToken` cookie the oauth2 filter sets, and copies
 * the identity claims (sub, email, groups, name) into the configured headers; the audience is the client id. A
 * sidecar behind the gateway uses the same provider on the forwarded cookie: for its claim rules, and to set the
 * headers again from the token it validated itself (jwt_authn removes a request's own values of those headers first).
 */
export function oidcProvider(view: MeshView, o: OidcLogin, into: AuthnClusters): Json {
  const claims: Json[] = [];
  const h = o.headers;
  if (h.subject) claims.push({ header_name: h.subject, claim_name: 'sub' });
  if (h.email) claims.push({ header_name: h.email, claim_name: 'email' });
  if (h.groups) claims.push({ header_name: h.groups, claim_name: 'groups' });
  if (h.name) claims.push({ header_name: h.name, claim_name: 'name' });
  const out: Json = {
    issuer: o.issuer,
    audiences: [o.clientId],
    remote_jwks: { http_uri: httpUri(view, o.jwksUri, o.caFile, into), cache_duration: { seconds: 300 } },
    forward: true,
  };
  out.from_cookies = [ID_TOKEN_COOKIE];
  out.payload_in_metadata = JWT_PAYLOAD_KEY;
  if (claims.length > 0) out.claim_to_headers = claims;
  return out;
}

/** "any of" these requirements, reduced to the single one when alone. */
export function anyRequirement(list: readonly Json[]): Json {
  return list.length === 1 ? list[0] : { requires_any: { requirements: [...list] } };
}

export function jwtAuthnFilter(providers: Record<string, Json>, rules: readonly Json[], requirementMap: Record<string, Json>): Json {
  const c: Json = { '@type': JWT_AUTHN_TYPE, providers };
  if (rules.length > 0) c.rules = [...rules];
  if (Object.keys(requirementMap).length > 0) c.requirement_map = requirementMap;
  return { name: JWT_FILTER, typed_config: c };
}

/** A route's typed_per_filter_config entry selecting a requirement of requirement_map. */
export function jwtPerRoute(requirement: string): Json {
  return { '@type': JWT_PER_ROUTE_TYPE, requirement_name: requirement };
}

/** A route's typed_per_filter_config entry turning a filter off there (API routes under a login). */
export const DISABLED_FILTER: Json = { '@type': FILTER_CONFIG_TYPE, disabled: true };

/**
 * The SdsSecretConfig of a login secret: Envoy's file-based SDS (`path_config_source`), either the file the input names
 * or the one the control plane writes (authn-secrets.ts) for Secret values and generated HMAC keys.
 */
function sdsSecret(a: RequestAuthentication, v: SecretValue | null, which: 'token' | 'hmac'): Json {
  if (v !== null && 'file' in v) return { name: v.name, sds_config: { path_config_source: { path: v.file }, resource_api_version: 'V3' } };
  const f = loginSecretFile(a);
  return { name: f[which], sds_config: { path_config_source: { path: f.path }, resource_api_version: 'V3' } };
}

/** Path matchers: "/prefix*" → prefix, else exact. */
function pathMatcher(p: string): Json {
  return p.endsWith('*') ? { prefix: p.slice(0, -1) } : { exact: p };
}

/**
 * The oauth2 filter for an OIDC login (authorization code flow; the filter adds PKCE and state): redirect back to
 * `<scheme>://%REQ(:authority)%<redirectPath>` (the listener's scheme; unknown: x-forwarded-proto), cookies signed with the HMAC secret, the access token
 * forwarded as bearer token, refresh tokens used. Secrets come from SDS files (see sdsSecret).
 */
export function oauth2Filter(view: MeshView, a: RequestAuthentication, o: OidcLogin, scheme: 'http' | 'https' | null, into: AuthnClusters): Json {
  const config: Json = {
    token_endpoint: httpUri(view, o.tokenEndpoint, o.caFile, into),
    authorization_endpoint: o.authorizationEndpoint,
    credentials: {
      client_id: o.clientId,
      token_secret: sdsSecret(a, o.clientSecret, 'token'),
      hmac_secret: sdsSecret(a, o.hmacSecret, 'hmac'),
    },
    redirect_uri: `${scheme ?? '%REQ(x-forwarded-proto)%'}://%REQ(:authority)%${o.redirectPath}`,
    redirect_path_matcher: { path: { exact: o.redirectPath } },
    signout_path: { path: { exact: o.signoutPath } },
    forward_bearer_token: o.forwardAccessToken,
    auth_scopes: [...o.scopes],
    use_refresh_token: { value: true },
  };
  if (o.passThroughPaths.length > 0) {
    config.pass_through_matcher = o.passThroughPaths.map((p) => ({ name: ':path', string_match: pathMatcher(p) }));
  }
  return { name: OAUTH2_FILTER, typed_config: { '@type': OAUTH2_TYPE, config } };
}

/** jwt_authn rules for paths a login lets through without a session: the ID token is optional there. */
export function passThroughRules(o: OidcLogin): Json[] {
  return o.passThroughPaths.map((p) => ({ match: p.endsWith('*') ? { prefix: p.slice(0, -1) } : { path: p }, requires: { allow_missing: {} } }));
}
