// The control plane's TLS xDS port (--secure-xds-address): a sidecar gets its certificate and config over TLS from a non-loopback address; plaintext, wrong roots and wrong names are refused.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CaClient, certificateServiceDefinition } from '../../src/identity/ca-client.ts';
import { buildCsr, generateWorkloadKey } from '../../src/identity/csr.ts';
import { firstIPv4 } from '../../src/sidecar/sidecar-args.ts';
import { openAdsChannel } from '../../src/xds/ads-transport.ts';
import type { XdsBootstrap } from '../../src/xds/bootstrap-dynamic.ts';
import { parseControlPlaneArgs } from '../../xds/cli.ts';
import type { ControlPlane } from '../../xds/control-plane.ts';
import { generateCert } from '../helpers/certs.ts';
import { send } from '../helpers/http-client.ts';
import { startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { freePort, startMeshControlPlane } from '../helpers/mesh-control-plane.ts';
import { tempDir } from '../helpers/sidecar.ts';
import { SidecarProcesses } from '../helpers/sidecar-processes.ts';
import { pollUntil, withTimeout } from '../helpers/wait.ts';

const SPIFFE = 'spiffe://cluster.local/ns/default/sa/orders';

/** The serving certificate a TLS client sees on `host:port` (no verification). */
function servedCert(host: string, port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      const raw = s.getPeerX509Certificate();
      s.destroy();
      if (raw) resolve(raw);
      else reject(new Error('no peer certificate'));
    });
    s.on('error', reject);
  });
}

