// Field tables and the compiler for envoy.extensions.filters.http.rbac.v3.RBAC / RBACPerRoute and config.rbac.v3 policies.
import { isIP } from 'node:net';
import { CIDR_RANGE, HEADER_MATCHER } from '../../model/fields-common.ts';
import { compileHeaderMatcher, compileStringMatcher } from '../../model/matchers.ts';
import { Msg, type MessageTable } from '../../model/proto-message.ts';
import { messageNameOf } from '../../model/typed-config.ts';
import { compileMetadataMatcher, compileSourcedMetadata } from './rbac-metadata.ts';
import { ipRange, type IpRange, type RbacAction, type RbacEngine, type RbacPolicy, type RbacRule } from '../../policy/rbac.ts';

export const HTTP_RBAC: MessageTable = {
  message: 'envoy.extensions.filters.http.rbac.v3.RBAC',
  fields: {
    rules: 'ok',
    rules_stat_prefix: 'ok',
    matcher: 'unsupported',
    shadow_rules: 'ok',
    shadow_matcher: 'unsupported',
    shadow_rules_stat_prefix: 'ok',
    track_per_rule_stats: 'warn',
  },
};

export const RBAC_PER_ROUTE: MessageTable = {
  message: 'envoy.extensions.filters.http.rbac.v3.RBACPerRoute',
  fields: { rbac: 'ok' },
};

export const RBAC_RULES: MessageTable = {
  message: 'envoy.config.rbac.v3.RBAC',
  fields: { action: 'ok', policies: 'ok', audit_logging_options: 'unsupported' },
};

const POLICY: MessageTable = {
  message: 'envoy.config.rbac.v3.Policy',
  fields: { permissions: 'ok', principals: 'ok', condition: 'unsupported', checked_condition: 'unsupported', cel_config: 'unsupported' },
};

const PERMISSION: MessageTable = {
  message: 'envoy.config.rbac.v3.Permission',
  fields: {
    and_rules: 'ok', or_rules: 'ok', any: 'ok', header: 'ok', url_path: 'ok', destination_ip: 'ok', destination_port: 'ok',
    destination_port_range: 'ok', not_rule: 'ok', requested_server_name: 'ok', metadata: 'ok', sourced_metadata: 'ok',
    matcher: 'unsupported', uri_template: 'unsupported',
  },
};

const PERMISSION_SET: MessageTable = { message: 'envoy.config.rbac.v3.Permission.Set', fields: { rules: 'ok' } };

const PRINCIPAL: MessageTable = {
  message: 'envoy.config.rbac.v3.Principal',
  fields: {
    and_ids: 'ok', or_ids: 'ok', any: 'ok', authenticated: 'ok', source_ip: 'ok', direct_remote_ip: 'ok', remote_ip: 'ok',
    header: 'ok', url_path: 'ok', not_id: 'ok', metadata: 'ok', sourced_metadata: 'ok',
    filter_state: 'unsupported', custom: 'unsupported',
  },
};

const PRINCIPAL_SET: MessageTable = { message: 'envoy.config.rbac.v3.Principal.Set', fields: { ids: 'ok' } };

const AUTHENTICATED: MessageTable = { message: 'envoy.config.rbac.v3.Principal.Authenticated', fields: { principal_name: 'ok' } };

const PATH_MATCHER: MessageTable = { message: 'envoy.type.matcher.v3.PathMatcher', fields: { path: 'ok' } };

const INT32_RANGE: MessageTable = { message: 'envoy.type.v3.Int32Range', fields: { start: 'ok', end: 'ok' } };

/** One compiled RBAC filter config (the filter's own, or one route's). */
export interface RbacFilterConfig {
  /** Enforced rules; null: nothing is enforced (absent `rules`, or a route's RBACPerRoute without `rbac`). */
  readonly rules: RbacEngine | null;
  /** Shadow rules: evaluated for stats and dynamic metadata only. */
  readonly shadowRules: RbacEngine | null;
  readonly rulesStatPrefix: string;
  readonly shadowRulesStatPrefix: string;
}

/** RBACPerRoute without `rbac`: the filter is off on that route (Envoy: "the global RBAC policy will be disabled"). */
export const RBAC_DISABLED: RbacFilterConfig = Object.freeze({ rules: null, shadowRules: null, rulesStatPrefix: '', shadowRulesStatPrefix: '' });

const ANY: RbacRule = Object.freeze({ kind: 'any' });

const PERMISSION_RULES = [
  'and_rules', 'or_rules', 'any', 'header', 'url_path', 'destination_ip', 'destination_port', 'destination_port_range',
  'not_rule', 'requested_server_name', 'metadata', 'sourced_metadata',
] as const;

const PRINCIPAL_IDS = [
  'and_ids', 'or_ids', 'any', 'authenticated', 'source_ip', 'direct_remote_ip', 'remote_ip', 'header', 'url_path', 'not_id',
  'metadata', 'sourced_metadata',
] as const;

