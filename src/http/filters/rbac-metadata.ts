// Field tables and the compiler for envoy.type.matcher.v3.MetadataMatcher / ValueMatcher in RBAC principals and permissions.
import { STRING_MATCHER } from '../../model/fields-common.ts';
import { stringMatcherFrom } from '../../model/matchers.ts';
import { describe, Msg, type MessageTable } from '../../model/proto-message.ts';
import type { MetadataMatcher, ValueMatcher } from '../../policy/metadata-matcher.ts';

const METADATA_MATCHER: MessageTable = {
  message: 'envoy.type.matcher.v3.MetadataMatcher',
  fields: { filter: 'ok', path: 'ok', value: 'ok', invert: 'ok' },
};
const PATH_SEGMENT: MessageTable = { message: 'envoy.type.matcher.v3.MetadataMatcher.PathSegment', fields: { key: 'ok' } };
const VALUE_MATCHER: MessageTable = {
  message: 'envoy.type.matcher.v3.ValueMatcher',
  fields: { null_match: 'ok', double_match: 'ok', string_match: 'ok', bool_match: 'ok', present_match: 'ok', list_match: 'ok', or_match: 'ok' },
};
const NULL_MATCH: MessageTable = { message: 'envoy.type.matcher.v3.ValueMatcher.NullMatch', fields: {} };
const DOUBLE_MATCHER: MessageTable = { message: 'envoy.type.matcher.v3.DoubleMatcher', fields: { range: 'ok', exact: 'ok' } };
const DOUBLE_RANGE: MessageTable = { message: 'envoy.type.v3.DoubleRange', fields: { start: 'ok', end: 'ok' } };
const LIST_MATCHER: MessageTable = { message: 'envoy.type.matcher.v3.ListMatcher', fields: { one_of: 'ok' } };
const OR_MATCHER: MessageTable = { message: 'envoy.type.matcher.v3.OrMatcher', fields: { value_matchers: 'ok' } };
const SOURCED_METADATA: MessageTable = {
  message: 'envoy.config.rbac.v3.SourcedMetadata',
  // Route metadata is not kept on compiled routes: only the request's dynamic metadata can be matched.
  fields: { metadata_matcher: 'ok', metadata_source: { unsupportedUnless: ['DYNAMIC', 0] } },
};

/** A proto double (a JSON number or a numeric string); absent: 0; null after an error. */
function parseDouble(m: Msg, name: string): number | null {
  const v = m.get(name);
  if (v === undefined) return 0;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (Number.isNaN(n)) { m.error(name, `expected a number, got ${describe(v)}`); return null; }
  return n;
}

const VALUE_KINDS = ['null_match', 'double_match', 'string_match', 'bool_match', 'present_match', 'list_match', 'or_match'] as const;

function compileValueMatcher(m: Msg): ValueMatcher | null {
  const which = m.oneOf(VALUE_KINDS, true);
  switch (which) {
    case null: return null;
    case 'null_match':
      return m.msg('null_match', NULL_MATCH) === null ? null : { kind: 'null' };
    case 'double_match': {
      const d = m.msg('double_match', DOUBLE_MATCHER);
      if (d === null) return null;
      const k = d.oneOf(['range', 'exact'], true);
      if (k === 'exact') {
        const v = parseDouble(d, 'exact');
        return v === null ? null : { kind: 'double_exact', value: v };
      }
      if (k === 'range') {
        const r = d.msg('range', DOUBLE_RANGE);
        if (r === null) return null;
        const start = parseDouble(r, 'start') ?? 0;
        const end = parseDouble(r, 'end') ?? 0;
        if (!(start < end)) { r.error('end', `must be greater than start (${start})`); return null; }
        return { kind: 'double_range', start, end };
      }
      return null;
    }
    case 'string_match': {
      const s = m.msg('string_match', STRING_MATCHER);
      const matcher = s === null ? null : stringMatcherFrom(s);
      return matcher === null ? null : { kind: 'string', matcher };
    }
    case 'bool_match':
    case 'present_match': {
      const before = m.ctx.errors.length;
      const value = m.bool(which, false);
      if (m.ctx.errors.length > before) return null;
      return which === 'bool_match' ? { kind: 'bool', value } : { kind: 'present', value };
    }
    case 'list_match': {
      const l = m.msg('list_match', LIST_MATCHER);
      if (l === null) return null;
      if (!l.has('one_of')) { l.error('one_of', 'is required'); return null; }
      const inner = l.msg('one_of', VALUE_MATCHER);
      const matcher = inner === null ? null : compileValueMatcher(inner);
      return matcher === null ? null : { kind: 'list_one_of', matcher };
    }
    case 'or_match': {
      const o = m.msg('or_match', OR_MATCHER);
      if (o === null) return null;
      const items = o.msgList('value_matchers', VALUE_MATCHER);
      if (items.length < 2) { o.error('value_matchers', 'must have at least 2 items'); return null; }
      const matchers = items.map(compileValueMatcher);
      return matchers.some((x) => x === null) ? null : { kind: 'or', matchers: matchers as ValueMatcher[] };
    }
  }
}

/** Dynamic-metadata namespaces some Pilotfish filter sets (jwt_authn payloads, RBAC results). */
const FILLED_NAMESPACES: ReadonlySet<string> = new Set(['envoy.filters.http.jwt_authn', 'envoy.filters.http.rbac', 'envoy.common']);

/** MetadataMatcher in `parent.<name>`; null after reporting errors. */
export function compileMetadataMatcher(parent: Msg, name: string): MetadataMatcher | null {
  const m = parent.msg(name, METADATA_MATCHER);
  if (m === null) return null;
  const before = m.ctx.errors.length;
  const filter = m.requiredStr('filter');
  if (!FILLED_NAMESPACES.has(filter) && filter !== '') {
    m.ctx.warn(m.at('filter'), `no filter in Pilotfish sets dynamic metadata under "${filter}", so this matcher never matches (namespaces that are set: ${[...FILLED_NAMESPACES].join(', ')}); for JWT claims use envoy.filters.http.jwt_authn with payload_in_metadata`);
  }
  const path: string[] = [];
  const segments = m.msgList('path', PATH_SEGMENT);
  if (segments.length === 0) m.error('path', 'must have at least one item ({key: ...})');
  for (const s of segments) {
    const key = s.requiredStr('key');
    if (key !== '') path.push(key);
  }
  let value: ValueMatcher | null = null;
  if (!m.has('value')) m.error('value', 'is required');
  else {
    const v = m.msg('value', VALUE_MATCHER);
    value = v === null ? null : compileValueMatcher(v);
  }
  const invert = m.bool('invert', false);
  if (m.ctx.errors.length > before || value === null) return null;
  return { filter, path, value, invert };
}

/** SourcedMetadata (DYNAMIC source only) in `parent.<name>`. */
export function compileSourcedMetadata(parent: Msg, name: string): MetadataMatcher | null {
  const s = parent.msg(name, SOURCED_METADATA);
  if (s === null) return null;
  if (!s.has('metadata_matcher')) { s.error('metadata_matcher', 'is required'); return null; }
  return compileMetadataMatcher(s, 'metadata_matcher');
}
