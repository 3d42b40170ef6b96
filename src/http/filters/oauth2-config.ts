// Field tables and the compiler for envoy.extensions.filters.http.oauth2.v3.OAuth2 (OAuth2Config, credentials, cookies).
import { HTTP_URI } from '../../model/fields-tracing.ts';
import { compileHeaderMatchers, compileStringMatcher } from '../../model/matchers.ts';
import type { Msg, MessageTable } from '../../model/proto-message.ts';
import type { HeaderMatcher, StringMatcher } from '../../model/types.ts';
import { DEFAULT_COOKIE_NAMES, type CookieNames, type CookieSettings, type SameSite } from '../../policy/oauth2/cookies.ts';
import { compileUriTemplate, type UriTemplate } from '../../policy/oauth2/redirects.ts';
import type { SecretRef } from '../../policy/oauth2/secret-file.ts';
import type { AuthType } from '../../policy/oauth2/token-client.ts';
import type { HttpUri } from './cluster-fetch.ts';

export const OAUTH2: MessageTable = {
  message: 'envoy.extensions.filters.http.oauth2.v3.OAuth2',
  fields: { config: 'ok' },
};

const OAUTH2_CONFIG: MessageTable = {
  message: 'envoy.extensions.filters.http.oauth2.v3.OAuth2Config',
  fields: {
    token_endpoint: 'ok', retry_policy: 'warn', authorization_endpoint: 'ok', end_session_endpoint: 'ok', credentials: 'ok',
    redirect_uri: 'ok', redirect_path_matcher: 'ok', signout_path: 'ok', forward_bearer_token: 'ok',
    preserve_authorization_header: 'ok', pass_through_matcher: 'ok', auth_scopes: 'ok', resources: 'ok', auth_type: 'ok',
    use_refresh_token: 'ok', default_expires_in: 'ok', deny_redirect_matcher: 'ok', default_refresh_token_expires_in: 'ok',
    disable_id_token_set_cookie: 'ok', disable_access_token_set_cookie: 'ok', disable_refresh_token_set_cookie: 'ok',
    cookie_configs: 'ok', stat_prefix: 'ok', csrf_token_expires_in: 'ok', code_verifier_token_expires_in: 'ok',
    disable_token_encryption: 'ok', allow_failed_matcher: 'unsupported',
  },
};

const CREDENTIALS: MessageTable = {
  message: 'envoy.extensions.filters.http.oauth2.v3.OAuth2Credentials',
  fields: { client_id: 'ok', token_secret: 'ok', hmac_secret: 'ok', cookie_names: 'ok', cookie_domain: 'ok' },
};

const COOKIE_NAME_FIELDS = {
  bearer_token: 'bearerToken', oauth_hmac: 'oauthHmac', oauth_expires: 'oauthExpires', id_token: 'idToken',
  refresh_token: 'refreshToken', oauth_nonce: 'oauthNonce', code_verifier: 'codeVerifier',
} as const satisfies Record<string, keyof CookieNames>;

const COOKIE_NAMES_TABLE: MessageTable = {
  message: 'envoy.extensions.filters.http.oauth2.v3.OAuth2Credentials.CookieNames',
  fields: Object.fromEntries(Object.keys(COOKIE_NAME_FIELDS).map((k) => [k, 'ok'])),
};

const COOKIE_CONFIG_FIELDS = {
  bearer_token_cookie_config: 'bearerToken', oauth_hmac_cookie_config: 'oauthHmac', oauth_expires_cookie_config: 'oauthExpires',
  id_token_cookie_config: 'idToken', refresh_token_cookie_config: 'refreshToken', oauth_nonce_cookie_config: 'oauthNonce',
  code_verifier_cookie_config: 'codeVerifier',
} as const satisfies Record<string, keyof CookieNames>;

const COOKIE_CONFIGS: MessageTable = {
  message: 'envoy.extensions.filters.http.oauth2.v3.CookieConfigs',
  fields: Object.fromEntries(Object.keys(COOKIE_CONFIG_FIELDS).map((k) => [k, 'ok'])),
};

const COOKIE_CONFIG: MessageTable = {
  message: 'envoy.extensions.filters.http.oauth2.v3.CookieConfig',
  fields: { same_site: 'ok', path: 'ok', partitioned: 'ok' },
};