/** Opens a Permission/Principal; null without a second error when the only field set was rejected (e.g. metadata). */
function openRule(parent: Msg, path: string, value: unknown, table: MessageTable, kinds: readonly string[]): Msg | null {
  const before = parent.ctx.errors.length;
  const m = Msg.open(parent.ctx, path, value, table);
  if (m === null) return null;
  if (parent.ctx.errors.length > before && !kinds.some((k) => m.has(k))) return null;
  return m;
}

/** A repeated Permission / Principal field that must have at least one item. */
function compileRules(
  parent: Msg, name: string, table: MessageTable, kinds: readonly string[], compile: (m: Msg) => RbacRule | null,
): RbacRule[] | null {
  const items = parent.list(name);
  if (items.length === 0) {
    if (Array.isArray(parent.get(name)) || !parent.has(name)) parent.error(name, 'must have at least one item');
    return null;
  }
  const out: RbacRule[] = [];
  let ok = true;
  for (const item of items) {
    const m = openRule(parent, item.path, item.value, table, kinds);
    const rule = m === null ? null : compile(m);
    if (rule === null) ok = false;
    else out.push(rule);
  }
  return ok ? out : null;
}

function compileCidr(parent: Msg, name: string): IpRange | null {
  const c = parent.msg(name, CIDR_RANGE);
  if (c === null) return null;
  const address = c.requiredStr('address_prefix');
  if (address === '') return null;
  const family = isIP(address);
  if (family === 0) {
    c.error('address_prefix', `${JSON.stringify(address)} is not an IP address`);
    return null;
  }
  const before = c.ctx.errors.length;
  const len = c.uint('prefix_len', 0, 0, family === 4 ? 32 : 128);
  if (c.ctx.errors.length > before) return null;
  const r = ipRange(address, len);
  if (typeof r === 'string') {
    c.error('address_prefix', r);
    return null;
  }
  return r;
}

/** PathMatcher {path: StringMatcher}: matched against the path without query and fragment. */
function compileUrlPath(parent: Msg, name: string): RbacRule | null {
  const p = parent.msg(name, PATH_MATCHER);
  if (p === null) return null;
  if (!p.has('path')) { p.error('path', 'is required'); return null; }
  const matcher = compileStringMatcher(p, 'path');
  return matcher === null ? null : { kind: 'url_path', matcher };
}

function compileHeader(parent: Msg, name: string): RbacRule | null {
  const h = parent.msg(name, HEADER_MATCHER);
  const matcher = h === null ? null : compileHeaderMatcher(h);
  return matcher === null ? null : { kind: 'header', matcher };
}

function compileAny(m: Msg): RbacRule | null {
  if (!m.bool('any', false)) { m.error('any', 'must be true'); return null; }
  return ANY;
}

function compilePortRange(m: Msg): RbacRule | null {
  const r = m.msg('destination_port_range', INT32_RANGE);
  if (r === null) return null;
  const start = r.int('start', 0);
  const end = r.int('end', 0);
  if (start < 0 || start > 65536) { r.error('start', `${start} is out of bounds (0..65536)`); return null; }
  if (end < 0 || end > 65536) { r.error('end', `${end} is out of bounds (0..65536)`); return null; }
  if (start >= end) { r.error('end', `must be greater than start (${start})`); return null; }
  return { kind: 'destination_port_range', start, end };
}

function compilePermission(m: Msg): RbacRule | null {
  const which = m.oneOf(PERMISSION_RULES, true, 'the rule fields');
  switch (which) {
    case null: return null;
    case 'and_rules':
    case 'or_rules': {
      const s = m.msg(which, PERMISSION_SET);
      const rules = s === null ? null : compileRules(s, 'rules', PERMISSION, PERMISSION_RULES, compilePermission);
      return rules === null ? null : { kind: which === 'and_rules' ? 'and' : 'or', rules };
    }
    case 'any': return compileAny(m);
    case 'header': return compileHeader(m, 'header');
    case 'url_path': return compileUrlPath(m, 'url_path');
    case 'destination_ip': {
      const range = compileCidr(m, 'destination_ip');
      return range === null ? null : { kind: 'destination_ip', range };
    }
    case 'destination_port': {
      const before = m.ctx.errors.length;
      const port = m.uint('destination_port', 0, 0, 65535);
      return m.ctx.errors.length > before ? null : { kind: 'destination_port', port };
    }
    case 'destination_port_range': return compilePortRange(m);
    case 'not_rule': {
      const n = openRule(m, m.at('not_rule'), m.get('not_rule'), PERMISSION, PERMISSION_RULES);
      const rule = n === null ? null : compilePermission(n);
      return rule === null ? null : { kind: 'not', rule };
    }
    case 'requested_server_name': {
      const matcher = compileStringMatcher(m, 'requested_server_name');
      return matcher === null ? null : { kind: 'requested_server_name', matcher };
    }
    case 'metadata':
    case 'sourced_metadata': return compileMetadataRule(m, which);
  }
}

/** metadata (MetadataMatcher) or sourced_metadata (DYNAMIC) over the request's dynamic metadata. */
function compileMetadataRule(m: Msg, which: 'metadata' | 'sourced_metadata'): RbacRule | null {
  const matcher = which === 'metadata' ? compileMetadataMatcher(m, which) : compileSourcedMetadata(m, which);
  return matcher === null ? null : { kind: 'metadata', matcher };
}

