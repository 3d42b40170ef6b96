// The SecretStore (versions, sources, subscribers), TLS material resolution, typed SAN matching and the xDS SDS subscription.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileBootstrap, compileListener } from '../../src/model/compile-bootstrap.ts';
import type { SnapshotSecret, SubjectAltNameMatcher } from '../../src/model/types.ts';
import { sanMismatch } from '../../src/secrets/san-check.ts';
import { SecretStore } from '../../src/secrets/secret-store.ts';
import { resolveTlsMaterial } from '../../src/secrets/tls-material.ts';
import { buildSnapshot } from '../../src/xds/snapshot-builder.ts';
import type { StoredResource } from '../../src/xds/resource-store.ts';
import { compileSecret } from '../../src/model/secret.ts';
import { DOWNSTREAM_TLS_TYPE, hcm, io } from '../model/fixtures.ts';

const cert = (n: string) => ({ tlsCertificate: { certificateChain: `chain-${n}`, privateKey: `key-${n}` }, validationContext: null });
const ca = (n: string) => ({ tlsCertificate: null, validationContext: { trustedCa: `ca-${n}`, subjectAltNameMatchers: [] } });

test('SecretStore: a change bumps the generation and notifies; the same content does not', () => {
  const store = new SecretStore(() => 1000);
  const seen: string[] = [];
  store.subscribe((name, e) => seen.push(`${name}:${e ? e.versionInfo : 'gone'}`));
  assert.equal(store.set('default', cert('1'), 'identity', 'v1'), true);
  const g1 = store.get('default')!.generation;
  assert.equal(store.set('default', cert('1'), 'identity', 'v1b'), false);
  assert.equal(store.get('default')!.generation, g1);
  assert.equal(store.get('default')!.versionInfo, 'v1b');
  assert.equal(store.set('default', cert('2'), 'identity', 'v2'), true);
  assert.ok(store.get('default')!.generation > g1);
  store.delete('default');
  store.delete('default');
  assert.deepEqual(seen, ['default:v1', 'default:v2', 'default:gone']);
});

test('SecretStore.sync: config secrets come and go; the identity agent\'s own secrets are left alone', () => {
  const store = new SecretStore();
  store.set('default', cert('agent'), 'identity');
  const snap = (entries: [string, SnapshotSecret][]) => new Map(entries);
  const s = (name: string, source: 'static' | 'sds'): [string, SnapshotSecret] => [name, { config: { name, ...cert(name) }, source, version: source === 'sds' ? 'x' : '' }];
  store.sync(snap([s('default', 'sds'), s('a', 'static'), s('b', 'sds')]));
  assert.equal(store.get('default')!.tlsCertificate!.certificateChain, 'chain-agent');
  assert.equal(store.get('a')!.source, 'static');
  assert.equal(store.get('b')!.versionInfo, 'x');
  store.sync(snap([s('a', 'static')]));
  assert.equal(store.get('b'), undefined);
  assert.ok(store.get('a'));
  store.sync(undefined);
  assert.deepEqual(store.entries().map((e) => e.name), ['default']);
});

test('resolveTlsMaterial: static parts pass through; SDS names resolve or say which is missing; the key follows versions', () => {
  const store = new SecretStore();
  const sds = { certificates: [{ name: 'default', source: 'local' as const }], validation: { name: 'ROOTCA', source: 'local' as const } };
  const sans: SubjectAltNameMatcher[] = [{ sanType: 'URI', matcher: { kind: 'prefix', value: 'spiffe://', ignoreCase: false, regex: null } }];
  const parts = { certificate: null, trustedCa: null, sans, sds };
  assert.deepEqual(resolveTlsMaterial(parts, store), { ok: false, reason: 'secret "default" (certificate) is not available yet' });
  store.set('default', cert('1'), 'identity');
  assert.deepEqual(resolveTlsMaterial(parts, store), { ok: false, reason: 'secret "ROOTCA" (validation context) is not available yet' });
  store.set('ROOTCA', ca('1'), 'identity');
  const r1 = resolveTlsMaterial(parts, store);
  assert.ok(r1.ok);
  assert.equal(r1.material.certificate?.certificateChain, 'chain-1');
  assert.equal(r1.material.trustedCa, 'ca-1');
  assert.equal(r1.material.sans, sans);
  store.set('default', cert('2'), 'identity');
  const r2 = resolveTlsMaterial(parts, store);
  assert.ok(r2.ok && r2.material.key !== r1.material.key);
  const plain = resolveTlsMaterial({ certificate: null, trustedCa: 'x', sans: [], sds: null }, null);
  assert.ok(plain.ok && plain.material.key === 'static' && plain.material.trustedCa === 'x');
});

test('sanMismatch matches by SAN type and names what the certificate has', () => {
  const m = (sanType: SubjectAltNameMatcher['sanType'], value: string): SubjectAltNameMatcher => ({ sanType, matcher: { kind: 'exact', value, ignoreCase: false, regex: null } });
  const cert = { subjectaltname: 'DNS:orders.default.svc, URI:spiffe://cluster.local/ns/default/sa/orders' };
  assert.equal(sanMismatch([], cert), null);
  assert.equal(sanMismatch([m('URI', 'spiffe://cluster.local/ns/default/sa/orders')], cert), null);
  assert.equal(sanMismatch([m('ANY', 'orders.default.svc')], cert), null);
  assert.match(sanMismatch([m('DNS', 'spiffe://cluster.local/ns/default/sa/orders')], cert)!, /SAN mismatch: certificate SANs \[DNS:orders\.default\.svc, URI:spiffe:/);
  assert.match(sanMismatch([m('URI', 'x')], {})!, /SANs \[none\]/);
});

test('xDS: secrets named with sds_config ads are subscribed and land in the snapshot; local and static ones are not subscribed', () => {
  const listener = (certs: object[]) => ({
    name: 'in', address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm() }],
      transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': DOWNSTREAM_TLS_TYPE, common_tls_context: { tls_certificate_sds_secret_configs: certs } } },
    }],
  });
  const staticSnapshot = compileBootstrap({ static_resources: { clusters: [{ name: 'backend', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'backend', endpoints: [] } }] } }, io);
  assert.ok(staticSnapshot.ok);
  const compiledListener = compileListener(listener([{ name: 'from-cp', sds_config: { ads: {} } }, { name: 'default', sds_config: { api_config_source: {} } }]), io);
  assert.ok(compiledListener.ok);
  const stored = <T>(name: string, compiled: T): StoredResource<T> => ({ name, json: {}, version: 's7', lastUpdated: 0, compiled });
  const secret = compileSecret({ name: 'from-cp', tls_certificate: { certificate_chain: { inline_string: 'c' }, private_key: { inline_string: 'k' } } }, io);
  assert.ok(secret.ok);
  const r = buildSnapshot({
    staticSnapshot: staticSnapshot.value,
    listeners: new Map([['in', stored('in', compiledListener.value)]]),
    routes: new Map(), clusters: new Map(), endpoints: new Map(),
    secrets: new Map([['from-cp', stored('from-cp', secret.value)], ['unrelated', stored('unrelated', { ...secret.value, name: 'unrelated' })]]),
    version: 'v',
  });
  assert.deepEqual([...r.interest.secrets], ['from-cp']);
  assert.deepEqual([...(r.snapshot.secrets?.keys() ?? [])], ['from-cp']);
  assert.deepEqual(r.snapshot.secrets?.get('from-cp')?.source, 'sds');
  assert.deepEqual(r.snapshot.secrets?.get('from-cp')?.version, 's7');
});
