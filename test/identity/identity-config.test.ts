// Identity agent settings: flags over environment, node metadata to SPIFFE ID, and readable errors; the CLI flags parse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProxyArgs } from '../../src/cli/proxy-args.ts';
import { resolveIdentityConfig, type IdentityFlags } from '../../src/identity/identity-config.ts';
import { identityFromMetadata, parseSpiffeId } from '../../src/identity/spiffe.ts';
import { runPilotfish } from '../helpers/sidecar.ts';

const none: IdentityFlags = { caAddress: null, caRootCert: null, identityTokenFile: null, trustDomain: null, certValiditySeconds: null };
const files: Record<string, string> = { '/etc/ca/root.pem': 'ROOT PEM' };
const read = (p: string): string => { if (p in files) return files[p]; throw new Error(`ENOENT: ${p}`); };

test('no CA address: no agent', () => {
  assert.equal(resolveIdentityConfig(none, {}, {}, read), null);
});

test('environment variables, overridden by flags; identity from node metadata', () => {
  const env = { PILOTFISH_CA_ADDR: '127.0.0.1:15012', PILOTFISH_TOKEN_FILE: '/var/run/token', PILOTFISH_TRUST_DOMAIN: 'example.org', PILOTFISH_CERT_VALIDITY_S: '600' };
  const meta = { pilotfish: { namespace: 'shop', serviceAccount: 'cart' } };
  const fromEnv = resolveIdentityConfig(none, env, meta, read)!;
  assert.deepEqual(fromEnv, {
    caAddress: '127.0.0.1:15012', caRootCertPem: null, caRootCertFile: null, tokenFile: '/var/run/token',
    identity: { trustDomain: 'example.org', namespace: 'shop', serviceAccount: 'cart' }, spiffeId: 'spiffe://example.org/ns/shop/sa/cart', validitySeconds: 600,
  });
  const fromFlags = resolveIdentityConfig({ caAddress: 'cp:15012', caRootCert: '/etc/ca/root.pem', identityTokenFile: '/t', trustDomain: 'td.local', certValiditySeconds: 2 }, env, meta, read)!;
  assert.equal(fromFlags.caAddress, 'cp:15012');
  assert.equal(fromFlags.caRootCertPem, 'ROOT PEM');
  assert.equal(fromFlags.tokenFile, '/t');
  assert.equal(fromFlags.spiffeId, 'spiffe://td.local/ns/shop/sa/cart');
  assert.equal(fromFlags.validitySeconds, 2);
});

test('defaults and errors', () => {
  assert.deepEqual(identityFromMetadata({}, 'cluster.local'), { trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'default' });
  assert.deepEqual(identityFromMetadata({ 'pilotfish.namespace': 'a', pilotfish: { service: 'svc' } }, 'td'), { trustDomain: 'td', namespace: 'a', serviceAccount: 'svc' });
  assert.match(identityFromMetadata({ pilotfish: { namespace: 'Bad NS' } }, 'td') as string, /namespace "Bad NS" is not a valid name/);
  assert.throws(() => resolveIdentityConfig({ ...none, caAddress: 'x:1', caRootCert: '/nope.pem' }, {}, {}, read), /--ca-root-cert \/nope\.pem: ENOENT/);
  assert.throws(() => resolveIdentityConfig({ ...none, caAddress: 'x:1' }, { PILOTFISH_CERT_VALIDITY_S: '0' }, {}, read), /PILOTFISH_CERT_VALIDITY_S must be a whole number/);
  assert.deepEqual(parseSpiffeId('spiffe://td/ns/a/sa/b'), { trustDomain: 'td', namespace: 'a', serviceAccount: 'b' });
  assert.equal(parseSpiffeId('spiffe://td/a/b'), null);
});

test('proxy flags', () => {
  const r = parseProxyArgs(['-c', 'x.yaml', '--ca-address', '127.0.0.1:1', '--ca-root-cert', 'r.pem', '--identity-token-file', 't', '--trust-domain', 'td', '--cert-validity-s', '2']);
  assert.ok(r.ok);
  assert.equal(r.options.caAddress, '127.0.0.1:1');
  assert.equal(r.options.caRootCert, 'r.pem');
  assert.equal(r.options.identityTokenFile, 't');
  assert.equal(r.options.trustDomain, 'td');
  assert.equal(r.options.certValiditySeconds, 2);
  const bad = parseProxyArgs(['-c', 'x.yaml', '--cert-validity-s', '0']);
  assert.ok(!bad.ok && /--cert-validity-s expects an integer >= 1/.test(bad.error));
});

test('the identity agent with workers is refused, with a message', async () => {
  const r = await runPilotfish(['proxy', '--config-yaml', '{static_resources: {}}', '--concurrency', '2', '--ca-address', '127.0.0.1:1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the identity agent \(--ca-address \/ PILOTFISH_CA_ADDR\) needs --concurrency 1 for now/);
});
