// The CA's root: generated once and reloaded across restarts, file modes, refusal of readable keys, and operator-supplied CAs.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CertificateAuthority } from '../../xds/ca/authority.ts';
import { BUNDLE_FILE, ROOT_KEY_FILE } from '../../xds/ca/root-store.ts';
import { captureLog, makeCsr, tempDir, writeOperatorCa } from './fixtures.ts';

const ID = 'spiffe://cluster.local/ns/default/sa/orders';
const mode = (f: string) => fs.statSync(f).mode & 0o777;

describe('self-generated root', () => {
  it('is created on first start with safe modes and reloaded after a restart', async () => {
    const dir = path.join(tempDir(), 'state', 'ca');
    const log = captureLog();
    const first = await CertificateAuthority.open({ dir, logger: log.logger });
    assert.ok(log.find(/generated a new self-signed root/));
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(path.join(dir, ROOT_KEY_FILE)), 0o600);
    const root = new X509Certificate(first.trustBundle()[0]);
    assert.equal(root.ca, true);
    assert.ok(root.checkIssued(root) && root.verify(root.publicKey), 'self-signed');
    const years = (root.validToDate.getTime() - root.validFromDate.getTime()) / (365.25 * 24 * 3600_000);
    assert.ok(years > 9.9 && years < 10.1, `10-year validity, got ${years}`);
    assert.match(root.subject, /O=cluster.local/);
    assert.equal((root.publicKey.asymmetricKeyDetails?.modulusLength), 2048);
    assert.equal(fs.readFileSync(path.join(dir, BUNDLE_FILE), 'utf8'), first.trustBundle().join(''));

    const log2 = captureLog();
    const second = await CertificateAuthority.open({ dir, logger: log2.logger });
    assert.ok(log2.find(/loaded the root/));
    assert.equal(second.roots()[0].fingerprint, first.roots()[0].fingerprint, 'same root after a restart');
    const leaf = new X509Certificate(second.sign({ csr: makeCsr(ID) }).chain[0]);
    assert.ok(leaf.verify(root.publicKey), 'a leaf after the restart verifies against the first root');
  });

  it('two CAs starting at once on one directory agree on one root', async () => {
    const dir = tempDir();
    const [a, b] = await Promise.all([CertificateAuthority.open({ dir, logger: captureLog().logger }), CertificateAuthority.open({ dir, logger: captureLog().logger })]);
    assert.equal(a.roots()[0].fingerprint, b.roots()[0].fingerprint);
    assert.deepEqual(fs.readdirSync(dir).sort(), [ROOT_KEY_FILE, BUNDLE_FILE].sort(), 'no temporary files left');
  });

  it('refuses a key file that group or others can read, and a directory others can write', async () => {
    const dir = tempDir();
    await CertificateAuthority.open({ dir, logger: captureLog().logger });
    const key = path.join(dir, ROOT_KEY_FILE);
    fs.chmodSync(key, 0o644);
    await assert.rejects(CertificateAuthority.open({ dir, logger: captureLog().logger }), /CA key file .*root-key\.pem has mode 0644: group or others can read it; refusing to use it \(chmod 600/);
    fs.chmodSync(key, 0o640);
    await assert.rejects(CertificateAuthority.open({ dir, logger: captureLog().logger }), /has mode 0640/);
    fs.chmodSync(key, 0o600);
    fs.chmodSync(dir, 0o777);
    await assert.rejects(CertificateAuthority.open({ dir, logger: captureLog().logger }), /CA directory .* has mode 0777: group or others can write it/);
    fs.chmodSync(dir, 0o700);
    await CertificateAuthority.open({ dir, logger: captureLog().logger });
  });

  it('refuses a damaged key file and bad options', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, ROOT_KEY_FILE), 'not a key\n', { mode: 0o600 });
    await assert.rejects(CertificateAuthority.open({ dir, logger: captureLog().logger }), /must hold a PEM private key and its certificate/);
    await assert.rejects(CertificateAuthority.open({ dir: tempDir(), trustDomain: 'Bad Domain' }), /invalid trust domain/);
    await assert.rejects(CertificateAuthority.open({ dir: tempDir(), rootKeyBits: 1024 }), /2048 or 3072/);
  });
});

