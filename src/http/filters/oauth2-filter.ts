// The envoy.filters.http.oauth2 filter: OpenID Connect / OAuth2 authorization-code login with PKCE for browsers, sessions in signed cookies.
import type { Logger } from 'pino';
import type { HeaderMatcher } from '../../model/types.ts';
import { createLogger } from '../../observability/access-log.ts';
import { sanitizeName } from '../../observability/stats.ts';
import type { Counter } from '../../observability/types.ts';
import { matchHeader, matchString } from '../../matching/string-matcher.ts';
import { parseCookies, setCookie, setCookieHeader } from '../../policy/oauth2/cookies.ts';
import { formatUri, pathOnly, queryParams, sameOriginPath, sessionHost } from '../../policy/oauth2/redirects.ts';
import { type GenericSecretSource, genericSecretSource } from '../../policy/oauth2/secret-file.ts';
import { processSecretStore } from '../../secrets/process-secrets.ts';
import {
  checkCsrfToken, codeChallenge, decodeState, decryptValue, encodeState, encryptValue, jwtExpiry, newCodeVerifier, newCsrfToken,
} from '../../policy/oauth2/session-crypto.ts';
import type { SessionTokens } from '../../policy/oauth2/session-crypto.ts';
import { clearSession, newSession, readSession, REFRESH_MARGIN_S } from '../../policy/oauth2/session.ts';
import { exchangeCode, refreshTokens, type ClientCredentials, type TokenResult } from '../../policy/oauth2/token-client.ts';
import type { LocalReply } from '../error-response.ts';
import type { HeaderRecord, RequestHead } from '../exchange.ts';
import type { StatsSink } from '../hcm-stats.ts';
import { headerValue } from '../route-table.ts';
import type { ClusterFetch } from './cluster-fetch.ts';
import { filterLocalReply, type FilterRequest, type FilterResult, type FilterStatus, type HttpFilter, type HttpFilterFactory } from './http-filter.ts';
import { compileOAuth2, OAUTH2, OAUTH2_DISABLED, type OAuth2FilterConfig, type OAuth2Settings } from './oauth2-config.ts';

export const OAUTH2_FILTER_NAME = 'envoy.filters.http.oauth2';

/** Envoy's body for every refusal of the filter. */
const UNAUTHORIZED_BODY = 'OAuth flow failed.';

function unauthorized(code: string): LocalReply {
  return { status: 401, flag: null, body: UNAUTHORIZED_BODY, details: `oauth.unauthorized{${code}}` };
}

function found(location: string, setCookies: string[], details: string): LocalReply {
  const headers: HeaderRecord = { location };
  if (setCookies.length > 0) headers['set-cookie'] = setCookies;
  return { status: 302, flag: null, body: '', details, headers };
}

interface OAuth2Stats {
  readonly unauthorizedRq: Counter;
  readonly failure: Counter;
  readonly passthrough: Counter;
  readonly success: Counter;
  readonly refreshSuccess: Counter;
  readonly refreshFailure: Counter;
}

/** Envoy's http.<prefix>.<stat_prefix>oauth_* counters (Prometheus: envoy_http_<stat_prefix>oauth_*{envoy_http_conn_manager_prefix}). */
function oauthStats(sink: StatsSink, hcmPrefix: string, statPrefix: string): OAuth2Stats {
  const l = { envoy_http_conn_manager_prefix: hcmPrefix };
  const c = (name: string) => sink.counter(sanitizeName(`envoy_http_${statPrefix}oauth_${name}`), l);
  return {
    unauthorizedRq: c('unauthorized_rq'), failure: c('failure'), passthrough: c('passthrough'), success: c('success'),
    refreshSuccess: c('refreshtoken_success'), refreshFailure: c('refreshtoken_failure'),
  };
}

let processLog: Logger | null = null;
/** The filter's log lines (pino JSON on stderr, like the process log); one logger per process. */
function oauthLog(): Logger {
  processLog ??= createLogger(process.env.PILOTFISH_LOG_LEVEL ?? 'info', { filter: OAUTH2_FILTER_NAME });
  return processLog;
}

