// Field tables and the compiler for envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit (filter level and per route).
import { compileAdds } from '../../model/header-mutations.ts';
import type { Msg, MessageTable } from '../../model/proto-message.ts';
import type { HeaderValueOption } from '../../model/types.ts';
import { ZERO_PERCENT } from '../../policy/fractional-percent.ts';
import type { RateLimitSwitches, TokenBucketConfig } from '../../policy/local-rate-limit.ts';
import { compileHttpStatus, compileRuntimeFractionalPercent } from './config-common.ts';

export const LOCAL_RATE_LIMIT: MessageTable = {
  message: 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
  fields: {
    stat_prefix: 'ok',
    status: 'ok',
    token_bucket: 'ok',
    filter_enabled: 'ok',
    filter_enforced: 'ok',
    request_headers_to_add_when_not_enforced: 'ok',
    response_headers_to_add: 'ok',
    descriptors: 'unsupported',
    stage: 'unsupported',
    local_rate_limit_per_downstream_connection: 'ok',
    local_cluster_rate_limit: 'unsupported',
    enable_x_ratelimit_headers: 'ok',
    // Both only matter with descriptors (route rate_limits), which are not supported.
    vh_rate_limits: 'ignore',
    always_consume_default_token_bucket: 'ignore',
    rate_limited_as_resource_exhausted: 'ok',
    rate_limits: 'unsupported',
    max_dynamic_descriptors: 'ignore',
  },
};

export const TOKEN_BUCKET: MessageTable = {
  message: 'envoy.type.v3.TokenBucket',
  fields: { max_tokens: 'ok', tokens_per_fill: 'ok', fill_interval: 'ok' },
};

/** Envoy refuses faster refills: "local rate limit token bucket fill timer must be >= 50ms". */
export const MIN_FILL_INTERVAL_MS = 50;

const X_RATELIMIT_VERSIONS = ['OFF', 'DRAFT_VERSION_03'] as const;

/** One compiled LocalRateLimit (a per-route config gets its own bucket and replaces the filter's as a whole). */
export interface LocalRateLimitConfig extends RateLimitSwitches {
  readonly statPrefix: string;
  /** null: no token bucket (allowed for the filter-level config only): every request is let through. */
  readonly tokenBucket: TokenBucketConfig | null;
  /** Status of the rate-limited reply (default 429; values below 400 mean 429). */
  readonly status: number;
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToAddWhenNotEnforced: readonly HeaderValueOption[];
  /** One bucket per downstream connection instead of one for the whole process. */
  readonly perConnection: boolean;
  /** enable_x_ratelimit_headers: DRAFT_VERSION_03 → x-ratelimit-limit / -remaining / -reset on responses. */
  readonly xRateLimitHeaders: boolean;
  /** rate_limited_as_resource_exhausted: gRPC status 8 instead of 14 (mapped from 429). */
  readonly grpcStatus: number | null;
}

function compileTokenBucket(l: Msg): TokenBucketConfig | null {
  const b = l.msg('token_bucket', TOKEN_BUCKET);
  if (!b) return null;
  if (!b.has('max_tokens')) b.error('max_tokens', 'is required');
  if (!b.has('fill_interval')) b.error('fill_interval', 'is required');
  const maxTokens = b.uint('max_tokens', 1, 1);
  const tokensPerFill = b.uint('tokens_per_fill', 1, 1);
  const fillIntervalMs = b.durationMs('fill_interval', 0);
  if (b.has('fill_interval') && fillIntervalMs < MIN_FILL_INTERVAL_MS) {
    b.error('fill_interval', `must be at least ${MIN_FILL_INTERVAL_MS}ms (Envoy rejects faster refills)`);
  }
  return { maxTokens, tokensPerFill, fillIntervalMs };
}

/** An opened LocalRateLimit; null after reporting errors. A per-route config must carry a token_bucket. */
export function compileLocalRateLimit(l: Msg, perRoute: boolean): LocalRateLimitConfig | null {
  const before = l.ctx.errors.length;
  const statPrefix = l.requiredStr('stat_prefix');
  const tokenBucket = compileTokenBucket(l);
  if (perRoute && !l.has('token_bucket')) l.error('token_bucket', 'is required in a per-route (typed_per_filter_config) local rate limit');
  const status = compileHttpStatus(l, 'status', 429);
  const enabled = compileRuntimeFractionalPercent(l, 'filter_enabled', ZERO_PERCENT);
  const enforced = compileRuntimeFractionalPercent(l, 'filter_enforced', ZERO_PERCENT);
  if (tokenBucket !== null && !l.has('filter_enabled')) l.ctx.warn(l.at('filter_enabled'), 'is not set: Envoy enables the limit for 0 % of requests');
  else if (tokenBucket !== null && !l.has('filter_enforced')) l.ctx.warn(l.at('filter_enforced'), 'is not set: Envoy enforces the limit for 0 % of requests');
  const perConnection = l.bool('local_rate_limit_per_downstream_connection', false);
  const config: LocalRateLimitConfig = {
    statPrefix,
    tokenBucket,
    status: status < 400 ? 429 : status,
    enabled,
    enforced,
    responseHeadersToAdd: compileAdds(l, 'response_headers_to_add'),
    requestHeadersToAddWhenNotEnforced: compileAdds(l, 'request_headers_to_add_when_not_enforced'),
    perConnection,
    xRateLimitHeaders: l.enumOf('enable_x_ratelimit_headers', X_RATELIMIT_VERSIONS, 'OFF') === 'DRAFT_VERSION_03',
    grpcStatus: l.bool('rate_limited_as_resource_exhausted', false) ? 8 : null,
  };
  for (const name of ['response_headers_to_add', 'request_headers_to_add_when_not_enforced']) {
    if (l.list(name).length > 10) l.error(name, 'at most 10 headers');
  }
  return l.ctx.errors.length > before ? null : config;
}
