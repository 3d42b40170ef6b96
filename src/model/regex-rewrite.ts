// Compiles a RegexMatchAndSubstitute (regex_rewrite) into a pattern plus a JavaScript replacement string.
import { REGEX_MATCH_AND_SUBSTITUTE } from './fields-common.ts';
import { compileRegexMatcher } from './matchers.ts';
import type { Msg } from './proto-message.ts';
import { captureGroupCount, translateRe2Substitution } from './re2.ts';

export interface RegexRewrite {
  /** Unanchored and non-global: replace every match with re2.ts regexReplaceAll (as Envoy's GlobalReplace does). */
  readonly pattern: RegExp;
  /** JS replacement syntax ($&, $01...), converted from RE2's \0, \1... */
  readonly substitution: string;
}

export function compileRegexRewrite(parent: Msg, name: string): RegexRewrite | null {
  const m = parent.msg(name, REGEX_MATCH_AND_SUBSTITUTE);
  if (!m) return null;
  if (!m.has('pattern')) m.error('pattern', 'is required');
  const r = compileRegexMatcher(m, 'pattern', false);
  const sub = m.str('substitution');
  if (!r) return null;
  const converted = translateRe2Substitution(sub, captureGroupCount(r.regex));
  if (!converted.ok) {
    m.error('substitution', converted.error);
    return null;
  }
  return { pattern: r.regex, substitution: converted.value };
}