const PATH_MATCHER: MessageTable = { message: 'envoy.type.matcher.v3.PathMatcher', fields: { path: 'ok' } };

const SDS_SECRET_CONFIG: MessageTable = {
  message: 'envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig',
  fields: { name: 'ok', sds_config: 'ok' },
};

const CONFIG_SOURCE: MessageTable = {
  message: 'envoy.config.core.v3.ConfigSource',
  fields: {
    path_config_source: 'ok', path: 'ok', ads: 'ok', api_config_source: 'ok', self: 'ok',
    authorities: 'ignore', initial_fetch_timeout: 'ignore', resource_api_version: 'ignore',
  },
};

const PATH_CONFIG_SOURCE: MessageTable = {
  message: 'envoy.config.core.v3.PathConfigSource',
  fields: { path: 'ok', watched_directory: 'ignore' },
};

export type CookieKind = keyof CookieNames;

/** One compiled OAuth2Config. */
export interface OAuth2Settings {
  readonly tokenEndpoint: HttpUri;
  readonly authorizationEndpoint: URL;
  readonly endSessionEndpoint: string | null;
  readonly clientId: string;
  readonly tokenSecret: SecretRef;
  readonly hmacSecret: SecretRef;
  readonly cookieNames: CookieNames;
  readonly cookieDomain: string | null;
  readonly cookies: Readonly<Record<CookieKind, CookieSettings>>;
  readonly redirectUri: UriTemplate;
  readonly redirectPathMatcher: StringMatcher;
  readonly signoutPath: StringMatcher;
  readonly forwardBearerToken: boolean;
  readonly preserveAuthorizationHeader: boolean;
  readonly passThroughMatchers: readonly HeaderMatcher[];
  readonly denyRedirectMatchers: readonly HeaderMatcher[];
  readonly authScopes: readonly string[];
  readonly resources: readonly string[];
  readonly authType: AuthType;
  readonly useRefreshToken: boolean;
  readonly defaultExpiresInS: number;
  readonly defaultRefreshTokenExpiresInS: number;
  readonly disableIdTokenSetCookie: boolean;
  readonly disableAccessTokenSetCookie: boolean;
  readonly disableRefreshTokenSetCookie: boolean;
  readonly statPrefix: string;
  readonly csrfTokenExpiresInS: number;
  readonly codeVerifierTokenExpiresInS: number;
  readonly disableTokenEncryption: boolean;
}

/** OAuth2 without `config` (a route's typed_per_filter_config): the filter is off there. */
export const OAUTH2_DISABLED = Object.freeze({ disabled: true as const });
export type OAuth2FilterConfig = OAuth2Settings | typeof OAUTH2_DISABLED;

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const SAME_SITES = ['DISABLED', 'STRICT', 'LAX', 'NONE'] as const;
const AUTH_TYPES = ['URL_ENCODED_BODY', 'BASIC_AUTH'] as const;

function compileSecret(parent: Msg, name: string): SecretRef | null {
  const s = parent.msg(name, SDS_SECRET_CONFIG);
  if (s === null) { parent.error(name, 'is required'); return null; }
  const secretName = s.requiredStr('name');
  const cs = s.msg('sds_config', CONFIG_SOURCE);
  // No sds_config: Envoy's static secret, a generic_secret in the bootstrap's static_resources.secrets.
  if (cs === null) return secretName === '' ? null : { name: secretName, path: null };
  const pcs = cs.msg('path_config_source', PATH_CONFIG_SOURCE);
  const path = pcs !== null ? pcs.requiredStr('path') : cs.str('path');
  if (pcs === null && !cs.has('path')) {
    cs.ctx.error(cs.path, 'generic secrets over ads / api_config_source are not supported yet; use path_config_source {path: <file with the Secret>}');
    return null;
  }
  return secretName === '' || path === '' ? null : { name: secretName, path };
}

