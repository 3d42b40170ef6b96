// Translates HTTPRoute/GRPCRoute rules into Envoy Route entries (match, weighted clusters, filters, policy) in Gateway API precedence order.
import { msToDuration } from '../input/duration.ts';
import type {
  AnyRoute, BackendRef, GrpcMatch, HeaderModifier, HttpMatch, RouteFilter, Service, ServicePort, TrafficPolicy, ValueMatch,
} from '../input/types.ts';
import { key } from '../input/types.ts';
import type { MeshView } from './mesh-view.ts';
import { outboundClusterName } from './names.ts';
import type { Json } from './resource.ts';

/** A translated route with its precedence key (smaller sorts first). */
export interface RouteEntry {
  readonly sort: readonly number[];
  readonly order: number;
  readonly json: Json;
}

function stringMatch(m: ValueMatch): Json {
  return m.type === 'Exact' ? { exact: m.value } : { safe_regex: { regex: m.value } };
}

function headerMatchers(headers: readonly ValueMatch[], method: string | null): Json[] {
  const out: Json[] = headers.map((h) => ({ name: h.name, string_match: stringMatch(h) }));
  if (method !== null) out.push({ name: ':method', string_match: { exact: method } });
  return out;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Envoy RouteMatch plus precedence for an HTTPRoute match. Exact > RegularExpression > PathPrefix (longest first). */
function httpMatch(m: HttpMatch): { json: Json; sort: number[] } {
  const path = m.path ?? { type: 'PathPrefix' as const, value: '/' };
  const json: Json = {};
  let rank: number;
  if (path.type === 'Exact') {
    json.path = path.value;
    rank = 0;
  } else if (path.type === 'RegularExpression') {
    json.safe_regex = { regex: path.value };
    rank = 1;
  } else {
    if (path.value === '/') json.prefix = '/';
    else json.path_separated_prefix = path.value;
    rank = 2;
  }
  const headers = headerMatchers(m.headers, m.method);
  if (headers.length > 0) json.headers = headers;
  if (m.queryParams.length > 0) json.query_parameters = m.queryParams.map((q) => ({ name: q.name, string_match: stringMatch(q) }));
  return { json, sort: [rank, -path.value.length, m.method === null ? 1 : 0, -m.headers.length, -m.queryParams.length] };
}

/** gRPC method matches become paths ("/pkg.Service/Method"); precedence follows the same scheme as HTTP paths. */
function grpcMatch(m: GrpcMatch): { json: Json; sort: number[] } {
  const json: Json = {};
  const mm = m.method;
  let rank = 2;
  let len = 1;
  if (mm === null) json.prefix = '/';
  else if (mm.type === 'Exact' && mm.service !== null && mm.method !== null) {
    json.path = `/${mm.service}/${mm.method}`;
    rank = 0;
    len = (json.path as string).length;
  } else if (mm.type === 'Exact' && mm.service !== null) {
    json.prefix = `/${mm.service}/`;
    len = (json.prefix as string).length;
  } else {
    const svc = mm.service === null ? '[^/]+' : mm.type === 'Exact' ? escapeRegex(mm.service) : mm.service;
    const meth = mm.method === null ? '[^/]+' : mm.type === 'Exact' ? escapeRegex(mm.method) : mm.method;
    json.safe_regex = { regex: `/${svc}/${meth}` };
    rank = 1;
    len = (mm.service ?? '').length + (mm.method ?? '').length;
  }
  const headers = headerMatchers(m.headers, null);
  if (headers.length > 0) json.headers = headers;
  return { json, sort: [rank, -len, 1, -m.headers.length, 0] };
}

function headerOps(mod: HeaderModifier): { add: Json[]; remove: string[] } {
  const add: Json[] = [
    ...mod.set.map((h) => ({ header: { key: h.name, value: h.value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' })),
    ...mod.add.map((h) => ({ header: { key: h.name, value: h.value }, append_action: 'APPEND_IF_EXISTS_OR_ADD' })),
  ];
  return { add, remove: [...mod.remove] };
}

const REDIRECT_CODES: Record<number, string> = {
  301: 'MOVED_PERMANENTLY', 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT',
};

function prefixOf(match: Json): string | null {
  if (typeof match.path_separated_prefix === 'string') return match.path_separated_prefix;
  if (typeof match.prefix === 'string') return match.prefix;
  return null;
}

/** Path rewrite fields (prefix_rewrite or regex_rewrite) for URLRewrite / RequestRedirect paths. */
function pathRewrite(path: { type: 'ReplaceFullPath' | 'ReplacePrefixMatch'; value: string }, match: Json): Json {
  if (path.type === 'ReplaceFullPath') return { regex_rewrite: { pattern: { regex: '^/.*$' }, substitution: path.value } };
  const prefix = prefixOf(match);
  if (prefix !== null && prefix !== '/' && path.value === '/') {
    return { regex_rewrite: { pattern: { regex: `^${escapeRegex(prefix)}/*` }, substitution: '/' } };
  }
  return { prefix_rewrite: path.value };
}

/** Retry, timeout and hash policy for a route to `backends`, from the caller-facing service's TrafficPolicy. */
export function routePolicyFields(policy: TrafficPolicy | undefined, backendPolicy: TrafficPolicy | undefined, timeoutMs: number | null): Json {
  const out: Json = {};
  const t = timeoutMs ?? policy?.timeoutMs ?? null;
  if (t !== null) out.timeout = msToDuration(t);
  const r = policy?.retry;
  if (r && r.attempts > 0) {
    const rp: Json = { retry_on: r.retryOn.join(','), num_retries: { value: r.attempts } };
    if (r.perTryTimeoutMs !== null) rp.per_try_timeout = msToDuration(r.perTryTimeoutMs);
    if (r.backoff) {
      const b: Json = { base_interval: msToDuration(r.backoff.baseMs) };
      if (r.backoff.maxMs !== null) b.max_interval = msToDuration(r.backoff.maxMs);
      rp.retry_back_off = b;
    }
    if (r.retryOn.includes('retriable-status-codes')) rp.retriable_status_codes = r.retriableStatusCodes.length > 0 ? [...r.retriableStatusCodes] : [503];
    out.retry_policy = rp;
  }
  const lb = backendPolicy?.loadBalancer;
  if (lb?.policy === 'RING_HASH' && lb.hashOn) {
    const h = lb.hashOn;
    if ('header' in h) out.hash_policy = [{ header: { header_name: h.header } }];
    else if ('cookie' in h) out.hash_policy = [{ cookie: h.ttlMs === null ? { name: h.cookie } : { name: h.cookie, ttl: msToDuration(h.ttlMs) } }];
    else out.hash_policy = [{ connection_properties: { source_ip: true } }];
  }
  return out;
}

function backendCluster(view: MeshView, b: BackendRef): string | undefined {
  const sp = view.servicePort(key(b.namespace, b.name), b.port);
  return sp ? outboundClusterName(sp.svc, sp.port.port) : undefined;
}

export interface RuleContext {
  /** The service whose TrafficPolicy supplies retries/timeouts (mesh: the addressed service), or null to use the first backend's. */
  readonly policyService: string | null;
  /** Prefix for route names ("<route ns>/<route name>"). */
  readonly order: number;
}

/** Translates every rule and match of `route` into route entries. */
export function routeEntries(view: MeshView, route: AnyRoute, ctx: RuleContext): RouteEntry[] {
  const out: RouteEntry[] = [];
  route.rules.forEach((rule, ri) => {
    const filters: readonly RouteFilter[] = rule.filters;
    const backends = rule.backendRefs.filter((b) => b.weight > 0);
    const firstBackend = backends[0] ? key(backends[0].namespace, backends[0].name) : null;
    const policy = view.policy(ctx.policyService ?? firstBackend ?? '') ?? (firstBackend ? view.policy(firstBackend) : undefined);
    const backendPolicy = firstBackend ? view.policy(firstBackend) : undefined;
    const timeoutMs = route.kind === 'HTTPRoute' ? (route.rules[ri] as { requestTimeoutMs: number | null }).requestTimeoutMs : null;
    const matches = route.kind === 'HTTPRoute' ? route.rules[ri].matches.map(httpMatch) : route.rules[ri].matches.map((m) => grpcMatch(m as GrpcMatch));
    matches.forEach((m, mi) => {
      const json: Json = { name: `${route.namespace}/${route.name}/rule${ri}/match${mi}`, match: m.json };
      const redirect = filters.find((f) => f.type === 'RequestRedirect');
      if (redirect && redirect.type === 'RequestRedirect') {
        const r: Json = {};
        if (redirect.scheme !== null) r.scheme_redirect = redirect.scheme;
        if (redirect.hostname !== null) r.host_redirect = redirect.hostname;
        if (redirect.port !== null) r.port_redirect = redirect.port;
        if (redirect.path?.type === 'ReplaceFullPath') r.path_redirect = redirect.path.value;
        else if (redirect.path) r.prefix_rewrite = redirect.path.value;
        r.response_code = REDIRECT_CODES[redirect.statusCode];
        json.redirect = r;
      } else {
        const action: Json = {};
        const clusters = backends.map((b) => ({ name: backendCluster(view, b), weight: b.weight })).filter((c): c is { name: string; weight: number } => c.name !== undefined);
        if (clusters.length === 1) action.cluster = clusters[0].name;
        else action.weighted_clusters = { clusters: clusters.map((c) => ({ name: c.name, weight: { value: c.weight } })) };
        const rewrite = filters.find((f) => f.type === 'URLRewrite');
        if (rewrite && rewrite.type === 'URLRewrite') {
          if (rewrite.path) Object.assign(action, pathRewrite(rewrite.path, m.json));
          if (rewrite.hostname !== null) action.host_rewrite_literal = rewrite.hostname;
        }
        Object.assign(action, routePolicyFields(policy, backendPolicy, timeoutMs));
        json.route = action;
      }
      for (const f of filters) {
        if (f.type === 'RequestHeaderModifier' || f.type === 'ResponseHeaderModifier') {
          const ops = headerOps(f.modifier);
          const side = f.type === 'RequestHeaderModifier' ? 'request' : 'response';
          if (ops.add.length > 0) json[`${side}_headers_to_add`] = ops.add;
          if (ops.remove.length > 0) json[`${side}_headers_to_remove`] = ops.remove;
        }
      }
      out.push({ sort: m.sort, order: ctx.order * 10_000 + ri * 100 + mi, json });
    });
  });
  return out;
}

export function sortEntries(entries: RouteEntry[]): Json[] {
  return entries
    .sort((a, b) => {
      for (let i = 0; i < Math.max(a.sort.length, b.sort.length); i++) {
        const d = (a.sort[i] ?? 0) - (b.sort[i] ?? 0);
        if (d !== 0) return d;
      }
      return a.order - b.order;
    })
    .map((e) => e.json);
}

/** Routes to the service's port from the mesh routes attached to it, or one default route when none are. */
export function serviceRoutes(view: MeshView, svc: Service, sp: ServicePort): Json[] {
  const svcKey = key(svc.namespace, svc.name);
  const attached = (view.meshRoutes.get(svcKey) ?? []).filter((r) =>
    r.parentRefs.some((p) => p.kind === 'Service' && key(p.namespace, p.name) === svcKey
      && (p.port === null || p.port === sp.port) && (p.sectionName === null || p.sectionName === sp.name)));
  const ordered = [...attached].sort((a, b) => key(a.namespace, a.name).localeCompare(key(b.namespace, b.name)));
  const entries = ordered.flatMap((r, i) => routeEntries(view, r, { policyService: svcKey, order: i }));
  if (entries.length > 0) return sortEntries(entries);
  const policy = view.policy(svcKey);
  return [{
    name: 'default',
    match: { prefix: '/' },
    route: { cluster: outboundClusterName(svc, sp.port), ...routePolicyFields(policy, policy, null) },
  }];
}
