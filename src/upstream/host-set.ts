// Builds Host objects from endpoint specs, keeps one Host object per "ip:port" key across updates, and picks the active priority.
import { isIP } from 'node:net';
import type { LoadAssignment } from '../model/types.ts';
import type { Host } from './types.ts';

/** What a Host is built from: one resolved endpoint address. */
export interface HostSpec {
  readonly address: string;
  readonly port: number;
  readonly hostname: string | null;
  readonly weight: number;
  readonly health: Host['health'];
  readonly priority: number;
}

type MutableHost = { -readonly [K in keyof Host]: Host[K] };

/** "ip:port", with IPv6 addresses bracketed ("[::1]:80"), as Envoy prints addresses. */
export function hostKey(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** A fresh Host with zeroed counters. */
export function createHost(spec: HostSpec): Host {
  const host: MutableHost = {
    key: hostKey(spec.address, spec.port),
    address: spec.address,
    port: spec.port,
    hostname: spec.hostname,
    weight: Math.max(1, spec.weight),
    health: spec.health,
    failedActiveHc: false,
    pendingActiveHc: false,
    ejected: false,
    activeRequests: 0,
    rqTotal: 0,
    rqError: 0,
    cxConnectFail: 0,
  };
  return host;
}

/** Host specs of a load assignment taken literally (STATIC and EDS: addresses are IPs). */
export function specsFromLoadAssignment(la: LoadAssignment | null): HostSpec[] {
  const specs: HostSpec[] = [];
  if (!la) return specs;
  for (const locality of la.endpoints) {
    for (const ep of locality.lbEndpoints) {
      specs.push({
        address: ep.address.host,
        port: ep.address.port,
        hostname: ep.hostname,
        weight: ep.weight,
        health: ep.healthStatus,
        priority: locality.priority,
      });
    }
  }
  return specs;
}

/** Whether a load balancer may send traffic to the host outside panic mode (EDS health, active HC, outlier ejection). */
export function isHealthy(h: Host): boolean {
  return h.health !== 'UNHEALTHY' && h.health !== 'DRAINING' && h.health !== 'TIMEOUT' && !h.failedActiveHc && !h.ejected;
}

export interface HostSetChange {
  /** Hosts no longer present (their pools should be closed). */
  readonly removed: readonly Host[];
  /** True when membership, weight, health or priority of any host changed (the load balancer must be rebuilt). */
  readonly changed: boolean;
}

/** The hosts of one cluster. Same key → same Host object for as long as the key stays in the set. */
export class HostSet {
  private byKey = new Map<string, MutableHost>();
  private priorityOf = new Map<Host, number>();
  private allHosts: readonly Host[] = [];
  private activeHosts: readonly Host[] = [];

  /** All hosts, every priority. */
  all(): readonly Host[] {
    return this.allHosts;
  }

  /** Hosts of the lowest priority that has a healthy host (or of the lowest priority when none has). */
  active(): readonly Host[] {
    return this.activeHosts;
  }

  get(key: string): Host | undefined {
    return this.byKey.get(key);
  }

  /** True when this exact Host object is a current member. */
  has(host: Host): boolean {
    return this.byKey.get(host.key) === host;
  }

  /** Replaces the membership with `specs`; a key given twice keeps its first occurrence. */
  update(specs: readonly HostSpec[]): HostSetChange {
    const next = new Map<string, MutableHost>();
    const nextPriority = new Map<Host, number>();
    let changed = false;
    for (const spec of specs) {
      const key = hostKey(spec.address, spec.port);
      if (next.has(key)) continue;
      let host = this.byKey.get(key);
      if (host) {
        const weight = Math.max(1, spec.weight);
        if (host.weight !== weight || host.health !== spec.health || this.priorityOf.get(host) !== spec.priority) changed = true;
        host.weight = weight;
        host.health = spec.health;
        if (spec.hostname !== null) host.hostname = spec.hostname;
      } else {
        host = createHost(spec) as MutableHost;
        changed = true;
      }
      next.set(key, host);
      nextPriority.set(host, spec.priority);
    }
    const removed: Host[] = [];
    for (const [key, host] of this.byKey) if (next.get(key) !== host) removed.push(host);
    if (removed.length > 0) changed = true;
    this.byKey = next;
    this.priorityOf = nextPriority;
    this.allHosts = [...next.values()];
    this.activeHosts = this.pickActive();
    return { removed, changed };
  }

  /** Re-picks the active priority after health flags changed; true when it moved to other hosts. */
  refreshActive(): boolean {
    const next = this.pickActive();
    const same = next.length === this.activeHosts.length && next.every((h, i) => h === this.activeHosts[i]);
    if (!same) this.activeHosts = next;
    return !same;
  }

  private pickActive(): readonly Host[] {
    const levels = [...new Set(this.priorityOf.values())].sort((a, b) => a - b);
    if (levels.length === 0) return [];
    const level = levels.find((p) => this.allHosts.some((h) => this.priorityOf.get(h) === p && isHealthy(h))) ?? levels[0];
    return this.allHosts.filter((h) => this.priorityOf.get(h) === level);
  }
}
