// STRICT inbound mTLS on a real sidecar whose identity agent gets its certificate from a gRPC CA: each bad client is refused with a log line saying why.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootstrap, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { sendJson } from '../helpers/http-client.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { withTimeout } from '../helpers/wait.ts';
import { startTestCa, type TestCa } from '../identity/ca-server.ts';
import { identityArgs, logLine, makeClientCerts, meshNode, spiffe, stallingClient, strictInbound, tlsGet, type ClientCert } from '../identity/mesh.ts';
import { makeRoot } from '../identity/pki.ts';

let ca: TestCa;
let app: HttpUpstream;
let sidecar: Sidecar;
let port: number;
let certs: Record<'valid' | 'expired' | 'notYetValid' | 'wrongCa' | 'selfSigned' | 'wrongTrustDomain', ClientCert>;

before(async () => {
  ca = await startTestCa({ tokens: { 'orders-token-0123456789': spiffe('orders') } });
  app = await startHttpEcho('orders-app');
  certs = makeClientCerts(ca.signer, makeRoot('some other CA'));
  const hcm = httpConnectionManager({
    virtualHosts: [{ name: 'app', domains: ['*'], routes: [route({ prefix: '/' }, 'app')] }],
    extra: { forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { uri: true } },
  });
  const cfg = bootstrap([listener('inbound', [hcm], strictInbound('1s'))], [staticCluster('app', [app.port])], { node: meshNode('orders') });
  sidecar = await startSidecar(cfg, { args: identityArgs(ca, 'orders-token-0123456789') });
  port = sidecar.port('inbound');
});

after(async () => {
  await sidecar?.stop();
  await app?.close();
  await ca?.close();
});

/** The "TLS handshake refused"/"connection refused" line the sidecar logged for the client on `localPort`. */
async function refusal(localPort: number): Promise<string> {
  const line = await sidecar.waitForLine((l) => {
    const j = logLine(l);
    return j !== null && j.listener === 'inbound' && (j.remotePort === localPort || (localPort === 0 && j.msg === 'connection refused')) && /refused/.test(String(j.msg));
  }, { stream: 'stderr' });
  return String(logLine(line)!.reason);
}

/** One HTTP/1.1 GET over a fresh TLS connection, offering `session` for resumption; resolves with what came back. */
function resumingGet(session: Buffer | undefined): Promise<{ status: string; body: string; reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let nextSession: Buffer | undefined;
    const s = tls.connect({ host: '127.0.0.1', port, ca: ca.signer.certPem, cert: certs.valid.cert, key: certs.valid.key, session, checkServerIdentity: () => undefined, maxVersion: 'TLSv1.2' }, () => {
      s.write('GET /resume HTTP/1.1\r\nHost: orders\r\nConnection: close\r\n\r\n');
    });
    s.on('session', (b: Buffer) => { nextSession = b; });
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => { text += d; });
    s.on('error', reject);
    s.on('end', () => resolve({ status: text.split('\r\n')[0] ?? '', body: text.slice(text.indexOf('\r\n\r\n') + 4), reused: s.isSessionReused(), session: nextSession ?? session }));
  });
}

