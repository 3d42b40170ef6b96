// Secrets from the control plane (SDS over ADS) and from static_resources.secrets: TLS uses them, a new version serves new handshakes only.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import tls, { type TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import { bootstrap, DOWNSTREAM_TLS_TYPE, httpConnectionManager, listener, route, socketAddress, staticCluster } from '../helpers/bootstrap.ts';
import { sendJson } from '../helpers/http-client.ts';
import { closeAll, startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { startSidecar } from '../helpers/sidecar.ts';
import { startControlPlane, type FakeControlPlane } from '../xds-client/fake-control-plane.ts';
import { ADS, CDS, LDS, xdsBootstrap } from '../xds-client/fixtures.ts';
import { TYPE_URL } from '../../src/xds/protos.ts';
import { makeLeaf, makeRoot, type Issuer, type Leaf } from '../identity/pki.ts';

const SDS = TYPE_URL.secret;
let app: HttpUpstream;
let cp: FakeControlPlane;
let root: Issuer;
let clientLeaf: Leaf;

before(async () => {
  app = await startHttpEcho('app');
  cp = await startControlPlane();
  root = makeRoot('sds root');
  clientLeaf = makeLeaf({ uri: 'spiffe://cluster.local/ns/default/sa/client', issuer: root });
});
after(async () => {
  await closeAll(app);
  await cp.stop();
});

function tlsListener(name: string, certRef: object, caRef: object): Record<string, unknown> {
  const hcm = httpConnectionManager({ accessLog: false, virtualHosts: [{ name: 'app', domains: ['*'], routes: [route({ prefix: '/' }, 'app')] }] });
  return listener(name, [hcm], {
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': DOWNSTREAM_TLS_TYPE,
        require_client_certificate: true,
        common_tls_context: { tls_certificate_sds_secret_configs: [certRef], validation_context_sds_secret_config: caRef },
      },
    },
  }) as Record<string, unknown>;
}

function certSecret(name: string, leaf: Leaf): Record<string, unknown> {
  return { name, tls_certificate: { certificate_chain: { inline_string: leaf.certPem }, private_key: { inline_string: leaf.keyPem } } };
}

function caSecret(name: string): Record<string, unknown> {
  return { name, validation_context: { trusted_ca: { inline_string: root.certPem } } };
}

/** An mTLS connection to the listener; resolves with the socket and the serial of the server certificate it got. */
function connect(port: number): Promise<{ socket: TLSSocket; serial: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: root.certPem, cert: clientLeaf.certPem, key: clientLeaf.keyPem, ALPNProtocols: ['http/1.1'], checkServerIdentity: () => undefined });
    socket.once('secureConnect', () => resolve({ socket, serial: socket.getPeerCertificate().serialNumber.toLowerCase() }));
    socket.once('error', reject);
  });
}

/** One keep-alive HTTP/1.1 GET on `socket`; resolves with the status once the whole response arrived. */
function get(socket: TLSSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      const len = /content-length: *(\d+)/i.exec(head);
      const done = len ? buf.length - end - 4 >= Number(len[1]) : buf.endsWith('\r\n0\r\n\r\n');
      if (!done) return;
      socket.off('data', onData);
      resolve(Number(head.split(' ')[1]));
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write('GET / HTTP/1.1\r\nHost: server.test\r\n\r\n');
  });
}

test('SDS over ADS: the listener takes its certificate and CA from Secret resources; a new version serves new connections, open ones go on', async () => {
  const server1 = makeLeaf({ dns: ['server.test'], issuer: root });
  const server2 = makeLeaf({ dns: ['server.test'], issuer: root });
  const boot = { ...xdsBootstrap(cp.port, { initialFetchTimeout: '0s', clusters: [staticCluster('app', [app.port])] }), admin: { address: socketAddress(0) } };
  const serve = (async () => {
    await cp.waitForRequest((r) => r.typeUrl === LDS, { what: 'LDS request' });
    await cp.reply(await cp.sendSotw(CDS, 'c1', []));
    await cp.reply(await cp.sendSotw(LDS, 'l1', [tlsListener('tls-in', { name: 'server-cert', sds_config: ADS }, { name: 'mesh-ca', sds_config: ADS })]));
    const sub = await cp.waitForRequest((r) => r.typeUrl === SDS && (r.msg.resource_names as string[]).length === 2, { what: 'SDS subscription' });
    assert.deepEqual(sub.msg.resource_names, ['mesh-ca', 'server-cert']);
    await cp.reply(await cp.sendSotw(SDS, 's1', [certSecret('server-cert', server1), caSecret('mesh-ca')]));
  })();
  const sidecar = await startSidecar(boot);
  try {
    await serve;
    const port = sidecar.port('tls-in');
    const first = await connect(port);
    assert.equal(await get(first.socket), 200);
    assert.equal(first.serial, serialOf(server1));

    await cp.reply(await cp.sendSotw(SDS, 's2', [certSecret('server-cert', server2), caSecret('mesh-ca')]));
    const fresh = await connect(port);
    assert.equal(await get(fresh.socket), 200);
    assert.equal(fresh.serial, serialOf(server2), 'a new handshake gets the new certificate');
    fresh.socket.destroy();
    assert.equal(await get(first.socket), 200, 'the connection made with the first certificate goes on');
    first.socket.destroy();

    const { json } = await sendJson<{ configs: Record<string, any>[] }>(`${sidecar.admin}/config_dump`);
    const secrets = json.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump')!;
    const cert = secrets.dynamic_active_secrets.find((s: { name: string }) => s.name === 'server-cert');
    assert.equal(cert.version_info, 's2');
    assert.equal(cert.source, 'sds');
    assert.equal(cert.secret.tls_certificate.private_key.inline_string, '[redacted]');
    assert.equal(cert.certificate.serial_number, serialOf(server2));
  } finally {
    await sidecar.stop();
  }
});

test('static_resources.secrets: a listener names them without sds_config', async () => {
  const server = makeLeaf({ dns: ['server.test'], issuer: root });
  const boot = bootstrap([tlsListener('tls-static', { name: 'server-cert' }, { name: 'mesh-ca' })], [staticCluster('app', [app.port])]);
  (boot as { static_resources: Record<string, unknown> }).static_resources.secrets = [certSecret('server-cert', server), caSecret('mesh-ca')];
  const sidecar = await startSidecar(boot);
  try {
    const c = await connect(sidecar.port('tls-static'));
    assert.equal(await get(c.socket), 200);
    assert.equal(c.serial, serialOf(server));
    c.socket.destroy();
    const { json } = await sendJson<{ configs: Record<string, any>[] }>(`${sidecar.admin}/config_dump?resource=static_secrets`);
    assert.deepEqual(json.configs.map((c) => c.name), ['mesh-ca', 'server-cert']);
    assert.equal(json.configs[0]['@type'], 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump.StaticSecret');
  } finally {
    await sidecar.stop();
  }
});

function serialOf(leaf: Leaf): string {
  return new X509Certificate(leaf.certPem).serialNumber.toLowerCase();
}
