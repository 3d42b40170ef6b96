// RING_HASH load balancer: Envoy's consistent-hash ring with entries per host proportional to weight.
import { hash53, randomHash } from '../hash.ts';
import type { Host, LbContext, LoadBalancer } from '../types.ts';
import { eligibleHosts, emptyLoadBalancer, PANIC_THRESHOLD_PERCENT, quickOk } from './common.ts';

export interface RingSize {
  readonly minimumRingSize: number;
  readonly maximumRingSize: number;
}

/** A sorted ring: hashes[i] belongs to hosts[i]. */
export interface Ring {
  readonly hashes: Float64Array;
  readonly hosts: readonly Host[];
}

/**
 * Builds the ring as Envoy does: scale so the lightest host gets ceil(minNormalizedWeight * min) entries,
 * capped at the maximum size; host entries are the hashes of "<address:port>_<i>".
 */
export function buildRing(hosts: readonly Host[], size: RingSize): Ring {
  const entries: { hash: number; host: Host }[] = [];
  if (hosts.length > 0) {
    let total = 0;
    for (const h of hosts) total += h.weight;
    let minNormalized = 1;
    for (const h of hosts) minNormalized = Math.min(minNormalized, h.weight / total);
    const scale = Math.min(Math.ceil(minNormalized * size.minimumRingSize) / minNormalized, size.maximumRingSize);
    let current = 0;
    let target = 0;
    for (const h of hosts) {
      target += scale * (h.weight / total);
      for (let i = 0; current < target; i++, current++) entries.push({ hash: hash53(`${h.key}_${i}`), host: h });
    }
    // Tie-break by key so rings built from the same hosts in any order are identical.
    entries.sort((a, b) => a.hash - b.hash || (a.host.key < b.host.key ? -1 : a.host.key > b.host.key ? 1 : 0));
  }
  return { hashes: Float64Array.from(entries, (e) => e.hash), hosts: entries.map((e) => e.host) };
}

/** Index of the first ring entry with hash ≥ `hash`, wrapping to 0. */
export function ringIndex(ring: Ring, hash: number): number {
  const hashes = ring.hashes;
  let lo = 0;
  let hi = hashes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hashes[mid] < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo === hashes.length ? 0 : lo;
}

class RingHashLoadBalancer implements LoadBalancer {
  private readonly hosts: readonly Host[];
  private readonly ring: Ring;
  private readonly panicPercent: number;

  constructor(hosts: readonly Host[], size: RingSize, panicPercent: number) {
    this.hosts = hosts;
    this.ring = buildRing(hosts, size);
    this.panicPercent = panicPercent;
  }

  choose(ctx: LbContext): Host | null {
    const ring = this.ring;
    const start = ringIndex(ring, ctx.hash ?? randomHash());
    const h = ring.hosts[start];
    if (quickOk(h, ctx.avoid)) return h;
    // Walk clockwise to the next eligible host, so only the keys of ineligible hosts move.
    const ok = new Set(eligibleHosts(this.hosts, ctx.avoid, this.panicPercent));
    const n = ring.hosts.length;
    for (let step = 0; step < n; step++) {
      const candidate = ring.hosts[(start + step) % n];
      if (ok.has(candidate)) return candidate;
    }
    return null;
  }
}

export function createRingHash(hosts: readonly Host[], size: RingSize, panicPercent = PANIC_THRESHOLD_PERCENT): LoadBalancer {
  return hosts.length === 0 ? emptyLoadBalancer : new RingHashLoadBalancer(hosts, size, panicPercent);
}
