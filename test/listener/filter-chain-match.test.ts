// Table tests for filter-chain selection (Envoy's most-specific-match order) and ClientHello parsing from a real TLS client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { FilterChain, FilterChainMatch, ListenerConfig } from '../../src/model/types.ts';
import { selectFilterChain, chainSelectionNeedsPeek, type ConnectionFacts } from '../../src/listener/filter-chain-match.ts';
import { missingClientHelloBytes, parseClientHello } from '../../src/listener/client-hello.ts';

function chain(name: string, m: Partial<FilterChainMatch>, tlsOn = false): FilterChain {
  return {
    name,
    match: { destinationPort: null, serverNames: [], transportProtocol: null, applicationProtocols: [], prefixRanges: [], sourcePrefixRanges: [], ...m },
    tls: tlsOn ? { certificates: [], trustedCa: null, requireClientCertificate: false, alpnProtocols: [], minVersion: null, maxVersion: null, matchSubjectAltNames: [] } : null,
    network: { kind: 'tcp', statPrefix: name, cluster: 'c', weightedClusters: null, totalWeight: 0, idleTimeoutMs: 0, maxConnectAttempts: 1, accessLog: [] },
  };
}

function listener(chains: FilterChain[], def: FilterChain | null = null): ListenerConfig {
  return { name: 'l', address: { host: '0.0.0.0', port: 15001 }, filterChains: chains, defaultFilterChain: def, listenerFilters: [], perConnectionBufferLimitBytes: 1 << 20, accessLog: [] };
}

const facts = (f: Partial<ConnectionFacts>): ConnectionFacts => ({
  destinationPort: 8080, destinationIp: '10.0.0.5', sourceIp: '10.0.0.9', transportProtocol: 'raw_buffer', serverName: null, alpn: [], ...f,
});

const l = listener([
  chain('any', {}),
  chain('port-8080', { destinationPort: 8080 }),
  chain('port-8080-net', { destinationPort: 8080, prefixRanges: [{ addressPrefix: '10.0.0.0', prefixLen: 24 }] }),
  chain('sni-exact', { serverNames: ['api.example.com'], transportProtocol: 'tls' }, true),
  chain('sni-wild', { serverNames: ['*.example.com'], transportProtocol: 'tls' }, true),
  chain('h2-only', { destinationPort: 9000, applicationProtocols: ['h2'] }),
], chain('default', {}));

const cases: { name: string; f: Partial<ConnectionFacts>; want: string | null }[] = [
  { name: 'most specific: port plus destination prefix', f: {}, want: 'port-8080-net' },
  { name: 'port without the prefix', f: { destinationIp: '192.168.1.1' }, want: 'port-8080' },
  { name: 'no port match falls to the catch-all chain', f: { destinationPort: 7000 }, want: 'any' },
  { name: 'exact SNI beats wildcard', f: { destinationPort: 443, transportProtocol: 'tls', serverName: 'api.example.com' }, want: 'sni-exact' },
  { name: 'wildcard SNI', f: { destinationPort: 443, transportProtocol: 'tls', serverName: 'www.example.com' }, want: 'sni-wild' },
  { name: 'ALPN required and present', f: { destinationPort: 9000, alpn: ['h2'] }, want: 'h2-only' },
  // Envoy: port 9000 narrowed the set to h2-only; when its ALPN then fails there is no going back to any-port chains.
  { name: 'ALPN required and absent: no fallback to less specific chains, the default chain', f: { destinationPort: 9000, alpn: ['http/1.1'] }, want: 'default' },
  { name: 'IPv4-mapped IPv6 destination matches an IPv4 prefix', f: { destinationIp: '::ffff:10.0.0.7' }, want: 'port-8080-net' },
];

for (const c of cases) {
  test(`filter chain: ${c.name}`, () => {
    assert.equal(selectFilterChain(l, facts(c.f))?.name ?? null, c.want);
  });
}

test('filter chain: nothing matches and no default → null (connection closed)', () => {
  const only = listener([chain('p', { destinationPort: 1 })]);
  assert.equal(selectFilterChain(only, facts({})), null);
  assert.equal(selectFilterChain(listener([chain('p', { destinationPort: 1 })], chain('d', {})), facts({}))?.name, 'd');
});

