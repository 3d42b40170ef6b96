// Finds the virtual host and route for a request in a compiled RouteConfig, in Envoy's matching order.
import type { DomainMatcher, Route, RouteConfig, RouteMatch, VirtualHost } from '../model/types.ts';
import type { RequestHead } from './exchange.ts';
import { matchHeader, matchString } from '../matching/string-matcher.ts';

export interface RouteMatchResult {
  readonly virtualHost: VirtualHost;
  readonly route: Route;
}

export class RouteTable {
  readonly config: RouteConfig;
  readonly #exact = new Map<string, VirtualHost>();
  readonly #suffix: { value: string; vh: VirtualHost }[] = [];
  readonly #prefix: { value: string; vh: VirtualHost }[] = [];
  #any: VirtualHost | null = null;

  constructor(config: RouteConfig) {
    this.config = config;
    for (const vh of config.virtualHosts) {
      for (const d of vh.domains) this.#addDomain(d, vh);
    }
    this.#suffix.sort((a, b) => b.value.length - a.value.length);
    this.#prefix.sort((a, b) => b.value.length - a.value.length);
  }

  #addDomain(d: DomainMatcher, vh: VirtualHost): void {
    switch (d.kind) {
      case 'exact': if (!this.#exact.has(d.value)) this.#exact.set(d.value, vh); break;
      case 'suffix': this.#suffix.push({ value: d.value, vh }); break;
      case 'prefix': this.#prefix.push({ value: d.value, vh }); break;
      case 'any': this.#any ??= vh; break;
    }
  }

  /** Envoy's order: exact, longest suffix wildcard, longest prefix wildcard, "*". Tries the host with its port, then without. */
  findVirtualHost(authority: string): VirtualHost | null {
    const host = authority.toLowerCase();
    const found = this.#findDomain(host);
    if (found !== null) return found;
    const colon = host.lastIndexOf(':');
    if (colon > 0 && host.indexOf(']') < colon) {
      const bare = this.#findDomain(host.slice(0, colon));
      if (bare !== null) return bare;
    }
    return this.#any;
  }

  #findDomain(host: string): VirtualHost | null {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    for (const s of this.#suffix) if (host.length > s.value.length && host.endsWith(s.value)) return s.vh;
    for (const p of this.#prefix) if (host.length > p.value.length && host.startsWith(p.value)) return p.vh;
    return null;
  }

  match(head: RequestHead): RouteMatchResult | null {
    const vh = this.findVirtualHost(head.authority);
    if (vh === null) return null;
    const q = head.path.indexOf('?');
    const path = q === -1 ? head.path : head.path.slice(0, q);
    const query = q === -1 ? null : head.path.slice(q + 1);
    for (const route of vh.routes) {
      if (routeMatches(route.match, head, path, query)) return { virtualHost: vh, route };
    }
    return null;
  }
}

/** Whether a request matches a RouteMatch outside a route table (jwt_authn rules). */
export function requestMatches(m: RouteMatch, head: RequestHead): boolean {
  const q = head.path.indexOf('?');
  return routeMatches(m, head, q === -1 ? head.path : head.path.slice(0, q), q === -1 ? null : head.path.slice(q + 1));
}

function routeMatches(m: RouteMatch, head: RequestHead, path: string, query: string | null): boolean {
  switch (m.pathKind) {
    case 'prefix':
      if (m.caseSensitive ? !path.startsWith(m.pathValue) : !path.toLowerCase().startsWith(m.pathValue.toLowerCase())) return false;
      break;
    case 'path':
      if (m.caseSensitive ? path !== m.pathValue : path.toLowerCase() !== m.pathValue.toLowerCase()) return false;
      break;
    case 'regex':
      if (m.pathRegex === null || !m.pathRegex.test(path)) return false;
      break;
    case 'path_separated_prefix': {
      const p = m.caseSensitive ? path : path.toLowerCase();
      const want = m.caseSensitive ? m.pathValue : m.pathValue.toLowerCase();
      if (!(p === want || (p.startsWith(want) && p.charCodeAt(want.length) === 47 /* / */))) return false;
      break;
    }
  }
  if (m.grpc) {
    const ct = head.headers['content-type'];
    if (typeof ct !== 'string' || !ct.startsWith('application/grpc')) return false;
  }
  for (const hm of m.headers) {
    if (!matchHeader(hm, headerValue(head, hm.name))) return false;
  }
  if (m.queryParameters.length > 0) {
    const params = parseQuery(query);
    for (const qm of m.queryParameters) {
      const v = params.get(qm.name);
      if (v === undefined) return false;
      if (qm.string !== null && !matchString(qm.string, v)) return false;
    }
  }
  return true;
}

export function headerValue(head: RequestHead, name: string): string | undefined {
  if (name.charCodeAt(0) === 58) {
    switch (name) {
      case ':method': return head.method;
      case ':path': return head.path;
      case ':authority': return head.authority;
      case ':scheme': return head.scheme;
      default: return undefined;
    }
  }
  if (name === 'host') return head.authority;
  const v = head.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function parseQuery(query: string | null): Map<string, string> {
  const out = new Map<string, string>();
  if (query === null) return out;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = eq === -1 ? part : part.slice(0, eq);
    const v = eq === -1 ? '' : part.slice(eq + 1);
    let key = k, val = v;
    try { key = decodeURIComponent(k.replace(/\+/g, ' ')); val = decodeURIComponent(v.replace(/\+/g, ' ')); } catch { /* keep raw */ }
    if (!out.has(key)) out.set(key, val);
  }
  return out;
}
