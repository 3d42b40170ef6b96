// Root rotation: both roots trusted during the overlap, old leaves keep verifying and handshaking, staged activation, removal, restarts.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CertificateAuthority } from '../../xds/ca/authority.ts';
import { CaError } from '../../xds/ca/ca-error.ts';
import { BUNDLE_FILE, PREVIOUS_ROOTS_FILE, STAGED_KEY_FILE } from '../../xds/ca/root-store.ts';
import { captureLog, makeCsr, mtlsHandshake, tempDir } from './fixtures.ts';

const A = 'spiffe://cluster.local/ns/default/sa/orders';
const B = 'spiffe://cluster.local/ns/default/sa/payments';

/** The fingerprint of the bundle root that issued `leafPem`, or null. */
function issuerIn(leafPem: string, bundle: readonly string[]): string | null {
  const leaf = new X509Certificate(leafPem);
  const r = bundle.map((p) => new X509Certificate(p)).find((x) => leaf.checkIssued(x) && leaf.verify(x.publicKey));
  return r?.fingerprint256 ?? null;
}

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string, re: RegExp): Promise<void> {
  await assert.rejects(typeof p === 'function' ? async () => p() : p, (err: unknown) => err instanceof CaError && err.code === code && re.test(err.message));
}

describe('root rotation', () => {
  it('rotateRoot(): both roots trusted, new leaves from the new root, old leaves still verify and handshake', async () => {
    const dir = tempDir();
    const log = captureLog();
    const ca = await CertificateAuthority.open({ dir, logger: log.logger });
    const oldRoot = ca.roots()[0].fingerprint;
    const oldLeaf = ca.sign({ csr: makeCsr(A) });

    const info = await ca.rotateRoot();
    assert.equal(info.state, 'active');
    assert.notEqual(info.fingerprint, oldRoot);
    assert.ok(log.find(/new root is signing; the previous root stays trusted/));
    assert.deepEqual(ca.roots().map((r) => [r.fingerprint, r.state]), [[info.fingerprint, 'active'], [oldRoot, 'previous']]);

    const bundle = ca.trustBundle();
    assert.equal(bundle.length, 2);
    assert.equal(issuerIn(oldLeaf.chain[0], bundle), oldRoot, 'a leaf from the old root verifies against the new bundle');
    const newLeaf = ca.sign({ csr: makeCsr(B) });
    assert.equal(issuerIn(newLeaf.chain[0], newLeaf.trustBundle), info.fingerprint, 'new leaves are signed by the new root');
    assert.equal(new X509Certificate(newLeaf.chain[1]).fingerprint256, info.fingerprint);
    assert.deepEqual(newLeaf.trustBundle, bundle);

    // A workload that renewed (new root, both-roots bundle) and one that has not yet (old leaf) still talk, both ways.
    const renewedOld = { chain: oldLeaf.chain, trustBundle: bundle };
    assert.equal((await mtlsHandshake(renewedOld, newLeaf)).ok, true);
    assert.equal((await mtlsHandshake(newLeaf, renewedOld)).ok, true);

    // The state survives a restart.
    const again = await CertificateAuthority.open({ dir, logger: captureLog().logger });
    assert.deepEqual(again.roots(), ca.roots());
    assert.equal(fs.readFileSync(path.join(dir, BUNDLE_FILE), 'utf8'), bundle.join(''));
    assert.equal(fs.statSync(path.join(dir, PREVIOUS_ROOTS_FILE)).isFile(), true);

    // Removing the previous root ends the overlap; the signing root cannot be removed.
    await rejectsWith(() => ca.removeRoot(info.fingerprint), 'FAILED_PRECONDITION', /signing root cannot be removed/);
    await rejectsWith(() => ca.removeRoot('AB:CD'), 'INVALID_ARGUMENT', /no previous or staged root has fingerprint AB:CD/);
    ca.removeRoot(oldRoot.replace(/:/g, '').toLowerCase());
    assert.deepEqual(ca.roots().map((r) => r.fingerprint), [info.fingerprint]);
    assert.equal(issuerIn(oldLeaf.chain[0], ca.trustBundle()), null);
    assert.deepEqual((await CertificateAuthority.open({ dir, logger: captureLog().logger })).roots().map((r) => r.fingerprint), [info.fingerprint]);
  });

  it('staged rotation: the new root is trusted before it signs, so no peer ever sees an unknown root', async () => {
    const dir = tempDir();
    const ca = await CertificateAuthority.open({ dir, logger: captureLog().logger });
    const oldRoot = ca.roots()[0].fingerprint;
    const beforeRotation = ca.sign({ csr: makeCsr(A) });

    const staged = await ca.rotateRoot({ activate: false });
    assert.equal(staged.state, 'staged');
    assert.ok(fs.existsSync(path.join(dir, STAGED_KEY_FILE)));
    assert.equal(fs.statSync(path.join(dir, STAGED_KEY_FILE)).mode & 0o777, 0o600);
    await rejectsWith(ca.rotateRoot(), 'FAILED_PRECONDITION', /already staged/);
    const duringStage = ca.sign({ csr: makeCsr(B) });
    assert.equal(issuerIn(duringStage.chain[0], duringStage.trustBundle), oldRoot, 'still signed by the old root while staged');
    assert.equal(duringStage.trustBundle.length, 2, 'but the bundle already carries the new root');

    // The staged root survives a restart.
    const restarted = await CertificateAuthority.open({ dir, logger: captureLog().logger });
    assert.deepEqual(restarted.roots().map((r) => r.state), ['active', 'staged']);

    await rejectsWith(() => ca.activateRoot('00:11'), 'FAILED_PRECONDITION', /the staged root is /);
    ca.activateRoot(staged.fingerprint);
    const afterActivation = ca.sign({ csr: makeCsr(A) });
    assert.equal(issuerIn(afterActivation.chain[0], afterActivation.trustBundle), staged.fingerprint);
    // A peer that fetched its bundle while the root was staged accepts the new leaf; an unrotated one talks to it as well.
    assert.equal((await mtlsHandshake(duringStage, afterActivation)).ok, true);
    assert.equal((await mtlsHandshake(afterActivation, duringStage)).ok, true);
    // A peer whose bundle predates the rotation would not — why staging comes first.
    const stale = await mtlsHandshake({ chain: beforeRotation.chain, trustBundle: [beforeRotation.trustBundle[0]] }, afterActivation);
    assert.equal(stale.ok, false);
    if (!stale.ok) assert.match(stale.error, /^server: /, 'the server refused the new leaf');
    await rejectsWith(() => ca.activateRoot(), 'FAILED_PRECONDITION', /no root is staged/);
  });

  it('a staged root can be dropped instead of activated', async () => {
    const dir = tempDir();
    const ca = await CertificateAuthority.open({ dir, logger: captureLog().logger });
    const staged = await ca.rotateRoot({ activate: false });
    ca.removeRoot(staged.fingerprint);
    assert.equal(ca.roots().length, 1);
    assert.equal(fs.existsSync(path.join(dir, STAGED_KEY_FILE)), false);
  });
});
