// The envoy.filters.http.rbac filter: shadow then enforced rules per request, 403 on denial, http.<prefix>.rbac.* stats and dynamic metadata.
import type { HttpConnectionManagerConfig } from '../../model/types.ts';
import type { Counter } from '../../observability/types.ts';
import { sanitizeName } from '../../observability/stats.ts';
import type { DynamicMetadata } from '../../policy/metadata-matcher.ts';
import { decide, downstreamRemoteIp, type RbacRequest } from '../../policy/rbac.ts';
import * as replies from '../error-response.ts';
import type { DownstreamConnectionInfo, RequestHead } from '../exchange.ts';
import type { StatsSink } from '../hcm-stats.ts';
import { filterLocalReply, type FilterRequest, type FilterResult, type HttpFilter, type HttpFilterFactory } from './http-filter.ts';
import { compileRbacFilterConfig, HTTP_RBAC, RBAC_PER_ROUTE, type RbacFilterConfig } from './rbac-config.ts';

export const RBAC_FILTER_NAME = 'envoy.filters.http.rbac';

/** Envoy's dynamic metadata namespace and keys (the namespace is the filter type's name, whatever the filter is called). */
export const RBAC_METADATA = {
  namespace: 'envoy.filters.http.rbac',
  shadowEffectivePolicyId: 'shadow_effective_policy_id',
  shadowEngineResult: 'shadow_engine_result',
  enforcedEffectivePolicyId: 'enforced_effective_policy_id',
  enforcedEngineResult: 'enforced_engine_result',
  /** LOG action: access_log_hint in the shared namespace envoy.common. */
  commonNamespace: 'envoy.common',
  accessLogHint: 'access_log_hint',
} as const;

interface RbacStats {
  readonly allowed: Counter;
  readonly denied: Counter;
  readonly shadowAllowed: Counter;
  readonly shadowDenied: Counter;
}

/**
 * Envoy's http.<stat_prefix>.rbac.<rules_stat_prefix>{allowed,denied} and .rbac.<shadow_rules_stat_prefix>shadow_*
 * (Prometheus: envoy_http_rbac_<prefix><name>{envoy_http_conn_manager_prefix}).
 */
function rbacStats(sink: StatsSink, hcmPrefix: string, config: RbacFilterConfig): RbacStats {
  const l = { envoy_http_conn_manager_prefix: hcmPrefix };
  const name = (prefix: string, stat: string) => sanitizeName(`envoy_http_rbac_${prefix}${stat}`);
  return {
    allowed: sink.counter(name(config.rulesStatPrefix, 'allowed'), l),
    denied: sink.counter(name(config.rulesStatPrefix, 'denied'), l),
    shadowAllowed: sink.counter(name(config.shadowRulesStatPrefix, 'shadow_allowed'), l),
    shadowDenied: sink.counter(name(config.shadowRulesStatPrefix, 'shadow_denied'), l),
  };
}

/** What the rules read of one request; the remote address (x-forwarded-for rules) only when a rule asks. */
class RequestFacts implements RbacRequest {
  readonly head: RequestHead;
  readonly connection: DownstreamConnectionInfo;
  /** Set by earlier filters (jwt_authn's payload_in_metadata), read by metadata principals and permissions. */
  readonly dynamicMetadata: DynamicMetadata | null;
  readonly #hcm: HttpConnectionManagerConfig;
  #remoteIp: string | null = null;

  constructor(r: FilterRequest, hcm: HttpConnectionManagerConfig) {
    this.head = r.req.ex.head;
    this.connection = r.req.ex.connection;
    this.dynamicMetadata = r.req.dynamicMetadata;
    this.#hcm = hcm;
  }

  remoteIp(): string {
    this.#remoteIp ??= downstreamRemoteIp(this.head, this.connection, this.#hcm.useRemoteAddress, this.#hcm.xffNumTrustedHops);
    return this.#remoteIp;
  }
}

export class RbacFilter implements HttpFilter<RbacFilterConfig> {
  readonly #config: RbacFilterConfig;
  readonly #stats: RbacStats;
  readonly #hcm: HttpConnectionManagerConfig;

  constructor(config: RbacFilterConfig, stats: RbacStats, hcm: HttpConnectionManagerConfig) {
    this.#config = config;
    this.#stats = stats;
    this.#hcm = hcm;
  }

  /** A route's RBACPerRoute replaces both rule sets (no `rbac`: none, the filter is off there); stats stay the filter's. */
  perRoute(config: unknown): RbacFilterConfig {
    return config as RbacFilterConfig;
  }

  onRequest(r: FilterRequest, route: RbacFilterConfig | null): FilterResult {
    const c = route ?? this.#config;
    if (c.rules === null && c.shadowRules === null) return 'continue';
    const facts = new RequestFacts(r, this.#hcm);
    // Metadata keys carry the rules' stat prefixes; a route's own non-empty prefix wins (as Envoy's per-route config).
    const shadowPrefix = route !== null && route.shadowRulesStatPrefix !== '' ? route.shadowRulesStatPrefix : this.#config.shadowRulesStatPrefix;
    const rulesPrefix = route !== null && route.rulesStatPrefix !== '' ? route.rulesStatPrefix : this.#config.rulesStatPrefix;
    const md: Record<string, unknown> = {};
    if (c.shadowRules !== null) {
      const d = decide(c.shadowRules, facts);
      (d.allowed ? this.#stats.shadowAllowed : this.#stats.shadowDenied).inc();
      if (d.policy !== null) md[shadowPrefix + RBAC_METADATA.shadowEffectivePolicyId] = d.policy;
      md[shadowPrefix + RBAC_METADATA.shadowEngineResult] = d.allowed ? 'allowed' : 'denied';
    }
    if (c.rules === null) {
      r.req.setDynamicMetadata(RBAC_METADATA.namespace, md);
      return 'continue';
    }
    const d = decide(c.rules, facts);
    if (c.rules.action === 'LOG') r.req.setDynamicMetadata(RBAC_METADATA.commonNamespace, { [RBAC_METADATA.accessLogHint]: d.policy !== null });
    if (d.policy !== null) md[rulesPrefix + RBAC_METADATA.enforcedEffectivePolicyId] = d.policy;
    md[rulesPrefix + RBAC_METADATA.enforcedEngineResult] = d.allowed ? 'allowed' : 'denied';
    // Before the reply: a local reply finishes the request, and its access-log line reads the metadata.
    r.req.setDynamicMetadata(RBAC_METADATA.namespace, md);
    if (d.allowed) {
      this.#stats.allowed.inc();
      return 'continue';
    }
    this.#stats.denied.inc();
    return filterLocalReply(r, replies.rbacAccessDenied(d.policy));
  }
}

export const RBAC_FILTER: HttpFilterFactory<RbacFilterConfig> = {
  message: HTTP_RBAC.message,
  names: [RBAC_FILTER_NAME],
  table: HTTP_RBAC,
  perRouteTable: RBAC_PER_ROUTE,
  terminal: false,
  compile: (m, perRoute) => compileRbacFilterConfig(m, perRoute),
  create: (config, ctx) => new RbacFilter(config, rbacStats(ctx.stats, ctx.hcm.statPrefix, config), ctx.hcm),
};
