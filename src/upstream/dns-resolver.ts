// Resolves STRICT_DNS / LOGICAL_DNS endpoint hostnames into host specs, re-resolving every dns_refresh_rate.
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { ClusterConfig, EndpointConfig } from '../model/types.ts';
import type { HostSpec } from './host-set.ts';

export type LookupAddress = { address: string; family: number };
export type LookupFn = (hostname: string, options: { all: true; family: 0 | 4 | 6 }) => Promise<LookupAddress[]>;

export interface DnsResolverOptions {
  readonly config: ClusterConfig;
  /** Called after every resolution round with the full host list (previous addresses kept for failed names). */
  readonly onHosts: (specs: HostSpec[]) => void;
  readonly logger?: { warn(obj: object, msg?: string): void };
  /** Injectable for tests; defaults to dns.promises.lookup (honours /etc/hosts). */
  readonly lookup?: LookupFn;
}

interface Target {
  readonly endpoint: EndpointConfig;
  readonly priority: number;
  /** Last successful addresses; kept when a later lookup fails. */
  addresses: string[] | null;
}

const defaultLookup: LookupFn = (hostname, options) => dns.lookup(hostname, options);

/** Applies dns_lookup_family to the addresses of one lookup. */
export function selectFamily(family: ClusterConfig['dnsLookupFamily'], all: readonly LookupAddress[]): string[] {
  const v4 = all.filter((a) => a.family === 4).map((a) => a.address);
  const v6 = all.filter((a) => a.family === 6).map((a) => a.address);
  switch (family) {
    case 'V4_ONLY': return v4;
    case 'V6_ONLY': return v6;
    case 'AUTO': return v6.length > 0 ? v6 : v4;
    case 'V4_PREFERRED': return v4.length > 0 ? v4 : v6;
    case 'ALL': return all.map((a) => a.address);
  }
}

/** Periodic resolver for one DNS cluster. LOGICAL_DNS keeps only the first address of the first endpoint. */
export class DnsResolver {
  private readonly config: ClusterConfig;
  private readonly onHosts: (specs: HostSpec[]) => void;
  private readonly logger: DnsResolverOptions['logger'];
  private readonly lookup: LookupFn;
  private readonly targets: Target[] = [];
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private running: Promise<void> | null = null;
  private firstRound: Promise<void> | null = null;

  constructor(opts: DnsResolverOptions) {
    this.config = opts.config;
    this.onHosts = opts.onHosts;
    this.logger = opts.logger;
    this.lookup = opts.lookup ?? defaultLookup;
    for (const locality of opts.config.loadAssignment?.endpoints ?? []) {
      for (const endpoint of locality.lbEndpoints) this.targets.push({ endpoint, priority: locality.priority, addresses: null });
    }
    if (opts.config.type === 'LOGICAL_DNS') this.targets.splice(1);
  }

  /** Starts resolving now and then every dns_refresh_rate; returns the first round. */
  start(): Promise<void> {
    this.firstRound ??= this.resolveNow();
    return this.firstRound;
  }

  /** Resolves once (joins a round already in progress). */
  resolveNow(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.round().finally(() => {
      this.running = null;
      this.schedule();
    });
    return this.running;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.resolveNow();
    }, Math.max(1, this.config.dnsRefreshRateMs));
    this.timer.unref();
  }

  private async round(): Promise<void> {
    await Promise.all(this.targets.map((t) => this.resolveTarget(t)));
    if (this.stopped) return;
    this.onHosts(this.specs());
  }

  private async resolveTarget(t: Target): Promise<void> {
    const name = t.endpoint.address.host;
    if (isIP(name)) {
      t.addresses = [name];
      return;
    }
    const family = this.config.dnsLookupFamily;
    try {
      const found = await this.lookup(name, { all: true, family: family === 'V4_ONLY' ? 4 : family === 'V6_ONLY' ? 6 : 0 });
      const addresses = selectFamily(family, found);
      if (addresses.length === 0) throw new Error(`no ${family} address`);
      t.addresses = addresses;
    } catch (err) {
      this.logger?.warn({ err, cluster: this.config.name, hostname: name }, 'DNS resolution failed; keeping previous hosts');
    }
  }

  private specs(): HostSpec[] {
    const specs: HostSpec[] = [];
    for (const t of this.targets) {
      const addresses = t.addresses ?? [];
      const used = this.config.type === 'LOGICAL_DNS' ? addresses.slice(0, 1) : addresses;
      for (const address of used) {
        specs.push({
          address,
          port: t.endpoint.address.port,
          hostname: t.endpoint.hostname ?? (isIP(t.endpoint.address.host) ? null : t.endpoint.address.host),
          weight: t.endpoint.weight,
          health: t.endpoint.healthStatus,
          priority: t.priority,
        });
      }
    }
    return specs;
  }
}
