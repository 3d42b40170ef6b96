// Compiles a route's `route` action: cluster selection, rewrites, timeouts, retries, hashing and upgrades.
import { CLUSTER_WEIGHT, MAX_STREAM_DURATION, ROUTE_ACTION, ROUTE_UPGRADE_CONFIG, WEIGHTED_CLUSTER } from './fields-route.ts';
import { compileHashPolicies } from './hash-policy.ts';
import { compileHeaderMutations } from './header-mutations.ts';
import type { Msg } from './proto-message.ts';
import { compileRegexRewrite } from './regex-rewrite.ts';
import { compileRetryPolicy } from './retry-policy.ts';
import type { RouteCompileOptions } from './route-options.ts';
import type { RouteAction, WeightedCluster } from './types.ts';

const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
const NOT_FOUND_CODES = ['SERVICE_UNAVAILABLE', 'NOT_FOUND', 'INTERNAL_SERVER_ERROR'] as const;
const NOT_FOUND_STATUS = { SERVICE_UNAVAILABLE: 503, NOT_FOUND: 404, INTERNAL_SERVER_ERROR: 500 } as const;

function compileWeightedClusters(a: Msg, opts: RouteCompileOptions): { clusters: WeightedCluster[]; total: number } | null {
  const w = a.msg('weighted_clusters', WEIGHTED_CLUSTER);
  if (!w) return null;
  const clusters: WeightedCluster[] = [];
  for (const c of w.msgList('clusters', CLUSTER_WEIGHT)) {
    const name = c.requiredStr('name');
    if (name === '') continue;
    if (opts.validateClusters) c.ctx.refCluster(name, c.at('name'));
    clusters.push({ name, weight: c.uint('weight', 0), headers: compileHeaderMutations(c) });
  }
  if (!w.has('clusters')) w.error('clusters', 'at least one cluster is required');
  const sum = clusters.reduce((s, c) => s + c.weight, 0);
  const total = w.optUint('total_weight', 1);
  if (total !== null && total !== sum) {
    w.error('total_weight', `is ${total} but the cluster weights add up to ${sum}`);
  } else if (clusters.length > 0 && sum === 0) {
    w.error('clusters', 'the sum of the weights must be greater than 0');
  }
  return { clusters, total: sum };
}

function compileUpgrades(a: Msg): Record<string, boolean> | null {
  if (!a.has('upgrade_configs')) return null;
  const out: Record<string, boolean> = {};
  for (const u of a.msgList('upgrade_configs', ROUTE_UPGRADE_CONFIG)) {
    const type = u.requiredStr('upgrade_type').toLowerCase();
    if (type === 'connect') u.error('upgrade_type', 'CONNECT is not supported yet');
    else if (type !== '') out[type] = u.bool('enabled', true);
  }
  return out;
}

/** The `route` action of route `r`; null after reporting errors. */
export function compileRouteAction(r: Msg, opts: RouteCompileOptions): RouteAction | null {
  const a = r.msg('route', ROUTE_ACTION);
  if (!a) return null;
  const before = a.ctx.errors.length;
  let cluster: string | null = null;
  let clusterHeader: string | null = null;
  let weighted: { clusters: WeightedCluster[]; total: number } | null = null;
  switch (a.oneOf(['cluster', 'cluster_header', 'weighted_clusters'], true)) {
    case 'cluster':
      cluster = a.requiredStr('cluster');
      if (cluster !== '' && opts.validateClusters) a.ctx.refCluster(cluster, a.at('cluster'));
      break;
    case 'cluster_header':
      clusterHeader = a.requiredStr('cluster_header').toLowerCase();
      break;
    case 'weighted_clusters':
      weighted = compileWeightedClusters(a, opts);
      break;
  }
  a.oneOf(['prefix_rewrite', 'regex_rewrite'], false);
  a.oneOf(['host_rewrite_literal', 'auto_host_rewrite', 'host_rewrite_header'], false);
  const upgrades = compileUpgrades(a);
  const msd = a.msg('max_stream_duration', MAX_STREAM_DURATION);
  const action: RouteAction = {
    kind: 'route',
    cluster,
    weightedClusters: weighted?.clusters ?? null,
    totalWeight: weighted?.total ?? 0,
    clusterHeader,
    clusterNotFoundResponseCode: NOT_FOUND_STATUS[a.enumOf('cluster_not_found_response_code', NOT_FOUND_CODES, 'SERVICE_UNAVAILABLE')],
    prefixRewrite: a.has('prefix_rewrite') ? a.str('prefix_rewrite') : null,
    regexRewrite: compileRegexRewrite(a, 'regex_rewrite'),
    hostRewriteLiteral: a.optStr('host_rewrite_literal'),
    autoHostRewrite: a.bool('auto_host_rewrite', false),
    hostRewriteHeader: a.optStr('host_rewrite_header')?.toLowerCase() ?? null,
    timeoutMs: a.durationMs('timeout', DEFAULT_ROUTE_TIMEOUT_MS),
    idleTimeoutMs: a.optDurationMs('idle_timeout'),
    retryPolicy: compileRetryPolicy(a),
    hashPolicy: compileHashPolicies(a),
    upgradeTypes: upgrades === null ? null : Object.keys(upgrades).filter((t) => upgrades[t]),
    ...(upgrades === null ? {} : { upgradeOverrides: upgrades }),
    maxStreamDurationMs: msd?.optDurationMs('max_stream_duration') ?? null,
    grpcTimeoutHeaderMaxMs: msd?.optDurationMs('grpc_timeout_header_max') ?? a.optDurationMs('max_grpc_timeout'),
  };
  return a.ctx.errors.length > before ? null : action;
}
