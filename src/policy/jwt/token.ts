// Parses a compact JWT and checks its claims (time, audience) the way Envoy's jwt_verify does, before any cryptography.
import type { JwtStatus } from './status.ts';

/** Tokens longer than this are refused before parsing (JwtTooLarge): a real JWT is a few hundred bytes to a few KiB. */
const MAX_JWT_BYTES = 8 * 1024;

/** Signature algorithms accepted in a JWT header; anything else (including "none") is JwtHeaderNotImplementedAlg. */
const SUPPORTED_ALGS: ReadonlySet<string> = new Set([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512',
]);

export interface ParsedJwt {
  /** The compact token as extracted. */
  readonly token: string;
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  /** The payload segment as sent (base64url without padding), for forward_payload_header. */
  readonly payloadB64: string;
  readonly alg: string;
  readonly kid: string | null;
  /** "" when absent. */
  readonly iss: string;
  readonly sub: string;
  readonly audiences: readonly string[];
  /** Seconds since the epoch; 0 when absent. */
  readonly exp: number;
  readonly nbf: number;
  readonly iat: number;
}

const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function decodeSegment(s: string): Buffer | null {
  if (!B64URL.test(s)) return null;
  return Buffer.from(s, 'base64url');
}

function parseObject(b: Buffer): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(b.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A NumericDate claim: absent → 0; a non-negative number → its integer seconds; anything else → null. */
function numericDate(v: unknown): number | null {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return null;
  return Math.floor(v);
}

/** Parses the three segments and the registered claims; a JwtStatus says what is malformed. */
export function parseJwt(token: string): ParsedJwt | JwtStatus {
  if (token.length > MAX_JWT_BYTES) return 'JwtTooLarge';
  const parts = token.split('.');
  if (parts.length !== 3) return 'JwtBadFormat';
  const [h, p, sig] = parts;
  const hb = decodeSegment(h);
  if (hb === null || h === '') return 'JwtHeaderParseErrorBadBase64';
  const header = parseObject(hb);
  if (header === null) return 'JwtHeaderParseErrorBadJson';
  if (typeof header.alg !== 'string') return 'JwtHeaderBadAlg';
  if (!SUPPORTED_ALGS.has(header.alg)) return 'JwtHeaderNotImplementedAlg';
  if (header.kid !== undefined && typeof header.kid !== 'string') return 'JwtHeaderBadKid';
  const pb = decodeSegment(p);
  if (pb === null || p === '') return 'JwtPayloadParseErrorBadBase64';
  const payload = parseObject(pb);
  if (payload === null) return 'JwtPayloadParseErrorBadJson';
  if (sig === '' || !B64URL.test(sig)) return 'JwtSignatureParseErrorBadBase64';
  if (payload.iss !== undefined && typeof payload.iss !== 'string') return 'JwtPayloadParseErrorIssNotString';
  if (payload.sub !== undefined && typeof payload.sub !== 'string') return 'JwtPayloadParseErrorSubNotString';
  const iat = numericDate(payload.iat);
  if (iat === null) return 'JwtPayloadParseErrorIatNotInteger';
  const nbf = numericDate(payload.nbf);
  if (nbf === null) return 'JwtPayloadParseErrorNbfNotInteger';
  const exp = numericDate(payload.exp);
  if (exp === null) return 'JwtPayloadParseErrorExpNotInteger';
  let audiences: string[] = [];
  const aud = payload.aud;
  if (typeof aud === 'string') audiences = [aud];
  else if (Array.isArray(aud)) {
    if (!aud.every((a) => typeof a === 'string')) return 'JwtPayloadParseErrorAudNotString';
    audiences = aud as string[];
  } else if (aud !== undefined) return 'JwtPayloadParseErrorAudNotString';
  return {
    token, header, payload, payloadB64: p.replace(/=+$/, ''), alg: header.alg, kid: typeof header.kid === 'string' ? header.kid : null,
    iss: typeof payload.iss === 'string' ? payload.iss : '', sub: typeof payload.sub === 'string' ? payload.sub : '',
    audiences, exp, nbf, iat,
  };
}

/** Envoy's verifyTimeConstraint: not before nbf - skew, not after exp + skew (exp 0 = no expiry). */
export function checkTime(jwt: ParsedJwt, nowSec: number, skewSec: number): JwtStatus {
  if (jwt.nbf > nowSec + skewSec) return 'JwtNotYetValid';
  if (jwt.exp !== 0 && jwt.exp < nowSec - skewSec) return 'JwtExpired';
  return 'Ok';
}

/** Envoy's CheckAudience form: no "http://" / "https://" prefix and no trailing "/". */
export function normalizeAudience(a: string): string {
  let s = a;
  if (s.startsWith('https://')) s = s.slice(8);
  else if (s.startsWith('http://')) s = s.slice(7);
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

/** Any of the token's audiences allowed; an empty allow-list checks nothing. `allowed` is already normalized. */
export function audienceAllowed(jwt: ParsedJwt, allowed: ReadonlySet<string>): boolean {
  if (allowed.size === 0) return true;
  for (const a of jwt.audiences) if (allowed.has(normalizeAudience(a))) return true;
  return false;
}

/**
 * A claim as Envoy copies it into a header: strings as is (UTF-8 bytes on the wire), numbers as integers when
 * integral, booleans as "true"/"false", objects and lists as base64 of their JSON; null when absent, empty, or
 * holding control characters (which no header may carry).
 */
export function claimHeaderValue(v: unknown): string | null {
  switch (typeof v) {
    case 'string': {
      if (v === '') return null;
      const wire = Buffer.from(v, 'utf8').toString('latin1');
      return /[^\t\x20-\x7e\x80-\xff]/.test(wire) ? null : wire;
    }
    case 'number': return Number.isInteger(v) && v >= 0 ? String(v) : v.toFixed(6);
    case 'boolean': return v ? 'true' : 'false';
    case 'object': return v === null ? null : Buffer.from(JSON.stringify(v)).toString('base64');
    default: return null;
  }
}
