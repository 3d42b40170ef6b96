// DNS resolver tests: real resolution of "localhost", family selection, failures keeping hosts, LOGICAL_DNS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DnsResolver, selectFamily, type LookupFn } from '../../src/upstream/dns-resolver.ts';
import type { HostSpec } from '../../src/upstream/host-set.ts';
import { clusterConfig } from './fixtures.ts';

test('STRICT_DNS resolves "localhost" through the system resolver', async () => {
  const seen: HostSpec[][] = [];
  const config = clusterConfig('dns', [{ host: 'localhost', port: 9000 }], { type: 'STRICT_DNS', dnsLookupFamily: 'V4_ONLY' });
  const r = new DnsResolver({ config, onHosts: (s) => seen.push(s) });
  await r.start();
  r.stop();
  assert.equal(seen.length, 1);
  assert.ok(seen[0].some((s) => s.address === '127.0.0.1' && s.port === 9000 && s.hostname === 'localhost'));
});

test('dns_lookup_family picks addresses', () => {
  const both = [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }];
  assert.deepEqual(selectFamily('AUTO', both), ['::1']);
  assert.deepEqual(selectFamily('V4_PREFERRED', both), ['127.0.0.1']);
  assert.deepEqual(selectFamily('ALL', both), ['::1', '127.0.0.1']);
  assert.deepEqual(selectFamily('AUTO', both.slice(1)), ['127.0.0.1']);
  assert.deepEqual(selectFamily('V6_ONLY', both.slice(1)), []);
});

test('every address becomes a host; a failed lookup keeps the previous ones; re-resolves on the refresh timer', async () => {
  let answers: Record<string, string[] | Error> = { 'a.test': ['10.0.0.1', '10.0.0.2'], 'b.test': ['10.0.0.9'] };
  let calls = 0;
  const lookup: LookupFn = async (name) => {
    calls++;
    const a = answers[name];
    if (a instanceof Error) throw a;
    return a.map((address) => ({ address, family: 4 }));
  };
  const config = clusterConfig('dns', [{ host: 'a.test', port: 80 }, { host: 'b.test', port: 81 }], {
    type: 'STRICT_DNS', dnsLookupFamily: 'V4_ONLY', dnsRefreshRateMs: 5,
  });
  const rounds: string[][] = [];
  let notify: (() => void) | null = null;
  const r = new DnsResolver({
    config, lookup,
    onHosts: (s) => {
      rounds.push(s.map((x) => `${x.address}:${x.port}`));
      notify?.();
    },
    logger: { warn: () => {} },
  });
  await r.start();
  assert.deepEqual(rounds[0], ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.9:81']);
  answers = { 'a.test': new Error('SERVFAIL'), 'b.test': ['10.0.0.8'] };
  await new Promise<void>((resolve) => (notify = resolve));
  r.stop();
  assert.deepEqual(rounds.at(-1), ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.8:81']);
  assert.ok(calls >= 4);
});

test('LOGICAL_DNS keeps only the first address', async () => {
  const lookup: LookupFn = async () => [{ address: '10.0.0.1', family: 4 }, { address: '10.0.0.2', family: 4 }];
  const config = clusterConfig('l', [{ host: 'x.test', port: 80 }], { type: 'LOGICAL_DNS', dnsLookupFamily: 'V4_ONLY' });
  let got: HostSpec[] = [];
  const r = new DnsResolver({ config, lookup, onHosts: (s) => (got = s) });
  await r.start();
  r.stop();
  assert.deepEqual(got.map((s) => s.address), ['10.0.0.1']);
});
