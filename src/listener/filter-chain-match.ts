// Chooses a listener's filter chain by Envoy's filter_chain_match rules, through an index compiled once per listener config.
//
// Envoy prunes the chains level by level, in this order: destination port, destination IP, server name, transport
// protocol, application protocols, (direct source IP, source type: only "any" is accepted by the config,) source IP,
// (source ports: rejected by the config). At each level the most specific value that matches the connection wins
// (an exact port over "any port"; the longest destination prefix, chains without prefix_ranges counting as /0; an exact
// server name over the longest wildcard over none; ...) and only the chains holding that value go on to the next level.
// There is no going back: when a level narrowed the set and a later level matches nothing, the default chain is used.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { CidrRange, FilterChain, ListenerConfig } from '../model/types.ts';

export interface ConnectionFacts {
  readonly destinationPort: number;
  readonly destinationIp: string;
  readonly sourceIp: string;
  readonly transportProtocol: 'tls' | 'raw_buffer';
  readonly serverName: string | null;
  readonly alpn: readonly string[];
}

/** True when choosing a chain needs facts only the first bytes give (TLS or not, SNI, ALPN). */
export function chainSelectionNeedsPeek(l: ListenerConfig): boolean {
  const chains = l.defaultFilterChain ? [...l.filterChains, l.defaultFilterChain] : l.filterChains;
  const tlsKinds = new Set(chains.map((c) => c.tls !== null));
  if (tlsKinds.size > 1) return true;
  return chains.some((c) => c.match.serverNames.length > 0 || c.match.transportProtocol !== null || c.match.applicationProtocols.length > 0);
}

/** One level of the index: the chains (or next level) by an IP address's longest matching prefix. */
interface IpLevel<T> {
  /** /32 ranges by dotted address. */
  readonly v4Exact: Map<string, T>;
  /** Shorter IPv4 ranges, longest first: the network (address >>> shift) → next. */
  readonly v4Prefixes: readonly { readonly shift: number; readonly byNetwork: Map<number, T> }[];
  /** /128 ranges by canonical text (as Node prints addresses). */
  readonly v6Exact: Map<string, T>;
  /** Shorter IPv6 ranges, longest first. */
  readonly v6Prefixes: readonly { readonly list: BlockList; readonly next: T }[];
  /** Chains without ranges, and IPv4 /0 ranges. */
  readonly v4Any: T | null;
  /** Chains without ranges, and IPv6 /0 ranges. */
  readonly v6Any: T | null;
}

interface ValueLevel<T> {
  readonly exact: Map<string, T>;
  readonly any: T | null;
}

interface ServerNameLevel<T> extends ValueLevel<T> {
  /** "*.example.com" as ".example.com", longest first. */
  readonly wildcards: readonly { readonly suffix: string; readonly next: T }[];
}

type SourceLevel = IpLevel<FilterChain>;
type AlpnLevel = ValueLevel<SourceLevel>;
type TransportLevel = ValueLevel<AlpnLevel>;
type SniLevel = ServerNameLevel<TransportLevel>;
type DestinationLevel = IpLevel<SniLevel>;

/** A listener's filter chains compiled for selection; build once per config with filterChainIndex(). */
export class FilterChainIndex {
  readonly #byPort: Map<number, DestinationLevel>;
  readonly #anyPort: DestinationLevel | null;
  readonly #default: FilterChain | null;

  constructor(l: ListenerConfig) {
    this.#default = l.defaultFilterChain;
    const byPort = new Map<number, FilterChain[]>();
    const anyPort: FilterChain[] = [];
    for (const c of l.filterChains) {
      const p = c.match.destinationPort;
      if (p === null) { anyPort.push(c); continue; }
      let list = byPort.get(p);
      if (list === undefined) byPort.set(p, (list = []));
      list.push(c);
    }
    this.#byPort = new Map();
    for (const [port, chains] of byPort) this.#byPort.set(port, buildDestination(chains));
    this.#anyPort = anyPort.length > 0 ? buildDestination(anyPort) : null;
  }

  /** The chain for a connection: the single survivor of Envoy's pruning, else the default chain, else null (close). */
  select(f: ConnectionFacts): FilterChain | null {
    const dst = this.#byPort.get(f.destinationPort) ?? this.#anyPort;
    if (dst === null) return this.#default;
    const sni = lookupIp(dst, f.destinationIp);
    if (sni === null) return this.#default;
    const transport = lookupServerName(sni, f.serverName);
    if (transport === null) return this.#default;
    const alpn = transport.exact.get(f.transportProtocol) ?? transport.any;
    if (alpn === null) return this.#default;
    let source: SourceLevel | null = null;
    for (let i = 0; i < f.alpn.length && source === null; i++) source = alpn.exact.get(f.alpn[i]) ?? null;
    source ??= alpn.any;
    if (source === null) return this.#default;
    return lookupIp(source, f.sourceIp) ?? this.#default;
  }
}

