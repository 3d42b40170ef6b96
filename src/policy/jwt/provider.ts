// The compiled shape of a jwt_authn config: providers, requirements and rules (built by jwt-authn-config.ts, run by authenticator.ts).
import type { HttpUri } from '../../http/filters/cluster-fetch.ts';
import type { RouteMatch, StringMatcher } from '../../model/types.ts';
import type { KeysResult } from './jwks-source.ts';

/** Where a token is looked for: a header (after value_prefix), a query parameter, or a cookie. */
export type TokenLocation =
  | { readonly kind: 'header'; readonly name: string; readonly prefix: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string };

export type JwksConfig =
  | {
    readonly kind: 'remote';
    readonly httpUri: HttpUri;
    readonly cacheDurationMs: number;
    readonly asyncFetch: { readonly failedRefetchMs: number } | null;
    readonly retry: { readonly numRetries: number; readonly baseMs: number; readonly maxMs: number } | null;
  }
  /** `keys` is parsed from inline_string at compile time; a filename is read when the filter is created. */
  | { readonly kind: 'local'; readonly keys: KeysResult | null; readonly filename: string | null };

export interface ClaimToHeader {
  readonly header: string;
  /** The claim's dotted path into the payload ("realm_access.roles"), split at the dots when compiled. */
  readonly claimPath: readonly string[];
}

/** One JwtProvider. */
export interface JwtProviderConfig {
  readonly name: string;
  /** "" accepts any issuer. */
  readonly issuer: string;
  /** Normalized (no scheme, no trailing "/"); empty: audiences not checked. */
  readonly audiences: ReadonlySet<string>;
  readonly subjects: StringMatcher | null;
  readonly requireExpiration: boolean;
  readonly maxLifetimeSec: number | null;
  readonly jwks: JwksConfig;
  readonly forward: boolean;
  /** jwt_cache_config.jwt_cache_size: tokens whose signature verified are remembered (0: no cache). */
  readonly jwtCacheSize: number;
  readonly locations: readonly TokenLocation[];
  readonly forwardPayloadHeader: string | null;
  readonly padForwardPayloadHeader: boolean;
  readonly payloadInMetadata: string | null;
  readonly spaceDelimitedClaims: readonly string[];
  readonly headerInMetadata: string | null;
  readonly clockSkewSec: number;
  readonly claimToHeaders: readonly ClaimToHeader[];
}

/** JwtRequirement compiled. `allow_all`: an empty requirement (verifies nothing). */
export type JwtRequirement =
  | { readonly kind: 'provider'; readonly provider: string; readonly audiences: ReadonlySet<string> | null }
  | { readonly kind: 'any'; readonly items: readonly JwtRequirement[]; readonly allowMissing: boolean; readonly allowMissingOrFailed: boolean }
  | { readonly kind: 'all'; readonly items: readonly JwtRequirement[] }
  | { readonly kind: 'allow_missing' }
  | { readonly kind: 'allow_missing_or_failed' }
  | { readonly kind: 'allow_all' };

export interface JwtRule {
  readonly match: RouteMatch;
  readonly requirement: JwtRequirement;
}

/** JwtAuthentication compiled. */
export interface JwtAuthnConfig {
  readonly kind: 'filter';
  /** In config order (Envoy's providers map; allow_missing picks the first provider whose issuer fits). */
  readonly providers: ReadonlyMap<string, JwtProviderConfig>;
  readonly rules: readonly JwtRule[];
  readonly requirementMap: ReadonlyMap<string, JwtRequirement>;
  readonly bypassCorsPreflight: boolean;
  readonly stripFailureResponse: boolean;
}

/** PerRouteConfig compiled. */
export type JwtPerRouteConfig =
  | { readonly kind: 'disabled' }
  | { readonly kind: 'requirement_name'; readonly name: string };

export const DEFAULT_LOCATIONS: readonly TokenLocation[] = Object.freeze([
  Object.freeze({ kind: 'header' as const, name: 'authorization', prefix: 'Bearer ' }),
  Object.freeze({ kind: 'param' as const, name: 'access_token' }),
]);
