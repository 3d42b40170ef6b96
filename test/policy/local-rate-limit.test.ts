// Tests the token bucket against an injected clock (no timers), the enabled/enforced decision, and LocalRateLimit validation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateHttpFilterConfig } from '../../src/http/filters/registry.ts';
import { rateLimitDecision, TokenBucket } from '../../src/policy/local-rate-limit.ts';

const LRL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const ALL = { numerator: 100, denominator: 100 } as const;
const NONE = { numerator: 0, denominator: 100 } as const;

function clock(start = 1000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

describe('TokenBucket', () => {
  test('starts full, empties, refuses at zero', () => {
    const c = clock();
    const b = new TokenBucket({ maxTokens: 3, tokensPerFill: 1, fillIntervalMs: 1000 }, c.now);
    assert.deepEqual([b.tryConsume(), b.tryConsume(), b.tryConsume(), b.tryConsume()], [true, true, true, false]);
    assert.equal(b.remaining, 0);
  });

  test('refills tokens_per_fill per whole fill_interval elapsed, capped at max_tokens', () => {
    const c = clock();
    const b = new TokenBucket({ maxTokens: 5, tokensPerFill: 2, fillIntervalMs: 100 }, c.now);
    for (let i = 0; i < 5; i++) assert.equal(b.tryConsume(), true);
    c.advance(99);
    assert.equal(b.tryConsume(), false, 'no fill before the interval');
    c.advance(1);
    assert.equal(b.tryConsume(), true);
    assert.equal(b.remaining, 1);
    c.advance(250); // two more fills (at 200 and 300 from creation): 1 + 4 = 5
    assert.equal(b.tryConsume(), true);
    assert.equal(b.remaining, 4);
    c.advance(10_000);
    b.tryConsume();
    assert.equal(b.remaining, 4, 'capped at max_tokens (5), minus the one just taken');
  });

  test('fills stay aligned to creation time (a late look does not shift the schedule)', () => {
    const c = clock(0);
    const b = new TokenBucket({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 100 }, c.now);
    assert.equal(b.tryConsume(), true);
    c.advance(150);
    assert.equal(b.tryConsume(), true, 'fill at 100');
    c.advance(60); // t=210: the fill at 200 is due although only 60 ms passed since the last look
    assert.equal(b.tryConsume(), true);
  });

  test('resetSeconds: whole seconds until the next fill, rounded up', () => {
    const c = clock(0);
    const b = new TokenBucket({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 }, c.now);
    assert.equal(b.resetSeconds(), 60);
    c.advance(59_001);
    assert.equal(b.resetSeconds(), 1);
    c.advance(999);
    assert.equal(b.resetSeconds(), 60, 'a fill just happened');
  });
});

describe('rateLimitDecision', () => {
  const roll = (v: number) => (n: number) => Math.min(v, n - 1);
  test('filter_enabled missed → skip without touching the bucket', () => {
    const b = new TokenBucket({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 }, () => 0);
    assert.equal(rateLimitDecision({ enabled: NONE, enforced: ALL }, b, roll(0)), 'skip');
    assert.equal(b.remaining, 1);
  });
  test('token → ok; none and enforced → enforced; none and not enforced → limited', () => {
    const b = new TokenBucket({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 }, () => 0);
    assert.equal(rateLimitDecision({ enabled: ALL, enforced: ALL }, b, roll(0)), 'ok');
    assert.equal(rateLimitDecision({ enabled: ALL, enforced: ALL }, b, roll(0)), 'enforced');
    assert.equal(rateLimitDecision({ enabled: ALL, enforced: { numerator: 50, denominator: 100 } }, b, roll(50)), 'limited');
    assert.equal(rateLimitDecision({ enabled: ALL, enforced: { numerator: 50, denominator: 100 } }, b, roll(49)), 'enforced');
  });
  test('no token bucket → every enabled request is ok', () => {
    assert.equal(rateLimitDecision({ enabled: ALL, enforced: ALL }, null, roll(0)), 'ok');
  });
});

describe('LocalRateLimit validation', () => {
  const tb = { max_tokens: 3, tokens_per_fill: 1, fill_interval: '60s' };
  const ok = { stat_prefix: 'rl', token_bucket: tb, filter_enabled: { default_value: { numerator: 100 } }, filter_enforced: { default_value: { numerator: 100 } } };
  const bad: [string, Record<string, unknown>, boolean, string, RegExp][] = [
    ['stat_prefix missing', { token_bucket: tb }, false, 'stat_prefix', /required/],
    ['fill_interval under 50ms', { ...ok, token_bucket: { ...tb, fill_interval: '0.01s' } }, false, 'token_bucket.fill_interval', /at least 50ms/],
    ['max_tokens 0', { ...ok, token_bucket: { ...tb, max_tokens: 0 } }, false, 'token_bucket.max_tokens', /out of range/],
    ['max_tokens missing', { ...ok, token_bucket: { fill_interval: '1s' } }, false, 'token_bucket.max_tokens', /required/],
    ['per-route config without token_bucket', { stat_prefix: 'r' }, true, 'token_bucket', /required in a per-route/],
    ['bad enforced denominator', { ...ok, filter_enforced: { default_value: { numerator: 1, denominator: 'BOGUS' } } }, false, 'filter_enforced.default_value.denominator', /BOGUS/],
    ['filter_enabled without default_value', { ...ok, filter_enabled: { runtime_key: 'k' } }, false, 'filter_enabled.default_value', /required/],
    ['unknown status name', { ...ok, status: { code: 'Teapot' } }, false, 'status.code', /unknown status code/],
    ['descriptors', { ...ok, descriptors: [{ entries: [] }] }, false, 'descriptors', /not supported yet/],
    ['bad x-ratelimit version', { ...ok, enable_x_ratelimit_headers: 'DRAFT_VERSION_99' }, false, 'enable_x_ratelimit_headers', /DRAFT_VERSION_03/],
  ];
  for (const [name, config, perRoute, field, message] of bad) {
    test(`${name} → error at ${field}`, () => {
      const r = validateHttpFilterConfig(LRL_TYPE, config, perRoute);
      assert.ok(r.errors.some((e) => e.field === field && message.test(e.message)), `got ${JSON.stringify(r.errors)}`);
    });
  }
  test('a full config is valid; the filter-level config may omit token_bucket', () => {
    const full = {
      ...ok, status: { code: 'ServiceUnavailable' }, enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
      local_rate_limit_per_downstream_connection: true, rate_limited_as_resource_exhausted: true,
      response_headers_to_add: [{ append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: 'x-local-rate-limit', value: 'true' } }],
      request_headers_to_add_when_not_enforced: [{ header: { key: 'x-would-limit', value: 'yes' } }],
    };
    assert.deepEqual(validateHttpFilterConfig(LRL_TYPE, full).errors, []);
    assert.deepEqual(validateHttpFilterConfig(LRL_TYPE, { stat_prefix: 'global' }).errors, []);
  });
  test('a bucket without filter_enabled warns that Envoy enables it for 0 %', () => {
    const r = validateHttpFilterConfig(LRL_TYPE, { stat_prefix: 'rl', token_bucket: tb });
    assert.ok(r.warnings.some((w) => w.field === 'filter_enabled'), JSON.stringify(r.warnings));
  });
});