test('a listener needs to read first bytes only when TLS/SNI/ALPN decide the chain', () => {
  assert.equal(chainSelectionNeedsPeek(listener([chain('a', {}), chain('b', { destinationPort: 1 })])), false);
  assert.equal(chainSelectionNeedsPeek(l), true);
  assert.equal(chainSelectionNeedsPeek(listener([chain('t', {}, true), chain('p', {})])), true);
});

test('ClientHello from a real TLS client: SNI and ALPN are read without terminating TLS', async () => {
  const first = await new Promise<Buffer>((resolve, reject) => {
    const server = net.createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (missingClientHelloBytes(buf) === 0) { s.destroy(); server.close(); resolve(buf); }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      const c = tls.connect({ port, host: '127.0.0.1', servername: 'orders.default.svc', ALPNProtocols: ['h2', 'http/1.1'] });
      c.on('error', () => undefined);
      setTimeout(() => reject(new Error('no ClientHello')), 10_000).unref();
    });
  });
  assert.deepEqual(parseClientHello(first), { serverName: 'orders.default.svc', alpn: ['h2', 'http/1.1'] });
});

test('ClientHello parsing: plaintext and truncated input', () => {
  assert.equal(missingClientHelloBytes(Buffer.from('GET / HTTP/1.1\r\n')), -1);
  assert.equal(missingClientHelloBytes(Buffer.from([0x16, 3, 1])), 2);
  assert.equal(missingClientHelloBytes(Buffer.from([0x16, 3, 1, 0, 10, 1])), 9);
  assert.equal(parseClientHello(Buffer.from([0x16, 3, 1, 0, 4, 2, 0, 0, 0])), null);
});

// Istio-style capture listener: one chain per endpoint address (/32) per port, service CIDRs, passthrough by port.
const capture = listener([
  chain('svc-a-8080', { destinationPort: 8080, prefixRanges: [{ addressPrefix: '10.96.0.10', prefixLen: 32 }] }),
  chain('svc-b-8080', { destinationPort: 8080, prefixRanges: [{ addressPrefix: '10.96.0.11', prefixLen: 32 }, { addressPrefix: '10.96.0.12', prefixLen: 32 }] }),
  chain('pods-8080', { destinationPort: 8080, prefixRanges: [{ addressPrefix: '10.244.1.77', prefixLen: 16 }] }),
  chain('pods-narrow-8080', { destinationPort: 8080, prefixRanges: [{ addressPrefix: '10.244.1.0', prefixLen: 24 }] }),
  chain('port-8080-rest', { destinationPort: 8080 }),
  chain('svc-a-any', { prefixRanges: [{ addressPrefix: '10.96.0.10', prefixLen: 32 }] }),
  chain('v6-host', { destinationPort: 8080, prefixRanges: [{ addressPrefix: 'fd00:0:0:0::10', prefixLen: 128 }] }),
  chain('v6-net', { destinationPort: 8080, prefixRanges: [{ addressPrefix: 'fd00::', prefixLen: 64 }] }),
  chain('tls-only-9443', { destinationPort: 9443, prefixRanges: [{ addressPrefix: '10.96.0.10', prefixLen: 32 }], transportProtocol: 'tls' }, true),
  chain('sni-long', { destinationPort: 443, serverNames: ['*.svc.cluster.local'] }),
  chain('sni-short', { destinationPort: 443, serverNames: ['*.local'] }),
  chain('sni-any-443', { destinationPort: 443 }),
  chain('alpn-h2', { destinationPort: 7000, applicationProtocols: ['h2'] }),
  chain('alpn-h1', { destinationPort: 7000, applicationProtocols: ['http/1.1', 'http/1.0'] }),
  chain('src-local', { destinationPort: 6000, sourcePrefixRanges: [{ addressPrefix: '127.0.0.0', prefixLen: 8 }] }),
  chain('src-pod', { destinationPort: 6000, sourcePrefixRanges: [{ addressPrefix: '10.0.0.9', prefixLen: 32 }] }),
], chain('passthrough', {}));

