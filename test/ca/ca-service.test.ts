// The CA over gRPC end to end, mounted on the control plane's xDS server: real grpc-js clients, token file and TokenReview modes, /debug/certs.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import YAML from 'yaml';
import { startControlPlane, type ControlPlane } from '../../xds/control-plane.ts';
import { SotwClient } from '../../xds/testing/ads-client.ts';
import { TYPE_URLS } from '../../xds/translate/resource.ts';
import { getJson, service } from '../xds-server/fixtures.ts';
import { CaClient, grpcError } from './ca-client.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { captureLog, makeCsr, tempDir, type CapturedLog } from './fixtures.ts';

const ORDERS = 'spiffe://cluster.local/ns/default/sa/orders';
const PAYMENTS = 'spiffe://cluster.local/ns/shop/sa/payments';

function inputs(): string {
  const f = path.join(tempDir('pilotfish-ca-input-'), 'mesh.yaml');
  fs.writeFileSync(f, service('orders', '[{name: http, port: 80}]') + service('payments', '[{name: http, port: 80}]', 'shop'));
  return f;
}

async function post(port: number, p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const r = await fetch(`http://127.0.0.1:${port}${p}`, { method: 'POST', headers });
  const text = await r.text();
  try {
    return { status: r.status, body: JSON.parse(text) };
  } catch {
    return { status: r.status, body: text };
  }
}

