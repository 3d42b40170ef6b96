// Signing workload CSRs: the leaf verifies against the root and carries the SPIFFE URI SAN, EKUs and a ≤24 h life; bad CSRs are refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import forge from 'node-forge';
import { CertificateAuthority } from '../../xds/ca/authority.ts';
import { CaError } from '../../xds/ca/ca-error.ts';
import { captureLog, makeCsr, mtlsHandshake, tempDir } from './fixtures.ts';

const ID = 'spiffe://cluster.local/ns/default/sa/orders';
const DAY = 24 * 3600_000;
let ca: CertificateAuthority;
let root: X509Certificate;

before(async () => {
  ca = await CertificateAuthority.open({ dir: tempDir(), logger: captureLog().logger });
  root = new X509Certificate(ca.trustBundle()[0]);
});

function refusal(f: () => unknown, code: string, re: RegExp): void {
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof CaError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, re);
    return true;
  });
}

const openssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

function opensslCsr(newkey: string[], san: string): string {
  const r = spawnSync('openssl', ['req', '-new', ...newkey, '-nodes', '-keyout', '/dev/null', '-subj', '/O=workload', '-addext', `subjectAltName=${san}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('signing', () => {
  it('issues a leaf that verifies against the root, with the URI SAN, EKUs, key usage and a 24 h life', () => {
    const started = Date.now();
    const r = ca.sign({ csr: makeCsr(ID), expect: { namespace: 'default', serviceAccount: 'orders' } });
    const finished = Date.now();
    const leaf = new X509Certificate(r.chain[0]);
    assert.equal(r.chain.length, 2);
    assert.equal(new X509Certificate(r.chain[1]).fingerprint256, root.fingerprint256);
    assert.ok(leaf.checkIssued(root), 'checkIssued');
    assert.ok(leaf.verify(root.publicKey), 'verify(root public key)');
    assert.equal(leaf.subjectAltName, `URI:${ID}`);
    assert.equal(leaf.ca, false);
    assert.deepEqual(leaf.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'serverAuth + clientAuth');
    const f = forge.pki.certificateFromPem(r.chain[0]);
    const ku = f.getExtension('keyUsage') as { digitalSignature: boolean; keyEncipherment: boolean; keyCertSign: boolean; critical: boolean };
    assert.deepEqual([ku.digitalSignature, ku.keyEncipherment, ku.keyCertSign, ku.critical], [true, true, false, true]);
    assert.equal((f.getExtension('subjectAltName') as { critical: boolean }).critical, true, 'SAN is critical (empty subject)');
    assert.equal(leaf.subject, undefined, 'empty subject, as Istio issues');
    const life = leaf.validToDate.getTime() - leaf.validFromDate.getTime();
    assert.ok(life <= DAY + 61_000, `life ${life} ms is at most 24 h (+1 min back-dating)`);
    assert.ok(leaf.validFromDate.getTime() <= started - 59_000, 'notBefore is back-dated one minute');
    assert.ok(leaf.validToDate.getTime() <= finished + DAY && leaf.validToDate.getTime() >= started + DAY - 1000, 'notAfter is now + 24 h');
    assert.ok(/^[0-9A-F]{30,34}$/.test(leaf.serialNumber), `128-bit serial, got ${leaf.serialNumber}`);
    assert.equal(r.record.serial, leaf.serialNumber);
    assert.equal(r.record.identity, ID);
    assert.deepEqual(r.trustBundle, ca.trustBundle());
  });

  it('gives every leaf a different serial and honours a shorter request, capping a longer one', () => {
    const serials = new Set([1, 2, 3, 4, 5].map(() => ca.sign({ csr: makeCsr(ID) }).record.serial));
    assert.equal(serials.size, 5);
    const csr = makeCsr(ID);
    const started = Date.now();
    const short = new X509Certificate(ca.sign({ csr, validitySeconds: 3600 }).chain[0]);
    assert.ok(short.validToDate.getTime() >= started + 3600_000 - 1000 && short.validToDate.getTime() <= Date.now() + 3600_000, 'now + 1 h');
    const long = new X509Certificate(ca.sign({ csr: makeCsr(ID), validitySeconds: 90 * 86400 }).chain[0]);
    assert.ok(long.validToDate.getTime() <= Date.now() + DAY + 1000);
    refusal(() => ca.sign({ csr: makeCsr(ID), validitySeconds: -5 }), 'INVALID_ARGUMENT', /validity_duration must be 0 \(default\) or a positive/);
  });

  it('honours a smaller maximum lifetime', async () => {
    const short = await CertificateAuthority.open({ dir: tempDir(), maxTtlSeconds: 7200, logger: captureLog().logger });
    const leaf = new X509Certificate(short.sign({ csr: makeCsr(ID) }).chain[0]);
    assert.ok(leaf.validToDate.getTime() <= Date.now() + 7200_000 + 1000);
  });

  it('refuses a CSR for another identity than the credential grants', () => {
    refusal(() => ca.sign({ csr: makeCsr(ID), expect: { namespace: 'default', serviceAccount: 'payments' } }), 'PERMISSION_DENIED',
      /the CSR asks for spiffe:\/\/cluster\.local\/ns\/default\/sa\/orders but the credential grants spiffe:\/\/cluster\.local\/ns\/default\/sa\/payments/);
    refusal(() => ca.sign({ csr: makeCsr('spiffe://cluster.local/ns/shop/sa/orders'), expect: { namespace: 'default', serviceAccount: 'orders' } }), 'PERMISSION_DENIED', /asks for .*ns\/shop/);
  });

  it('refuses bad CSRs as INVALID_ARGUMENT, saying why', () => {
    const good = makeCsr(ID);
    const der = Buffer.from(forge.util.encode64(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(forge.pki.certificationRequestFromPem(good))).getBytes()), 'base64');
    der[der.length - 1] ^= 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    const smallKey = forge.pki.rsa.generateKeyPair({ bits: 1024 });
    const table: [unknown, RegExp][] = [
      ['', /csr is empty/],
      [42, /csr is empty/],
      ['hello, I am not a CSR', /not a PEM "CERTIFICATE REQUEST"/],
      ['-----BEGIN CERTIFICATE REQUEST-----\nAAAAAAAA\n-----END CERTIFICATE REQUEST-----\n', /cannot be parsed/],
      [ca.trustBundle()[0], /not a PEM "CERTIFICATE REQUEST"/],
      [good + good, /more than one certificate request/],
      ['x'.repeat(70_000), /larger than 65536 bytes/],
      [tampered, /self-signature does not verify/],
      [makeCsr(ID, { keys: smallKey }), /1024 bits; at least 2048/],
      [makeCsr([]), /exactly one URI SAN .* it has 0/],
      [makeCsr([ID, 'spiffe://cluster.local/ns/default/sa/other']), /exactly one URI SAN .* it has 2/],
      [makeCsr(ID, { extraSans: [{ type: 2, value: 'orders.example.com' }] }), /only the SPIFFE ID URI SAN \(no DNS/],
      [makeCsr('spiffe://other.domain/ns/default/sa/orders'), /outside this CA's trust domain "cluster\.local"/],
      [makeCsr('spiffe://cluster.local/workload/orders'), /not a workload SPIFFE ID: .*not \/ns\/<namespace>\/sa/],
      [makeCsr('https://orders.example.com'), /not a workload SPIFFE ID: .*scheme/],
    ];
    for (const [csr, re] of table) refusal(() => ca.sign({ csr }), 'INVALID_ARGUMENT', re);
  });

  it('accepts an openssl RSA CSR and refuses an EC one', { skip: !openssl && 'no openssl CLI' }, () => {
    const leaf = new X509Certificate(ca.sign({ csr: opensslCsr(['-newkey', 'rsa:2048'], `URI:${ID}`) }).chain[0]);
    assert.ok(leaf.verify(root.publicKey));
    refusal(() => ca.sign({ csr: opensslCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'], `URI:${ID}`) }), 'INVALID_ARGUMENT', /public key is not RSA; this CA signs RSA keys only/);
  });

  it('issues leaves that complete a mutual TLS handshake with the trust bundle', async () => {
    const server = ca.sign({ csr: makeCsr('spiffe://cluster.local/ns/default/sa/payments') });
    const client = ca.sign({ csr: makeCsr(ID) });
    assert.deepEqual(await mtlsHandshake(server, client), { ok: true, serverSaw: `URI:${ID}`, clientSaw: 'URI:spiffe://cluster.local/ns/default/sa/payments' });
  });

  it('keeps a registry of issued certificates', () => {
    const r = ca.sign({ csr: makeCsr('spiffe://cluster.local/ns/registry/sa/one'), peer: 'ipv4:127.0.0.1:5555' });
    const rec = ca.issued.list().find((x) => x.serial === r.record.serial);
    assert.deepEqual(rec, r.record);
    assert.equal(rec?.peer, 'ipv4:127.0.0.1:5555');
    assert.equal(rec?.root, root.fingerprint256);
    const latest = ca.issued.latest().filter((x) => x.identity === ID);
    assert.equal(latest.length, 1, 'one current certificate per identity');
  });
});