const captureCases: { name: string; f: Partial<ConnectionFacts>; want: string | null }[] = [
  { name: '/32 exact address on its port', f: { destinationIp: '10.96.0.10' }, want: 'svc-a-8080' },
  { name: 'second address of a chain with two /32s', f: { destinationIp: '10.96.0.12' }, want: 'svc-b-8080' },
  { name: 'longest prefix: /24 over /16 (host bits in the config ignored)', f: { destinationIp: '10.244.1.5' }, want: 'pods-narrow-8080' },
  { name: 'the /16 when the /24 does not contain the address', f: { destinationIp: '10.244.9.5' }, want: 'pods-8080' },
  { name: 'port chain without ranges for other addresses', f: { destinationIp: '192.0.2.1' }, want: 'port-8080-rest' },
  { name: 'same address on a port without port chains: the any-port chain', f: { destinationPort: 5000, destinationIp: '10.96.0.10' }, want: 'svc-a-any' },
  { name: 'IPv4-mapped /32', f: { destinationIp: '::ffff:10.96.0.11' }, want: 'svc-b-8080' },
  { name: 'IPv6 /128 (config text not canonical)', f: { destinationIp: 'fd00::10' }, want: 'v6-host' },
  { name: 'IPv6 /64', f: { destinationIp: 'fd00::99' }, want: 'v6-net' },
  { name: 'IPv6 outside every range: the port chain without ranges', f: { destinationIp: 'fe80::1' }, want: 'port-8080-rest' },
  { name: 'transport narrowed by address: plaintext gets the default chain, not an any-port chain', f: { destinationPort: 9443, destinationIp: '10.96.0.10' }, want: 'passthrough' },
  { name: 'transport matches', f: { destinationPort: 9443, destinationIp: '10.96.0.10', transportProtocol: 'tls' }, want: 'tls-only-9443' },
  { name: 'longest wildcard server name', f: { destinationPort: 443, serverName: 'api.ns.svc.cluster.local' }, want: 'sni-long' },
  { name: 'shorter wildcard server name', f: { destinationPort: 443, serverName: 'foo.local' }, want: 'sni-short' },
  { name: 'wildcard does not match the bare suffix', f: { destinationPort: 443, serverName: 'local' }, want: 'sni-any-443' },
  { name: 'no SNI: chains without server_names', f: { destinationPort: 443 }, want: 'sni-any-443' },
  { name: 'ALPN: the first client protocol some chain lists', f: { destinationPort: 7000, alpn: ['http/1.1', 'h2'] }, want: 'alpn-h1' },
  { name: 'ALPN: http/1.0 from http_inspector', f: { destinationPort: 7000, alpn: ['http/1.0'] }, want: 'alpn-h1' },
  { name: 'ALPN: nothing matches on a port whose chains all require ALPN', f: { destinationPort: 7000, alpn: [] }, want: 'passthrough' },
  { name: 'source /8', f: { destinationPort: 6000, sourceIp: '127.0.0.6' }, want: 'src-local' },
  { name: 'source /32', f: { destinationPort: 6000, sourceIp: '10.0.0.9' }, want: 'src-pod' },
  { name: 'source outside every range', f: { destinationPort: 6000, sourceIp: '10.0.0.8' }, want: 'passthrough' },
];

for (const c of captureCases) {
  test(`filter chain (capture listener): ${c.name}`, () => {
    assert.equal(selectFilterChain(capture, facts(c.f))?.name ?? null, c.want);
  });
}