describe('operator-supplied CA', () => {
  it('signs with a supplied root; the chain is leaf then root', async () => {
    const dir = tempDir();
    const op = writeOperatorCa(dir);
    const log = captureLog();
    const ca = await CertificateAuthority.open({ caCertFile: op.certFile, caKeyFile: op.keyFile, logger: log.logger });
    assert.ok(log.find(/operator-supplied CA/));
    assert.equal(ca.mode, 'operator');
    const r = ca.sign({ csr: makeCsr(ID) });
    assert.equal(r.chain.length, 2);
    assert.equal(new X509Certificate(r.chain[1]).fingerprint256, new X509Certificate(op.rootPem).fingerprint256);
    assert.deepEqual(r.trustBundle.map((p) => new X509Certificate(p).fingerprint256), [new X509Certificate(op.rootPem).fingerprint256]);
    assert.ok(new X509Certificate(r.chain[0]).verify(new X509Certificate(op.rootPem).publicKey));
    await assert.rejects(ca.rotateRoot(), /operator-supplied: rotate by replacing --ca-cert/);
  });

  it('signs with a supplied intermediate; the chain is leaf, intermediate, root', async () => {
    const op = writeOperatorCa(tempDir(), { intermediate: true });
    const ca = await CertificateAuthority.open({ caCertFile: op.certFile, caKeyFile: op.keyFile, logger: captureLog().logger });
    const r = ca.sign({ csr: makeCsr(ID) });
    const [leaf, inter, root] = r.chain.map((p) => new X509Certificate(p));
    assert.equal(r.chain.length, 3);
    assert.ok(leaf.checkIssued(inter) && leaf.verify(inter.publicKey));
    assert.ok(inter.checkIssued(root) && inter.verify(root.publicKey));
    assert.deepEqual(r.trustBundle.map((p) => new X509Certificate(p).fingerprint256), [root.fingerprint256]);
  });

  it('refuses a key that does not match, a non-CA certificate, a missing root, and half the flags', async () => {
    const dir = tempDir();
    const wrong = writeOperatorCa(dir, { wrongKey: true, name: 'wrong' });
    await assert.rejects(CertificateAuthority.open({ caCertFile: wrong.certFile, caKeyFile: wrong.keyFile }), /the private key does not match the certificate/);
    const leafy = writeOperatorCa(dir, { ca: false, name: 'leafy' });
    await assert.rejects(CertificateAuthority.open({ caCertFile: leafy.certFile, caKeyFile: leafy.keyFile }), /is not a CA \(basicConstraints CA:true is missing\)/);
    const inter = writeOperatorCa(dir, { intermediate: true, name: 'inter' });
    const interOnly = path.join(dir, 'inter-only.pem');
    fs.writeFileSync(interOnly, inter.certPem.slice(0, inter.certPem.indexOf('-----END CERTIFICATE-----') + 26));
    await assert.rejects(CertificateAuthority.open({ caCertFile: interOnly, caKeyFile: inter.keyFile }), /does not end with a self-signed root/);
    const rootFile = path.join(dir, 'inter-root.pem');
    fs.writeFileSync(rootFile, inter.rootPem);
    const ok = await CertificateAuthority.open({ caCertFile: interOnly, caKeyFile: inter.keyFile, extraRootFiles: [rootFile], logger: captureLog().logger });
    assert.deepEqual(ok.roots().map((r) => r.state), ['extra']);
    await assert.rejects(CertificateAuthority.open({ caCertFile: inter.certFile }), /needs both --ca-cert and --ca-key/);
    await assert.rejects(CertificateAuthority.open({ caCertFile: path.join(dir, 'nope.pem'), caKeyFile: inter.keyFile }), /--ca-cert .*nope\.pem cannot be read/);
  });

  it('caps leaves at the CA certificate\'s expiry', async () => {
    const notAfter = new Date(Date.now() + 3600_000);
    const op = writeOperatorCa(tempDir(), { notAfter });
    const ca = await CertificateAuthority.open({ caCertFile: op.certFile, caKeyFile: op.keyFile, logger: captureLog().logger });
    const leaf = new X509Certificate(ca.sign({ csr: makeCsr(ID), validitySeconds: 86400 }).chain[0]);
    assert.equal(leaf.validToDate.getTime(), Math.floor(notAfter.getTime() / 1000) * 1000);
  });

  it('adds --ca-extra-root certificates to the bundle and refuses non-CA ones', async () => {
    const dir = tempDir();
    const other = writeOperatorCa(dir, { name: 'other' });
    const ca = await CertificateAuthority.open({ dir: path.join(dir, 'state'), extraRootFiles: [other.certFile], logger: captureLog().logger });
    assert.deepEqual(ca.roots().map((r) => r.state), ['active', 'extra']);
    const leafy = writeOperatorCa(dir, { ca: false, name: 'leafy' });
    await assert.rejects(CertificateAuthority.open({ dir: path.join(dir, 'state'), extraRootFiles: [leafy.certFile] }), /--ca-extra-root .*is not a CA certificate/);
  });
});