describe('CertificateService with the local token file', () => {
  let cp: ControlPlane;
  let client: CaClient;
  let log: CapturedLog;
  let tokens: Map<string, string>;
  const dir = path.join(tempDir(), 'ca');

  before(async () => {
    log = captureLog();
    cp = await startControlPlane({ inputs: [inputs()], xdsAddress: '127.0.0.1:0', statusAddress: '127.0.0.1:0', logger: log.logger, watch: false, ca: { dir } });
    client = await CaClient.connect(cp.xdsPort);
    const file = YAML.parse(fs.readFileSync(path.join(dir, 'tokens.yaml'), 'utf8')) as Record<string, { namespace: string; serviceAccount: string }>;
    tokens = new Map(Object.entries(file).map(([token, id]) => [`${id.namespace}/${id.serviceAccount}`, token]));
  });
  after(async () => {
    client.close();
    await cp.close();
  });

  it('wrote a token per Service of the inputs', () => {
    assert.deepEqual([...tokens.keys()].sort(), ['default/orders', 'shop/payments']);
    assert.equal(fs.statSync(path.join(dir, 'tokens.yaml')).mode & 0o777, 0o600);
  });

  it('signs a CSR for the identity the token grants: chain leaf-first and the trust bundle', async () => {
    const res = await client.create(makeCsr(ORDERS), tokens.get('default/orders')!);
    assert.equal(res.cert_chain.length, 2);
    assert.deepEqual(res.trust_bundle, cp.ca!.trustBundle());
    const [leaf, root] = res.cert_chain.map((p) => new X509Certificate(p));
    assert.equal(leaf.subjectAltName, `URI:${ORDERS}`);
    assert.ok(leaf.checkIssued(root) && leaf.verify(root.publicKey));
    assert.equal(root.fingerprint256, new X509Certificate(res.trust_bundle[0]).fingerprint256);
    const issued = log.find(/CA: certificate issued/);
    assert.equal(issued?.identity, ORDERS);
    assert.equal(issued?.serial, leaf.serialNumber);
  });

  it('honours a shorter validity_duration', async () => {
    const res = await client.create(makeCsr(PAYMENTS), tokens.get('shop/payments')!, 600);
    const leaf = new X509Certificate(res.cert_chain[0]);
    assert.ok(leaf.validToDate.getTime() <= Date.now() + 600_000 + 1000);
  });

  it('refuses a call without a token, or with an unknown one: UNAUTHENTICATED, logged with the reason', async () => {
    const none = await grpcError(client.create(makeCsr(ORDERS), null));
    assert.equal(none.code, grpc.status.UNAUTHENTICATED);
    assert.match(none.details, /no credential: the authorization metadata is missing/);
    assert.ok(log.find(/certificate refused \(UNAUTHENTICATED\): no credential/));
    const bad = await grpcError(client.create(makeCsr(ORDERS), 'not-a-token-of-this-mesh'));
    assert.equal(bad.code, grpc.status.UNAUTHENTICATED);
    assert.ok(log.find(/certificate refused \(UNAUTHENTICATED\): the token is not in the token file/));
  });

  it('refuses a CSR for another identity than the token grants: PERMISSION_DENIED, logged with both identities', async () => {
    const e = await grpcError(client.create(makeCsr(PAYMENTS), tokens.get('default/orders')!));
    assert.equal(e.code, grpc.status.PERMISSION_DENIED);
    assert.match(e.details, /asks for spiffe:\/\/cluster\.local\/ns\/shop\/sa\/payments but the credential grants spiffe:\/\/cluster\.local\/ns\/default\/sa\/orders/);
    const line = log.find(/certificate refused \(PERMISSION_DENIED\)/);
    assert.equal(line?.credential, ORDERS);
    assert.equal(line?.level, 40);
  });

  it('refuses a garbage CSR and a bad SAN: INVALID_ARGUMENT, logged with the reason', async () => {
    const garbage = await grpcError(client.create('-----BEGIN CERTIFICATE REQUEST-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE REQUEST-----\n', tokens.get('default/orders')!));
    assert.equal(garbage.code, grpc.status.INVALID_ARGUMENT);
    assert.match(garbage.details, /the CSR cannot be parsed/);
    assert.ok(log.find(/certificate refused \(INVALID_ARGUMENT\): the CSR cannot be parsed/));
    const san = await grpcError(client.create(makeCsr('spiffe://elsewhere/ns/default/sa/orders'), tokens.get('default/orders')!));
    assert.equal(san.code, grpc.status.INVALID_ARGUMENT);
    assert.ok(log.find(/certificate refused \(INVALID_ARGUMENT\): the CSR's SPIFFE ID .* is outside this CA's trust domain/));
  });

  it('shares its port with ADS', async () => {
    const ads = await SotwClient.connect(`127.0.0.1:${cp.xdsPort}`, { id: 'ca-test-node' });
    try {
      ads.send('CDS', []);
      const r = await ads.next('CDS');
      assert.equal(r.type_url, TYPE_URLS.CDS);
    } finally {
      ads.close();
    }
  });

  it('shows serial, identity and expiry of each certificate on /debug/certs', async () => {
    const res = await client.create(makeCsr(ORDERS), tokens.get('default/orders')!);
    const leaf = new X509Certificate(res.cert_chain[0]);
    const { status, body } = await getJson(cp.statusPort, '/debug/certs');
    assert.equal(status, 200);
    assert.equal(body.trustDomain, 'cluster.local');
    assert.deepEqual(body.credentials, { kind: 'token-file', file: path.join(dir, 'tokens.yaml') });
    assert.equal(body.roots.length, 1);
    const cert = body.certificates.find((c: { serial: string }) => c.serial === leaf.serialNumber);
    assert.equal(cert.identity, ORDERS);
    assert.equal(cert.notAfter, leaf.validToDate.toISOString());
    assert.match(cert.peer, /127\.0\.0\.1/);
    const current = body.workloads.find((w: { identity: string }) => w.identity === ORDERS);
    assert.equal(current.serial, leaf.serialNumber, 'the workload\'s newest certificate');
    assert.deepEqual(body.workloads.map((w: { identity: string }) => w.identity).sort(), [ORDERS, PAYMENTS]);
  });

  it('rotates the root through POST /debug/ca/rotate-root: both roots served, old leaves still verify', async () => {
    const old = await client.create(makeCsr(ORDERS), tokens.get('default/orders')!);
    assert.equal((await post(cp.statusPort, '/debug/ca/rotate-root', { origin: 'https://evil.example' })).status, 403);
    assert.equal((await post(cp.statusPort, '/debug/ca/nope')).status, 404);
    assert.equal((await post(cp.statusPort, '/debug/syncz')).status, 405);
    const rotated = await post(cp.statusPort, '/debug/ca/rotate-root?stage=true');
    assert.equal(rotated.status, 200);
    assert.equal(rotated.body.result.state, 'staged');
    assert.equal((await post(cp.statusPort, '/debug/ca/rotate-root')).status, 409, 'already staged');
    const activated = await post(cp.statusPort, `/debug/ca/activate-root?fingerprint=${encodeURIComponent(rotated.body.result.fingerprint)}`);
    assert.equal(activated.status, 200);
    assert.deepEqual(activated.body.roots.map((r: { state: string }) => r.state), ['active', 'previous']);
    const fresh = await client.create(makeCsr(ORDERS), tokens.get('default/orders')!);
    assert.equal(fresh.trust_bundle.length, 2);
    const bundle = fresh.trust_bundle.map((p) => new X509Certificate(p));
    const oldLeaf = new X509Certificate(old.cert_chain[0]);
    assert.ok(bundle.some((r) => oldLeaf.checkIssued(r) && oldLeaf.verify(r.publicKey)), 'the old leaf verifies against the new bundle');
    assert.equal(new X509Certificate(fresh.cert_chain[1]).fingerprint256, rotated.body.result.fingerprint);
    const removed = await post(cp.statusPort, `/debug/ca/remove-root?fingerprint=${encodeURIComponent(new X509Certificate(old.cert_chain[1]).fingerprint256)}`);
    assert.equal(removed.status, 200);
    assert.equal(removed.body.roots.length, 1);
    assert.equal((await post(cp.statusPort, '/debug/ca/remove-root')).status, 400);
  });
});

