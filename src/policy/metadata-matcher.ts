// Envoy's MetadataMatcher / ValueMatcher over dynamic metadata (filter namespace → fields), as RBAC principals and permissions use it.
import { matchString } from '../matching/string-matcher.ts';
import type { StringMatcher } from '../model/types.ts';

/** envoy.type.matcher.v3.ValueMatcher compiled. */
export type ValueMatcher =
  | { readonly kind: 'null' }
  | { readonly kind: 'double_exact'; readonly value: number }
  /** [start, end). */
  | { readonly kind: 'double_range'; readonly start: number; readonly end: number }
  | { readonly kind: 'string'; readonly matcher: StringMatcher }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'present'; readonly value: boolean }
  | { readonly kind: 'list_one_of'; readonly matcher: ValueMatcher }
  | { readonly kind: 'or'; readonly matchers: readonly ValueMatcher[] };

/** envoy.type.matcher.v3.MetadataMatcher compiled. */
export interface MetadataMatcher {
  readonly filter: string;
  readonly path: readonly string[];
  readonly value: ValueMatcher;
  readonly invert: boolean;
}

export type DynamicMetadata = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** The value at `path` (object keys, one per step) inside `root`, or undefined when a step is missing or not an object. */
export function valueAtPath(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function valueMatches(m: ValueMatcher, v: unknown): boolean {
  switch (m.kind) {
    case 'null': return v === null;
    case 'double_exact': return typeof v === 'number' && v === m.value;
    case 'double_range': return typeof v === 'number' && v >= m.start && v < m.end;
    case 'string': return typeof v === 'string' && matchString(m.matcher, v);
    case 'bool': return typeof v === 'boolean' && v === m.value;
    // Envoy: present_match: false never matches; true matches any value that is set.
    case 'present': return m.value && v !== undefined;
    case 'list_one_of':
      if (!Array.isArray(v)) return false;
      for (const item of v) if (valueMatches(m.matcher, item)) return true;
      return false;
    case 'or':
      for (const x of m.matchers) if (valueMatches(x, v)) return true;
      return false;
  }
}

/** A missing step gives undefined (Envoy's default Value, kind not set), which only a negated matcher accepts. */
export function metadataMatches(m: MetadataMatcher, md: DynamicMetadata | null | undefined): boolean {
  return valueMatches(m.value, valueAtPath(md?.[m.filter], m.path)) !== m.invert;
}
