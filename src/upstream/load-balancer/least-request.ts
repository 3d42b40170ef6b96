// LEAST_REQUEST load balancer: Envoy's power of N choices — sample choice_count hosts, take the one with fewest active requests.
import type { Host, LbContext, LoadBalancer } from '../types.ts';
import { eligibleHosts, emptyLoadBalancer, equalWeights, PANIC_THRESHOLD_PERCENT, quickOk, weightedRandom } from './common.ts';

class LeastRequestLoadBalancer implements LoadBalancer {
  private readonly hosts: readonly Host[];
  private readonly choiceCount: number;
  private readonly weighted: boolean;
  private readonly panicPercent: number;

  constructor(hosts: readonly Host[], choiceCount: number, panicPercent: number) {
    this.hosts = hosts;
    this.panicPercent = panicPercent;
    this.choiceCount = Math.max(1, choiceCount);
    this.weighted = !equalWeights(hosts);
  }

  choose(ctx: LbContext): Host | null {
    const fast = this.pick(this.hosts);
    if (quickOk(fast, ctx.avoid)) return fast;
    const candidates = eligibleHosts(this.hosts, ctx.avoid, this.panicPercent);
    return candidates.length === 0 ? null : this.pick(candidates);
  }

  /** Samples choiceCount hosts (weighted by host weight when weights differ) and keeps the least loaded one. */
  private pick(hosts: readonly Host[]): Host {
    let best: Host | null = null;
    let bestLoad = Infinity;
    for (let i = 0; i < this.choiceCount; i++) {
      const h = this.weighted ? weightedRandom(hosts) : hosts[Math.floor(Math.random() * hosts.length)];
      // Weighted variant: compare load per unit of weight.
      const load = this.weighted ? (h.activeRequests + 1) / h.weight : h.activeRequests;
      if (load < bestLoad) {
        bestLoad = load;
        best = h;
      }
    }
    return best!;
  }
}

export function createLeastRequest(hosts: readonly Host[], choiceCount: number, panicPercent = PANIC_THRESHOLD_PERCENT): LoadBalancer {
  return hosts.length === 0 ? emptyLoadBalancer : new LeastRequestLoadBalancer(hosts, choiceCount, panicPercent);
}