describe('STRICT inbound listener with SDS certificates from the identity agent', () => {
  it('a reconnecting client that resumes its TLS session is served (the session id context is set), and the app still learns who called', async () => {
    const first = await resumingGet(undefined);
    assert.match(first.status, /^HTTP\/1\.1 200/);
    assert.ok(first.session, 'the server offered a session to resume');
    const second = await resumingGet(first.session);
    assert.match(second.status, /^HTTP\/1\.1 200/, second.status);
    assert.equal(second.reused, true, 'the session was resumed');
    assert.match(second.body, new RegExp(spiffe('frontend').replace(/[/.]/g, '\\$&')));
  });

  it('accepts a valid mesh client certificate and tells the app who called (x-forwarded-client-cert)', async () => {
    const r = await tlsGet(port, { ca: ca.signer.certPem, client: certs.valid, headers: { 'x-forwarded-client-cert': 'By=spiffe://evil/x;URI=spiffe://cluster.local/ns/default/sa/admin' } });
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as { headers: Record<string, string> };
    const hash = createHash('sha256').update(new X509Certificate(certs.valid.cert).raw).digest('hex');
    assert.equal(seen.headers['x-forwarded-client-cert'], `By=${spiffe('orders')};Hash=${hash};URI=${spiffe('frontend')}`, 'the client-supplied XFCC is replaced');
  });

  it('refuses plaintext', async () => {
    const s = net.connect(port, '127.0.0.1');
    const localPort = await new Promise<number>((r) => s.once('connect', () => r(s.localPort ?? 0)));
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    let got = '';
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    s.on('error', () => undefined);
    await withTimeout(new Promise((r) => s.once('close', r)), 10_000, 'the plaintext connection to close');
    assert.doesNotMatch(got, /HTTP\/1\.1 200/);
    assert.match(await refusal(localPort), /plaintext \(not TLS\) on a TLS-only filter chain/);
  });

  const bad: [string, keyof typeof certs | null, RegExp][] = [
    ['no client certificate', null, /no client certificate \(require_client_certificate\)/],
    ['an expired certificate', 'expired', /client certificate has expired \(CERT_HAS_EXPIRED\)/],
    ['a certificate not yet valid', 'notYetValid', /client certificate is not yet valid \(CERT_NOT_YET_VALID\)/],
    ['a certificate from another CA', 'wrongCa', /client certificate (is signed by|chains to an untrusted root) .*unknown CA/],
    ['a self-signed certificate', 'selfSigned', /client certificate is self-signed \(DEPTH_ZERO_SELF_SIGNED_CERT\)/],
    ['a certificate from another trust domain (SAN)', 'wrongTrustDomain', /client certificate SAN mismatch: certificate SANs \[URI:spiffe:\/\/evil\.local\/ns\/default\/sa\/frontend\] match none/],
  ];
  for (const [what, which, reason] of bad) {
    it(`refuses ${what}, logging why`, async () => {
      const r = await tlsGet(port, { ca: ca.signer.certPem, ...(which ? { client: certs[which] } : {}) });
      assert.equal(r.ok, false, `expected a refusal, got ${r.ok ? r.status : ''}`);
      assert.match(await refusal(r.localPort), reason);
    });
  }

  it('frees the socket of a client that stalls mid-handshake after transport_socket_connect_timeout', async () => {
    const c = await stallingClient(port);
    await withTimeout(c.closed, 10_000, 'the sidecar to close the stalled connection');
    assert.match(await refusal(c.localPort), /TLS handshake timeout after 1000 ms/);
  });

  it('still serves valid clients after all that', async () => {
    const results = await Promise.all([1, 2, 3].map(() => tlsGet(port, { ca: ca.signer.certPem, client: certs.valid })));
    assert.deepEqual(results.map((r) => (r.ok ? r.status : r.error)), [200, 200, 200]);
  });

  it('openssl s_client: a valid mesh certificate gets a response, an expired one does not', async (t) => {
    if (!hasOpenssl()) { t.skip('openssl is not installed'); return; }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-sclient-'));
    try {
      const ok = await sClient(dir, port, certs.valid);
      assert.match(ok, /^HTTP\/1\.1 200/m);
      const refused = await sClient(dir, port, certs.expired);
      assert.doesNotMatch(refused, /^HTTP\/1\.1 200/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('/config_dump and /certs show the workload certificate: serial, SPIFFE identity, expiry; the key is redacted', async () => {
    const { json: dump } = await sendJson<{ configs: Record<string, unknown>[] }>(`${sidecar.admin}/config_dump`);
    const secrets = dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump') as { dynamic_active_secrets: Record<string, any>[] };
    const def = secrets.dynamic_active_secrets.find((s) => s.name === 'default')!;
    const leaf = new X509Certificate(def.secret.tls_certificate.certificate_chain.inline_string);
    assert.equal(def.secret.tls_certificate.private_key.inline_string, '[redacted]');
    assert.equal(def.certificate.identity, spiffe('orders'));
    assert.equal(def.certificate.serial_number, leaf.serialNumber.toLowerCase());
    assert.equal(def.certificate.expiration_time, leaf.validToDate.toISOString());
    assert.match(def.version_info, /^\d{4}-/);
    assert.equal(def.source, 'identity_agent');
    assert.ok(secrets.dynamic_active_secrets.some((s) => s.name === 'ROOTCA' && s.trusted_cas.length === 1));
    assert.doesNotMatch(JSON.stringify(dump), /PRIVATE KEY/);
    const { json: certsPage } = await sendJson<{ certificates: { ca_cert: any[]; cert_chain: any[] }[] }>(`${sidecar.admin}/certs`);
    const chain = certsPage.certificates[0].cert_chain[0];
    assert.equal(chain.serial_number, leaf.serialNumber.toLowerCase());
    assert.deepEqual(chain.subject_alt_names, [{ uri: spiffe('orders') }]);
    assert.equal(chain.days_until_expiration, '0');
    assert.equal(certsPage.certificates[0].ca_cert[0].serial_number, new X509Certificate(ca.signer.certPem).serialNumber.toLowerCase());
  });
});

function hasOpenssl(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

/** Runs `openssl s_client` with a client certificate and one HTTP request; resolves with what it printed. */
function sClient(dir: string, port: number, cert: ClientCert): Promise<string> {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  fs.writeFileSync(certFile, cert.cert);
  fs.writeFileSync(keyFile, cert.key);
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-cert', certFile, '-key', keyFile, '-quiet'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', () => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', () => { clearTimeout(timer); resolve(out); });
    child.stdin.end('GET / HTTP/1.1\r\nHost: orders\r\nConnection: close\r\n\r\n');
  });
}
