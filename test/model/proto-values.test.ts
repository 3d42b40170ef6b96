// Tests proto3-JSON scalar parsing: durations, UInt32Value/BoolValue wrappers, integers and enums.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseBool, parseDurationMs, parseEnum, parseInteger, parseUInt } from '../../src/model/proto-values.ts';

describe('parseDurationMs', () => {
  const ok: [unknown, number][] = [
    ['1.5s', 1500],
    ['0s', 0],
    ['0.25s', 250],
    ['300s', 300_000],
    ['0.000000001s', 1], // sub-millisecond but non-zero: rounds up, never "disabled"
    [{ seconds: 2, nanos: 500_000_000 }, 2500],
    [{ seconds: '3' }, 3000],
    [{}, 0],
  ];
  for (const [input, ms] of ok) {
    test(`${JSON.stringify(input)} → ${ms}ms`, () => assert.deepEqual(parseDurationMs(input), { ok: true, value: ms }));
  }
  const bad: [unknown, string][] = [
    ['1.5', 'invalid duration'],
    ['5m', 'invalid duration'],
    [5, 'invalid duration'],
    ['-1s', 'negative'],
    [{ seconds: 1, nanos: 2_000_000_000 }, 'nanos'],
    [{ minutes: 1 }, 'unknown field'],
  ];
  for (const [input, message] of bad) {
    test(`${JSON.stringify(input)} is rejected`, () => {
      const r = parseDurationMs(input);
      assert.equal(r.ok, false);
      if (!r.ok) assert.ok(r.error.includes(message), r.error);
    });
  }
});

describe('wrappers and integers', () => {
  test('UInt32Value as number, string and {value}', () => {
    assert.deepEqual(parseUInt(7), { ok: true, value: 7 });
    assert.deepEqual(parseUInt('7'), { ok: true, value: 7 });
    assert.deepEqual(parseUInt({ value: 7 }), { ok: true, value: 7 });
  });
  test('range and integer checks', () => {
    assert.equal(parseUInt(70000, 0, 65535).ok, false);
    assert.equal(parseUInt(-1).ok, false);
    assert.equal(parseUInt(1.5).ok, false);
    assert.equal(parseInteger('12x').ok, false);
    assert.deepEqual(parseInteger('-12'), { ok: true, value: -12 });
  });
  test('BoolValue as bool and {value}', () => {
    assert.deepEqual(parseBool(true), { ok: true, value: true });
    assert.deepEqual(parseBool({ value: false }), { ok: true, value: false });
    assert.equal(parseBool('true').ok, false);
  });
  test('enums by name (case-insensitive) or number', () => {
    const values = ['ROUND_ROBIN', 'LEAST_REQUEST', undefined, 'MAGLEV'] as const;
    assert.deepEqual(parseEnum('round_robin', values), { ok: true, value: 'ROUND_ROBIN' });
    assert.deepEqual(parseEnum(1, values), { ok: true, value: 'LEAST_REQUEST' });
    assert.equal(parseEnum(2, values).ok, false);
    const r = parseEnum('FASTEST', values);
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(r.error.includes('ROUND_ROBIN, LEAST_REQUEST, MAGLEV'), r.error);
    assert.deepEqual(parseEnum('TLSv1_2', ['TLS_AUTO', 'TLSv1_2'] as const), { ok: true, value: 'TLSv1_2' });
  });
});