const indexes = new WeakMap<ListenerConfig, FilterChainIndex>();

/** The index of a listener config (compiled on first use; configs are immutable, so it is cached by identity). */
export function filterChainIndex(l: ListenerConfig): FilterChainIndex {
  let index = indexes.get(l);
  if (index === undefined) indexes.set(l, (index = new FilterChainIndex(l)));
  return index;
}

/** Returns the matching chain, the default chain, or null (the connection is closed). */
export function selectFilterChain(l: ListenerConfig, f: ConnectionFacts): FilterChain | null {
  return filterChainIndex(l).select(f);
}

// ---- building ----

function buildDestination(chains: readonly FilterChain[]): DestinationLevel {
  return buildIpLevel(chains, (c) => c.match.prefixRanges, buildServerNames);
}

function buildServerNames(chains: readonly FilterChain[]): SniLevel {
  const exact = new Map<string, FilterChain[]>();
  const wild = new Map<string, FilterChain[]>();
  const any: FilterChain[] = [];
  for (const c of chains) {
    if (c.match.serverNames.length === 0) { any.push(c); continue; }
    for (const n of new Set(c.match.serverNames)) {
      if (n.startsWith('*.')) push(wild, n.slice(1), c);
      else push(exact, n, c);
    }
  }
  const wildcards = [...wild].sort((a, b) => b[0].length - a[0].length).map(([suffix, cs]) => ({ suffix, next: buildTransport(cs) }));
  return { exact: mapValues(exact, buildTransport), wildcards, any: any.length > 0 ? buildTransport(any) : null };
}

function buildTransport(chains: readonly FilterChain[]): TransportLevel {
  const exact = new Map<string, FilterChain[]>();
  const any: FilterChain[] = [];
  for (const c of chains) {
    if (c.match.transportProtocol === null) any.push(c);
    else push(exact, c.match.transportProtocol, c);
  }
  return { exact: mapValues(exact, buildAlpn), any: any.length > 0 ? buildAlpn(any) : null };
}

function buildAlpn(chains: readonly FilterChain[]): AlpnLevel {
  const exact = new Map<string, FilterChain[]>();
  const any: FilterChain[] = [];
  for (const c of chains) {
    if (c.match.applicationProtocols.length === 0) { any.push(c); continue; }
    for (const p of new Set(c.match.applicationProtocols)) push(exact, p, c);
  }
  return { exact: mapValues(exact, buildSource), any: any.length > 0 ? buildSource(any) : null };
}

function buildSource(chains: readonly FilterChain[]): SourceLevel {
  // The last level: chains still tied here have identical matches (Envoy rejects that config); the first one wins.
  return buildIpLevel(chains, (c) => c.match.sourcePrefixRanges, (cs) => cs[0]);
}

function buildIpLevel<T>(chains: readonly FilterChain[], rangesOf: (c: FilterChain) => readonly CidrRange[], next: (cs: FilterChain[]) => T): IpLevel<T> {
  const v4Exact = new Map<string, FilterChain[]>();
  const v4ByLen = new Map<number, Map<number, FilterChain[]>>();
  const v6Exact = new Map<string, FilterChain[]>();
  const v6ByPrefix = new Map<string, { len: number; address: string; chains: FilterChain[] }>();
  // Chains without ranges match every address, like 0.0.0.0/0 and ::/0 (Envoy gives them both).
  const v4Any: FilterChain[] = [];
  const v6Any: FilterChain[] = [];
  let zeroRanges = false;
  for (const c of chains) {
    const ranges = rangesOf(c);
    if (ranges.length === 0) { v4Any.push(c); v6Any.push(c); continue; }
    const seen = new Set<string>();
    for (const r of ranges) {
      const key = rangeKey(r);
      if (key === null || seen.has(key.text)) continue;
      seen.add(key.text);
      if (key.len === 0) { zeroRanges = true; (key.v4 !== null ? v4Any : v6Any).push(c); }
      else if (key.v4 !== null && key.len === 32) push(v4Exact, key.address, c);
      else if (key.v4 !== null) {
        let byNet = v4ByLen.get(key.len);
        if (byNet === undefined) v4ByLen.set(key.len, (byNet = new Map()));
        const network = key.v4 >>> (32 - key.len);
        const list = byNet.get(network);
        if (list === undefined) byNet.set(network, [c]); else list.push(c);
      } else if (key.len === 128) push(v6Exact, key.address, c);
      else {
        let g = v6ByPrefix.get(key.text);
        if (g === undefined) v6ByPrefix.set(key.text, (g = { len: key.len, address: key.address, chains: [] }));
        g.chains.push(c);
      }
    }
  }
  const v4Prefixes = [...v4ByLen].sort((a, b) => b[0] - a[0]).map(([len, byNet]) => ({ shift: 32 - len, byNetwork: mapValues(byNet, next) }));
  const v6Prefixes = [...v6ByPrefix.values()].sort((a, b) => b.len - a.len).map((g) => {
    const list = new BlockList();
    list.addSubnet(g.address, g.len, 'ipv6');
    return { list, next: next(g.chains) };
  });
  const anyV4 = v4Any.length > 0 ? next(v4Any) : null;
  const anyV6 = !zeroRanges ? anyV4 : v6Any.length > 0 ? next(v6Any) : null;
  return { v4Exact: mapValues(v4Exact, next), v4Prefixes, v6Exact: mapValues(v6Exact, next), v6Prefixes, v4Any: anyV4, v6Any: anyV6 };
}

