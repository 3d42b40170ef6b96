// Tests fault injection decisions (percentages with an injected roll, header-controlled delays/aborts, targeting) and HTTPFault validation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateHttpFilterConfig } from '../../src/http/filters/registry.ts';
import { compileHttpFilterConfig } from '../../src/http/filters/registry.ts';
import { FAULT_FILTER } from '../../src/http/filters/fault-filter.ts';
import type { RequestHead } from '../../src/http/exchange.ts';
import { faultAbort, faultDelayMs, faultTargets, type FaultSettings } from '../../src/policy/fault.ts';
import { percentHit, type RandomInt } from '../../src/policy/fractional-percent.ts';

const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const hundred = { numerator: 100, denominator: 'HUNDRED' };

function head(headers: Record<string, string | string[]> = {}): RequestHead {
  return { method: 'GET', scheme: 'http', authority: 'svc', path: '/', headers, protocol: 'HTTP/1.1' };
}

/** A roll that always returns `v` (clamped below n), recording the denominators asked for. */
function roll(v: number, asked: number[] = []): RandomInt {
  return (n) => { asked.push(n); return Math.min(v, n - 1); };
}

function settings(over: Partial<FaultSettings>): FaultSettings {
  return { delay: null, abort: null, headers: [], upstreamCluster: null, maxActiveFaults: null, ...over };
}

function compile(config: Record<string, unknown>): FaultSettings {
  const s = compileHttpFilterConfig(FAULT_FILTER, config, false);
  assert.ok(s, 'expected the fault config to compile');
  return s;
}

describe('percentHit', () => {
  test('Envoy semantics: random % denominator < numerator', () => {
    const p = { numerator: 25, denominator: 100 } as const;
    assert.equal(percentHit(p, roll(24)), true);
    assert.equal(percentHit(p, roll(25)), false);
    const asked: number[] = [];
    percentHit({ numerator: 1, denominator: 1_000_000 }, roll(0, asked));
    assert.deepEqual(asked, [1_000_000]);
  });
  test('0 % never rolls and never hits; numerator >= denominator always hits without a roll', () => {
    const asked: number[] = [];
    assert.equal(percentHit({ numerator: 0, denominator: 100 }, roll(0, asked)), false);
    assert.equal(percentHit({ numerator: 100, denominator: 100 }, roll(99, asked)), true);
    assert.equal(percentHit({ numerator: 20_000, denominator: 10_000 }, roll(0, asked)), true);
    assert.deepEqual(asked, []);
  });
});

describe('fault decisions', () => {
  test('fixed delay at 50 %: applied when the roll is under the numerator', () => {
    const s = compile({ delay: { fixed_delay: '1.5s', percentage: { numerator: 50, denominator: 'HUNDRED' } } });
    assert.equal(faultDelayMs(s, head(), roll(49)), 1500);
    assert.equal(faultDelayMs(s, head(), roll(50)), null);
  });

  test('header_delay: the header gives the milliseconds; absent, invalid or 0 → no delay', () => {
    const s = compile({ delay: { header_delay: {}, percentage: { numerator: 100 } } });
    assert.equal(faultDelayMs(s, head({ 'x-envoy-fault-delay-request': '250' }), roll(0)), 250);
    assert.equal(faultDelayMs(s, head({ 'x-envoy-fault-delay-request': ['300', '9'] }), roll(0)), 300, 'first value only');
    assert.equal(faultDelayMs(s, head(), roll(0)), null);
    assert.equal(faultDelayMs(s, head({ 'x-envoy-fault-delay-request': 'soon' }), roll(0)), null);
    assert.equal(faultDelayMs(s, head({ 'x-envoy-fault-delay-request': '0' }), roll(0)), null);
  });

  test('header percentage is capped by the configured numerator and uses its denominator', () => {
    const s = compile({ abort: { header_abort: {}, percentage: { numerator: 30, denominator: 'TEN_THOUSAND' } } });
    const h = (pct: string) => head({ 'x-envoy-fault-abort-request': '503', 'x-envoy-fault-abort-request-percentage': pct });
    const asked: number[] = [];
    assert.deepEqual(faultAbort(s, h('10'), roll(9, asked)), { status: 503, grpcStatus: null });
    assert.equal(faultAbort(s, h('10'), roll(10)), null, 'header lowered the numerator to 10');
    assert.equal(faultAbort(s, h('5000'), roll(30)), null, 'capped at the configured 30');
    assert.deepEqual(asked, [10_000]);
  });

  test('abort http_status, grpc_status (HTTP 200 + grpc-status) and header_abort (HTTP wins over gRPC)', () => {
    assert.deepEqual(faultAbort(compile({ abort: { http_status: 503, percentage: hundred } }), head(), roll(0)), { status: 503, grpcStatus: null });
    assert.deepEqual(faultAbort(compile({ abort: { grpc_status: 14, percentage: hundred } }), head(), roll(0)), { status: 200, grpcStatus: 14 });
    const h = compile({ abort: { header_abort: {}, percentage: hundred } });
    assert.deepEqual(faultAbort(h, head({ 'x-envoy-fault-abort-request': '429', 'x-envoy-fault-abort-grpc-request': '8' }), roll(0)), { status: 429, grpcStatus: null });
    assert.deepEqual(faultAbort(h, head({ 'x-envoy-fault-abort-request': '700', 'x-envoy-fault-abort-grpc-request': '8' }), roll(0)), { status: 200, grpcStatus: 8 });
    assert.deepEqual(faultAbort(h, head({ 'x-envoy-fault-abort-grpc-request': '5' }), roll(0)), { status: 200, grpcStatus: 5 });
    assert.equal(faultAbort(h, head(), roll(0)), null, 'no header: no abort');
  });

  test('percentage absent means 0 % (Envoy default), with a warning', () => {
    const s = compile({ abort: { http_status: 500 } });
    assert.equal(faultAbort(s, head(), roll(0)), null);
    const check = validateHttpFilterConfig(FAULT_TYPE, { abort: { http_status: 500 } });
    assert.ok(check.warnings.some((w) => w.field === 'abort.percentage' && /0 %/.test(w.message)), JSON.stringify(check.warnings));
  });

  test('targeting: headers must all match; upstream_cluster must equal the route cluster', () => {
    const s = compile({
      abort: { http_status: 503, percentage: hundred },
      headers: [{ name: 'x-chaos', exact_match: 'on' }],
      upstream_cluster: 'payments',
    });
    assert.equal(faultTargets(s, head({ 'x-chaos': 'on' }), 'payments'), true);
    assert.equal(faultTargets(s, head({ 'x-chaos': 'off' }), 'payments'), false);
    assert.equal(faultTargets(s, head({ 'x-chaos': 'on' }), 'orders'), false);
    assert.equal(faultTargets(s, head({ 'x-chaos': 'on' }), null), false);
    assert.equal(faultTargets(settings({}), head(), null), true);
  });
});