function matchesAny(matchers: readonly HeaderMatcher[], head: RequestHead): boolean {
  return matchers.some((m) => matchHeader(m, headerValue(head, m.name)));
}

/** How long a finished refresh is shared with requests still carrying the old refresh token. */
const REFRESH_SHARE_MS = 3000;

interface SharedRefresh {
  readonly result: Promise<TokenResult>;
  doneAt: number | null;
}

/** The runtime of one OAuth2Config: its secrets, stats and the flow. */
export class OAuth2Flow {
  readonly s: OAuth2Settings;
  readonly #fetch: ClusterFetch;
  readonly #stats: OAuth2Stats;
  readonly #log: Logger;
  readonly #tokenSecret: GenericSecretSource;
  readonly #hmacSecret: GenericSecretSource;
  readonly #refreshes = new Map<string, SharedRefresh>();
  /** The cookies holding (encrypted) tokens. */
  readonly #tokenCookies: readonly string[];
  /** Envoy's removeOAuthFlowCookies list: the backend never sees the HMAC, expiry, refresh token, nonce or verifier. */
  readonly #flowCookies: readonly string[];

  constructor(s: OAuth2Settings, fetch: ClusterFetch, stats: OAuth2Stats, log: Logger) {
    this.s = s;
    const n = s.cookieNames;
    this.#tokenCookies = [n.bearerToken, n.idToken, n.refreshToken];
    this.#flowCookies = [n.oauthHmac, n.oauthExpires, n.refreshToken, n.oauthNonce, n.codeVerifier];
    this.#fetch = fetch;
    this.#stats = stats;
    this.#log = log;
    const onError = (message: string): void => { log.error({ reason: message }, `oauth2: ${message}`); };
    this.#tokenSecret = genericSecretSource(s.tokenSecret, processSecretStore(), onError);
    this.#hmacSecret = genericSecretSource(s.hmacSecret, processSecretStore(), onError);
  }