function compilePrincipal(m: Msg): RbacRule | null {
  const which = m.oneOf(PRINCIPAL_IDS, true, 'the identifier fields');
  switch (which) {
    case null: return null;
    case 'and_ids':
    case 'or_ids': {
      const s = m.msg(which, PRINCIPAL_SET);
      const rules = s === null ? null : compileRules(s, 'ids', PRINCIPAL, PRINCIPAL_IDS, compilePrincipal);
      return rules === null ? null : { kind: which === 'and_ids' ? 'and' : 'or', rules };
    }
    case 'any': return compileAny(m);
    case 'authenticated': {
      const a = m.msg('authenticated', AUTHENTICATED);
      if (a === null) return null;
      if (!a.has('principal_name')) return { kind: 'authenticated', principalName: null };
      const principalName = compileStringMatcher(a, 'principal_name');
      return principalName === null ? null : { kind: 'authenticated', principalName };
    }
    case 'source_ip':
    case 'direct_remote_ip': {
      // source_ip (deprecated) is the connection's peer, which is direct_remote_ip here (no PROXY protocol).
      const range = compileCidr(m, which);
      return range === null ? null : { kind: 'direct_remote_ip', range };
    }
    case 'remote_ip': {
      const range = compileCidr(m, 'remote_ip');
      return range === null ? null : { kind: 'remote_ip', range };
    }
    case 'header': return compileHeader(m, 'header');
    case 'url_path': return compileUrlPath(m, 'url_path');
    case 'not_id': {
      const n = openRule(m, m.at('not_id'), m.get('not_id'), PRINCIPAL, PRINCIPAL_IDS);
      const rule = n === null ? null : compilePrincipal(n);
      return rule === null ? null : { kind: 'not', rule };
    }
    case 'metadata':
    case 'sourced_metadata': return compileMetadataRule(m, which);
  }
}

const ACTIONS = ['ALLOW', 'DENY', 'LOG'] as const;

/** config.rbac.v3.RBAC in `parent.<name>`: null when absent (or invalid, after reporting). */
export function compileRbacEngine(parent: Msg, name: string): RbacEngine | null {
  const r = parent.msg(name, RBAC_RULES);
  if (r === null) return null;
  const before = r.ctx.errors.length;
  const action: RbacAction = r.enumOf('action', ACTIONS, 'ALLOW');
  const policies: RbacPolicy[] = [];
  const base = r.at('policies');
  const byName = r.map('policies');
  // Envoy keeps policies in a std::map: evaluated in byte order of their names.
  for (const policyName of Object.keys(byName).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const p = Msg.open(r.ctx, `${base}.${policyName}`, byName[policyName], POLICY);
    if (p === null) continue;
    const permissions = compileRules(p, 'permissions', PERMISSION, PERMISSION_RULES, compilePermission);
    const principals = compileRules(p, 'principals', PRINCIPAL, PRINCIPAL_IDS, compilePrincipal);
    if (permissions !== null && principals !== null) policies.push({ name: policyName, permissions, principals });
  }
  if (r.ctx.errors.length > before) return null;
  return { action, policies };
}

function compileRbac(m: Msg, perRoute: boolean): RbacFilterConfig | null {
  const before = m.ctx.errors.length;
  const config: RbacFilterConfig = {
    rules: compileRbacEngine(m, 'rules'),
    shadowRules: compileRbacEngine(m, 'shadow_rules'),
    rulesStatPrefix: m.str('rules_stat_prefix'),
    shadowRulesStatPrefix: m.str('shadow_rules_stat_prefix'),
  };
  if (m.ctx.errors.length > before) return null;
  if (!perRoute && config.rules === null && config.shadowRules === null) {
    m.ctx.warn(m.path, 'neither rules nor shadow_rules is set: the RBAC filter allows every request');
  }
  return config;
}

/**
 * An opened RBAC (filter level) or RBACPerRoute (typed_per_filter_config); null after reporting errors. The filter
 * level takes only RBAC, a route only RBACPerRoute, as in Envoy.
 */
export function compileRbacFilterConfig(m: Msg, perRoute: boolean): RbacFilterConfig | null {
  const message = m.typeUrl === null ? HTTP_RBAC.message : messageNameOf(m.typeUrl);
  if (!perRoute) {
    if (message === RBAC_PER_ROUTE.message) {
      m.ctx.error(m.path, `${RBAC_PER_ROUTE.message} belongs in typed_per_filter_config; http_filters takes ${HTTP_RBAC.message}`);
      return null;
    }
    return compileRbac(m, false);
  }
  if (message !== RBAC_PER_ROUTE.message) {
    m.ctx.error(m.path, `typed_per_filter_config of the RBAC filter takes ${RBAC_PER_ROUTE.message} (got ${message})`);
    return null;
  }
  const inner = m.msg('rbac', HTTP_RBAC);
  return inner === null ? RBAC_DISABLED : compileRbac(inner, true);
}