function compileCookieNames(c: Msg): CookieNames {
  const m = c.msg('cookie_names', COOKIE_NAMES_TABLE);
  const names: Record<CookieKind, string> = { ...DEFAULT_COOKIE_NAMES };
  if (m === null) return names;
  for (const [field, key] of Object.entries(COOKIE_NAME_FIELDS)) {
    const v = m.str(field);
    if (v === '') continue;
    if (!HEADER_NAME.test(v)) m.error(field, `${JSON.stringify(v)} is not a valid cookie name`);
    else names[key] = v;
  }
  const seen = new Map<string, string>();
  for (const [field, key] of Object.entries(COOKIE_NAME_FIELDS)) {
    const other = seen.get(names[key]);
    if (other !== undefined) m.error(field, `cookie name ${JSON.stringify(names[key])} is also used for ${other}`);
    seen.set(names[key], field);
  }
  return names;
}

function compileCookies(m: Msg): Record<CookieKind, CookieSettings> {
  const out = {} as Record<CookieKind, CookieSettings>;
  const configs = m.msg('cookie_configs', COOKIE_CONFIGS);
  for (const [field, key] of Object.entries(COOKIE_CONFIG_FIELDS)) {
    const c = configs?.msg(field, COOKIE_CONFIG) ?? null;
    // Unset: SameSite=Lax (what browsers assume anyway); DISABLED omits the attribute as Envoy.
    const sameSite: SameSite = c === null || !c.has('same_site') ? 'LAX' : c.enumOf('same_site', SAME_SITES, 'DISABLED');
    const path = c?.str('path') || '/';
    if (c !== null && !path.startsWith('/')) c.error('path', 'must start with "/"');
    const partitioned = c?.bool('partitioned', false) ?? false;
    if (partitioned && sameSite !== 'NONE') c!.error('partitioned', 'needs same_site: NONE (browsers only accept Partitioned cookies with SameSite=None; Secure)');
    out[key] = { sameSite, path, partitioned };
  }
  return out;
}

function compilePathMatcher(m: Msg, name: string): StringMatcher | null {
  const p = m.msg(name, PATH_MATCHER);
  if (p === null) { m.error(name, 'is required'); return null; }
  if (!p.has('path')) { p.error('path', 'is required'); return null; }
  return compileStringMatcher(p, 'path');
}

function compileHttpUri(m: Msg, name: string): HttpUri | null {
  const u = m.msg(name, HTTP_URI);
  if (u === null) { m.error(name, 'is required'); return null; }
  let uri = u.requiredStr('uri');
  const cluster = u.requiredStr('cluster');
  if (!u.has('timeout')) u.error('timeout', 'is required');
  const timeoutMs = u.durationMs('timeout', 0);
  // Envoy takes host and path from a URI without a scheme (its docs' `uri: oauth.com/token`); the cluster decides TLS.
  if (uri !== '' && !uri.includes('://') && /^[A-Za-z0-9.-]+(:\d+)?(\/|$)/.test(uri)) {
    u.ctx.warn(u.at('uri'), `${JSON.stringify(uri)} has no scheme: taken as https://${uri} (the cluster's transport_socket decides TLS)`);
    uri = `https://${uri}`;
  }
  if (uri !== '') {
    let url: URL | null = null;
    try { url = new URL(uri); } catch { /* reported below */ }
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) u.error('uri', `${JSON.stringify(uri)} is not an http(s) URL`);
  }
  if (cluster !== '') u.ctx.refCluster(cluster, u.at('cluster'));
  return uri === '' || cluster === '' ? null : { uri, cluster, timeoutMs };
}

function seconds(m: Msg, name: string, def: number): number {
  const ms = m.optDurationMs(name);
  if (ms !== null && ms < 0) m.error(name, 'must not be negative');
  return ms === null ? def : Math.floor(ms / 1000);
}