/** Envoy's documented pruning, written naively (every chain, every level) to cross-check the index. */
function reference(lc: ListenerConfig, f: ConnectionFacts): string | null {
  const ipScore = (ranges: readonly { addressPrefix: string; prefixLen: number }[], ip: string): number => {
    if (ranges.length === 0) return 0;
    const v4 = ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
    let best = -1;
    for (const r of ranges) {
      const family = net.isIPv4(r.addressPrefix) ? 'ipv4' : 'ipv6';
      const list = new net.BlockList();
      list.addSubnet(r.addressPrefix, r.prefixLen, family);
      if ((family === 'ipv4' ? net.isIPv4(v4) : net.isIPv6(ip)) && list.check(family === 'ipv4' ? v4 : ip, family)) best = Math.max(best, r.prefixLen);
    }
    return best;
  };
  const prune = (cs: FilterChain[], score: (c: FilterChain) => number): FilterChain[] => {
    const scored = cs.map((c) => ({ c, s: score(c) })).filter((x) => x.s >= 0);
    const top = Math.max(-1, ...scored.map((x) => x.s));
    return scored.filter((x) => x.s === top).map((x) => x.c);
  };
  let cs = [...lc.filterChains];
  cs = prune(cs, (c) => (c.match.destinationPort === null ? 0 : c.match.destinationPort === f.destinationPort ? 1 : -1));
  cs = prune(cs, (c) => ipScore(c.match.prefixRanges, f.destinationIp));
  cs = prune(cs, (c) => {
    const names = c.match.serverNames;
    if (names.length === 0) return 0;
    if (f.serverName === null) return -1;
    if (names.includes(f.serverName)) return 10_000;
    return Math.max(-1, ...names.filter((n) => n.startsWith('*.') && f.serverName!.length > n.length - 1 && f.serverName!.endsWith(n.slice(1))).map((n) => n.length));
  });
  cs = prune(cs, (c) => (c.match.transportProtocol === null ? 0 : c.match.transportProtocol === f.transportProtocol ? 1 : -1));
  const firstListed = f.alpn.find((p) => cs.some((c) => c.match.applicationProtocols.includes(p)));
  cs = prune(cs, (c) => (c.match.applicationProtocols.length === 0 ? 0 : firstListed !== undefined && c.match.applicationProtocols.includes(firstListed) ? 1 : -1));
  cs = prune(cs, (c) => ipScore(c.match.sourcePrefixRanges, f.sourceIp));
  return (cs[0] ?? lc.defaultFilterChain)?.name ?? null;
}

test('filter chain index agrees with a naive reading of Envoy\'s rules on random listeners', () => {
  let seed = 42;
  const rnd = (n: number): number => { seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31; return seed % n; };
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)];
  const some = <T>(xs: readonly T[]): T[] => xs.filter(() => rnd(3) === 0);
  const ranges = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32', '10.1.2.4/32', '0.0.0.0/0', 'fd00::/8', 'fd00::1/128', 'fd00::/64']
    .map((r) => ({ addressPrefix: r.split('/')[0], prefixLen: Number(r.split('/')[1]) }));
  const names = ['a.example.com', '*.example.com', '*.com', 'b.example.org'];
  const alpns = ['h2', 'http/1.1', 'http/1.0', 'h2c'];
  const ips = ['10.1.2.3', '10.1.2.4', '10.1.2.9', '10.1.9.9', '10.9.9.9', '192.0.2.1', '::ffff:10.1.2.3', 'fd00::1', 'fd00::2', 'fd00:1::5', '2001:db8::1'];
  for (let round = 0; round < 300; round++) {
    const chains: FilterChain[] = [];
    for (let i = 0, n = 1 + rnd(12); i < n; i++) {
      chains.push(chain(`c${i}`, {
        destinationPort: pick([null, null, 80, 8080]),
        prefixRanges: some(ranges),
        serverNames: rnd(3) === 0 ? some(names) : [],
        transportProtocol: pick([null, null, 'tls', 'raw_buffer']),
        applicationProtocols: rnd(3) === 0 ? some(alpns) : [],
        sourcePrefixRanges: rnd(4) === 0 ? some(ranges) : [],
      }));
    }
    const lc = listener(chains, rnd(2) === 0 ? chain('default', {}) : null);
    for (let k = 0; k < 20; k++) {
      const f = facts({
        destinationPort: pick([80, 8080, 9000]), destinationIp: pick(ips), sourceIp: pick(ips),
        transportProtocol: pick(['tls', 'raw_buffer'] as const), serverName: pick([null, 'a.example.com', 'x.a.example.com', 'b.example.org', 'example.com']),
        alpn: some(alpns),
      });
      assert.equal(selectFilterChain(lc, f)?.name ?? null, reference(lc, f), `round ${round}, facts ${JSON.stringify(f)}, chains ${JSON.stringify(chains.map((c) => c.match))}`);
    }
  }
});
