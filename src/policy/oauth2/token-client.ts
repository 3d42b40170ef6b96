// Calls the OAuth2 token endpoint through a cluster (authorization_code with PKCE, refresh_token) and reads its JSON answer.
import type { ClusterFetch, HttpUri } from '../../http/filters/cluster-fetch.ts';

export type AuthType = 'URL_ENCODED_BODY' | 'BASIC_AUTH';

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authType: AuthType;
}

/** A successful token response; expiresIn in seconds (the response's, or default_expires_in). */
export interface TokenResponse {
  readonly accessToken: string;
  readonly idToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
}

/** The longest session a token response can ask for (expires_in above it is clamped): one year. */
export const MAX_EXPIRES_IN_S = 365 * 24 * 3600;

export type TokenResult = { readonly ok: true; readonly tokens: TokenResponse } | { readonly ok: false; readonly reason: string };

/**
 * RFC 6749 Appendix A: access and refresh tokens are VSCHAR (printable ASCII), an ID token is a JWT. The tokens go into
 * request headers and cookies, where a CR, LF or non-ASCII character from a faulty token endpoint would break the message.
 */
const VSCHAR = /^[\x20-\x7e]*$/;

/** RFC 6749 §2.3.1: client_id and secret are form-urlencoded before Basic encoding. */
function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+');
}

async function post(fetch: ClusterFetch, endpoint: HttpUri, c: ClientCredentials, params: Record<string, string>, defaultExpiresIn: number): Promise<TokenResult> {
  const form = new URLSearchParams(params);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (c.authType === 'BASIC_AUTH') {
    headers.authorization = `Basic ${Buffer.from(`${formEncode(c.clientId)}:${formEncode(c.clientSecret)}`).toString('base64')}`;
  } else {
    form.set('client_id', c.clientId);
    form.set('client_secret', c.clientSecret);
  }
  let res;
  try {
    res = await fetch(endpoint, { method: 'POST', headers, body: form.toString() });
  } catch (err) {
    return { ok: false, reason: `token endpoint unreachable: ${err instanceof Error ? err.message : String(err)}` };
  }
  const text = res.body.toString('utf8');
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = null; }
  const body = json !== null && typeof json === 'object' && !Array.isArray(json) ? json as Record<string, unknown> : null;
  if (res.status !== 200) {
    const err = body !== null && typeof body.error === 'string' ? ` ${body.error}${typeof body.error_description === 'string' ? ` (${body.error_description})` : ''}` : '';
    return { ok: false, reason: `token endpoint answered ${res.status}${err}` };
  }
  if (body === null) return { ok: false, reason: 'token endpoint answer is not a JSON object' };
  const accessToken = body.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') return { ok: false, reason: 'token endpoint answer has no access_token' };
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const idToken = str(body.id_token);
  const refreshToken = str(body.refresh_token);
  for (const [name, v] of [['access_token', accessToken], ['id_token', idToken], ['refresh_token', refreshToken]] as const) {
    if (!VSCHAR.test(v)) return { ok: false, reason: `token endpoint answer's ${name} has characters outside printable ASCII` };
  }
  const given = typeof body.expires_in === 'number' ? body.expires_in : typeof body.expires_in === 'string' ? Number(body.expires_in) : NaN;
  // Clamped: a huge expires_in (1e21 prints in exponent form) must not make an unreadable OauthExpires.
  const expiresIn = Math.min(Number.isFinite(given) && given > 0 ? Math.floor(given) : defaultExpiresIn, MAX_EXPIRES_IN_S);
  if (expiresIn <= 0) return { ok: false, reason: 'token endpoint answer has no expires_in and default_expires_in is not set' };
  return { ok: true, tokens: { accessToken, idToken, refreshToken, expiresIn } };
}

/** authorization_code grant with the PKCE code_verifier (RFC 6749 §4.1.3, RFC 7636 §4.5). */
export function exchangeCode(
  fetch: ClusterFetch, endpoint: HttpUri, c: ClientCredentials, code: string, redirectUri: string, codeVerifier: string, defaultExpiresIn: number,
): Promise<TokenResult> {
  return post(fetch, endpoint, c, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: codeVerifier }, defaultExpiresIn);
}

/** refresh_token grant (RFC 6749 §6). */
export function refreshTokens(fetch: ClusterFetch, endpoint: HttpUri, c: ClientCredentials, refreshToken: string, defaultExpiresIn: number): Promise<TokenResult> {
  return post(fetch, endpoint, c, { grant_type: 'refresh_token', refresh_token: refreshToken }, defaultExpiresIn);
}
