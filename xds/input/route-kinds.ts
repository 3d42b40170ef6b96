// Parses Gateway API HTTPRoute and GRPCRoute documents into route rules with matches, filters and weighted backends.
import { Fields } from './doc-reader.ts';
import type { Meta } from './core-kinds.ts';
import { checkHostname, parseBackendRefs, parseFilters, parseParentRefs } from './gateway-kinds.ts';
import type { GrpcMatch, GrpcRoute, GrpcRouteRule, HttpMatch, HttpRoute, HttpRouteRule, MatchType, ValueMatch } from './types.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;

/** Checks a regular expression the way we can (JavaScript syntax; Envoy uses RE2, which rejects look-arounds and back-references). */
export function checkRegex(f: Fields, k: string, re: string): void {
  try {
    new RegExp(re);
  } catch (err) {
    f.error(k, `invalid regular expression: ${(err as Error).message}`);
    return;
  }
  if (/\(\?[=!<]|\\[1-9]/.test(re)) f.error(k, 'look-arounds and back-references are not supported (RE2 syntax)');
}

function valueMatches(m: Fields, k: string, what: 'header' | 'query parameter'): ValueMatch[] {
  const out: ValueMatch[] = [];
  const seen = new Set<string>();
  for (const h of m.objList(k)) {
    h.only(['type', 'name', 'value']);
    const type: MatchType = h.oneOf('type', ['Exact', 'RegularExpression'] as const) ?? 'Exact';
    const rawName = h.str('name', true);
    const value = h.str('value', true);
    if (rawName === undefined || value === undefined) continue;
    const name = what === 'header' ? rawName.toLowerCase() : rawName;
    if (seen.has(name)) h.error('name', `duplicate ${what} match "${rawName}"`);
    seen.add(name);
    if (type === 'RegularExpression') checkRegex(h, 'value', value);
    out.push({ type, name, value });
  }
  return out;
}

function readCommon(root: Fields, meta: Meta): { spec: Fields; hostnames: string[] } | undefined {
  root.only(['apiVersion', 'kind', 'metadata', 'spec'], ['status']);
  const spec = root.obj('spec', true);
  if (!spec) return undefined;
  spec.only(['parentRefs', 'hostnames', 'rules']);
  const hostnames = spec.strList('hostnames');
  hostnames.forEach((h, i) => checkHostname(spec, `hostnames[${i}]`, h));
  void meta;
  return { spec, hostnames };
}

function checkRuleBackends(rule: Fields, backends: readonly { weight: number }[], hasRedirect: boolean): void {
  if (backends.length === 0 && !hasRedirect) rule.error('backendRefs', 'required: at least one backend (or a RequestRedirect filter)');
  if (backends.length > 0 && backends.every((b) => b.weight === 0)) rule.error('backendRefs', 'all backend weights are 0');
}

export function parseHttpRoute(root: Fields, meta: Meta): HttpRoute | undefined {
  const c = readCommon(root, meta);
  if (!c) return undefined;
  const parentRefs = parseParentRefs(c.spec, meta.namespace);
  const rules: HttpRouteRule[] = [];
  const ruleFields = c.spec.objList('rules');
  for (const r of ruleFields) {
    r.only(['matches', 'filters', 'backendRefs', 'timeouts'], ['name', 'sessionPersistence', 'retry']);
    const matches: HttpMatch[] = [];
    for (const m of r.objList('matches')) {
      m.only(['path', 'headers', 'queryParams', 'method']);
      let path: HttpMatch['path'] = { type: 'PathPrefix', value: '/' };
      const p = m.obj('path');
      if (p) {
        p.only(['type', 'value']);
        const type = p.oneOf('type', ['PathPrefix', 'Exact', 'RegularExpression'] as const) ?? 'PathPrefix';
        const value = p.str('value') ?? '/';
        if (type === 'RegularExpression') checkRegex(p, 'value', value);
        else if (!value.startsWith('/')) p.error('value', 'must start with "/"');
        else if (type === 'PathPrefix' && value.length > 1 && value.endsWith('/')) p.error('value', 'a PathPrefix must not end with "/" (except "/" itself)');
        path = { type, value };
      }
      matches.push({
        path,
        headers: valueMatches(m, 'headers', 'header'),
        queryParams: valueMatches(m, 'queryParams', 'query parameter'),
        method: m.oneOf('method', METHODS) ?? null,
      });
    }
    if (matches.length === 0) matches.push({ path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [], method: null });
    const filters = parseFilters(r, false);
    const backendRefs = parseBackendRefs(r, meta.namespace);
    checkRuleBackends(r, backendRefs, filters.some((f) => f.type === 'RequestRedirect'));
    if (backendRefs.length > 0 && filters.some((f) => f.type === 'RequestRedirect')) r.error('backendRefs', 'a rule with a RequestRedirect filter must not have backends');
    const t = r.obj('timeouts');
    t?.only(['request', 'backendRequest']);
    const requestTimeoutMs = t?.duration('request') ?? null;
    const backendRequestTimeoutMs = t?.duration('backendRequest') ?? null;
    if (requestTimeoutMs && backendRequestTimeoutMs && backendRequestTimeoutMs > requestTimeoutMs) {
      t?.error('backendRequest', 'must not be longer than timeouts.request');
    }
    rules.push({ matches, filters, backendRefs, requestTimeoutMs, backendRequestTimeoutMs });
  }
  if (ruleFields.length === 0 && !c.spec.has('rules')) c.spec.error('rules', 'required: at least one rule');
  return { kind: 'HTTPRoute', name: meta.name, namespace: meta.namespace, parentRefs, hostnames: c.hostnames, rules, src: meta.src };
}

export function parseGrpcRoute(root: Fields, meta: Meta): GrpcRoute | undefined {
  const c = readCommon(root, meta);
  if (!c) return undefined;
  const parentRefs = parseParentRefs(c.spec, meta.namespace);
  const rules: GrpcRouteRule[] = [];
  for (const r of c.spec.objList('rules', true)) {
    r.only(['matches', 'filters', 'backendRefs'], ['name', 'sessionPersistence']);
    const matches: GrpcMatch[] = [];
    for (const m of r.objList('matches')) {
      m.only(['method', 'headers']);
      let method: GrpcMatch['method'] = null;
      const mf = m.obj('method');
      if (mf) {
        mf.only(['type', 'service', 'method']);
        const type: MatchType = mf.oneOf('type', ['Exact', 'RegularExpression'] as const) ?? 'Exact';
        const service = mf.str('service') ?? null;
        const meth = mf.str('method') ?? null;
        if (service === null && meth === null) mf.error('', 'one of service or method is required');
        if (type === 'Exact') {
          if (service !== null && !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(service)) mf.error('service', `"${service}" is not a valid gRPC service name`);
          if (meth !== null && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(meth)) mf.error('method', `"${meth}" is not a valid gRPC method name`);
        } else {
          if (service !== null) checkRegex(mf, 'service', service);
          if (meth !== null) checkRegex(mf, 'method', meth);
        }
        method = { type, service, method: meth };
      }
      matches.push({ method, headers: valueMatches(m, 'headers', 'header') });
    }
    if (matches.length === 0) matches.push({ method: null, headers: [] });
    const filters = parseFilters(r, true);
    const backendRefs = parseBackendRefs(r, meta.namespace);
    checkRuleBackends(r, backendRefs, false);
    rules.push({ matches, filters, backendRefs });
  }
  return { kind: 'GRPCRoute', name: meta.name, namespace: meta.namespace, parentRefs, hostnames: c.hostnames, rules, src: meta.src };
}
