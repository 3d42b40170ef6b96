// The identity agent with a manual clock and an in-process CA: renewal at half life, backoff on CA failures, bad CA answers.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { IdentityAgent, type IdentityAgentOptions } from '../../src/identity/agent.ts';
import type { CertificateAuthority, IssuedCertificate } from '../../src/identity/ca-client.ts';
import { ROOT_SECRET, SecretStore, WORKLOAD_SECRET } from '../../src/secrets/secret-store.ts';
import forge from 'node-forge';
import { FakeClock } from '../upstream/fake-clock.ts';
import { makeRoot, signLeaf } from './pki.ts';
import { withTimeout } from '../helpers/wait.ts';

const ID = 'spiffe://cluster.local/ns/default/sa/orders';
const root = makeRoot();

/** Signs every CSR with `root` at the fake clock's time; `failures` makes the next calls fail. */
class FakeCa implements CertificateAuthority {
  calls = 0;
  failures = 0;
  uri: string | null = null;
  readonly clock: FakeClock;
  constructor(clock: FakeClock) { this.clock = clock; }
  async createCertificate(csrPem: string, validitySeconds: number): Promise<IssuedCertificate> {
    this.calls++;
    if (this.failures > 0) { this.failures--; throw new Error('UNAVAILABLE: CA down'); }
    const csr = forge.pki.certificationRequestFromPem(csrPem);
    const now = this.clock.now();
    const leaf = signLeaf({ uri: this.uri ?? ID, issuer: root, publicKey: csr.publicKey as forge.pki.rsa.PublicKey, notBefore: new Date(now - 1000), notAfter: new Date(now + validitySeconds * 1000) });
    return { certChain: [leaf.certPem, root.certPem], trustBundle: [root.certPem] };
  }
  close(): void {}
}

interface Logged { level: string; obj: Record<string, unknown>; msg: string }

function capture(): { logger: IdentityAgentOptions['logger']; lines: Logged[]; next(pred: (l: Logged) => boolean): Promise<Logged> } {
  const lines: Logged[] = [];
  const waiters: { pred: (l: Logged) => boolean; resolve: (l: Logged) => void }[] = [];
  const log = (level: string) => (obj: Record<string, unknown>, msg: string) => {
    const l = { level, obj, msg };
    lines.push(l);
    for (const w of waiters.splice(0)) { if (w.pred(l)) w.resolve(l); else waiters.push(w); }
  };
  const logger = { info: log('info'), warn: log('warn'), error: log('error') } as unknown as IdentityAgentOptions['logger'];
  return { logger, lines, next: (pred) => withTimeout(new Promise<Logged>((resolve) => waiters.push({ pred, resolve })), 10_000, 'an agent log line') };
}

function nextSecret(store: SecretStore, name: string): Promise<void> {
  return withTimeout(new Promise<void>((resolve) => {
    const off = store.subscribe((n) => { if (n === name) { off(); resolve(); } });
  }), 10_000, `secret ${name} to change`);
}

function setup(validitySeconds = 3600) {
  const clock = new FakeClock();
  clock.advance(Date.parse('2030-01-01T00:00:00Z'));
  const ca = new FakeCa(clock);
  const store = new SecretStore(() => clock.now());
  const log = capture();
  const agent = new IdentityAgent({
    spiffeId: ID, trustDomain: 'cluster.local', ca, store, logger: log.logger, validitySeconds, clock, random: () => 0.5,
    retry: { initialMs: 1000, maxMs: 8000, multiplier: 2, jitter: 0.2 },
  });
  return { clock, ca, store, log, agent };
}