/** A range normalised: IPv4 as a number (host bits cleared), IPv6 in canonical text; null when it does not parse. */
function rangeKey(r: CidrRange): { text: string; address: string; len: number; v4: number | null } | null {
  if (isIPv4(r.addressPrefix)) {
    const len = Math.max(0, Math.min(32, r.prefixLen));
    const ip = parseIpv4(r.addressPrefix, 0);
    const masked = len === 0 ? 0 : ((ip >>> (32 - len)) << (32 - len)) >>> 0;
    const address = `${masked >>> 24}.${(masked >>> 16) & 255}.${(masked >>> 8) & 255}.${masked & 255}`;
    return { text: `${address}/${len}`, address, len, v4: masked };
  }
  if (!isIPv6(r.addressPrefix)) return null;
  const len = Math.max(0, Math.min(128, r.prefixLen));
  // The URL parser prints IPv6 canonically (lowercase, longest zero run compressed), as Node prints socket addresses.
  const address = new URL(`http://[${r.addressPrefix}]/`).hostname.slice(1, -1);
  return { text: `${address}/${len}`, address, len, v4: null };
}

function push<K>(m: Map<K, FilterChain[]>, k: K, c: FilterChain): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [c]);
  else list.push(c);
}

function mapValues<K, T>(m: Map<K, FilterChain[]>, f: (cs: FilterChain[]) => T): Map<K, T> {
  const out = new Map<K, T>();
  for (const [k, v] of m) out.set(k, f(v));
  return out;
}

// ---- lookup (per connection: no allocation except for IPv4-mapped IPv6 addresses) ----

function lookupIp<T>(lv: IpLevel<T>, ip: string): T | null {
  let v4 = ip;
  let from = 0;
  if (ip.includes(':')) {
    if (!ip.startsWith('::ffff:') || !ip.includes('.', 7)) return lookupIpv6(lv, ip);
    from = 7;
    if (lv.v4Exact.size > 0) v4 = ip.slice(7);
  }
  if (lv.v4Exact.size > 0) {
    const hit = lv.v4Exact.get(v4);
    if (hit !== undefined) return hit;
  }
  if (lv.v4Prefixes.length > 0) {
    const n = parseIpv4(ip, from);
    if (n >= 0) {
      for (const p of lv.v4Prefixes) {
        const hit = p.byNetwork.get(n >>> p.shift);
        if (hit !== undefined) return hit;
      }
    }
  }
  return lv.v4Any;
}

function lookupIpv6<T>(lv: IpLevel<T>, ip: string): T | null {
  const hit = lv.v6Exact.get(ip);
  if (hit !== undefined) return hit;
  for (const p of lv.v6Prefixes) if (p.list.check(ip, 'ipv6')) return p.next;
  return lv.v6Any;
}

function lookupServerName<T>(lv: ServerNameLevel<T>, sni: string | null): T | null {
  if (sni === null || sni === '') return lv.any;
  const hit = lv.exact.get(sni);
  if (hit !== undefined) return hit;
  for (const w of lv.wildcards) if (sni.length > w.suffix.length && sni.endsWith(w.suffix)) return w.next;
  return lv.any;
}

/** Dotted IPv4 text from `from` as an unsigned number, or -1. */
function parseIpv4(s: string, from: number): number {
  let value = 0;
  let part = -1;
  let dots = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (part < 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = -1;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part < 0 ? c - 48 : part * 10 + (c - 48);
      if (part > 255) return -1;
    } else return -1;
  }
  if (part < 0 || dots !== 3) return -1;
  return value * 256 + part;
}
