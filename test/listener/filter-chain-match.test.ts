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
  { name: 'ALPN required and absent', f: { destinationPort: 9000, alpn: ['http/1.1'] }, want: 'any' },
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
