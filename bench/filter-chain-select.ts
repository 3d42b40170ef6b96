// Per-connection filter-chain selection time on an Istio-style capture listener (one /32 chain per endpoint per port).
//
//   node bench/filter-chain-select.ts [--compare path/to/other/filter-chain-match.ts]
//
// Prints µs per selection for 60, 600 and 1,500 chains (plus the listener's build time for the index). `--compare`
// loads another implementation exporting selectFilterChain(listener, facts) (e.g. an older revision, saved with
// `git show <rev>:src/listener/filter-chain-match.ts > /tmp/old.ts`) and measures it on the same listeners.
import { isIPv4 } from 'node:net';
import type { FilterChain, ListenerConfig } from '../src/model/types.ts';
import { filterChainIndex, selectFilterChain, type ConnectionFacts } from '../src/listener/filter-chain-match.ts';

type Select = (l: ListenerConfig, f: ConnectionFacts) => FilterChain | null;

function tcpChain(name: string, port: number | null, address: string | null): FilterChain {
  return {
    name,
    match: {
      destinationPort: port, serverNames: [], transportProtocol: null, applicationProtocols: [],
      prefixRanges: address === null ? [] : [{ addressPrefix: address, prefixLen: isIPv4(address) ? 32 : 128 }], sourcePrefixRanges: [],
    },
    tls: null,
    network: { kind: 'tcp', statPrefix: name, cluster: name, weightedClusters: null, totalWeight: 0, idleTimeoutMs: 0, maxConnectAttempts: 1, accessLog: [] },
  };
}

/** `chains` chains over 6 ports, each the /32 of one endpoint (10.x.y.z), as virtualOutbound carries them. */
function captureListener(chains: number): { listener: ListenerConfig; targets: { port: number; ip: string }[] } {
  const ports = [80, 443, 5432, 6379, 8080, 9090];
  const filterChains: FilterChain[] = [];
  const targets: { port: number; ip: string }[] = [];
  for (let i = 0; i < chains; i++) {
    const port = ports[i % ports.length];
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    filterChains.push(tcpChain(`outbound|${port}||${ip}`, port, ip));
    targets.push({ port, ip });
  }
  const listener: ListenerConfig = {
    name: 'virtualOutbound', address: { host: '0.0.0.0', port: 15001 }, filterChains,
    defaultFilterChain: tcpChain('PassthroughCluster', null, null), listenerFilters: [], perConnectionBufferLimitBytes: 1 << 20, accessLog: [],
  };
  return { listener, targets };
}

function measure(select: Select, listener: ListenerConfig, targets: { port: number; ip: string }[]): number {
  // Connection facts prepared up front; every third one misses (goes to the default chain).
  const facts: ConnectionFacts[] = targets.map((t, i) => ({
    destinationPort: t.port, destinationIp: i % 3 === 0 ? '192.0.2.7' : t.ip, sourceIp: '10.244.0.5',
    transportProtocol: 'raw_buffer', serverName: null, alpn: [],
  }));
  let sink = 0;
  for (let i = 0; i < 2_000; i++) sink += select(listener, facts[i % facts.length]) === null ? 0 : 1; // warm-up
  const budgetNs = 300_000_000n;
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < budgetNs) {
    for (let i = 0; i < 200; i++, n++) sink += select(listener, facts[n % facts.length]) === null ? 0 : 1;
    elapsed = process.hrtime.bigint() - start;
  }
  if (sink < 0) console.log(sink);
  return Number(elapsed) / n / 1_000;
}

const compareAt = process.argv.indexOf('--compare');
const other: Select | null = compareAt > 0 ? ((await import(process.argv[compareAt + 1])) as { selectFilterChain: Select }).selectFilterChain : null;

console.log('| chains | index build (ms) | this (µs/selection) |' + (other ? ' --compare (µs/selection) |' : ''));
console.log('|---|---|---|' + (other ? '---|' : ''));
for (const n of [60, 600, 1_500]) {
  const { listener, targets } = captureListener(n);
  const t0 = performance.now();
  filterChainIndex(listener);
  const buildMs = performance.now() - t0;
  const ours = measure(selectFilterChain, listener, targets);
  const theirs = other ? measure(other, listener, targets) : null;
  console.log(`| ${n} | ${buildMs.toFixed(2)} | ${ours.toFixed(3)} |` + (theirs !== null ? ` ${theirs.toFixed(1)} |` : ''));
}
