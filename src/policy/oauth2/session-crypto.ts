// The OAuth2 filter's cryptography: session HMAC, CSRF nonce, signed state, PKCE and token encryption, all keyed by hmac_secret.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Session tokens as the cookies carry them (decrypted). */
export interface SessionTokens {
  readonly accessToken: string;
  readonly idToken: string;
  readonly refreshToken: string;
}

function hmac(secret: string, message: string): Buffer {
  return createHmac('sha256', secret).update(message).digest();
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Envoy's OauthHMAC value: base64 of HMAC-SHA256(hmac_secret) over host (or cookie_domain), expiry (epoch seconds) and
 * the three tokens, joined with "\n".
 */
export function sessionHmac(secret: string, domain: string, expires: string, t: SessionTokens): string {
  return hmac(secret, [domain, expires, t.accessToken, t.idToken, t.refreshToken].join('\n')).toString('base64');
}

export function sessionHmacValid(secret: string, domain: string, expires: string, t: SessionTokens, given: string): boolean {
  return given !== '' && sameText(sessionHmac(secret, domain, expires, t), given);
}

/**
 * The CSRF token of the nonce cookie: "<random hex>.<issued at, epoch s>.<base64 HMAC of both>" (OWASP's signed
 * double-submit cookie). The signed issue time lets the callback refuse a nonce older than csrf_token_expires_in.
 */
export function newCsrfToken(secret: string, nowS: number): string {
  const nonce = `${randomBytes(16).toString('hex')}.${nowS}`;
  return `${nonce}.${hmac(secret, nonce).toString('base64')}`;
}

/** Seconds a nonce's issue time may lie in the future (clock skew between replicas sharing the hmac_secret). */
const CSRF_SKEW_S = 60;

export type CsrfCheck = 'ok' | 'invalid' | 'expired';

/** Checks the signature and that the token was issued at most `lifetimeS` seconds before `nowS`. */
export function checkCsrfToken(secret: string, token: string, nowS: number, lifetimeS: number): CsrfCheck {
  const sig = token.lastIndexOf('.');
  const at = sig <= 0 ? -1 : token.lastIndexOf('.', sig - 1);
  if (at <= 0) return 'invalid';
  if (!sameText(hmac(secret, token.slice(0, sig)).toString('base64'), token.slice(sig + 1))) return 'invalid';
  const issued = token.slice(at + 1, sig);
  if (!/^\d{1,12}$/.test(issued)) return 'invalid';
  const age = nowS - Number(issued);
  return age >= -CSRF_SKEW_S && age <= lifetimeS ? 'ok' : 'expired';
}

/** The `state` parameter: base64url JSON {url, csrf_token} as Envoy, plus `sig`, an HMAC binding the two. */
export function encodeState(secret: string, url: string, csrfToken: string): string {
  const sig = hmac(secret, `state\n${url}\n${csrfToken}`).toString('base64url');
  return Buffer.from(JSON.stringify({ url, csrf_token: csrfToken, sig })).toString('base64url');
}

export type StateResult = { readonly ok: true; readonly url: string; readonly csrfToken: string } | { readonly ok: false; readonly reason: string };

/** Decodes and verifies a callback's state (signature only; the caller compares the CSRF token with the nonce cookie). */
export function decodeState(secret: string, state: string): StateResult {
  if (state.length > 8192 || !/^[A-Za-z0-9_-]+={0,2}$/.test(state)) return { ok: false, reason: 'state is not base64url' };
  let v: unknown;
  try { v = JSON.parse(Buffer.from(state, 'base64url').toString('utf8')); } catch { return { ok: false, reason: 'state is not JSON' }; }
  if (v === null || typeof v !== 'object') return { ok: false, reason: 'state is not a JSON object' };
  const { url, csrf_token: csrfToken, sig } = v as Record<string, unknown>;
  if (typeof url !== 'string' || typeof csrfToken !== 'string') return { ok: false, reason: 'state lacks url or csrf_token' };
  if (typeof sig !== 'string' || !sameText(hmac(secret, `state\n${url}\n${csrfToken}`).toString('base64url'), sig)) {
    return { ok: false, reason: 'state signature does not match (tampered state)' };
  }
  return { ok: true, url, csrfToken };
}

/** RFC 7636: a code verifier of 32 random octets, base64url (43 characters). */
export function newCodeVerifier(): string {
  return randomBytes(32).toString('base64url');
}

/** RFC 7636 S256: base64url(SHA-256(verifier)). */
export function codeChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** The last derived key and its secret: every request decrypts its token cookies, the secret changes only on rotation. */
let lastKey: { readonly secret: string; readonly key: Buffer } | null = null;

/** AES-256-GCM key for cookie values, derived from hmac_secret (separate from the HMAC use of the secret). */
function encryptionKey(secret: string): Buffer {
  if (lastKey?.secret !== secret) {
    lastKey = { secret, key: createHash('sha256').update('pilotfish oauth2 cookie encryption\n').update(secret).digest() };
  }
  return lastKey.key;
}

/** Encrypts a cookie value: base64url(iv ‖ tag ‖ ciphertext), authenticated (a changed byte fails decryption). */
export function encryptValue(secret: string, plaintext: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', encryptionKey(secret), iv);
  const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
}

/** The plaintext, or null when the value was not produced by encryptValue with this secret (tampered, other secret, legacy). */
export function decryptValue(secret: string, value: string): string | null {
  if (!/^[A-Za-z0-9_-]+$/.test(value)) return null;
  const raw = Buffer.from(value, 'base64url');
  if (raw.length < 12 + 16 + 1) return null;
  try {
    const d = createDecipheriv('aes-256-gcm', encryptionKey(secret), raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/** The `exp` claim (epoch seconds) of a JWT, read without verification (only to time a refresh), or null. */
export function jwtExpiry(token: string): number | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1].length > 16384) return null;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' && Number.isFinite(payload.exp) ? payload.exp : null;
  } catch {
    return null;
  }
}
