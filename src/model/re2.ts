// Translates RE2 regex syntax (what Envoy's safe_regex uses) to JavaScript RegExp source with the 'u' flag.
import type { Parsed } from './proto-values.ts';

const SYNTAX_CHARS = '^$\\.*+?()[]{}|/';
const MAX_REPEAT = 1000;

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const GENERAL_CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(' '),
);

interface Piece {
  readonly text: string;
  readonly next: number;
}

type Step = Piece | { readonly error: string };

function isError(s: Step): s is { readonly error: string } {
  return 'error' in s;
}

function codePointEscape(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function escapeLiteral(ch: string, inClass: boolean): string {
  if (SYNTAX_CHARS.includes(ch) || (inClass && ch === '-')) return `\\${ch}`;
  return ch;
}

/** One escape sequence starting at src[i] === '\\'. */
function translateEscape(src: string, i: number, inClass: boolean): Step {
  const c = src[i + 1];
  if (c === undefined) return { error: 'trailing backslash' };
  if (c >= '0' && c <= '7') {
    const m = /^[0-7]{1,3}/.exec(src.slice(i + 1))!;
    if (c !== '0' && m[0].length === 1) return { error: `backreferences (\\${c}) are not supported by RE2` };
    return { text: codePointEscape(parseInt(m[0], 8)), next: i + 1 + m[0].length };
  }
  if (c === '8' || c === '9') return { error: `backreferences (\\${c}) are not supported by RE2` };
  const rest = src.slice(i + 2);
  switch (c) {
    case 'x': {
      const braced = /^\{([0-9A-Fa-f]{1,6})\}/.exec(rest);
      if (braced) {
        const cp = parseInt(braced[1], 16);
        if (cp > 0x10ffff) return { error: `\\x{${braced[1]}} is out of range` };
        return { text: codePointEscape(cp), next: i + 2 + braced[0].length };
      }
      const two = /^[0-9A-Fa-f]{2}/.exec(rest);
      if (!two) return { error: 'invalid \\x escape' };
      return { text: `\\x${two[0]}`, next: i + 4 };
    }
    case 'p':
    case 'P': {
      const m = /^\{(\^?)([A-Za-z_]+)\}/.exec(rest) ?? /^()([A-Za-z])/.exec(rest);
      if (!m) return { error: `invalid \\${c} escape` };
      const negate = (c === 'P') !== (m[1] === '^');
      const name = m[2];
      const prop = GENERAL_CATEGORIES.has(name) || name === 'Any' ? name : `Script=${name}`;
      return { text: `\\${negate ? 'P' : 'p'}{${prop}}`, next: i + 2 + m[0].length };
    }
    case 'Q': {
      const end = src.indexOf('\\E', i + 2);
      const literal = src.slice(i + 2, end === -1 ? src.length : end);
      const text = Array.from(literal, (ch) => escapeLiteral(ch, inClass)).join('');
      return { text, next: end === -1 ? src.length : end + 2 };
    }
    case 'E':
      return { text: '', next: i + 2 };
    case 'A':
    case 'z':
    case 'b':
    case 'B':
      if (inClass) return { error: `\\${c} is not allowed in a character class` };
      if (c === 'A') return { text: '(?<![\\s\\S])', next: i + 2 };
      if (c === 'z') return { text: '(?![\\s\\S])', next: i + 2 };
      return { text: `\\${c}`, next: i + 2 };
    case 's':
      return { text: inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]', next: i + 2 };
    case 'S':
      return { text: inClass ? '\\S' : '[^\\t\\n\\f\\r ]', next: i + 2 };
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
      return { text: `\\${c}`, next: i + 2 };
    case 'a':
      return { text: '\\x07', next: i + 2 };
    case 'C':
      return { error: '\\C (any byte) is not supported' };
    default:
      if (/[A-Za-z0-9]/.test(c)) return { error: `invalid escape sequence \\${c}` };
      return { text: escapeLiteral(c, inClass), next: i + 2 };
  }
}

/** A bracket expression starting at src[i] === '['. */
function translateClass(src: string, i: number): Step {
  let j = i + 1;
  let out = '[';
  if (src[j] === '^') {
    out += '^';
    j++;
  }
  if (src[j] === ']') {
    out += '\\]';
    j++;
  }
  while (j < src.length && src[j] !== ']') {
    if (src.startsWith('[:', j)) {
      const m = /^\[:(\^?)([a-z]+):\]/.exec(src.slice(j));
      if (m) {
        if (m[1] === '^') return { error: `negated POSIX class [:^${m[2]}:] is not supported` };
        const cls = Object.hasOwn(POSIX_CLASSES, m[2]) ? POSIX_CLASSES[m[2]] : undefined;
        if (cls === undefined) return { error: `invalid character class [:${m[2]}:]` };
        out += cls;
        j += m[0].length;
        continue;
      }
    }
    if (src[j] === '\\') {
      const e = translateEscape(src, j, true);
      if (isError(e)) return e;
      out += e.text;
      j = e.next;
      continue;
    }
    out += src[j] === '[' ? '\\[' : src[j];
    j++;
  }
  if (j >= src.length) return { error: 'missing ] in character class' };
  return { text: `${out}]`, next: j + 1 };
}

/** A "(" group opener at src[i]; `groups` tracks the extra ")" each open group needs for "(?i)"-style flags. */
function translateGroup(src: string, i: number, groups: number[]): Step {
  if (src[i + 1] !== '?') {
    groups.push(0);
    return { text: '(', next: i + 1 };
  }
  const rest = src.slice(i + 2);
  const named = /^P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
  if (named) {
    groups.push(0);
    return { text: `(?<${named[1]}>`, next: i + 2 + named[0].length };
  }
  if (/^(=|!|<=|<!)/.test(rest)) return { error: 'lookahead/lookbehind assertions are not supported by RE2' };
  if (rest.startsWith('P=')) return { error: 'backreferences are not supported by RE2' };
  const flags = /^([A-Za-z]*)(?:-([A-Za-z]*))?([:)])/.exec(rest);
  if (!flags) return { error: 'invalid or unsupported group syntax "(?"' };
  const on = flags[1];
  const off = flags[2] ?? '';
  for (const f of on + off) {
    if (f === 'U') return { error: 'the U (ungreedy) flag is not supported' };
    if (!'ims'.includes(f)) return { error: `invalid flag "${f}"` };
  }
  const mods = off ? `${on}-${off}` : on;
  const next = i + 2 + flags[0].length;
  if (flags[3] === ':') {
    groups.push(0);
    return { text: mods ? `(?${mods}:` : '(?:', next };
  }
  if (!mods) return { error: 'missing flags in "(?)"' };
  groups[groups.length - 1]++;
  return { text: `(?${mods}:`, next };
}