describe('CertificateService with Kubernetes TokenReview', () => {
  const api = new FakeApiServer();
  let cp: ControlPlane;
  let client: CaClient;
  let log: CapturedLog;
  const dir = tempDir();

  before(async () => {
    await api.start();
    const own = path.join(dir, 'token');
    fs.writeFileSync(own, api.callerToken);
    api.tokens.set('projected-orders', { namespace: 'default', serviceAccount: 'orders', audiences: ['pilotfish-ca'] });
    log = captureLog();
    cp = await startControlPlane({
      inputs: [inputs()], xdsAddress: '127.0.0.1:0', statusAddress: '127.0.0.1:0', logger: log.logger, watch: false,
      ca: { dir: path.join(dir, 'ca'), kubernetes: { apiServer: api.url, tokenFile: own, caFile: api.tls.certPath, audiences: ['pilotfish-ca'] } },
    });
    client = await CaClient.connect(cp.xdsPort);
  });
  after(async () => {
    client.close();
    await cp.close();
    await api.close();
  });

  it('signs for an authenticated service-account token, refuses an unauthenticated one and another identity', async () => {
    const res = await client.create(makeCsr(ORDERS), 'projected-orders');
    assert.equal(new X509Certificate(res.cert_chain[0]).subjectAltName, `URI:${ORDERS}`);
    assert.equal(api.seen.at(-1)?.body.spec?.token, 'projected-orders');
    const forged = await grpcError(client.create(makeCsr(ORDERS), 'forged-token'));
    assert.equal(forged.code, grpc.status.UNAUTHENTICATED);
    assert.match(forged.details, /Kubernetes did not authenticate the token/);
    assert.ok(log.find(/certificate refused \(UNAUTHENTICATED\): Kubernetes did not authenticate the token: \[invalid bearer token/));
    const other = await grpcError(client.create(makeCsr(PAYMENTS), 'projected-orders'));
    assert.equal(other.code, grpc.status.PERMISSION_DENIED);
    assert.equal(fs.existsSync(path.join(dir, 'ca', 'tokens.yaml')), false, 'no token file in Kubernetes mode');
    assert.equal((await getJson(cp.statusPort, '/debug/certs')).body.credentials.kind, 'kubernetes');
  });
});

describe('control plane without a CA', () => {
  it('answers UNIMPLEMENTED and /debug/certs 404', async () => {
    const cp = await startControlPlane({ inputs: [inputs()], xdsAddress: '127.0.0.1:0', statusAddress: '127.0.0.1:0', logger: captureLog().logger, watch: false });
    const client = await CaClient.connect(cp.xdsPort);
    try {
      assert.equal(cp.ca, null);
      assert.equal((await grpcError(client.create(makeCsr(ORDERS), 'x'))).code, grpc.status.UNIMPLEMENTED);
      assert.equal((await getJson(cp.statusPort, '/debug/certs')).status, 404);
      assert.equal((await post(cp.statusPort, '/debug/ca/rotate-root')).status, 405);
    } finally {
      client.close();
      await cp.close();
    }
  });
});
