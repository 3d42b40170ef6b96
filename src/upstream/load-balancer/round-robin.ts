// ROUND_ROBIN load balancer: plain rotation when weights are equal, smooth weighted round robin otherwise.
import type { Host, LbContext, LoadBalancer } from '../types.ts';
import { eligibleHosts, emptyLoadBalancer, equalWeights, PANIC_THRESHOLD_PERCENT, quickOk } from './common.ts';

/** Rotates through the hosts, skipping ineligible ones. */
class RotationLoadBalancer implements LoadBalancer {
  private next: number;
  private readonly hosts: readonly Host[];
  private readonly panicPercent: number;

  constructor(hosts: readonly Host[], panicPercent: number) {
    this.hosts = hosts;
    this.panicPercent = panicPercent;
    // Envoy starts each worker at a random offset so that workers don't all hit the first host.
    this.next = Math.floor(Math.random() * hosts.length);
  }

  choose(ctx: LbContext): Host | null {
    const hosts = this.hosts;
    const i = this.next;
    this.next = i + 1 >= hosts.length ? 0 : i + 1;
    const h = hosts[i];
    if (quickOk(h, ctx.avoid)) return h;
    const ok = new Set(eligibleHosts(hosts, ctx.avoid, this.panicPercent));
    for (let step = 0; step < hosts.length; step++) {
      const j = (i + step) % hosts.length;
      if (ok.has(hosts[j])) {
        this.next = (j + 1) % hosts.length;
        return hosts[j];
      }
    }
    return null;
  }
}

/** nginx-style smooth weighted round robin: each pick adds weights to current scores and takes the highest. */
class SmoothWeightedLoadBalancer implements LoadBalancer {
  private readonly hosts: readonly Host[];
  private readonly current = new Map<Host, number>();
  private readonly panicPercent: number;

  constructor(hosts: readonly Host[], panicPercent: number) {
    this.hosts = hosts;
    this.panicPercent = panicPercent;
    for (const h of hosts) this.current.set(h, 0);
  }

  choose(ctx: LbContext): Host | null {
    const candidates = eligibleHosts(this.hosts, ctx.avoid, this.panicPercent);
    let total = 0;
    let best: Host | null = null;
    let bestScore = -Infinity;
    for (const h of candidates) {
      const score = (this.current.get(h) ?? 0) + h.weight;
      this.current.set(h, score);
      total += h.weight;
      if (score > bestScore) {
        bestScore = score;
        best = h;
      }
    }
    if (best) this.current.set(best, bestScore - total);
    return best;
  }
}

export function createRoundRobin(hosts: readonly Host[], panicPercent = PANIC_THRESHOLD_PERCENT): LoadBalancer {
  if (hosts.length === 0) return emptyLoadBalancer;
  return equalWeights(hosts) ? new RotationLoadBalancer(hosts, panicPercent) : new SmoothWeightedLoadBalancer(hosts, panicPercent);
}
