// Stable serialisations of a ClusterConfig, used to tell at update time whether a cluster (or its pools) changed.
import type { ClusterConfig } from '../model/types.ts';

/** JSON with sorted object keys; RegExps as /source/flags; Maps as sorted entries. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(normalize(value));
}

function normalize(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (value instanceof RegExp) return `/${value.source}/${value.flags}`;
  if (Array.isArray(value)) return value.map(normalize);
  if (value instanceof Map) return [...value.entries()].map(([k, v]) => [String(k), normalize(v)]).sort();
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = normalize((value as Record<string, unknown>)[key]);
  return out;
}

/** Fields that only affect host discovery and balancing, not how connections to a host are made. */
const NON_POOL_FIELDS: ReadonlySet<string> = new Set([
  'loadAssignment', 'lbPolicy', 'leastRequestChoiceCount', 'ringHash', 'dnsRefreshRateMs', 'dnsLookupFamily',
  'respectDnsTtl', 'edsServiceName', 'type', 'outlierDetection', 'healthChecks', 'healthyPanicThreshold',
]);

/** Key of the whole cluster config. */
export function clusterKey(config: ClusterConfig): string {
  return stableStringify(config);
}

/** Key of the parts of the config that pools are built from; pools survive a change only when it is equal. */
export function poolKey(config: ClusterConfig): string {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) if (!NON_POOL_FIELDS.has(k)) rest[k] = v;
  return stableStringify(rest);
}