/** An opened OAuth2Config; null after reporting errors. */
export function compileOAuth2Config(m: Msg): OAuth2Settings | null {
  const before = m.ctx.errors.length;
  const tokenEndpoint = compileHttpUri(m, 'token_endpoint');
  const authz = m.requiredStr('authorization_endpoint');
  let authorizationEndpoint: URL | null = null;
  if (authz !== '') {
    try { authorizationEndpoint = new URL(authz); } catch { /* below */ }
    if (authorizationEndpoint === null || !/^https?:$/.test(authorizationEndpoint.protocol)) {
      m.error('authorization_endpoint', `${JSON.stringify(authz)} is not an http(s) URL`);
      authorizationEndpoint = null;
    }
  }
  const creds = m.msg('credentials', CREDENTIALS);
  if (creds === null) m.error('credentials', 'is required');
  const clientId = creds?.requiredStr('client_id') ?? '';
  const tokenSecret = creds === null ? null : compileSecret(creds, 'token_secret');
  const hmacSecret = creds === null ? null : compileSecret(creds, 'hmac_secret');
  const cookieNames = creds === null ? DEFAULT_COOKIE_NAMES : compileCookieNames(creds);
  const cookieDomain = creds?.optStr('cookie_domain') ?? null;
  if (cookieDomain !== null && !/^\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(cookieDomain)) creds!.error('cookie_domain', `${JSON.stringify(cookieDomain)} is not a domain name`);
  const redirect = m.requiredStr('redirect_uri');
  const redirectUri = redirect === '' ? null : compileUriTemplate(redirect);
  if (typeof redirectUri === 'string') m.error('redirect_uri', redirectUri);
  const redirectPathMatcher = compilePathMatcher(m, 'redirect_path_matcher');
  const signoutPath = compilePathMatcher(m, 'signout_path');
  const forwardBearerToken = m.bool('forward_bearer_token', false);
  const preserveAuthorizationHeader = m.bool('preserve_authorization_header', false);
  if (forwardBearerToken && preserveAuthorizationHeader) m.error('preserve_authorization_header', 'cannot be true when forward_bearer_token is true');
  const authScopes = m.strList('auth_scopes');
  const endSessionEndpoint = m.optStr('end_session_endpoint');
  if (endSessionEndpoint !== null) {
    let ok = false;
    try { ok = /^https?:$/.test(new URL(endSessionEndpoint).protocol); } catch { ok = false; }
    if (!ok) m.error('end_session_endpoint', `${JSON.stringify(endSessionEndpoint)} is not an http(s) URL`);
    else if (!authScopes.includes('openid')) m.error('end_session_endpoint', 'is only supported for OpenID Connect: auth_scopes must include "openid"');
  }
  for (const [i, s] of authScopes.entries()) if (s === '' || /\s/.test(s)) m.ctx.error(`${m.at('auth_scopes')}[${i}]`, `${JSON.stringify(s)} is not a scope (no spaces, not empty)`);
  const settings = {
    tokenEndpoint, authorizationEndpoint, endSessionEndpoint, clientId, tokenSecret, hmacSecret, cookieNames, cookieDomain,
    cookies: compileCookies(m),
    redirectUri, redirectPathMatcher, signoutPath, forwardBearerToken, preserveAuthorizationHeader,
    passThroughMatchers: compileHeaderMatchers(m, 'pass_through_matcher'),
    denyRedirectMatchers: compileHeaderMatchers(m, 'deny_redirect_matcher'),
    authScopes: authScopes.length === 0 ? ['user'] : authScopes,
    resources: m.strList('resources'),
    authType: m.enumOf('auth_type', AUTH_TYPES, 'URL_ENCODED_BODY'),
    useRefreshToken: m.bool('use_refresh_token', true),
    defaultExpiresInS: seconds(m, 'default_expires_in', 0),
    defaultRefreshTokenExpiresInS: seconds(m, 'default_refresh_token_expires_in', 604800),
    disableIdTokenSetCookie: m.bool('disable_id_token_set_cookie', false),
    disableAccessTokenSetCookie: m.bool('disable_access_token_set_cookie', false),
    disableRefreshTokenSetCookie: m.bool('disable_refresh_token_set_cookie', false),
    statPrefix: m.str('stat_prefix'),
    csrfTokenExpiresInS: seconds(m, 'csrf_token_expires_in', 600),
    codeVerifierTokenExpiresInS: seconds(m, 'code_verifier_token_expires_in', 600),
    disableTokenEncryption: m.bool('disable_token_encryption', false),
  };
  if (m.ctx.errors.length > before) return null;
  return settings as OAuth2Settings;
}

/** An opened OAuth2 message (filter level or typed_per_filter_config); OAUTH2_DISABLED without `config`. */
export function compileOAuth2(m: Msg, perRoute: boolean): OAuth2FilterConfig | null {
  const c = m.msg('config', OAUTH2_CONFIG);
  if (c === null) {
    if (!perRoute) m.ctx.warn(m.path, 'config is not set: the OAuth2 filter lets every request through');
    return OAUTH2_DISABLED;
  }
  return compileOAuth2Config(c);
}
