// The socket options every upstream connection of a cluster shares: upstream_bind_config's source address.
import type { ClusterConfig } from '../model/types.ts';

const NONE: { readonly localAddress?: string } = Object.freeze({});

/** `{ localAddress }` when the cluster has upstream_bind_config, else an empty object; spread into connect options. */
export function bindOptions(cluster: Pick<ClusterConfig, 'upstreamBindAddress'>): { readonly localAddress?: string } {
  return cluster.upstreamBindAddress ? { localAddress: cluster.upstreamBindAddress } : NONE;
}
