// Request hash policy tests: header, cookie, source_ip, query_parameter, terminal and combination.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HashPolicy } from '../../src/model/types.ts';
import { computeRequestHash } from '../../src/upstream/request-hash.ts';

const input = {
  headers: { 'x-user': 'alice', cookie: 'a=1; session="s-42"', host: 'example.com' },
  sourceIp: '10.1.2.3',
  path: '/p?x=1&user=bob&user=carol',
};

const header = (name: string, terminal = false): HashPolicy => ({ kind: 'header', name, terminal });

test('no applicable policy gives null', () => {
  assert.equal(computeRequestHash([], input), null);
  assert.equal(computeRequestHash([header('x-missing'), { kind: 'cookie', name: 'nope', ttlSeconds: null, path: null, terminal: false }], input), null);
  assert.equal(computeRequestHash([{ kind: 'query_parameter', name: 'zzz', terminal: false }], input), null);
});

test('each policy kind hashes its value deterministically', () => {
  const h = computeRequestHash([header('x-user')], input);
  assert.equal(typeof h, 'number');
  assert.ok(Number.isSafeInteger(h) && h! >= 0);
  assert.equal(computeRequestHash([header('x-user')], { ...input, headers: { 'x-user': 'alice' } }), h);
  assert.notEqual(computeRequestHash([header('x-user')], { ...input, headers: { 'x-user': 'bob' } }), h);
  const cookie = computeRequestHash([{ kind: 'cookie', name: 'session', ttlSeconds: null, path: null, terminal: false }], input);
  const cookie2 = computeRequestHash([{ kind: 'cookie', name: 'session', ttlSeconds: null, path: null, terminal: false }], { ...input, headers: { cookie: ['x=y', 'session=s-42'] } });
  assert.equal(cookie, cookie2);
  const ip = computeRequestHash([{ kind: 'source_ip', terminal: false }], input);
  assert.equal(ip, computeRequestHash([{ kind: 'source_ip', terminal: false }], { ...input, path: '/' }));
  const q = computeRequestHash([{ kind: 'query_parameter', name: 'user', terminal: false }], input);
  assert.equal(q, computeRequestHash([{ kind: 'query_parameter', name: 'user', terminal: false }], { ...input, path: '/other?user=bob' }));
  assert.equal(computeRequestHash([header(':authority')], input), computeRequestHash([header('host')], input));
});

test('multiple header values hash the same in any order', () => {
  const a = computeRequestHash([header('x-v')], { ...input, headers: { 'x-v': ['1', '2'] } });
  const b = computeRequestHash([header('x-v')], { ...input, headers: { 'x-v': ['2', '1'] } });
  assert.equal(a, b);
});

test('policies combine; a terminal policy that applied stops evaluation', () => {
  const one = computeRequestHash([header('x-user')], input);
  const both = computeRequestHash([header('x-user'), { kind: 'source_ip', terminal: false }], input);
  assert.notEqual(both, one);
  assert.equal(computeRequestHash([header('x-user', true), { kind: 'source_ip', terminal: false }], input), one);
  // A terminal policy that did not apply does not stop evaluation.
  assert.equal(computeRequestHash([header('x-missing', true), header('x-user')], input), one);
});
