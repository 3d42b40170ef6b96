// Host eligibility shared by the load balancers: health, the retry avoid set, and Envoy's panic threshold (default 50%).
import { isHealthy } from '../host-set.ts';
import type { Host } from '../types.ts';

/** Envoy's default healthy_panic_threshold: below this healthy percentage, all hosts are used. */
export const PANIC_THRESHOLD_PERCENT = 50;

/** Fast-path check: a healthy host not in the avoid set is always an acceptable pick. */
export function quickOk(h: Host, avoid: ReadonlySet<Host> | null): boolean {
  return isHealthy(h) && (avoid === null || !avoid.has(h));
}

/**
 * The hosts a pick may use: healthy hosts (all hosts in panic mode), minus `avoid` unless that leaves none.
 * As in Envoy, hosts awaiting their first health check do not count for the healthy percentage, and panic mode
 * starts below `panicPercent` (common_lb_config.healthy_panic_threshold). Empty only when nothing is healthy and
 * panic mode is off (threshold 0).
 */
export function eligibleHosts(hosts: readonly Host[], avoid: ReadonlySet<Host> | null, panicPercent = PANIC_THRESHOLD_PERCENT): readonly Host[] {
  const healthy = hosts.filter(isHealthy);
  let counted = hosts.length;
  for (const h of hosts) if (h.pendingActiveHc) counted--;
  const panic = counted === 0 ? panicPercent > 0 : healthy.length * 100 < counted * panicPercent;
  const base = panic ? hosts : healthy;
  if (avoid === null || avoid.size === 0) return base;
  const kept = base.filter((h) => !avoid.has(h));
  return kept.length > 0 ? kept : base;
}

/** True when every host has the same weight (the unweighted fast paths apply). */
export function equalWeights(hosts: readonly Host[]): boolean {
  for (let i = 1; i < hosts.length; i++) if (hosts[i].weight !== hosts[0].weight) return false;
  return true;
}

/** Picks one of `hosts` at random with probability proportional to weight. */
export function weightedRandom(hosts: readonly Host[]): Host {
  let total = 0;
  for (const h of hosts) total += h.weight;
  let r = Math.random() * total;
  for (const h of hosts) {
    r -= h.weight;
    if (r < 0) return h;
  }
  return hosts[hosts.length - 1];
}

/** A balancer for a cluster without hosts. */
export const emptyLoadBalancer = { choose: (): Host | null => null };
