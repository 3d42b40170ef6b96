// ORIGINAL_DST cluster hosts: one Host per original destination, created on demand and removed after cleanup_interval unused.
import { isIP } from 'node:net';
import type { OriginalDstClusterConfig } from '../model/types.ts';
import { createHost, hostKey } from './host-set.ts';
import type { Host, LbContext } from './types.ts';

export const DEFAULT_ORIGINAL_DST: OriginalDstClusterConfig = {
  useHttpHeader: false,
  httpHeaderName: 'x-envoy-original-dst-host',
  upstreamPortOverride: null,
  cleanupIntervalMs: 5000,
};

/** "ip:port" or "[ipv6]:port" as Envoy's parseInternetAddressAndPort accepts it; null when invalid. */
export function parseHostPort(value: string): { address: string; port: number } | null {
  let address: string;
  let portText: string;
  if (value.startsWith('[')) {
    const close = value.indexOf(']:');
    if (close < 0) return null;
    address = value.slice(1, close);
    portText = value.slice(close + 2);
    if (isIP(address) !== 6) return null;
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) return null;
    address = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (isIP(address) !== 4) return null;
  }
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  return port <= 65535 ? { address, port } : null;
}

export interface OriginalDstHostsOptions {
  /** A host was removed (its pool should be closed). */
  readonly onRemoved: (host: Host) => void;
  /** The override header held something other than ip:port (Envoy's original_dst_host_invalid). */
  readonly onInvalidHeader: (value: string) => void;
}

export class OriginalDstHosts {
  #config: OriginalDstClusterConfig = DEFAULT_ORIGINAL_DST;
  readonly #opts: OriginalDstHostsOptions;
  readonly #byKey = new Map<string, Host>();
  /** Hosts chosen since the last sweep. */
  readonly #used = new Set<Host>();
  #list: readonly Host[] = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(opts: OriginalDstHostsOptions) {
    this.#opts = opts;
  }

  configure(config: OriginalDstClusterConfig): void {
    const intervalChanged = config.cleanupIntervalMs !== this.#config.cleanupIntervalMs;
    this.#config = config;
    if (intervalChanged && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
      this.#schedule();
    }
  }

  all(): readonly Host[] {
    return this.#list;
  }

  has(host: Host): boolean {
    return this.#byKey.get(host.key) === host;
  }

  /**
   * The host for this connection or request: the override header when enabled and valid, else the connection's
   * restored local address; null when there is neither (Envoy answers 503 no healthy upstream).
   */
  choose(ctx: LbContext): Host | null {
    const cfg = this.#config;
    let dst: { address: string; port: number } | null = null;
    if (cfg.useHttpHeader && ctx.headers) {
      const raw = ctx.headers[cfg.httpHeaderName];
      const value = Array.isArray(raw) ? raw[0] : raw;
      if (value !== undefined) {
        dst = parseHostPort(value.trim());
        if (dst === null) this.#opts.onInvalidHeader(value);
      }
    }
    const od = ctx.originalDst;
    if (dst === null && od && od.localAddressRestored === true) dst = { address: od.localAddress, port: od.localPort };
    if (dst === null) return null;
    const port = cfg.upstreamPortOverride ?? dst.port;
    const key = hostKey(dst.address, port);
    let host = this.#byKey.get(key);
    if (host === undefined) {
      host = createHost({ address: dst.address, port, hostname: null, weight: 1, health: 'HEALTHY', priority: 0 });
      this.#byKey.set(key, host);
      this.#list = [...this.#byKey.values()];
      this.#schedule();
    }
    this.#used.add(host);
    return host;
  }

  /** Removes every host (cluster removed or no longer ORIGINAL_DST). */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    const hosts = this.#list;
    this.#byKey.clear();
    this.#used.clear();
    this.#list = [];
    for (const h of hosts) this.#opts.onRemoved(h);
  }

  #schedule(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => this.#sweep(), this.#config.cleanupIntervalMs);
    this.#timer.unref();
  }

  /** Envoy's cleanup: hosts not chosen since the previous sweep (and with nothing in flight) are removed. */
  #sweep(): void {
    const removed: Host[] = [];
    for (const [key, host] of this.#byKey) {
      if (this.#used.has(host) || host.activeRequests > 0) continue;
      this.#byKey.delete(key);
      removed.push(host);
    }
    this.#used.clear();
    if (removed.length > 0) this.#list = [...this.#byKey.values()];
    if (this.#byKey.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
    for (const h of removed) this.#opts.onRemoved(h);
  }
}
