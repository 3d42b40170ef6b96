// Cookie header parsing and Set-Cookie building for the OAuth2 filter (Envoy's cookie names, attributes and deletion form).
import type { HeaderRecord } from '../../http/exchange.ts';

export type SameSite = 'DISABLED' | 'STRICT' | 'LAX' | 'NONE';

/** envoy.extensions.filters.http.oauth2.v3.CookieConfig, compiled. */
export interface CookieSettings {
  readonly sameSite: SameSite;
  readonly path: string;
  readonly partitioned: boolean;
}

/** OAuth2Credentials.CookieNames with Envoy's defaults filled in. */
export interface CookieNames {
  readonly bearerToken: string;
  readonly oauthHmac: string;
  readonly oauthExpires: string;
  readonly idToken: string;
  readonly refreshToken: string;
  readonly oauthNonce: string;
  readonly codeVerifier: string;
}

export const DEFAULT_COOKIE_NAMES: CookieNames = Object.freeze({
  bearerToken: 'BearerToken',
  oauthHmac: 'OauthHMAC',
  oauthExpires: 'OauthExpires',
  idToken: 'IdToken',
  refreshToken: 'RefreshToken',
  oauthNonce: 'OauthNonce',
  codeVerifier: 'OauthCodeVerifier',
});

/** Every cookie of the request (all Cookie headers, "; "-separated pairs); the first value of a repeated name wins. */
export function parseCookies(header: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined) return out;
  for (const line of Array.isArray(header) ? header : [header]) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq <= 0) continue;
      const name = part.slice(0, eq).trim();
      let value = part.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (name !== '' && !out.has(name)) out.set(name, value);
    }
  }
  return out;
}

/** Writes `cookies` back as the request's single Cookie header (removed when empty). */
export function setCookieHeader(headers: HeaderRecord, cookies: ReadonlyMap<string, string>): void {
  if (cookies.size === 0) { delete headers.cookie; return; }
  let line = '';
  for (const [k, v] of cookies) line += (line === '' ? '' : '; ') + `${k}=${v}`;
  headers.cookie = line;
}

const SAME_SITE_ATTR: Readonly<Record<SameSite, string>> = { DISABLED: '', STRICT: '; SameSite=Strict', LAX: '; SameSite=Lax', NONE: '; SameSite=None' };

/** A Set-Cookie value: HttpOnly and Secure always (as Envoy), Path/SameSite/Partitioned from the settings, Domain when configured. */
export function setCookie(name: string, value: string, maxAgeS: number, s: CookieSettings, domain: string | null): string {
  const dom = domain === null ? '' : `; Domain=${domain}`;
  const part = s.partitioned ? '; Partitioned' : '';
  return `${name}=${value}${dom}; Path=${s.path}; Max-Age=${Math.max(0, Math.floor(maxAgeS))}; Secure; HttpOnly${SAME_SITE_ATTR[s.sameSite]}${part}`;
}

/** Envoy's deletion form: value "deleted", expired in 1970. */
export function deleteCookie(name: string, s: CookieSettings, domain: string | null): string {
  const dom = domain === null ? '' : `; Domain=${domain}`;
  return `${name}=deleted${dom}; Path=${s.path}; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
}
