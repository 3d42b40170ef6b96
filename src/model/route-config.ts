// Compiles an Envoy RouteConfiguration: virtual hosts, domain matchers (validated, duplicates rejected) and routes.
import { ROUTE, VIRTUAL_HOST } from './fields-route.ts';
import { compileHeaderMutations } from './header-mutations.ts';
import type { Msg } from './proto-message.ts';
import { compileRetryPolicy } from './retry-policy.ts';
import { compileRoute, compileTypedPerFilterConfig } from './route.ts';
import { DEFAULT_MAX_DIRECT_RESPONSE_BODY_BYTES, type RouteCompileOptions } from './route-options.ts';
import type { DomainMatcher, Route, RouteConfig, VirtualHost } from './types.ts';

const REQUIRE_TLS = ['NONE', 'EXTERNAL_ONLY', 'ALL'] as const;

/** Parses one virtual host domain pattern (lower-cased); an error if empty or the wildcard is misplaced. */
export function parseDomain(domain: string): DomainMatcher | { error: string } {
  const d = domain.toLowerCase();
  if (d === '') return { error: 'must not be empty' };
  if (d === '*') return { kind: 'any', value: '' };
  const stars = d.split('*').length - 1;
  if (stars === 0) return { kind: 'exact', value: d };
  if (stars === 1 && d.startsWith('*')) return { kind: 'suffix', value: d.slice(1) };
  if (stars === 1 && d.endsWith('*')) return { kind: 'prefix', value: d.slice(0, -1) };
  return { error: `${JSON.stringify(domain)}: a wildcard is only allowed as the whole domain ("*"), at the start or at the end` };
}

function compileVirtualHost(v: Msg, opts: RouteCompileOptions, seenDomains: Map<string, string>): VirtualHost | null {
  const before = v.ctx.errors.length;
  const name = v.requiredStr('name');
  const domains: DomainMatcher[] = [];
  if (!v.has('domains')) v.error('domains', 'at least one domain is required');
  v.strList('domains').forEach((raw, i) => {
    const path = `${v.at('domains')}[${i}]`;
    const parsed = parseDomain(raw);
    if ('error' in parsed) {
      v.ctx.error(path, parsed.error);
      return;
    }
    const key = raw.toLowerCase();
    const previous = seenDomains.get(key);
    if (previous !== undefined) {
      v.ctx.error(path, `duplicate domain ${JSON.stringify(raw)} (also in ${previous}); only unique domains are permitted`);
      return;
    }
    seenDomains.set(key, `${v.path} ${JSON.stringify(name)}`);
    domains.push(parsed);
  });
  const routes: Route[] = [];
  for (const r of v.msgList('routes', ROUTE)) {
    const route = compileRoute(r, opts);
    if (route) routes.push(route);
  }
  const vhost: VirtualHost = {
    name,
    domains,
    routes,
    headers: compileHeaderMutations(v),
    requireTls: v.enumOf('require_tls', REQUIRE_TLS, 'NONE'),
    retryPolicy: compileRetryPolicy(v),
    typedPerFilterConfig: compileTypedPerFilterConfig(v),
  };
  return v.ctx.errors.length > before ? null : vhost;
}

/**
 * A RouteConfiguration message. `inline` is true for an HCM's route_config (validate_clusters then defaults to true,
 * as in Envoy) and false for RDS resources.
 */
export function compileRouteConfigMsg(m: Msg, inline: boolean): RouteConfig | null {
  const before = m.ctx.errors.length;
  const opts: RouteCompileOptions = {
    validateClusters: m.bool('validate_clusters', inline),
    maxDirectResponseBodyBytes: m.uint('max_direct_response_body_size_bytes', DEFAULT_MAX_DIRECT_RESPONSE_BODY_BYTES),
  };
  const seenDomains = new Map<string, string>();
  const virtualHosts: VirtualHost[] = [];
  for (const v of m.msgList('virtual_hosts', VIRTUAL_HOST)) {
    const vhost = compileVirtualHost(v, opts, seenDomains);
    if (vhost) virtualHosts.push(vhost);
  }
  const internalOnlyHeaders = m.strList('internal_only_headers').map((h) => h.toLowerCase());
  const config: RouteConfig = {
    name: m.str('name'),
    virtualHosts,
    headers: compileHeaderMutations(m),
    internalOnlyHeaders,
  };
  return m.ctx.errors.length > before ? null : config;
}
