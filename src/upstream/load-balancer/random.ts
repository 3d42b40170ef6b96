// RANDOM load balancer: a uniformly random eligible host (Envoy's random LB ignores weights).
import type { Host, LbContext, LoadBalancer } from '../types.ts';
import { eligibleHosts, emptyLoadBalancer, quickOk } from './common.ts';

class RandomLoadBalancer implements LoadBalancer {
  private readonly hosts: readonly Host[];

  constructor(hosts: readonly Host[]) {
    this.hosts = hosts;
  }

  choose(ctx: LbContext): Host | null {
    const h = this.hosts[Math.floor(Math.random() * this.hosts.length)];
    if (quickOk(h, ctx.avoid)) return h;
    const candidates = eligibleHosts(this.hosts, ctx.avoid);
    return candidates[Math.floor(Math.random() * candidates.length)];
  }
}

export function createRandom(hosts: readonly Host[]): LoadBalancer {
  return hosts.length === 0 ? emptyLoadBalancer : new RandomLoadBalancer(hosts);
}