test('issues a certificate, then renews it at half its remaining life with a new key', async () => {
  const { clock, ca, store, agent } = setup(3600);
  const first = nextSecret(store, WORKLOAD_SECRET);
  agent.start();
  clock.advance(0);
  await first;
  await agent.ready;
  const cert1 = store.get(WORKLOAD_SECRET)!.tlsCertificate!;
  const leaf1 = new X509Certificate(cert1.certificateChain);
  assert.equal(leaf1.subjectAltName, `URI:${ID}`);
  assert.ok(leaf1.checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(cert1.privateKey))), 'the key matches the certificate');
  assert.equal(store.get(ROOT_SECRET)!.validationContext!.trustedCa, root.certPem);
  assert.equal(store.get(WORKLOAD_SECRET)!.source, 'identity');
  const state = agent.state();
  assert.equal(state.status, 'ready');
  assert.equal(state.certificate?.spiffeId, ID);
  const renewIn = state.nextAttemptAt! - clock.now();
  assert.ok(renewIn > 1799_000 && renewIn <= 1800_000, `renewal after half the remaining life, got ${renewIn} ms`);

  clock.advance(renewIn - 1000);
  assert.equal(ca.calls, 1, 'no renewal before half life');
  const second = nextSecret(store, WORKLOAD_SECRET);
  clock.advance(1000);
  await second;
  assert.equal(ca.calls, 2);
  const cert2 = store.get(WORKLOAD_SECRET)!.tlsCertificate!;
  assert.notEqual(new X509Certificate(cert2.certificateChain).serialNumber, leaf1.serialNumber);
  assert.notEqual(cert2.privateKey, cert1.privateKey, 'a fresh key per certificate');
  assert.equal(agent.state().issued, 2);
  agent.stop();
});

test('backs off exponentially while the CA fails, serving the current certificate meanwhile', async () => {
  const { clock, ca, store, log, agent } = setup(60);
  const first = nextSecret(store, WORKLOAD_SECRET);
  agent.start();
  clock.advance(0);
  await first;
  const serving = store.get(WORKLOAD_SECRET)!;
  ca.failures = 3;
  const delays: number[] = [];
  for (let i = 0; i < 3; i++) {
    const failed = log.next((l) => l.level === 'warn');
    clock.advance(agent.state().nextAttemptAt! - clock.now());
    const line = await failed;
    assert.match(line.msg, /renewal failed; still serving the current certificate/);
    assert.equal(line.obj.serving, agent.state().certificate!.serialNumber);
    assert.match(String(line.obj.error), /UNAVAILABLE/);
    delays.push(agent.state().nextAttemptAt! - clock.now());
    assert.equal(store.get(WORKLOAD_SECRET), serving, 'the current certificate stays in place');
  }
  assert.deepEqual(delays, [1000, 2000, 4000]);
  assert.equal(agent.state().consecutiveFailures, 3);
  const renewed = nextSecret(store, WORKLOAD_SECRET);
  clock.advance(4000);
  await renewed;
  assert.equal(agent.state().consecutiveFailures, 0);
  assert.equal(agent.state().lastError, null);
  agent.stop();
});

test('without a first certificate it keeps retrying and is not ready', async () => {
  const { clock, ca, log, agent } = setup();
  ca.failures = 2;
  let ready = false;
  void agent.ready.then(() => { ready = true; });
  const failed = log.next((l) => l.level === 'warn');
  agent.start();
  clock.advance(0);
  assert.match((await failed).msg, /^workload certificate request failed$/);
  assert.equal(agent.state().status, 'retrying');
  assert.equal(ready, false);
  const again = log.next((l) => l.level === 'warn');
  clock.advance(1000);
  await again;
  clock.advance(2000);
  await withTimeout(agent.ready, 10_000, 'the first certificate');
  assert.equal(ca.calls, 3);
  agent.stop();
});

test('refuses a certificate for another identity', async () => {
  const { clock, ca, log, agent } = setup();
  ca.uri = 'spiffe://cluster.local/ns/default/sa/someone-else';
  const failed = log.next((l) => l.level === 'warn');
  agent.start();
  clock.advance(0);
  assert.match(String((await failed).obj.error), /issued a certificate for spiffe:\/\/cluster.local\/ns\/default\/sa\/someone-else, not spiffe:\/\/cluster.local\/ns\/default\/sa\/orders/);
  agent.stop();
});