  /** Refuses with 401 "OAuth flow failed." and a log line naming the reason (nothing reaches the backend). */
  #refuse(r: FilterRequest, code: string, reason: string): FilterStatus {
    const head = r.req.ex.head;
    this.#log.warn({ reason, authority: head.authority, path: pathOnly(head.path) }, `oauth2: refused ${head.method} ${pathOnly(head.path)}: ${reason}`);
    this.#stats.failure.inc();
    return filterLocalReply(r, unauthorized(code));
  }

  onRequest(r: FilterRequest): FilterResult {
    const s = this.s;
    const head = r.req.ex.head;
    const h = head.headers;
    const cookies = parseCookies(h.cookie);
    const hmacSecret = this.#hmacSecret.value();
    const tokenSecret = this.#tokenSecret.value();
    if (hmacSecret !== null && !s.disableTokenEncryption) {
      // Token cookies are stored encrypted; the rest of the chain and the backend see them decrypted (as Envoy).
      let changed = false;
      for (const name of this.#tokenCookies) {
        const v = cookies.get(name);
        if (v === undefined || v === '') continue;
        const plain = decryptValue(hmacSecret, v);
        if (plain !== null) { cookies.set(name, plain); changed = true; }
      }
      if (changed) setCookieHeader(h, cookies);
    }
    if (matchesAny(s.passThroughMatchers, head)) {
      this.#stats.passthrough.inc();
      this.#removeFlowCookies(h, cookies);
      return 'continue';
    }
    if (!s.preserveAuthorizationHeader) delete h.authorization;
    if (hmacSecret === null || tokenSecret === null) {
      return this.#refuse(r, 'secret_unavailable', (this.#hmacSecret.error ?? this.#tokenSecret.error) ?? 'secrets are not available');
    }
    const path = pathOnly(head.path);
    if (matchString(s.signoutPath, path)) return this.#signOut(r, cookies);
    const domain = s.cookieDomain ?? sessionHost(head.authority);
    const session = readSession(s, cookies, hmacSecret, domain, Math.floor(Date.now() / 1000));
    const isCallback = matchString(s.redirectPathMatcher, path);
    if (session.kind === 'valid') {
      if (isCallback) return this.#raceCallback(r, cookies, hmacSecret);
      if (s.forwardBearerToken && session.tokens.accessToken !== '') h.authorization = `Bearer ${session.tokens.accessToken}`;
      this.#removeFlowCookies(h, cookies);
      this.#stats.success.inc();
      return 'continue';
    }
    if (session.kind === 'invalid') {
      this.#log.warn({ reason: session.reason, authority: head.authority, path }, `oauth2: session cookies refused: ${session.reason}`);
    }
    if (isCallback) return this.#callback(r, cookies, hmacSecret, tokenSecret);
    if (session.kind === 'expired' && s.useRefreshToken && session.tokens.refreshToken !== '') {
      return this.#refresh(r, cookies, session.tokens, hmacSecret, tokenSecret, domain);
    }
    return this.#login(r, cookies, hmacSecret, session.kind === 'invalid' ? session.reason : 'no session');
  }

  /** Redirects to the authorization endpoint (or 401 where deny_redirect_matcher matches). */
  #login(r: FilterRequest, cookies: ReadonlyMap<string, string>, secret: string, why: string): FilterStatus {
    const s = this.s;
    const head = r.req.ex.head;
    if (matchesAny(s.denyRedirectMatchers, head)) return this.#refuse(r, 'redirect_denied', `${why}; deny_redirect_matcher matched, no redirect to the authorization server`);
    const setCookies: string[] = [];
    let csrf = cookies.get(s.cookieNames.oauthNonce) ?? '';
    // A nonce is reused (parallel logins of one browser keep working) while at least half its lifetime is left.
    const nowS = Math.floor(Date.now() / 1000);
    if (csrf === '' || checkCsrfToken(secret, csrf, nowS, Math.floor(s.csrfTokenExpiresInS / 2)) !== 'ok') {
      csrf = newCsrfToken(secret, nowS);
      setCookies.push(setCookie(s.cookieNames.oauthNonce, csrf, s.csrfTokenExpiresInS, s.cookies.oauthNonce, s.cookieDomain));
    }
    const verifier = newCodeVerifier();
    setCookies.push(setCookie(s.cookieNames.codeVerifier, encryptValue(secret, verifier), s.codeVerifierTokenExpiresInS, s.cookies.codeVerifier, s.cookieDomain));
    const original = `${head.scheme}://${head.authority}${head.path}`;
    const url = new URL(s.authorizationEndpoint);
    const q = url.searchParams;
    q.set('client_id', s.clientId);
    q.set('response_type', 'code');
    q.set('scope', s.authScopes.join(' '));
    q.set('state', encodeState(secret, original, csrf));
    q.set('redirect_uri', formatUri(s.redirectUri, head));
    q.set('code_challenge', codeChallenge(verifier));
    q.set('code_challenge_method', 'S256');
    for (const res of s.resources) q.append('resource', res);
    this.#stats.unauthorizedRq.inc();
    return filterLocalReply(r, found(url.toString(), setCookies, 'oauth.missing_credentials'));
  }

  /** Checks the callback's error/code/state and the nonce cookie; the sanitized return path, or a refusal. */
  #checkCallback(r: FilterRequest, cookies: ReadonlyMap<string, string>, secret: string): { code: string; returnPath: string } | FilterStatus {
    const s = this.s;
    const head = r.req.ex.head;
    const q = queryParams(head.path);
    const error = q.get('error');
    if (error !== undefined) return this.#refuse(r, 'provider_error', `the authorization server answered error=${error}${q.has('error_description') ? ` (${q.get('error_description')})` : ''}`);
    const code = q.get('code') ?? '';
    const state = q.get('state') ?? '';
    if (code === '' || state === '') return this.#refuse(r, 'missing_code_or_state', 'the callback has no code or no state');
    const st = decodeState(secret, state);
    if (!st.ok) return this.#refuse(r, 'bad_state', st.reason);
    const nonce = cookies.get(s.cookieNames.oauthNonce) ?? '';
    if (nonce === '') return this.#refuse(r, 'missing_nonce', `the ${s.cookieNames.oauthNonce} cookie is missing (state cannot be checked)`);
    const csrf = nonce === st.csrfToken ? checkCsrfToken(secret, nonce, Math.floor(Date.now() / 1000), s.csrfTokenExpiresInS) : 'invalid';
    if (csrf === 'invalid') return this.#refuse(r, 'csrf_mismatch', `the state's CSRF token does not match the ${s.cookieNames.oauthNonce} cookie`);
    if (csrf === 'expired') return this.#refuse(r, 'csrf_expired', `the state's CSRF token is older than csrf_token_expires_in (${s.csrfTokenExpiresInS}s)`);
    let returnPath = '/';
    const ret = sameOriginPath(st.url, head.authority);
    if (!ret.ok) {
      this.#log.warn({ reason: ret.reason, authority: head.authority }, `oauth2: return URL ${JSON.stringify(st.url.slice(0, 200))} refused (${ret.reason}), redirecting to /`);
    } else if (matchString(s.redirectPathMatcher, pathOnly(ret.path))) {
      this.#log.warn({ authority: head.authority }, 'oauth2: return URL is the callback path itself, redirecting to /');
    } else {
      returnPath = ret.path;
    }
    return { code, returnPath };
  }

  /** A callback request from a browser that already has a valid session (two logins raced): back to the original URL. */
  #raceCallback(r: FilterRequest, cookies: ReadonlyMap<string, string>, secret: string): FilterStatus {
    const c = this.#checkCallback(r, cookies, secret);
    if (typeof c === 'string') return c;
    return filterLocalReply(r, found(c.returnPath, [], 'oauth.race_redirect'));
  }

  #credentials(tokenSecret: string): ClientCredentials {
    return { clientId: this.s.clientId, clientSecret: tokenSecret, authType: this.s.authType };
  }

  /** The redirect_path_matcher request: exchange the code (with the PKCE verifier), set the session, back to the original URL. */
  #callback(r: FilterRequest, cookies: ReadonlyMap<string, string>, secret: string, tokenSecret: string): FilterResult {
    const s = this.s;
    const c = this.#checkCallback(r, cookies, secret);
    if (typeof c === 'string') return c;
    const enc = cookies.get(s.cookieNames.codeVerifier) ?? '';
    if (enc === '') return this.#refuse(r, 'missing_code_verifier', `the ${s.cookieNames.codeVerifier} cookie is missing`);
    const verifier = decryptValue(secret, enc);
    if (verifier === null) return this.#refuse(r, 'bad_code_verifier', `the ${s.cookieNames.codeVerifier} cookie does not decrypt (tampered or another hmac_secret)`);
    const head = r.req.ex.head;
    const redirectUri = formatUri(s.redirectUri, head);
    return this.#await(r, exchangeCode(this.#fetch, s.tokenEndpoint, this.#credentials(tokenSecret), c.code, redirectUri, verifier, s.defaultExpiresInS), (res) => {
      if (!res.ok) return this.#refuse(r, 'token_exchange_failed', `code exchange failed: ${res.reason}`);
      const session = newSession(s, res.tokens, secret, s.cookieDomain ?? sessionHost(head.authority), Math.floor(Date.now() / 1000), cookies);
      this.#stats.success.inc();
      this.#log.info({ authority: head.authority }, 'oauth2: login completed, session cookies set');
      return filterLocalReply(r, found(c.returnPath, session.setCookies, 'oauth.logged_in'));
    });
  }

  /** An expired session with a refresh token: new tokens from the token endpoint, the request continues with them. */
  #refresh(r: FilterRequest, cookies: Map<string, string>, old: SessionTokens, secret: string, tokenSecret: string, domain: string): FilterResult {
    const s = this.s;
    const refreshToken = old.refreshToken;
    const p = this.#sharedRefresh(refreshToken, tokenSecret);
    return this.#await(r, p, (res) => {
      if (!res.ok) {
        this.#stats.refreshFailure.inc();
        this.#log.warn({ reason: res.reason, authority: r.req.ex.head.authority }, `oauth2: refresh failed: ${res.reason}`);
        return this.#login(r, cookies, secret, `refresh failed: ${res.reason}`);
      }
      // No new refresh token in the answer: the old one stays (RFC 6749 §6). No new ID token (OIDC Core §12.2 makes it
      // optional): the old one stays too, so a jwt_authn filter reading the IdToken cookie still finds it; once that one
      // has expired only a new login gives a fresh ID token.
      const nowS = Math.floor(Date.now() / 1000);
      let tokens = res.tokens.refreshToken === '' ? { ...res.tokens, refreshToken } : res.tokens;
      if (tokens.idToken === '' && old.idToken !== '') {
        const exp = jwtExpiry(old.idToken);
        if (exp !== null && exp <= nowS + REFRESH_MARGIN_S) return this.#login(r, cookies, secret, 'the refresh gave no ID token and the session\'s ID token has expired');
        tokens = { ...tokens, idToken: old.idToken };
      }
      const session = newSession(s, tokens, secret, domain, nowS, cookies);
      const n = s.cookieNames;
      const h = r.req.ex.head.headers;
      for (const [name, value] of [[n.bearerToken, session.tokens.accessToken], [n.idToken, session.tokens.idToken]] as const) {
        if (value !== '') cookies.set(name, value);
        else cookies.delete(name);
      }
      if (s.forwardBearerToken && session.tokens.accessToken !== '') h.authorization = `Bearer ${session.tokens.accessToken}`;
      this.#removeFlowCookies(h, cookies);
      appendSetCookies(r, session.setCookies);
      this.#stats.refreshSuccess.inc();
      this.#stats.success.inc();
      return 'continue';
    });
  }

  /**
   * One refresh per refresh token at a time: parallel requests of a browser (sent before it got the new cookies) share
   * the call and its tokens for a few seconds, instead of each spending the (possibly rotated) refresh token.
   */
  #sharedRefresh(refreshToken: string, tokenSecret: string): Promise<TokenResult> {
    const now = Date.now();
    const shared = this.#refreshes.get(refreshToken);
    if (shared !== undefined && (shared.doneAt === null || now - shared.doneAt < REFRESH_SHARE_MS)) return shared.result;
    const s = this.s;
    const entry: SharedRefresh = {
      result: refreshTokens(this.#fetch, s.tokenEndpoint, this.#credentials(tokenSecret), refreshToken, s.defaultExpiresInS),
      doneAt: null,
    };
    this.#refreshes.set(refreshToken, entry);
    const done = (): void => {
      entry.doneAt = Date.now();
      setTimeout(() => { if (this.#refreshes.get(refreshToken) === entry) this.#refreshes.delete(refreshToken); }, REFRESH_SHARE_MS).unref();
    };
    entry.result.then(done, done);
    return entry.result;
  }

  /** Waits for `p` (a token endpoint call), unless the client leaves first; `then` decides the request's fate. */
  #await(r: FilterRequest, p: Promise<TokenResult>, then: (res: TokenResult) => FilterStatus): Promise<FilterStatus> {
    return new Promise<FilterStatus>((resolve, reject) => {
      let settled = false;
      // A throw while answering rejects: the filter chain resets the stream (instead of a request left hanging).
      const answer = (res: TokenResult): void => {
        try { resolve(then(res)); } catch (err) {
          this.#log.error({ err }, `oauth2: answering after the token endpoint call failed: ${err instanceof Error ? err.message : String(err)}`);
          reject(err);
        }
      };
      r.req.ex.onAbort(() => {
        if (settled) return;
        settled = true;
        r.req.addFlag('DC');
        r.req.finish();
        resolve('stop');
      });
      p.then((res) => {
        if (settled) return;
        settled = true;
        answer(res);
      }, (err: unknown) => {
        if (settled) return;
        settled = true;
        answer({ ok: false, reason: err instanceof Error ? err.message : String(err) });
      });
    });
  }

  /** signout_path: every cookie of the filter cleared, then "/" or the provider's end_session_endpoint (RP-initiated logout). */
  #signOut(r: FilterRequest, cookies: ReadonlyMap<string, string>): FilterStatus {
    const s = this.s;
    const head = r.req.ex.head;
    const home = `${head.scheme}://${head.authority}/`;
    let location = home;
    if (s.endSessionEndpoint !== null) {
      const url = new URL(s.endSessionEndpoint);
      const idToken = cookies.get(s.cookieNames.idToken) ?? '';
      if (idToken !== '') url.searchParams.set('id_token_hint', idToken);
      url.searchParams.set('client_id', s.clientId);
      url.searchParams.set('post_logout_redirect_uri', home);
      location = url.toString();
    }
    this.#log.info({ authority: head.authority }, 'oauth2: signed out, session cookies cleared');
    return filterLocalReply(r, found(location, clearSession(s), 'oauth.sign_out'));
  }

  /** Envoy's removeOAuthFlowCookies: the backend sees BearerToken and IdToken, never the HMAC, expiry, refresh token, nonce or verifier. */
  #removeFlowCookies(h: HeaderRecord, cookies: Map<string, string>): void {
    let changed = false;
    for (const name of this.#flowCookies) changed = cookies.delete(name) || changed;
    if (changed) setCookieHeader(h, cookies);
  }
}