/** Opens one SotW ADS stream with these TLS roots and resolves with its first response or rejects with the stream error. */
function adsOnce(target: string, rootCerts: string): Promise<unknown> {
  const xds: XdsBootstrap = {
    apiType: 'GRPC', target, clusterName: null, authority: target, lds: true, cds: true, initialFetchTimeoutMs: 0, nodeOnFirstMessageOnly: false,
    node: { id: 'probe.default' }, sslCredentials: { rootCerts: { inline: rootCerts }, privateKey: null, certChain: null },
  };
  const ch = openAdsChannel(xds, null);
  const call = ch.open('StreamAggregatedResources');
  return withTimeout(new Promise((resolve, reject) => {
    call.on('data', (m) => { call.cancel(); ch.client.close(); resolve(m); });
    call.on('error', (err: Error) => { ch.client.close(); reject(err); });
    call.write({ node: { id: 'probe.default', cluster: 'probe' }, type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster' });
  }), 30_000, 'an ADS response or error');
}

describe('control plane flags for the secure xDS port', () => {
  it('parses --secure-xds-address and --secure-xds-dns-names, and refuses bad values', () => {
    const ok = parseControlPlaneArgs(['-f', 'x.yaml', '--secure-xds-address', '0.0.0.0:15012', '--secure-xds-dns-names', 'cp.ns.svc, localhost,10.0.0.1']);
    assert.ok(ok.ok);
    assert.equal(ok.options.secureXdsAddress, '0.0.0.0:15012');
    assert.deepEqual(ok.options.secureXdsDnsNames, ['cp.ns.svc', 'localhost', '10.0.0.1']);
    const off = parseControlPlaneArgs(['-f', 'x.yaml']);
    assert.ok(off.ok && off.options.secureXdsAddress === undefined);
    const err = (argv: string[]) => { const r = parseControlPlaneArgs(['-f', 'x.yaml', ...argv]); assert.ok(!r.ok); return r.error; };
    assert.equal(err(['--secure-xds-address', '15012']), '--secure-xds-address expects host:port, got "15012"');
    assert.equal(err(['--secure-xds-address', '0.0.0.0:1', '--no-ca']), '--secure-xds-address needs the certificate authority for its certificate (drop --no-ca)');
    assert.equal(err(['--secure-xds-dns-names', 'a.b']), '--secure-xds-dns-names needs --secure-xds-address');
    assert.equal(err(['--secure-xds-address', '0.0.0.0:1', '--secure-xds-dns-names', 'bad name!']), '--secure-xds-dns-names: "bad name!" is not a DNS name or IP address');
  });
});

describe('secure xDS port: real TLS, real grpc-js', () => {
  let cp: ControlPlane;
  let dir: string;
  let rootFile: string;
  let token: string;
  let app: HttpUpstream;
  const hostIp = firstIPv4();
  const sidecars = new SidecarProcesses();

  before(async () => {
    dir = tempDir();
    const mesh = await startMeshControlPlane(dir, 'apiVersion: v1\nkind: Service\nmetadata: {name: orders}\nspec: {ports: [{name: http, port: 8080}]}\n', {
      ca: true, options: { xdsAddress: '0.0.0.0:0', secureXds: { address: '0.0.0.0:0', dnsNames: ['localhost', ...(hostIp ? [hostIp] : [])] } },
    });
    cp = mesh.cp;
    rootFile = path.join(dir, 'root-cert.pem');
    fs.writeFileSync(rootFile, cp.ca!.trustBundle().join(''));
    token = mesh.tokenFile('orders');
    app = await startHttpEcho('orders-app');
  });

  after(async () => {
    await sidecars.stopAll();
    await app?.close();
    await cp?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves a certificate from its own CA naming the DNS names and 127.0.0.1', async () => {
    assert.ok(cp.secureXdsPort && cp.secureXdsPort !== cp.xdsPort);
    const cert = await servedCert('127.0.0.1', cp.secureXdsPort);
    const root = new X509Certificate(cp.ca!.trustBundle()[0]);
    assert.ok(cert.verify(root.publicKey), 'signed by the CA root');
    assert.match(cert.subjectAltName ?? '', /DNS:localhost/);
    assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.equal(cert.serialNumber, cp.servingCert!.state().serial);
  });

  it('a sidecar pointed at the TLS port by a non-loopback address gets its certificate and config (ADS and CA over TLS)', async (t) => {
    if (!hostIp) return t.skip('no non-loopback IPv4 address on this host');
    const [status, inbound, outbound] = await Promise.all([freePort(), freePort(), freePort()]);
    const { output } = sidecars.start(['--xds-address', `${hostIp}:${cp.secureXdsPort}`, '--xds-root-cert', rootFile,
      '--service', 'orders', '--pod-name', 'orders-tls', '--interception', 'none', '--address', '127.0.0.1', '--admin-port', '0',
      '--status-port', String(status), '--inbound-port', String(inbound), '--outbound-port', String(outbound), '--ports', `http=${app.port}`,
      '--identity-token-file', token]);
    await pollUntil(async () => (await send(`http://127.0.0.1:${status}/healthz/ready`, { timeoutMs: 3000 })).status === 200,
      { timeoutMs: 90_000, intervalMs: 200, what: '/healthz/ready to answer 200' }).catch((e: Error) => { throw new Error(`${e.message}\n${output.join('')}`); });
    // Certificate: issued to orders by a caller from the non-loopback address (plaintext would have been refused).
    const certs = JSON.parse((await send(`http://127.0.0.1:${cp.statusPort}/debug/certs`)).text) as { certificates: { identity: string; peer: string }[] };
    const mine = certs.certificates.filter((c) => c.identity === SPIFFE);
    assert.ok(mine.some((c) => c.peer.includes(hostIp)), `issued over TLS to ${hostIp}: ${JSON.stringify(mine)}`);
    // Config: the node is connected over the TLS port, and its inbound listener serves the app.
    const syncz = JSON.parse((await send(`http://127.0.0.1:${cp.statusPort}/debug/syncz`)).text) as { connections: { nodeId: string; peer: string }[] };
    assert.ok(syncz.connections.some((c) => c.nodeId === 'orders-tls.default'), JSON.stringify(syncz.connections));
    assert.equal((await send(`http://127.0.0.1:${inbound}/hello`)).status, 200);
    assert.match(output.join(''), /\(TLS, roots /);

    // Renewal swaps the certificate for new handshakes while the open ADS stream lives on (same connection id).
    type Syncz = { connections: { nodeId: string; connection: string }[] };
    const streams = (z: Syncz) => z.connections.filter((c) => c.nodeId === 'orders-tls.default').map((c) => c.connection);
    const beforeIds = streams(syncz as unknown as Syncz);
    const before = cp.servingCert!.state();
    cp.servingCert!.renew('test');
    const after = cp.servingCert!.state();
    assert.notEqual(after.serial, before.serial);
    assert.equal(after.issued, before.issued + 1);
    assert.equal((await servedCert('127.0.0.1', cp.secureXdsPort!)).serialNumber, after.serial);
    assert.equal((await send(`http://127.0.0.1:${inbound}/again`)).status, 200);
    const syncz2 = JSON.parse((await send(`http://127.0.0.1:${cp.statusPort}/debug/syncz`)).text) as Syncz;
    assert.deepEqual(streams(syncz2), beforeIds, 'the ADS stream was not dropped');
  });

  it('the plaintext port refuses a token from a non-loopback peer; loopback still works', async (t) => {
    if (!hostIp) return t.skip('no non-loopback IPv4 address on this host');
    const key = await generateWorkloadKey();
    const csr = buildCsr(key, SPIFFE, 'cluster.local');
    // The client refuses on its own (the token would cross the network in clear)...
    assert.throws(() => new CaClient({ address: `${hostIp}:${cp.xdsPort}`, rootCertPem: null, tokenFile: token }), /is not on loopback: give its root certificate/);
    // ...and the server refuses a client that sends it anyway (here a raw grpc-js client).
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${fs.readFileSync(token, 'utf8')}`);
    const Svc = certificateServiceDefinition();
    const client = new Svc(`${hostIp}:${cp.xdsPort}`, grpc.credentials.createInsecure()) as unknown as {
      CreateCertificate(req: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null) => void): void; close(): void;
    };
    const err = await new Promise<grpc.ServiceError | null>((r) => client.CreateCertificate({ csr, validity_duration: 0 }, md, r));
    client.close();
    assert.equal(err?.code, grpc.status.UNAUTHENTICATED);
    assert.match(err!.details, /accepted from loopback only; use the control plane's TLS port/);
    const local = new CaClient({ address: `127.0.0.1:${cp.xdsPort}`, rootCertPem: null, tokenFile: token });
    const issued = await local.createCertificate(csr, 600);
    local.close();
    assert.match(issued.certChain[0], /BEGIN CERTIFICATE/);
  });

  it('a plaintext client with a token gets nothing from the TLS port', async () => {
    const before = cp.ca!.issued.list().length;
    const ca = new CaClient({ address: `127.0.0.1:${cp.secureXdsPort}`, rootCertPem: null, tokenFile: token, timeoutMs: 5000 });
    const key = await generateWorkloadKey();
    await assert.rejects(ca.createCertificate(buildCsr(key, SPIFFE, 'cluster.local'), 600), (e: Error) => {
      assert.match(e.message, /^CA 127\.0\.0\.1:\d+: (UNAVAILABLE|DEADLINE_EXCEEDED|INTERNAL)/);
      return true;
    });
    ca.close();
    assert.equal(cp.ca!.issued.list().length, before, 'nothing was issued');
  });

  it('a wrong root or a name not in the certificate is refused with the TLS reason', async () => {
    const other = generateCert({ commonName: 'Some other CA' });
    try {
      const key = await generateWorkloadKey();
      const csr = buildCsr(key, SPIFFE, 'cluster.local');
      const wrong = new CaClient({ address: `localhost:${cp.secureXdsPort}`, rootCertPem: other.cert, rootCertFile: '/etc/other-root.pem', tokenFile: token, timeoutMs: 10_000 });
      await assert.rejects(wrong.createCertificate(csr, 600),
        /^Error: CA localhost:\d+: UNAVAILABLE: TLS: the server certificate is not trusted by \/etc\/other-root\.pem \(unable to verify the first certificate\): is that the control plane's root\?$/);
      wrong.close();
      await assert.rejects(adsOnce(`localhost:${cp.secureXdsPort}`, other.cert), /UNAVAILABLE: .*unable to verify the first certificate/);
      // The right root, but an address the certificate does not name (127.0.0.2 is loopback, not in its SANs).
      const misnamed = new CaClient({ address: `127.0.0.2:${cp.secureXdsPort}`, rootCertPem: cp.ca!.trustBundle().join(''), tokenFile: token, timeoutMs: 10_000 });
      await assert.rejects(misnamed.createCertificate(csr, 600),
        /^Error: CA 127\.0\.0\.2:\d+: UNAVAILABLE: TLS: Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.2 is not in the cert's list: [0-9., ]*127\.0\.0\.1: connect by a name in the control plane's certificate \(--secure-xds-dns-names\)$/);
      misnamed.close();
      await assert.rejects(adsOnce(`127.0.0.2:${cp.secureXdsPort}`, fs.readFileSync(rootFile, 'utf8')), /UNAVAILABLE: .*altnames/);
      // And the right root and name work for ADS.
      assert.ok(await adsOnce(`localhost:${cp.secureXdsPort}`, fs.readFileSync(rootFile, 'utf8')));
    } finally {
      other.remove();
    }
  });

  it('a sidecar given the wrong root stays not ready and says why, for ADS and for its certificate', async () => {
    const other = generateCert({ commonName: 'Some other CA' });
    const wrongRoot = path.join(dir, 'wrong-root.pem');
    fs.writeFileSync(wrongRoot, other.cert);
    other.remove();
    const status = await freePort();
    const { child, output } = sidecars.start(['--xds-address', `localhost:${cp.secureXdsPort}`, '--xds-root-cert', wrongRoot,
      '--service', 'orders', '--pod-name', 'orders-wrong', '--interception', 'none', '--address', '127.0.0.1', '--admin-port', '0',
      '--status-port', String(status), '--identity-token-file', token]);
    const seen = new Promise<void>((resolve) => {
      const on = () => {
        const reason = `TLS: the server certificate is not trusted by ${wrongRoot} (unable to verify the first certificate): is that the control plane's root?`;
        const lines = output.join('').split('\n').filter((l) => l.includes(reason));
        if (lines.some((l) => l.includes('xDS stream lost')) && lines.some((l) => l.includes('workload certificate request failed'))) resolve();
      };
      child.stdout!.on('data', on);
      child.stderr!.on('data', on);
    });
    await withTimeout(seen, 60_000, 'both refusals in the sidecar log').catch((e: Error) => { throw new Error(`${e.message}\n${output.join('')}`); });
    assert.equal((await send(`http://127.0.0.1:${status}/healthz/ready`, { timeoutMs: 3000 })).status, 503);
    child.kill('SIGTERM');
  });

  it('a new signing root re-issues the serving certificate under it', async () => {
    const before = cp.servingCert!.state();
    await cp.ca!.rotateRoot({ activate: false });
    assert.equal(cp.servingCert!.state().serial, before.serial, 'a staged root does not change the serving certificate');
    const info = cp.ca!.activateRoot();
    const now = cp.servingCert!.state();
    assert.notEqual(now.serial, before.serial);
    const served = await servedCert('127.0.0.1', cp.secureXdsPort!);
    const newRoot = new X509Certificate(cp.ca!.trustBundle()[0]);
    assert.equal(newRoot.fingerprint256, info.fingerprint);
    assert.ok(served.verify(newRoot.publicKey));
  });
});
