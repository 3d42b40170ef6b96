// RANDOM load balancer: a uniformly random eligible host (Envoy's random LB ignores weights).
import type { Host, LbContext, LoadBalancer } from '../types.ts';
import { eligibleHosts, emptyLoadBalancer, PANIC_THRESHOLD_PERCENT, quickOk } from './common.ts';

class RandomLoadBalancer implements LoadBalancer {
  private readonly hosts: readonly Host[];
  private readonly panicPercent: number;

  constructor(hosts: readonly Host[], panicPercent: number) {
    this.hosts = hosts;
    this.panicPercent = panicPercent;
  }

  choose(ctx: LbContext): Host | null {
    const h = this.hosts[Math.floor(Math.random() * this.hosts.length)];
    if (quickOk(h, ctx.avoid)) return h;
    const candidates = eligibleHosts(this.hosts, ctx.avoid, this.panicPercent);
    return candidates[Math.floor(Math.random() * candidates.length)] ?? null;
  }
}

export function createRandom(hosts: readonly Host[], panicPercent = PANIC_THRESHOLD_PERCENT): LoadBalancer {
  return hosts.length === 0 ? emptyLoadBalancer : new RandomLoadBalancer(hosts, panicPercent);
}
