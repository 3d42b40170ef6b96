// The OAuth2 session kept in cookies: reading and checking it (HMAC, expiry) and the Set-Cookie lines that store new tokens.
import { deleteCookie, setCookie, type CookieNames, type CookieSettings } from './cookies.ts';
import { encryptValue, jwtExpiry, sessionHmac, sessionHmacValid, type SessionTokens } from './session-crypto.ts';
import { MAX_EXPIRES_IN_S, type TokenResponse } from './token-client.ts';

/** What the session code needs of the filter's settings. */
export interface SessionSettings {
  readonly cookieNames: CookieNames;
  readonly cookieDomain: string | null;
  readonly cookies: Readonly<Record<keyof CookieNames, CookieSettings>>;
  readonly useRefreshToken: boolean;
  readonly defaultRefreshTokenExpiresInS: number;
  readonly disableIdTokenSetCookie: boolean;
  readonly disableAccessTokenSetCookie: boolean;
  readonly disableRefreshTokenSetCookie: boolean;
  readonly disableTokenEncryption: boolean;
}

/**
 * Tokens this close to expiry count as expired when they can be refreshed, so they are refreshed before the backend
 * (or a jwt_authn filter reading the IdToken cookie) sees an expired one.
 */
export const REFRESH_MARGIN_S = 10;

export type SessionState =
  | { readonly kind: 'valid'; readonly tokens: SessionTokens }
  | { readonly kind: 'expired'; readonly tokens: SessionTokens }
  | { readonly kind: 'none' }
  | { readonly kind: 'invalid'; readonly reason: string };

/** The session in the request's cookies (token cookies already decrypted); `domain` is cookie_domain or the Host. */
export function readSession(s: SessionSettings, cookies: ReadonlyMap<string, string>, secret: string, domain: string, nowS: number): SessionState {
  const n = s.cookieNames;
  const hmac = cookies.get(n.oauthHmac) ?? '';
  const expires = cookies.get(n.oauthExpires) ?? '';
  const tokens: SessionTokens = {
    accessToken: cookies.get(n.bearerToken) ?? '',
    idToken: cookies.get(n.idToken) ?? '',
    refreshToken: cookies.get(n.refreshToken) ?? '',
  };
  if (hmac === '') return { kind: 'none' };
  if (!sessionHmacValid(secret, domain, expires, tokens, hmac)) {
    return { kind: 'invalid', reason: `${n.oauthHmac} does not match the session cookies (tampered, or signed with another hmac_secret or for another host)` };
  }
  if (!/^\d{1,12}$/.test(expires)) return { kind: 'invalid', reason: `${n.oauthExpires} is not a timestamp` };
  const margin = s.useRefreshToken && tokens.refreshToken !== '' ? REFRESH_MARGIN_S : 0;
  return Number(expires) > nowS + margin ? { kind: 'valid', tokens } : { kind: 'expired', tokens };
}

/** The new session: the tokens as stored (disabled cookies left out, as Envoy) and the Set-Cookie lines. */
export interface NewSession {
  readonly tokens: SessionTokens;
  readonly expires: string;
  readonly setCookies: string[];
}

function lifetime(token: string, nowS: number): number | null {
  const exp = jwtExpiry(token);
  return exp !== null && exp > nowS ? exp - nowS : null;
}

/**
 * Session cookies for tokens from the token endpoint. OauthExpires is the earlier of the access token's and the ID
 * token's expiry. With a refresh token every session cookie lives as long as it (so an expired session can still be
 * refreshed); without one they live until OauthExpires. `previous` (the request's cookies) lets a token cookie that is
 * no longer issued be deleted.
 */
export function newSession(
  s: SessionSettings, t: TokenResponse, secret: string, domain: string, nowS: number, previous: ReadonlyMap<string, string>,
): NewSession {
  const n = s.cookieNames;
  const tokens: SessionTokens = {
    accessToken: s.disableAccessTokenSetCookie ? '' : t.accessToken,
    idToken: s.disableIdTokenSetCookie ? '' : t.idToken,
    refreshToken: s.useRefreshToken && !s.disableRefreshTokenSetCookie ? t.refreshToken : '',
  };
  let expiresIn = Math.min(t.expiresIn, MAX_EXPIRES_IN_S);
  const idLife = tokens.idToken === '' ? null : lifetime(tokens.idToken, nowS);
  if (idLife !== null && idLife < expiresIn) expiresIn = idLife;
  const expires = String(nowS + expiresIn);
  const maxAge = tokens.refreshToken === '' ? expiresIn
    : Math.min(Math.max(expiresIn, lifetime(tokens.refreshToken, nowS) ?? s.defaultRefreshTokenExpiresInS), MAX_EXPIRES_IN_S);
  const d = s.cookieDomain;
  const enc = (v: string): string => (s.disableTokenEncryption ? v : encryptValue(secret, v));
  const out = [
    setCookie(n.oauthHmac, sessionHmac(secret, domain, expires, tokens), maxAge, s.cookies.oauthHmac, d),
    setCookie(n.oauthExpires, expires, maxAge, s.cookies.oauthExpires, d),
  ];
  const token = (name: string, value: string, c: CookieSettings): void => {
    if (value !== '') out.push(setCookie(name, enc(value), maxAge, c, d));
    else if (previous.has(name)) out.push(deleteCookie(name, c, d));
  };
  token(n.bearerToken, tokens.accessToken, s.cookies.bearerToken);
  token(n.idToken, tokens.idToken, s.cookies.idToken);
  token(n.refreshToken, tokens.refreshToken, s.cookies.refreshToken);
  return { tokens, expires, setCookies: out };
}

/** Sign-out: every cookie of the filter deleted (session, nonce, code verifier). */
export function clearSession(s: SessionSettings): string[] {
  const n = s.cookieNames;
  return (Object.keys(n) as (keyof CookieNames)[]).map((k) => deleteCookie(n[k], s.cookies[k], s.cookieDomain));
}
