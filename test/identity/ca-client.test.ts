// The CA client over real gRPC against the test CertificateService: bearer token, CSR with the SPIFFE URI SAN, refusals, loopback rule.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CaClient, isLoopbackAddress } from '../../src/identity/ca-client.ts';
import { buildCsr, generateWorkloadKey } from '../../src/identity/csr.ts';
import { startTestCa, type TestCa } from './ca-server.ts';
import { makeRoot } from './pki.ts';

const ID = 'spiffe://cluster.local/ns/shop/sa/cart';
let ca: TestCa;
let dir: string;

before(async () => {
  ca = await startTestCa({ tokens: { 'cart-token-0123456789': ID }, maxValiditySeconds: 3600 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-ca-client-'));
});
after(async () => {
  await ca.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function tokenFile(token: string): string {
  const f = path.join(dir, `token-${token.length}-${Math.random()}`);
  fs.writeFileSync(f, `${token}\n`);
  return f;
}

test('CreateCertificate with the token returns a chain for our key and the trust bundle; the CA caps the lifetime', async () => {
  const client = new CaClient({ address: ca.address, rootCertPem: null, tokenFile: tokenFile('cart-token-0123456789') });
  const key = await generateWorkloadKey();
  const r = await client.createCertificate(buildCsr(key, ID, 'cluster.local'), 86_400);
  client.close();
  const leaf = new X509Certificate(r.certChain[0]);
  assert.equal(leaf.subjectAltName, `URI:${ID}`);
  assert.ok(leaf.verify(new X509Certificate(ca.signer.certPem).publicKey));
  assert.deepEqual(r.trustBundle, [ca.signer.certPem]);
  assert.deepEqual(ca.lifetimes.slice(-1), [3600]);
});

test('a wrong token, no token and an unreachable CA fail with readable errors', async () => {
  const key = await generateWorkloadKey();
  const csr = buildCsr(key, ID, 'cluster.local');
  const wrong = new CaClient({ address: ca.address, rootCertPem: null, tokenFile: tokenFile('not-a-known-token-xx') });
  await assert.rejects(wrong.createCertificate(csr, 60), /UNAUTHENTICATED: unknown token/);
  wrong.close();
  const none = new CaClient({ address: ca.address, rootCertPem: null, tokenFile: null });
  await assert.rejects(none.createCertificate(csr, 60), /UNAUTHENTICATED: no bearer token/);
  none.close();
  const missing = new CaClient({ address: ca.address, rootCertPem: null, tokenFile: path.join(dir, 'absent') });
  await assert.rejects(missing.createCertificate(csr, 60), /cannot read the identity token .*absent/);
  missing.close();
  const down = new CaClient({ address: '127.0.0.1:1', rootCertPem: null, tokenFile: null, timeoutMs: 2000 });
  await assert.rejects(down.createCertificate(csr, 60), /CA 127\.0\.0\.1:1: (UNAVAILABLE|DEADLINE_EXCEEDED)/);
  down.close();
});

test('a token travels in plaintext only to a loopback CA', () => {
  assert.ok(isLoopbackAddress('127.0.0.1:15012'));
  assert.ok(isLoopbackAddress('localhost:15012'));
  assert.ok(isLoopbackAddress('[::1]:15012'));
  assert.ok(!isLoopbackAddress('istiod.istio-system.svc:15012'));
  assert.throws(() => new CaClient({ address: '10.0.0.1:15012', rootCertPem: null, tokenFile: null }), /not on loopback: give its root certificate \(--ca-root-cert\)/);
});

test('over TLS: the CA\'s certificate is verified against --ca-root-cert', async () => {
  const caRoot = makeRoot('CA serving root');
  const tlsCa = await startTestCa({ tokens: { 'cart-token-0123456789': ID }, tlsIssuer: caRoot });
  try {
    const key = await generateWorkloadKey();
    const csr = buildCsr(key, ID, 'cluster.local');
    const good = new CaClient({ address: tlsCa.address, rootCertPem: caRoot.certPem, tokenFile: tokenFile('cart-token-0123456789') });
    assert.equal(new X509Certificate((await good.createCertificate(csr, 60)).certChain[0]).subjectAltName, `URI:${ID}`);
    good.close();
    const wrong = new CaClient({ address: tlsCa.address, rootCertPem: makeRoot('not the CA').certPem, tokenFile: tokenFile('cart-token-0123456789'), timeoutMs: 3000 });
    await assert.rejects(wrong.createCertificate(csr, 60), /UNAVAILABLE|DEADLINE_EXCEEDED/);
    wrong.close();
    assert.equal(tlsCa.issued, 1, 'the token went only to the verified CA');
  } finally {
    await tlsCa.close();
  }
});
