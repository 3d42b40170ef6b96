// Tests the RE2 → JavaScript regex translation, anchoring, substitutions and global replacement.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileRe2, regexReplaceAll, translateRe2, translateRe2Substitution } from '../../src/model/re2.ts';

interface MatchCase {
  readonly re2: string;
  readonly matches: readonly string[];
  readonly rejects: readonly string[];
}

const matchCases: readonly MatchCase[] = [
  { re2: '/api/v[0-9]+/.*', matches: ['/api/v1/x', '/api/v22/'], rejects: ['/api/v/x', 'x/api/v1/'] },
  { re2: '(?i)/Users/\\d+', matches: ['/users/1', '/USERS/22'], rejects: ['/users/x'] },
  { re2: '(?P<id>[a-f0-9]{8})', matches: ['deadbeef'], rejects: ['deadbee'] },
  { re2: '[[:alpha:]]+-[[:digit:]]', matches: ['abc-1'], rejects: ['ab1-1'] },
  { re2: '\\pL+', matches: ['héllo'], rejects: ['h3llo'] },
  { re2: '\\p{Greek}+', matches: ['αβγ'], rejects: ['abc'] },
  { re2: '\\Qa.b*c\\E', matches: ['a.b*c'], rejects: ['axbbc'] },
  { re2: 'a\\-b\\#c', matches: ['a-b#c'], rejects: [] },
  { re2: 'x{2,3}', matches: ['xx', 'xxx'], rejects: ['x', 'xxxx'] },
  { re2: 'a{', matches: ['a{'], rejects: ['a'] },
  { re2: '\\x{41}\\x42', matches: ['AB'], rejects: [] },
  { re2: '\\s', matches: [' ', '\t'], rejects: ['\u00a0'] },
  { re2: 'a|b', matches: ['a', 'b'], rejects: ['ab'] },
  { re2: '.', matches: ['😀'], rejects: ['\n'] },
  { re2: '\\Aab\\z', matches: ['ab'], rejects: [] },
];

describe('compileRe2 matching (anchored full match)', () => {
  for (const c of matchCases) {
    test(c.re2, () => {
      const r = compileRe2(c.re2, true);
      assert.equal(r.ok, true, r.ok ? '' : r.error);
      if (!r.ok) return;
      for (const s of c.matches) assert.ok(r.value.test(s), `${c.re2} should match ${JSON.stringify(s)}`);
      for (const s of c.rejects) assert.ok(!r.value.test(s), `${c.re2} should not match ${JSON.stringify(s)}`);
      assert.equal(r.value.global, false);
    });
  }
});

describe('compileRe2 rejects what RE2 or JavaScript cannot do', () => {
  const bad: [string, string][] = [
    ['(a)\\1', 'backreferences'],
    ['a(?=b)', 'lookahead'],
    ['(?<!a)b', 'lookbehind'],
    ['(?U)a*', 'ungreedy'],
    ['\\C', '\\C'],
    ['a\\', 'trailing backslash'],
    ['(a', 'missing )'],
    ['a)', 'unmatched )'],
    ['[a', 'missing ]'],
    ['a**', 'invalid regex'],
    ['\\e', 'invalid escape'],
    ['x{1001}', 'repetition'],
  ];
  for (const [re2, message] of bad) {
    test(re2, () => {
      const r = compileRe2(re2, true);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.ok(r.error.startsWith('invalid regex: '), r.error);
        assert.ok(r.error.includes(message), r.error);
      }
    });
  }
});

describe('substitutions and replacement', () => {
  test('RE2 \\1 becomes a two-digit JS group reference; $ is literal', () => {
    assert.deepEqual(translateRe2Substitution('/v2/\\1\\\\$0', 1), { ok: true, value: '/v2/$01\\$$0' });
    assert.deepEqual(translateRe2Substitution('\\0', 0), { ok: true, value: '$&' });
    assert.equal(translateRe2Substitution('\\2', 1).ok, false);
    assert.equal(translateRe2Substitution('\\q', 1).ok, false);
  });
  test('group followed by a digit stays a single-digit group', () => {
    const re = compileRe2('^/(\\w+)', false);
    assert.ok(re.ok);
    const sub = translateRe2Substitution('/\\10', 1);
    assert.ok(sub.ok);
    if (re.ok && sub.ok) assert.equal(regexReplaceAll('/abc', re.value, sub.value), '/abc0');
  });
  test('regexReplaceAll replaces every match and works on a frozen pattern', () => {
    const re = compileRe2('o', false);
    assert.ok(re.ok);
    if (!re.ok) return;
    Object.freeze(re.value);
    assert.equal(regexReplaceAll('foo/boo', re.value, '0'), 'f00/b00');
    assert.equal(regexReplaceAll('foo/boo', re.value, '0'), 'f00/b00');
  });
  test('translateRe2 is exposed for diagnostics', () => {
    assert.deepEqual(translateRe2('(?i)a'), { ok: true, value: '(?i:a)' });
  });
});

test('POSIX class names are looked up safely', () => {
  const r = compileRe2('[[:constructor:]]', true);
  assert.equal(r.ok, false);
});
