// Tests deepFreeze: nested objects, arrays and Maps are frozen; RegExp objects keep working.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deepFreeze } from '../../src/model/deep-freeze.ts';

test('freezes nested objects, arrays and maps', () => {
  const v = deepFreeze({ a: { b: [1, { c: 2 }] }, m: new Map([['k', { x: 1 }]]) });
  assert.ok(Object.isFrozen(v));
  assert.ok(Object.isFrozen(v.a.b));
  assert.ok(Object.isFrozen(v.a.b[1]));
  assert.ok(Object.isFrozen(v.m.get('k')));
  assert.throws(() => (v.m as Map<string, unknown>).set('z', 1), TypeError);
  assert.throws(() => (v.m as Map<string, unknown>).delete('k'), TypeError);
  assert.throws(() => (v.m as Map<string, unknown>).clear(), TypeError);
  assert.equal(v.m.get('k')?.x, 1);
  assert.throws(() => {
    (v.a as { b: unknown }).b = 1;
  }, TypeError);
});

test('leaves RegExp objects usable, including global ones', () => {
  const v = deepFreeze({ plain: /^a+$/u, global: /a/g });
  assert.equal(Object.isFrozen(v.plain), false);
  for (let i = 0; i < 3; i++) assert.ok(v.plain.test('aaa'));
  assert.equal('aXa'.replace(v.global, 'b'), 'bXb');
  assert.ok(v.global.test('a'));
  assert.ok(Object.isFrozen(v));
});

test('handles shared and cyclic references', () => {
  const shared = { s: 1 };
  const cyclic: Record<string, unknown> = { shared, again: shared };
  cyclic.self = cyclic;
  deepFreeze(cyclic);
  assert.ok(Object.isFrozen(shared));
});
