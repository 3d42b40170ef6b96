// Evaluates the model's StringMatcher and HeaderMatcher against runtime values (headers, SANs), as Envoy's matchers do.
import type { HeaderMatcher, StringMatcher } from '../model/types.ts';

export function matchString(m: StringMatcher, input: string): boolean {
  if (m.kind === 'regex') return m.regex !== null && m.regex.test(input);
  const v = m.ignoreCase ? input.toLowerCase() : input;
  const want = m.ignoreCase ? m.value.toLowerCase() : m.value;
  switch (m.kind) {
    case 'exact': return v === want;
    case 'prefix': return v.startsWith(want);
    case 'suffix': return v.endsWith(want);
    case 'contains': return v.includes(want);
  }
}

/** `value` is the header's value (several values joined with ","), or undefined when absent. */
export function matchHeader(m: HeaderMatcher, value: string | undefined): boolean {
  let result: boolean;
  if (value === undefined && m.treatMissingAsEmpty) value = '';
  if (value === undefined) {
    // Envoy: an absent header matches only a present_match that asks for absence (inverted: present_match: true).
    if (m.string !== null || m.rangeMatch !== null || m.presentMatch === null) return false;
    return m.invertMatch ? m.presentMatch : !m.presentMatch;
  }
  if (m.string !== null) result = matchString(m.string, value);
  else if (m.rangeMatch !== null) {
    const n = /^-?\d+$/.test(value) ? Number(value) : NaN;
    result = n >= m.rangeMatch.start && n < m.rangeMatch.end;
  } else result = m.presentMatch !== false;
  return m.invertMatch ? !result : result;
}