/** RE2 source → JS source for `new RegExp(source, 'u')`, or an error for constructs we cannot (or RE2 does not) support. */
export function translateRe2(src: string): Parsed<string> {
  let out = '';
  const groups: number[] = [0];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    let step: Step;
    if (c === '\\') step = translateEscape(src, i, false);
    else if (c === '[') step = translateClass(src, i);
    else if (c === '(') step = translateGroup(src, i, groups);
    else if (c === ')') {
      if (groups.length === 1) return { ok: false, error: 'unmatched )' };
      step = { text: ')'.repeat(groups.pop()! + 1), next: i + 1 };
    } else if (c === '{') {
      const m = /^\{(\d+)(?:,(\d*))?\}/.exec(src.slice(i));
      if (m && (Number(m[1]) > MAX_REPEAT || Number(m[2] || 0) > MAX_REPEAT)) {
        return { ok: false, error: `repetition count above ${MAX_REPEAT} in ${m[0]}` };
      }
      step = m ? { text: m[0], next: i + m[0].length } : { text: '\\{', next: i + 1 };
    } else if (c === '}' || c === ']') step = { text: `\\${c}`, next: i + 1 };
    else step = { text: c, next: i + 1 };
    if (isError(step)) return { ok: false, error: step.error };
    out += step.text;
    i = step.next;
  }
  if (groups.length > 1) return { ok: false, error: 'missing )' };
  return { ok: true, value: out + ')'.repeat(groups[0]) };
}

/**
 * Compiles an RE2 pattern. `anchored` wraps it as `^(?:...)$` (Envoy's safe_regex matchers are full matches).
 * The result is never global or sticky, so it is safe to share (and freeze) across requests.
 */
export function compileRe2(src: string, anchored: boolean): Parsed<RegExp> {
  const t = translateRe2(src);
  if (!t.ok) return { ok: false, error: `invalid regex: ${t.error}` };
  try {
    return { ok: true, value: new RegExp(anchored ? `^(?:${t.value})$` : t.value, 'u') };
  } catch (err) {
    return { ok: false, error: `invalid regex: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Number of capture groups in a compiled regex. */
export function captureGroupCount(re: RegExp): number {
  return new RegExp(`(?:${re.source})|`, re.flags).exec('')!.length - 1;
}

/** RE2 rewrite string (\0..\9, \\) → JS replacement string ($&, $01.., literal $ as $$). */
export function translateRe2Substitution(sub: string, groupCount: number): Parsed<string> {
  let out = '';
  for (let i = 0; i < sub.length; i++) {
    const c = sub[i];
    if (c === '$') {
      out += '$$';
    } else if (c !== '\\') {
      out += c;
    } else {
      const d = sub[i + 1];
      i++;
      if (d === '\\') {
        out += '\\';
      } else if (d !== undefined && d >= '0' && d <= '9') {
        const n = Number(d);
        if (n > groupCount) return { ok: false, error: `substitution uses \\${n} but the pattern has ${groupCount} capture group(s)` };
        out += n === 0 ? '$&' : `$0${n}`;
      } else {
        return { ok: false, error: 'invalid escape in substitution (use \\0-\\9 for groups and \\\\ for a backslash)' };
      }
    }
  }
  return { ok: true, value: out };
}

const globalClones = new WeakMap<RegExp, RegExp>();

/**
 * Replaces every non-overlapping match of a compiled (non-global) pattern, as Envoy's regex_rewrite does
 * (RE2::GlobalReplace). `substitution` is the JS form produced by translateRe2Substitution.
 */
export function regexReplaceAll(input: string, pattern: RegExp, substitution: string): string {
  let g = globalClones.get(pattern);
  if (g === undefined) {
    g = new RegExp(pattern.source, `${pattern.flags}g`);
    globalClones.set(pattern, g);
  }
  return input.replace(g, substitution);
}