/** Adds Set-Cookie lines to whatever response this request ends up sending, keeping the upstream's own Set-Cookie headers. */
function appendSetCookies(r: FilterRequest, lines: readonly string[]): void {
  const ex = r.req.ex;
  const send = ex.sendHeaders;
  ex.sendHeaders = (status, headers, endStream) => {
    const have = headers['set-cookie'];
    headers['set-cookie'] = have === undefined ? [...lines] : [...(Array.isArray(have) ? have : [have]), ...lines];
    send.call(ex, status, headers, endStream);
  };
}

export class OAuth2Filter implements HttpFilter<OAuth2Flow | typeof OAUTH2_DISABLED> {
  readonly #flow: OAuth2Flow | null;
  readonly #make: (s: OAuth2Settings) => OAuth2Flow;
  /** Every cookie name of this filter's flows (the filter's config and the per-route ones built so far). */
  readonly #cookieNames = new Set<string>();

  constructor(config: OAuth2FilterConfig, make: (s: OAuth2Settings) => OAuth2Flow) {
    this.#make = make;
    this.#flow = 'disabled' in config ? null : this.#makeFlow(config);
  }

  #makeFlow(s: OAuth2Settings): OAuth2Flow {
    for (const name of Object.values(s.cookieNames)) this.#cookieNames.add(name);
    return this.#make(s);
  }

  /** A route's OAuth2 replaces the filter's config as a whole (its own secrets and flow); OAuth2 without config turns it off there. */
  perRoute(config: unknown): OAuth2Flow | typeof OAUTH2_DISABLED {
    const c = config as OAuth2FilterConfig;
    return 'disabled' in c ? OAUTH2_DISABLED : this.#makeFlow(c);
  }

  onRequest(r: FilterRequest, perRoute: OAuth2Flow | typeof OAUTH2_DISABLED | null): FilterResult {
    const flow = perRoute === null ? this.#flow : perRoute === OAUTH2_DISABLED ? null : perRoute as OAuth2Flow;
    if (flow === null) { this.onDisabled(r); return 'continue'; }
    return flow.onRequest(r);
  }

  /**
   * Where the filter does not run, its cookies (session, still encrypted tokens, nonce, verifier) are removed from the
   * request all the same: a backend behind a route without login must not receive another route's session.
   */
  onDisabled(r: FilterRequest): void {
    const h = r.req.ex.head.headers;
    if (h.cookie === undefined || this.#cookieNames.size === 0) return;
    const cookies = parseCookies(h.cookie);
    let changed = false;
    for (const name of this.#cookieNames) changed = cookies.delete(name) || changed;
    if (changed) setCookieHeader(h, cookies);
  }
}

export const OAUTH2_FILTER: HttpFilterFactory<OAuth2FilterConfig> = {
  message: OAUTH2.message,
  names: [OAUTH2_FILTER_NAME],
  table: OAUTH2,
  terminal: false,
  compile: (m, perRoute) => compileOAuth2(m, perRoute),
  create: (config, ctx) => new OAuth2Filter(config, (s) => new OAuth2Flow(s, ctx.fetch, oauthStats(ctx.stats, ctx.hcm.statPrefix, s.statPrefix), oauthLog())),
};
