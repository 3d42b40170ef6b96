// Certificate and root rotation under steady traffic: 2-second certificates renewed at half life, a root rotation with overlap, zero failed requests.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, it } from 'node:test';
import { bootstrap, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { send, sendJson } from '../helpers/http-client.ts';
import { startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { startTestCa, type TestCa } from '../identity/ca-server.ts';
import { identityArgs, meshNode, meshUpstream, spiffe, strictInbound } from '../identity/mesh.ts';

const ORDERS = spiffe('orders');
const FRONTEND = spiffe('frontend');
let ca: TestCa;
let app: HttpUpstream;
let server: Sidecar;
let client: Sidecar;

before(async () => {
  ca = await startTestCa({ tokens: { 'orders-token-0123456789': ORDERS, 'frontend-token-0123456789': FRONTEND } });
  app = await startHttpEcho('orders-app');
  const inbound = httpConnectionManager({ accessLog: false, virtualHosts: [{ name: 'app', domains: ['*'], routes: [route({ prefix: '/' }, 'app')] }] });
  server = await startSidecar(bootstrap([listener('inbound', [inbound], strictInbound())], [staticCluster('app', [app.port])], { node: meshNode('orders') }), {
    args: identityArgs(ca, 'orders-token-0123456789', 2),
  });
  const outbound = httpConnectionManager({ accessLog: false, virtualHosts: [{ name: 'orders', domains: ['*'], routes: [route({ prefix: '/' }, 'orders')] }] });
  // Two requests per upstream connection: new handshakes all the time, each with the certificates in force then.
  const cluster = staticCluster('orders', [server.port('inbound')], { ...meshUpstream([ORDERS]), max_requests_per_connection: 2 });
  client = await startSidecar(bootstrap([listener('outbound', [outbound])], [cluster], { node: meshNode('frontend') }), {
    args: identityArgs(ca, 'frontend-token-0123456789', 2),
  });
});

after(async () => {
  await client?.stop();
  await server?.stop();
  await app?.close();
  await ca?.close();
});

/** Resolves once both sidecars have fetched `n` more certificates than they had when this was called. */
function renewals(n: number): Promise<void> {
  const base = new Map([ORDERS, FRONTEND].map((id) => [id, ca.issuedFor.get(id) ?? 0]));
  return ca.waitFor(() => [ORDERS, FRONTEND].every((id) => (ca.issuedFor.get(id) ?? 0) >= base.get(id)! + n));
}

async function trustedRoots(s: Sidecar): Promise<string[]> {
  const { json } = await sendJson<{ configs: Record<string, any>[] }>(`${s.admin}/config_dump`);
  const secrets = json.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump')!;
  return secrets.dynamic_active_secrets.find((x: { name: string }) => x.name === 'ROOTCA').trusted_cas.map((c: { serial_number: string }) => c.serial_number);
}

it('2-second certificates and a root rotation under steady traffic: zero failed requests', async () => {
  let stop = false;
  const failures: string[] = [];
  let ok = 0;
  const worker = async (): Promise<void> => {
    while (!stop) {
      try {
        const r = await send(`${client.url('outbound')}/steady`, { timeoutMs: 5000 });
        if (r.status === 200) ok++;
        else failures.push(`${r.status} ${r.text.slice(0, 200)}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const workers = [1, 2, 3, 4].map(() => worker());
  const serial = (pem: string) => new X509Certificate(pem).serialNumber.toLowerCase();
  try {
    await renewals(2); // certificates renewed under traffic
    const oldRoot = ca.signer;
    const newRoot = ca.addRoot(); // overlap: both roots trusted, still signing with the old one
    await renewals(2);
    assert.deepEqual((await trustedRoots(server)).sort(), [serial(oldRoot.certPem), serial(newRoot.certPem)].sort());
    ca.signWith(newRoot); // leaves from the new root, both still trusted
    await renewals(2);
    ca.dropRoot(oldRoot); // the old root goes
    await renewals(2);
    assert.deepEqual(await trustedRoots(server), [serial(newRoot.certPem)]);
    assert.deepEqual(await trustedRoots(client), [serial(newRoot.certPem)]);
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  assert.deepEqual(failures, []);
  assert.ok(ok > 20, `steady traffic ran (${ok} requests)`);
  assert.ok((ca.issuedFor.get(ORDERS) ?? 0) >= 9 && (ca.issuedFor.get(FRONTEND) ?? 0) >= 9, 'each sidecar renewed many times');
  assert.ok(ca.lifetimes.every((s) => s === 2));
});
