// Where a provider's keys come from: a local JWKS, or a remote one fetched through a cluster, cached and refreshed.
import type { ClusterFetch, HttpUri } from '../../http/filters/cluster-fetch.ts';
import { parseJwks, type Jwks } from './jwks.ts';
import type { JwtStatus } from './status.ts';

/** The result of asking for keys: the set, or the status that refuses the token (JwksFetchFail, JwksNoValidKeys...). */
export type KeysResult = Jwks | JwtStatus;

export interface JwksSource {
  /** The keys to verify with now (fetching them first when there are none or they expired). */
  keys(): Promise<KeysResult>;
  /**
   * The token's kid was in no key: a remote source refetches (at most once per `minKidRefetchMs`, so a flood of
   * made-up kids cannot hammer the JWKS server) and returns the new set, or null when it did not refetch.
   */
  refreshForUnknownKid(): Promise<KeysResult | null>;
}

/** A JWKS given in the config (inline or file): parsed once. */
export class LocalJwks implements JwksSource {
  readonly #result: KeysResult;
  constructor(result: KeysResult) { this.#result = result; }
  keys(): Promise<KeysResult> { return Promise.resolve(this.#result); }
  refreshForUnknownKid(): Promise<KeysResult | null> { return Promise.resolve(null); }
}

export interface RemoteJwksOptions {
  readonly httpUri: HttpUri;
  /** Keys are refetched after this long (cache_duration, default 5 min). */
  readonly cacheDurationMs: number;
  /** async_fetch: fetched when the filter is created and refreshed in the background; expired keys stay in use meanwhile. */
  readonly asyncFetch: { readonly failedRefetchMs: number } | null;
  /** retry_policy: further attempts after a failed fetch, with exponential back-off. */
  readonly retry: { readonly numRetries: number; readonly baseMs: number; readonly maxMs: number } | null;
  /** Minimum time between two refetches caused by unknown kids. */
  readonly minKidRefetchMs: number;
}

export interface JwksEvents {
  onFetch(ok: boolean, detail: string): void;
}

/** A JWKS served over HTTP(S) through a cluster (Envoy's remote_jwks). */
export class RemoteJwks implements JwksSource {
  readonly #o: RemoteJwksOptions;
  readonly #fetch: ClusterFetch;
  readonly #events: JwksEvents;
  readonly #now: () => number;
  #jwks: Jwks | null = null;
  #fetchedAt = 0;
  #inFlight: Promise<KeysResult> | null = null;
  #lastKidRefetch = -Infinity;
  #lastFailure = -Infinity;

  constructor(o: RemoteJwksOptions, fetch: ClusterFetch, events: JwksEvents, now: () => number = Date.now) {
    this.#o = o;
    this.#fetch = fetch;
    this.#events = events;
    this.#now = now;
    if (o.asyncFetch !== null) void this.#refetch();
  }

  keys(): Promise<KeysResult> {
    const now = this.#now();
    const fresh = this.#jwks !== null && now - this.#fetchedAt < this.#o.cacheDurationMs;
    if (fresh) return Promise.resolve(this.#jwks!);
    if (this.#jwks !== null && this.#o.asyncFetch !== null) {
      // Stale keys keep working while a background refresh runs (not more often than failed_refetch_duration after a failure).
      if (now - this.#lastFailure >= this.#o.asyncFetch.failedRefetchMs) void this.#refetch();
      return Promise.resolve(this.#jwks);
    }
    return this.#refetch();
  }

  async refreshForUnknownKid(): Promise<KeysResult | null> {
    const now = this.#now();
    if (this.#inFlight !== null) return this.#inFlight;
    if (now - this.#lastKidRefetch < this.#o.minKidRefetchMs) return null;
    this.#lastKidRefetch = now;
    return this.#refetch();
  }

  /** One fetch at a time; concurrent callers share it. */
  #refetch(): Promise<KeysResult> {
    this.#inFlight ??= this.#fetchWithRetries().finally(() => { this.#inFlight = null; });
    return this.#inFlight;
  }

  async #fetchWithRetries(): Promise<KeysResult> {
    const attempts = 1 + (this.#o.retry?.numRetries ?? 0);
    let reason = '';
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await backOff(this.#o.retry!, i);
      const r = await this.#fetchOnce();
      if (typeof r !== 'string') {
        this.#jwks = r.jwks;
        this.#fetchedAt = this.#now();
        this.#events.onFetch(true, r.skipped.length === 0 ? `${r.jwks.keys.length} keys` : `${r.jwks.keys.length} keys; skipped ${r.skipped.join('; ')}`);
        return r.jwks;
      }
      reason = r;
    }
    this.#lastFailure = this.#now();
    this.#events.onFetch(false, reason);
    // With async_fetch the last good keys stay in use; otherwise the request fails closed.
    return this.#o.asyncFetch !== null && this.#jwks !== null ? this.#jwks : 'JwksFetchFail';
  }

  async #fetchOnce(): Promise<{ jwks: Jwks; skipped: string[] } | string> {
    try {
      const res = await this.#fetch(this.#o.httpUri, { method: 'GET', headers: { accept: 'application/json' } });
      if (res.status !== 200) return `${this.#o.httpUri.uri}: HTTP status ${res.status}`;
      const parsed = parseJwks(res.body.toString('utf8'));
      if (typeof parsed === 'string') return `${this.#o.httpUri.uri}: invalid JWKS (${parsed})`;
      return parsed;
    } catch (err) {
      return (err as Error).message;
    }
  }
}

function backOff(r: NonNullable<RemoteJwksOptions['retry']>, attempt: number): Promise<void> {
  const ceiling = Math.min(r.maxMs, r.baseMs * 2 ** (attempt - 1));
  const ms = Math.floor(Math.random() * ceiling);
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
