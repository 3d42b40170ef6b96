// JSON Web Key Sets: parsing into usable verification keys and checking a JWT's signature with jose, Envoy's key selection rules.
import { compactVerify, importJWK, type CryptoKey, type JWK } from 'jose';
import type { JwtStatus } from './status.ts';
import type { ParsedJwt } from './token.ts';

/** One public (or HMAC) key of a JWKS that can verify some algorithms. */
export interface JwksKey {
  readonly kid: string | null;
  /** The key's own "alg", when it names one: then only that algorithm is tried with it. */
  readonly alg: string | null;
  readonly kty: 'RSA' | 'EC' | 'OKP' | 'oct';
  readonly crv: string | null;
  readonly jwk: JWK;
  /** Imported keys by algorithm (WebCrypto binds a key to one algorithm). */
  readonly imported: Map<string, Promise<CryptoKey | Uint8Array | null>>;
}

export interface Jwks {
  readonly keys: readonly JwksKey[];
}

const EC_CURVES: Readonly<Record<string, string>> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** Whether `key` may verify `alg`: the key type fits the algorithm family (never HS* with an RSA/EC/OKP key), and the curve fits. */
function keyFitsAlg(key: JwksKey, alg: string): boolean {
  if (key.alg !== null && key.alg !== alg) return false;
  switch (key.kty) {
    case 'RSA': return alg.startsWith('RS') || alg.startsWith('PS');
    case 'EC': return EC_CURVES[alg] !== undefined && EC_CURVES[alg] === key.crv;
    case 'OKP': return alg === 'EdDSA' && key.crv === 'Ed25519';
    case 'oct': return alg.startsWith('HS');
  }
}

const ALG_PREFIX: Readonly<Record<JwksKey['kty'], readonly string[]>> = { RSA: ['RS', 'PS'], EC: ['ES'], OKP: ['EdDSA'], oct: ['HS'] };
/** The members each key type must carry. */
const REQUIRED_MEMBERS: Readonly<Record<JwksKey['kty'], readonly string[]>> = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'], oct: ['k'] };

/** One "keys" entry, or why it is skipped. */
function parseKey(k: unknown): JwksKey | string {
  if (k === null || typeof k !== 'object' || Array.isArray(k)) return 'not an object';
  const j = k as Record<string, unknown>;
  if (typeof j.kty !== 'string') return '[kty] is missing';
  if (j.kty !== 'RSA' && j.kty !== 'EC' && j.kty !== 'OKP' && j.kty !== 'oct') return `[kty] ${j.kty} is not supported`;
  if (j.use !== undefined && j.use !== 'sig') return `[use] is ${String(j.use)}, not sig`;
  if (j.alg !== undefined && typeof j.alg !== 'string') return '[alg] is not a string';
  const alg = typeof j.alg === 'string' ? j.alg : null;
  if (alg !== null && !ALG_PREFIX[j.kty].some((p) => alg.startsWith(p))) return `[alg] ${alg} does not fit a ${j.kty} key`;
  for (const f of REQUIRED_MEMBERS[j.kty]) if (typeof j[f] !== 'string' || j[f] === '') return `[${f}] is missing for a ${j.kty} key`;
  if (j.kid !== undefined && typeof j.kid !== 'string') return '[kid] is not a string';
  if (j.d !== undefined) return 'a private key (has [d])';
  return {
    kid: typeof j.kid === 'string' ? j.kid : null, alg, kty: j.kty, crv: typeof j.crv === 'string' ? j.crv : null,
    jwk: { ...j } as JWK, imported: new Map(),
  };
}

/** Parses a JWKS document; keys that cannot be used are skipped (their reasons in `skipped`), none usable is an error. */
export function parseJwks(text: string): { jwks: Jwks; skipped: string[] } | JwtStatus {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch { return 'JwksParseError'; }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'JwksParseError';
  const keys = (doc as Record<string, unknown>).keys;
  if (keys === undefined) return 'JwksNoKeys';
  if (!Array.isArray(keys)) return 'JwksBadKeys';
  const out: JwksKey[] = [];
  const skipped: string[] = [];
  keys.forEach((k, i) => {
    const r = parseKey(k);
    if (typeof r === 'string') skipped.push(`keys[${i}]: ${r}`);
    else out.push(r);
  });
  if (out.length === 0) return 'JwksNoValidKeys';
  return { jwks: { keys: out }, skipped };
}

function importFor(key: JwksKey, alg: string): Promise<CryptoKey | Uint8Array | null> {
  let p = key.imported.get(alg);
  if (p === undefined) {
    p = importJWK(key.jwk, alg).catch(() => null);
    key.imported.set(alg, p);
  }
  return p;
}

/**
 * Envoy's key selection: a key is a candidate when its kid equals the token's (either side without kid: any) and
 * its alg (if any) equals the token's; candidates whose type fits the algorithm are tried. Ok when one verifies;
 * JwksKidAlgMismatch when no key was a candidate; JwtVerificationFail otherwise.
 */
export async function verifySignature(jwt: ParsedJwt, jwks: Jwks): Promise<JwtStatus> {
  let candidate = false;
  for (const key of jwks.keys) {
    if (jwt.kid !== null && key.kid !== null && key.kid !== jwt.kid) continue;
    if (key.alg !== null && key.alg !== jwt.alg) continue;
    candidate = true;
    if (!keyFitsAlg(key, jwt.alg)) continue;
    const k = await importFor(key, jwt.alg);
    if (k === null) continue;
    try {
      await compactVerify(jwt.token, k, { algorithms: [jwt.alg] });
      return 'Ok';
    } catch {
      // Wrong key or bad signature: try the next candidate.
    }
  }
  return candidate ? 'JwtVerificationFail' : 'JwksKidAlgMismatch';
}
