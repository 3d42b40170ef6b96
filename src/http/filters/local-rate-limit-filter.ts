// The envoy.filters.http.local_ratelimit filter: a token bucket per config (or per connection), 429 + RL when out of tokens.
import type { HeaderMutations, HeaderValueOption } from '../../model/types.ts';
import type { Counter } from '../../observability/types.ts';
import { mathRandomInt, type RandomInt } from '../../policy/fractional-percent.ts';
import { monotonicClock, rateLimitDecision, TokenBucket, type Clock } from '../../policy/local-rate-limit.ts';
import * as replies from '../error-response.ts';
import type { DownstreamConnectionInfo, HeaderRecord } from '../exchange.ts';
import type { StatsSink } from '../hcm-stats.ts';
import { applyRequestMutations, applyResponseMutations } from '../header-mutation.ts';
import { addResponseHeaders, filterLocalReply, type FilterRequest, type FilterResult, type HttpFilter, type HttpFilterFactory } from './http-filter.ts';
import { compileLocalRateLimit, LOCAL_RATE_LIMIT, type LocalRateLimitConfig } from './local-rate-limit-config.ts';

export const LOCAL_RATE_LIMIT_FILTER_NAME = 'envoy.filters.http.local_ratelimit';

interface RateLimitStats {
  readonly enabled: Counter;
  readonly ok: Counter;
  readonly rateLimited: Counter;
  readonly enforced: Counter;
}

/** Envoy's <stat_prefix>.http_local_rate_limit.* (Prometheus: envoy_http_local_rate_limit_*{envoy_local_http_ratelimit_prefix}). */
function rateLimitStats(sink: StatsSink, statPrefix: string): RateLimitStats {
  const l = { envoy_local_http_ratelimit_prefix: statPrefix };
  return {
    enabled: sink.counter('envoy_http_local_rate_limit_enabled', l),
    ok: sink.counter('envoy_http_local_rate_limit_ok', l),
    rateLimited: sink.counter('envoy_http_local_rate_limit_rate_limited', l),
    enforced: sink.counter('envoy_http_local_rate_limit_enforced', l),
  };
}

function mutations(request: readonly HeaderValueOption[], response: readonly HeaderValueOption[]): HeaderMutations {
  return { requestHeadersToAdd: request, requestHeadersToRemove: [], responseHeadersToAdd: response, responseHeadersToRemove: [] };
}

/** One config's runtime: its bucket (or one per connection), its stats and header mutations. */
export class RateLimitState {
  readonly config: LocalRateLimitConfig;
  readonly stats: RateLimitStats;
  readonly mutations: HeaderMutations;
  readonly #bucket: TokenBucket | null;
  readonly #perConnection: WeakMap<DownstreamConnectionInfo, TokenBucket> | null;
  readonly #clock: Clock;

  constructor(config: LocalRateLimitConfig, sink: StatsSink, clock: Clock = monotonicClock) {
    this.config = config;
    this.stats = rateLimitStats(sink, config.statPrefix);
    this.mutations = mutations(config.requestHeadersToAddWhenNotEnforced, config.responseHeadersToAdd);
    this.#clock = clock;
    const shared = config.tokenBucket !== null && !config.perConnection;
    this.#bucket = shared ? new TokenBucket(config.tokenBucket!, clock) : null;
    this.#perConnection = config.tokenBucket !== null && config.perConnection ? new WeakMap() : null;
  }

  bucketFor(conn: DownstreamConnectionInfo): TokenBucket | null {
    if (this.#perConnection === null) return this.#bucket;
    let b = this.#perConnection.get(conn);
    if (b === undefined) {
      b = new TokenBucket(this.config.tokenBucket!, this.#clock);
      this.#perConnection.set(conn, b);
    }
    return b;
  }
}

export class LocalRateLimitFilter implements HttpFilter<RateLimitState> {
  readonly #state: RateLimitState;
  readonly #sink: StatsSink;
  readonly #random: RandomInt;

  constructor(state: RateLimitState, sink: StatsSink, random: RandomInt = mathRandomInt) {
    this.#state = state;
    this.#sink = sink;
    this.#random = random;
  }

  /** A per-route config gets its own bucket (Envoy: "the bucket becomes unique to that route"). */
  perRoute(config: unknown): RateLimitState {
    return new RateLimitState(config as LocalRateLimitConfig, this.#sink);
  }

  onRequest(r: FilterRequest, perRoute: RateLimitState | null): FilterResult {
    const st = perRoute ?? this.#state;
    const bucket = st.bucketFor(r.req.ex.connection);
    const outcome = rateLimitDecision(st.config, bucket, this.#random);
    if (outcome === 'skip') return 'continue';
    st.stats.enabled.inc();
    const x = st.config.xRateLimitHeaders && bucket !== null ? xRateLimitHeaders(bucket) : null;
    if (outcome === 'ok') {
      st.stats.ok.inc();
      if (x !== null) addResponseHeaders(r.req, x);
      return 'continue';
    }
    st.stats.rateLimited.inc();
    if (outcome === 'limited') {
      // The request is the %COMMAND% format context (no upstream chosen yet: UPSTREAM_* format empty).
      applyRequestMutations(r.req.ex.head.headers, st.mutations, r.req);
      if (x !== null) addResponseHeaders(r.req, x);
      return 'continue';
    }
    st.stats.enforced.inc();
    const headers: HeaderRecord = x ?? {};
    applyResponseMutations(headers, st.mutations, r.req);
    return filterLocalReply(r, replies.localRateLimited(st.config.status, st.config.grpcStatus, headers));
  }
}

/** enable_x_ratelimit_headers: DRAFT_VERSION_03. */
function xRateLimitHeaders(bucket: TokenBucket): HeaderRecord {
  return {
    'x-ratelimit-limit': String(bucket.config.maxTokens),
    'x-ratelimit-remaining': String(Math.floor(bucket.remaining)),
    'x-ratelimit-reset': String(bucket.resetSeconds()),
  };
}

export const LOCAL_RATE_LIMIT_FILTER: HttpFilterFactory<LocalRateLimitConfig> = {
  message: LOCAL_RATE_LIMIT.message,
  names: [LOCAL_RATE_LIMIT_FILTER_NAME],
  table: LOCAL_RATE_LIMIT,
  terminal: false,
  compile: (m, perRoute) => compileLocalRateLimit(m, perRoute),
  create: (config, ctx) => new LocalRateLimitFilter(new RateLimitState(config, ctx.stats), ctx.stats),
};
