// Compiles Envoy StringMatcher, RegexMatcher, HeaderMatcher and QueryParameterMatcher into model matchers.
import {
  HEADER_MATCHER,
  INT64_RANGE,
  QUERY_PARAMETER_MATCHER,
  REGEX_MATCHER,
  STRING_MATCHER,
} from './fields-common.ts';
import { Msg } from './proto-message.ts';
import { compileRe2 } from './re2.ts';
import type { HeaderMatcher, QueryParameterMatcher, StringMatcher } from './types.ts';

export interface CompiledRegex {
  /** The RE2 source as configured. */
  readonly source: string;
  readonly regex: RegExp;
}

/** A RegexMatcher field ({regex}) compiled (anchored: full match); null after reporting an error at `<name>.regex`. */
export function compileRegexMatcher(parent: Msg, name: string, anchored = true): CompiledRegex | null {
  const m = parent.msg(name, REGEX_MATCHER);
  if (!m) return null;
  const source = m.requiredStr('regex');
  if (!m.has('regex')) return null;
  const re = compileRe2(source, anchored);
  if (!re.ok) {
    m.error('regex', re.error);
    return null;
  }
  return { source, regex: re.value };
}

function regexStringMatcher(r: CompiledRegex | null): StringMatcher | null {
  return r ? { kind: 'regex', value: r.source, regex: r.regex, ignoreCase: false } : null;
}

const STRING_KINDS = ['exact', 'prefix', 'suffix', 'contains', 'safe_regex'] as const;

/** Compiles the StringMatcher message in `parent.<name>`. */
export function compileStringMatcher(parent: Msg, name: string): StringMatcher | null {
  const m = parent.msg(name, STRING_MATCHER);
  return m ? stringMatcherFrom(m) : null;
}

export function stringMatcherFrom(m: Msg): StringMatcher | null {
  const which = m.oneOf(STRING_KINDS, true);
  if (which === null) return null;
  const ignoreCase = m.bool('ignore_case', false);
  if (which === 'safe_regex') {
    return regexStringMatcher(compileRegexMatcher(m, 'safe_regex'));
  }
  const value = m.str(which);
  if (value === '' && which !== 'exact') {
    m.error(which, 'must not be empty');
    return null;
  }
  return { kind: which, value, regex: null, ignoreCase };
}

/** The legacy HeaderMatcher shorthand fields and the StringMatcher kind each one means. */
const LEGACY_HEADER_FIELDS = {
  exact_match: 'exact',
  prefix_match: 'prefix',
  suffix_match: 'suffix',
  contains_match: 'contains',
} as const;

const HEADER_SPECIFIERS = [
  'exact_match',
  'safe_regex_match',
  'range_match',
  'present_match',
  'prefix_match',
  'suffix_match',
  'contains_match',
  'string_match',
] as const;

/** Compiles one HeaderMatcher message (route match headers, retriable_headers). */
export function compileHeaderMatcher(m: Msg): HeaderMatcher | null {
  const name = m.requiredStr('name').toLowerCase();
  const which = m.oneOf(HEADER_SPECIFIERS, false, 'header match specifiers');
  let string: StringMatcher | null = null;
  let presentMatch: boolean | null = null;
  let rangeMatch: { start: number; end: number } | null = null;
  let ok = name !== '';
  switch (which) {
    case null:
      presentMatch = true; // no specifier: the header must be present
      break;
    case 'present_match':
      presentMatch = m.bool('present_match', false);
      break;
    case 'string_match':
      string = compileStringMatcher(m, 'string_match');
      ok &&= string !== null;
      break;
    case 'safe_regex_match': {
      string = regexStringMatcher(compileRegexMatcher(m, 'safe_regex_match'));
      ok &&= string !== null;
      break;
    }
    case 'range_match': {
      const r = m.msg('range_match', INT64_RANGE);
      if (r) {
        const start = r.int('start', 0);
        const end = r.int('end', 0);
        if (end <= start) r.error('end', `must be greater than start (${start})`);
        else rangeMatch = { start, end };
      }
      ok &&= rangeMatch !== null;
      break;
    }
    default: {
      const value = m.str(which);
      if (value === '' && which !== 'exact_match') {
        m.error(which, 'must not be empty');
        ok = false;
      }
      string = { kind: LEGACY_HEADER_FIELDS[which], value, regex: null, ignoreCase: false };
    }
  }
  if (!ok) return null;
  return {
    name,
    string,
    presentMatch,
    rangeMatch,
    invertMatch: m.bool('invert_match', false),
    treatMissingAsEmpty: m.bool('treat_missing_header_as_empty', false),
  };
}

export function compileHeaderMatchers(parent: Msg, name: string): HeaderMatcher[] {
  const out: HeaderMatcher[] = [];
  for (const h of parent.msgList(name, HEADER_MATCHER)) {
    const c = compileHeaderMatcher(h);
    if (c) out.push(c);
  }
  return out;
}

export function compileQueryParameterMatchers(parent: Msg, name: string): QueryParameterMatcher[] {
  const out: QueryParameterMatcher[] = [];
  for (const q of parent.msgList(name, QUERY_PARAMETER_MATCHER)) {
    const qname = q.requiredStr('name');
    const which = q.oneOf(['string_match', 'present_match'], false);
    let string: StringMatcher | null = null;
    let presentMatch = true;
    if (which === 'string_match') {
      string = compileStringMatcher(q, 'string_match');
      if (!string) continue;
      presentMatch = false;
    } else if (which === 'present_match' && !q.bool('present_match', false)) {
      // Envoy ignores the value of present_match: the parameter must be present either way.
      q.ctx.warn(q.at('present_match'), 'present_match: false still requires the parameter to be present (as in Envoy)');
    }
    if (qname !== '') out.push({ name: qname, string, presentMatch });
  }
  return out;
}
