// Chooses a listener's filter chain for a connection by Envoy's filter_chain_match rules, most specific first.
import { BlockList, isIPv6 } from 'node:net';
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

/** One BlockList per prefix length, built once per range list (ranges come from frozen config, so cache by identity). */
const compiledRanges = new WeakMap<readonly CidrRange[], { prefixLen: number; list: BlockList }[]>();

function compileRanges(ranges: readonly CidrRange[]): { prefixLen: number; list: BlockList }[] {
  let out = compiledRanges.get(ranges);
  if (out !== undefined) return out;
  out = [];
  for (const r of ranges) {
    const list = new BlockList();
    try { list.addSubnet(r.addressPrefix, r.prefixLen, isIPv6(r.addressPrefix) ? 'ipv6' : 'ipv4'); } catch { continue; }
    out.push({ prefixLen: r.prefixLen, list });
  }
  compiledRanges.set(ranges, out);
  return out;
}

/** Returns the longest matching prefix length, or -1. */
function inRanges(ip: string, ranges: readonly CidrRange[]): number {
  let best = -1;
  const mapped = ip.startsWith('::ffff:');
  const addr = mapped ? ip.slice(7) : ip;
  const family = mapped || !isIPv6(ip) ? 'ipv4' : 'ipv6';
  for (const r of compileRanges(ranges)) {
    if (r.prefixLen > best && r.list.check(addr, family)) best = r.prefixLen;
  }
  return best;
}

function serverNameScore(names: readonly string[], sni: string | null): number {
  if (names.length === 0) return 0;
  if (sni === null) return -1;
  let best = -1;
  for (const n of names) {
    if (n === sni) return 1_000;
    if (n.startsWith('*.') && sni.endsWith(n.slice(1)) && n.length > best) best = n.length;
  }
  return best;
}

/** Returns the best matching chain, the default chain, or null (the connection is closed). */
export function selectFilterChain(l: ListenerConfig, f: ConnectionFacts): FilterChain | null {
  let best: FilterChain | null = null;
  let bestScore: number[] | null = null;
  for (const chain of l.filterChains) {
    const m = chain.match;
    if (m.destinationPort !== null && m.destinationPort !== f.destinationPort) continue;
    const dst = m.prefixRanges.length === 0 ? 0 : inRanges(f.destinationIp, m.prefixRanges);
    if (dst < 0) continue;
    const sn = serverNameScore(m.serverNames, f.serverName);
    if (sn < 0) continue;
    if (m.transportProtocol !== null && m.transportProtocol !== f.transportProtocol) continue;
    if (m.applicationProtocols.length > 0 && !m.applicationProtocols.some((p) => f.alpn.includes(p))) continue;
    const src = m.sourcePrefixRanges.length === 0 ? 0 : inRanges(f.sourceIp, m.sourcePrefixRanges);
    if (src < 0) continue;
    const score = [m.destinationPort !== null ? 1 : 0, m.prefixRanges.length ? dst + 1 : 0, sn, m.transportProtocol !== null ? 1 : 0,
      m.applicationProtocols.length ? 1 : 0, m.sourcePrefixRanges.length ? src + 1 : 0];
    if (bestScore === null || compare(score, bestScore) > 0) { best = chain; bestScore = score; }
  }
  return best ?? l.defaultFilterChain;
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
