// Runs a JwtRequirement against a request as Envoy's jwt_authn verifiers do: extract, check claims, verify signatures, apply results.
import type { RequestHead } from '../../http/exchange.ts';
import { matchString } from '../../matching/string-matcher.ts';
import { valueAtPath } from '../metadata-matcher.ts';
import { extractTokens, locationKey, removeToken, type FoundToken } from './extract.ts';
import { verifySignature } from './jwks.ts';
import type { JwksSource } from './jwks-source.ts';
import type { JwtProviderConfig, JwtRequirement, TokenLocation } from './provider.ts';
import { statusText, type JwtStatus } from './status.ts';
import { audienceAllowed, checkTime, claimHeaderValue, parseJwt, type ParsedJwt } from './token.ts';

/** One request's verification: the headers it changes, the metadata it produces, why tokens were refused. */
export interface VerifyContext {
  readonly head: RequestHead;
  /** Envoy's extracted data: payload_in_metadata / header_in_metadata keys → objects. */
  readonly metadata: Record<string, unknown>;
  /** One line per refused token ("provider p: Jwt is expired (kid k1)"), for the log. */
  readonly refusals: string[];
}

/** All providers' locations, each with the providers that read it (allow_missing / allow_missing_or_failed). */
interface AllProviders {
  readonly locations: readonly TokenLocation[];
  readonly byLocation: ReadonlyMap<string, readonly JwtProviderConfig[]>;
}

export class JwtAuthenticator {
  readonly #providers: ReadonlyMap<string, JwtProviderConfig>;
  readonly #sources: ReadonlyMap<string, JwksSource>;
  /** Per provider: token → the key set it verified against (jwt_cache_config), oldest first. */
  readonly #verified = new Map<string, Map<string, object>>();
  readonly #all: AllProviders;
  readonly #nowSec: () => number;

  constructor(providers: ReadonlyMap<string, JwtProviderConfig>, sources: ReadonlyMap<string, JwksSource>, nowSec = () => Math.floor(Date.now() / 1000)) {
    this.#providers = providers;
    this.#sources = sources;
    this.#nowSec = nowSec;
    const byLocation = new Map<string, JwtProviderConfig[]>();
    const locations: TokenLocation[] = [];
    for (const p of providers.values()) {
      for (const l of p.locations) {
        const key = locationKey(l);
        const list = byLocation.get(key);
        if (list === undefined) { byLocation.set(key, [p]); locations.push(l); } else list.push(p);
      }
    }
    this.#all = { locations, byLocation };
  }

  /** Envoy's verifier tree: Ok or the status that refuses the request. */
  async verify(req: JwtRequirement, ctx: VerifyContext): Promise<JwtStatus> {
    switch (req.kind) {
      case 'allow_all': return 'Ok';
      case 'provider': {
        const p = this.#providers.get(req.provider)!;
        return this.#authenticate(ctx, extractTokens(ctx.head, p.locations), () => [p], req.audiences, false, false);
      }
      case 'allow_missing':
      case 'allow_missing_or_failed': {
        const byLocation = this.#all.byLocation;
        const tokens = extractTokens(ctx.head, this.#all.locations);
        return this.#authenticate(ctx, tokens, (t) => byLocation.get(locationKey(t.location)) ?? [], null, req.kind === 'allow_missing_or_failed', true);
      }
      case 'all':
        for (const item of req.items) {
          const s = await this.verify(item, ctx);
          if (s !== 'Ok') return s;
        }
        return 'Ok';
      case 'any': {
        let final: JwtStatus = 'JwtMissed';
        for (const item of req.items) {
          const s = await this.verify(item, ctx);
          if (s === 'Ok') return 'Ok';
          // Prefer a real error over JwtMissed / JwtUnknownIssuer, and JwtUnknownIssuer over JwtMissed.
          if ((s !== 'JwtMissed' && s !== 'JwtUnknownIssuer') || final === 'JwtMissed') final = s;
        }
        if (req.allowMissingOrFailed) return 'Ok';
        if (req.allowMissing && final === 'JwtMissed') return 'Ok';
        return final;
      }
    }
  }

  /** Every token must verify (unless failures or absence are allowed); the result is the last token's status. */
  async #authenticate(
    ctx: VerifyContext, tokens: FoundToken[], candidates: (t: FoundToken) => readonly JwtProviderConfig[],
    audiences: ReadonlySet<string> | null, allowFailed: boolean, allowMissing: boolean,
  ): Promise<JwtStatus> {
    let status: JwtStatus = 'JwtMissed';
    for (const t of tokens) {
      status = await this.#verifyToken(ctx, t, candidates(t), audiences);
      if (status !== 'Ok' && !allowFailed && !allowMissing) break;
    }
    if (allowFailed) return 'Ok';
    if (allowMissing && status === 'JwtMissed') return 'Ok';
    return status;
  }