describe('HTTPFault validation', () => {
  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ['unknown denominator', { abort: { http_status: 503, percentage: { numerator: 5, denominator: 'BOGUS' } } }, 'abort.percentage.denominator', /BOGUS.*HUNDRED, TEN_THOUSAND, MILLION/],
    ['http_status out of range', { abort: { http_status: 99, percentage: hundred } }, 'abort.http_status', /out of range \[200, 599\]/],
    ['abort without an error type', { abort: { percentage: hundred } }, 'abort', /one of http_status, grpc_status, header_abort is required/],
    ['two delay kinds', { delay: { fixed_delay: '1s', header_delay: {} } }, 'delay.header_delay', /only one of/],
    ['zero fixed delay', { delay: { fixed_delay: '0s', percentage: hundred } }, 'delay.fixed_delay', /greater than 0s/],
    ['bad duration', { delay: { fixed_delay: 'soon', percentage: hundred } }, 'delay.fixed_delay', /invalid duration/],
    ['downstream_nodes', { downstream_nodes: ['a'], abort: { http_status: 503, percentage: hundred } }, 'downstream_nodes', /not supported yet/],
    ['response_rate_limit', { response_rate_limit: { fixed_limit: { limit_kbps: 1 } } }, 'response_rate_limit', /not supported yet/],
    ['unknown field', { abrot: {} }, 'abrot', /unknown field/],
    ['bad header matcher', { headers: [{ name: 'x', safe_regex_match: { regex: '(' } }] }, 'headers[0].safe_regex_match.regex', /regex/],
  ];
  for (const [name, config, field, message] of bad) {
    test(`${name} → error at ${field}`, () => {
      const r = validateHttpFilterConfig(FAULT_TYPE, config);
      assert.equal(r.known, true);
      assert.ok(r.errors.some((e) => e.field === field && message.test(e.message)), `got ${JSON.stringify(r.errors)}`);
    });
  }

  test('a full config compiles to the expected settings', () => {
    const s = compile({
      delay: { fixed_delay: { seconds: 2, nanos: 500_000_000 }, percentage: { numerator: 10, denominator: 'MILLION' } },
      abort: { grpc_status: 14, percentage: { numerator: 3, denominator: 1 } },
      max_active_faults: { value: 7 },
      delay_percent_runtime: 'ignored.key',
    });
    assert.deepEqual(s.delay, { kind: 'fixed', ms: 2500, percentage: { numerator: 10, denominator: 1_000_000 } });
    assert.deepEqual(s.abort, { kind: 'grpc', grpcStatus: 14, percentage: { numerator: 3, denominator: 10_000 } });
    assert.equal(s.maxActiveFaults, 7);
  });

  test('unknown type URL: nothing checked', () => {
    assert.equal(validateHttpFilterConfig('type.googleapis.com/x.Y', {}).known, false);
  });
});
