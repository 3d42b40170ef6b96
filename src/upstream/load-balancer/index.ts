// Maps a cluster's lb_policy to the load balancer factory that builds its balancer over a host list.
import type { ClusterConfig, LbPolicy } from '../../model/types.ts';
import type { Host, LoadBalancer } from '../types.ts';
import { createLeastRequest } from './least-request.ts';
import { createRandom } from './random.ts';
import { createRingHash } from './ring-hash.ts';
import { createRoundRobin } from './round-robin.ts';

export type LoadBalancerFactory = (hosts: readonly Host[], config: ClusterConfig) => LoadBalancer;

export const loadBalancerFactories: Readonly<Record<LbPolicy, LoadBalancerFactory>> = {
  ROUND_ROBIN: (hosts, config) => createRoundRobin(hosts, config.healthyPanicThreshold),
  LEAST_REQUEST: (hosts, config) => createLeastRequest(hosts, config.leastRequestChoiceCount, config.healthyPanicThreshold),
  RANDOM: (hosts, config) => createRandom(hosts, config.healthyPanicThreshold),
  RING_HASH: (hosts, config) => createRingHash(hosts, config.ringHash, config.healthyPanicThreshold),
  // MAGLEV is served by the ring hash: same consistent-hashing contract, different table layout.
  MAGLEV: (hosts, config) => createRingHash(hosts, config.ringHash, config.healthyPanicThreshold),
  // CLUSTER_PROVIDED: ORIGINAL_DST clusters pick hosts themselves (src/upstream/original-dst.ts); this list stays empty.
  CLUSTER_PROVIDED: (hosts, config) => createRoundRobin(hosts, config.healthyPanicThreshold),
};

/** Builds the balancer for `config.lbPolicy` over `hosts`. */
export function createLoadBalancer(config: ClusterConfig, hosts: readonly Host[]): LoadBalancer {
  return loadBalancerFactories[config.lbPolicy](hosts, config);
}

/** True when the policy consumes LbContext.hash (so callers should compute one). */
export function usesHash(policy: LbPolicy): boolean {
  return policy === 'RING_HASH' || policy === 'MAGLEV';
}