  async #verifyToken(ctx: VerifyContext, t: FoundToken, candidates: readonly JwtProviderConfig[], audiences: ReadonlySet<string> | null): Promise<JwtStatus> {
    const jwt = parseJwt(t.token);
    const where = `${t.location.kind} ${t.location.name}`;
    if (typeof jwt === 'string') return refuse(ctx, jwt, `token in ${where}`, t.token.length > 64 ? `${t.token.length} bytes` : '');
    // The provider for the token's issuer among those reading this location (a provider without issuer takes any).
    const p = candidates.find((c) => c.issuer === jwt.iss) ?? candidates.find((c) => c.issuer === '');
    if (p === undefined) return refuse(ctx, 'JwtUnknownIssuer', `token in ${where}`, `iss ${JSON.stringify(jwt.iss.slice(0, 200))}`);
    const status = await this.#checkWithProvider(jwt, p, audiences);
    if (status !== 'Ok') return refuse(ctx, status, `provider ${p.name}`, describeJwt(jwt));
    this.#accept(ctx, jwt, p, t);
    return 'Ok';
  }

  async #checkWithProvider(jwt: ParsedJwt, p: JwtProviderConfig, audiences: ReadonlySet<string> | null): Promise<JwtStatus> {
    const now = this.#nowSec();
    const time = checkTime(jwt, now, p.clockSkewSec);
    if (time !== 'Ok') return time;
    if (!audienceAllowed(jwt, audiences ?? p.audiences)) return 'JwtAudienceNotAllowed';
    if (p.subjects !== null && !matchString(p.subjects, jwt.sub)) return 'JwtSubjectNotAllowed';
    if ((p.requireExpiration || p.maxLifetimeSec !== null) && jwt.exp === 0) return 'JwtExpirationRequired';
    if (p.maxLifetimeSec !== null && jwt.exp - now > p.maxLifetimeSec) return 'JwtLifetimeTooLong';
    const source = this.#sources.get(p.name)!;
    const keys = await source.keys();
    if (typeof keys === 'string') return keys;
    // Envoy's jwt_cache_config: a token whose signature verified against this very key set skips the signature check
    // (time, audience and subject are still checked above on every request). A new key set is a new object: no hit.
    const cache = p.jwtCacheSize > 0 ? this.#verifiedCache(p) : null;
    if (cache !== null && cache.get(jwt.token) === keys) return 'Ok';
    const s = await verifySignature(jwt, keys);
    if (s === 'Ok' && cache !== null) remember(cache, jwt.token, keys, p.jwtCacheSize);
    if (s !== 'JwksKidAlgMismatch') return s;
    // A kid we do not know: the issuer may have rotated its keys since the last fetch.
    const fresh = await source.refreshForUnknownKid();
    if (fresh === null) return s;
    return typeof fresh === 'string' ? fresh : verifySignature(jwt, fresh);
  }

  #verifiedCache(p: JwtProviderConfig): Map<string, object> {
    let c = this.#verified.get(p.name);
    if (c === undefined) { c = new Map(); this.#verified.set(p.name, c); }
    return c;
  }

  /** A good token: forward the payload, copy claims into headers, drop the token (unless forward), record metadata. */
  #accept(ctx: VerifyContext, jwt: ParsedJwt, p: JwtProviderConfig, t: FoundToken): void {
    const headers = ctx.head.headers;
    if (p.forwardPayloadHeader !== null) {
      const pad = p.padForwardPayloadHeader ? '='.repeat((4 - (jwt.payloadB64.length % 4)) % 4) : '';
      headers[p.forwardPayloadHeader] = jwt.payloadB64 + pad;
    }
    for (const c of p.claimToHeaders) {
      const v = claimHeaderValue(valueAtPath(jwt.payload, c.claimPath));
      if (v !== null) headers[c.header] = v;
    }
    if (!p.forward) removeToken(ctx.head, t);
    if (p.headerInMetadata !== null) ctx.metadata[p.headerInMetadata] = jwt.header;
    if (p.payloadInMetadata !== null) ctx.metadata[p.payloadInMetadata] = normalizePayload(jwt.payload, p.spaceDelimitedClaims);
  }
}

/** normalize_payload_in_metadata: space-delimited string claims become lists. */
function normalizePayload(payload: Readonly<Record<string, unknown>>, claims: readonly string[]): Readonly<Record<string, unknown>> {
  if (claims.length === 0) return payload;
  const out: Record<string, unknown> = { ...payload };
  for (const c of claims) {
    const v = payload[c];
    if (typeof v === 'string') out[c] = v.split(' ').filter((s) => s !== '');
  }
  return out;
}

function describeJwt(jwt: ParsedJwt): string {
  const parts = [`alg ${jwt.alg}`];
  if (jwt.kid !== null) parts.push(`kid ${JSON.stringify(jwt.kid.slice(0, 100))}`);
  if (jwt.iss !== '') parts.push(`iss ${JSON.stringify(jwt.iss.slice(0, 200))}`);
  return parts.join(', ');
}

function refuse(ctx: VerifyContext, s: JwtStatus, who: string, detail: string): JwtStatus {
  ctx.refusals.push(`${who}: ${statusText(s)}${detail === '' ? '' : ` (${detail})`}`);
  return s;
}

/** Adds a verified token, dropping the oldest entries beyond `size` (a Map iterates in insertion order). */
function remember(cache: Map<string, object>, token: string, keys: object, size: number): void {
  cache.delete(token);
  cache.set(token, keys);
  while (cache.size > size) cache.delete(cache.keys().next().value!);
}
