// `pilotfish sidecar`: flags and environment, the bootstrap it builds, and a real run against the control plane (identity, xDS, /healthz/ready).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileBootstrap } from '../../src/model/compile-bootstrap.ts';
import { formatConfigError } from '../../src/model/compile-context.ts';
import { parseSidecarArgs, type SidecarOptions } from '../../src/sidecar/sidecar-args.ts';
import { sidecarBootstrap, sidecarMetadata } from '../../src/sidecar/sidecar-bootstrap.ts';
import type { ControlPlane } from '../../xds/control-plane.ts';
import { send } from '../helpers/http-client.ts';
import { startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { freePort, startMeshControlPlane, type MeshControlPlane } from '../helpers/mesh-control-plane.ts';
import { runPilotfish, tempDir } from '../helpers/sidecar.ts';
import { SidecarProcesses } from '../helpers/sidecar-processes.ts';
import { pollUntil } from '../helpers/wait.ts';

function options(argv: string[], env: Record<string, string> = {}): SidecarOptions {
  const r = parseSidecarArgs(argv, env);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.options;
}

function error(argv: string[], env: Record<string, string> = {}): string {
  const r = parseSidecarArgs(argv, env);
  assert.ok(!r.ok, 'expected an error');
  return r.error;
}

describe('pilotfish sidecar: flags and environment', () => {
  // A CA off loopback needs the control plane's root (its TLS port); any existing file will do for parsing.
  const ROOT = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-sidecar-root-')), 'root-cert.pem');
  fs.writeFileSync(ROOT, 'root');

  it('reads the environment (Kubernetes downward API names) and lets flags win', () => {
    const env = { PILOTFISH_XDS_ADDRESS: 'pilotfish.system.svc:15012', POD_NAMESPACE: 'shop', POD_NAME: 'orders-7d9', INSTANCE_IP: '10.1.2.3',
      PILOTFISH_SERVICE: 'orders', SERVICE_ACCOUNT: 'orders-sa', PILOTFISH_PORTS: 'http=8080,grpc=9090', PILOTFISH_TOKEN_FILE: '/var/run/token', PILOTFISH_XDS_ROOT_CERT: ROOT };
    const o = options([], env);
    assert.deepEqual([o.xdsAddress, o.namespace, o.podName, o.address, o.service, o.serviceAccount, o.ports, o.interception, o.caAddress, o.identityTokenFile],
      ['pilotfish.system.svc:15012', 'shop', 'orders-7d9', '10.1.2.3', 'orders', 'orders-sa', { http: 8080, grpc: 9090 }, 'iptables', 'pilotfish.system.svc:15012', '/var/run/token']);
    assert.equal(o.xdsRootCert, ROOT);
    const f = options(['--namespace', 'other', '--interception=none', '--ca-address', 'none', '--address', '10.9.9.9'], env);
    assert.deepEqual([f.namespace, f.interception, f.caAddress, f.address], ['other', 'none', null, '10.9.9.9']);
  });

  it('keeps the first port of a name given twice, with a warning, instead of refusing to start', () => {
    const r = parseSidecarArgs([], { PILOTFISH_XDS_ADDRESS: 'cp:15012', PILOTFISH_SERVICE: 'web', PILOTFISH_PORTS: 'http=8080,http=4180,grpc=9090', INSTANCE_IP: '10.1.2.3', PILOTFISH_CA_ADDR: 'none' }, () => false);
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.deepEqual(r.options.ports, { http: 8080, grpc: 9090 });
    assert.deepEqual(r.warnings, ['PILOTFISH_PORTS: port name "http" appears twice; keeping http=8080, ignoring http=4180']);
  });

  it('refuses bad input with one line naming the flag or variable', () => {
    assert.match(error([]), /--xds-address \(or PILOTFISH_XDS_ADDRESS\) is required/);
    assert.equal(error(['--xds-address', 'cp']), '--xds-address expects HOST:PORT, got "cp"');
    assert.equal(error([], { PILOTFISH_XDS_ADDRESS: 'cp:1', PILOTFISH_INTERCEPTION: 'ebpf' }), 'PILOTFISH_INTERCEPTION must be iptables or none, got "ebpf"');
    assert.equal(error(['--xds-address', 'cp:1', '--ports', 'http=8080']), '--ports needs --service (the Service whose endpoint the ports are)');
    assert.equal(error(['--xds-address', 'cp:1', '--service', 's', '--ports', 'http=99999']), '--ports "http=99999" expects a port number (1-65535), got "99999"');
    assert.equal(error(['--xds-address', 'cp:1', '--address', 'pod-a']), '--address: "pod-a" is not an IP address');
    assert.equal(error(['--xds-address', 'cp:1', '--service', 'Orders']), '--service: "Orders" is not a valid name (lowercase letters, digits, "-")');
    assert.equal(error(['--xds-address', 'cp:1', '--bogus']), 'unknown flag --bogus');
  });

  it('builds a bootstrap the proxy compiles: node <pod>.<ns>, capture metadata, ADS to the control plane', () => {
    const o = options(['--xds-address', '10.0.0.1:15010', '--ca-address', 'none', '--service', 'orders', '--pod-name', 'orders-1', '--address', '10.1.0.5', '--ports', 'http=8080']);
    const b = sidecarBootstrap(o);
    assert.deepEqual((b.node as { id: string }).id, 'orders-1.default');
    assert.deepEqual(sidecarMetadata(o), {
      namespace: 'default', address: '10.1.0.5', service: 'orders', ports: { http: 8080 }, outboundPort: 15001, interception: 'iptables', inboundPort: 15006,
    });
    const c = compileBootstrap(b, { readFile: () => { throw new Error('no files'); } });
    assert.ok(c.ok, c.ok ? '' : c.errors.map(formatConfigError).join('\n'));
  });

  it('exits 2 with the error on stderr for bad flags', async () => {
    const r = await runPilotfish(['sidecar', '--xds-address', 'nowhere']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'pilotfish sidecar: --xds-address expects HOST:PORT, got "nowhere" (see pilotfish sidecar --help)\n');
  });
});

describe('pilotfish sidecar: a real run', () => {
  let cp: ControlPlane;
  let app: HttpUpstream;
  let dir: string;
  let mesh: MeshControlPlane;
  const sidecars = new SidecarProcesses();

  before(async () => {
    dir = tempDir();
    mesh = await startMeshControlPlane(dir, 'apiVersion: v1\nkind: Service\nmetadata: {name: orders}\nspec: {ports: [{name: http, port: 8080}]}\n', { ca: true });
    cp = mesh.cp;
    app = await startHttpEcho('orders-app');
  });

  after(async () => {
    await sidecars.stopAll();
    await app?.close();
    await cp?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 on /healthz/ready while the control plane is unreachable, 200 once configured and certified, and serves traffic', async () => {
    const token = mesh.tokenFile('orders');
    const [deadStatus, status, inbound, outbound, deadXds] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const common = ['--service', 'orders', '--interception', 'none', '--address', '127.0.0.1', '--admin-port', '0', '--identity-token-file', token];
    // A duplicate port name (two containers both say "http") is a warning, not exit 2.
    const dead = sidecars.start(['--xds-address', `127.0.0.1:${deadXds}`, '--pod-name', 'dead', '--status-port', String(deadStatus), '--ports', 'http=1,http=2', ...common]);
    const live = sidecars.start(['--xds-address', `127.0.0.1:${cp.xdsPort}`, '--pod-name', 'orders-1', '--status-port', String(status),
      '--inbound-port', String(inbound), '--outbound-port', String(outbound), '--ports', `http=${app.port}`, ...common]);
    await pollUntil(async () => (await send(`http://127.0.0.1:${status}/healthz/ready`, { timeoutMs: 3000 })).status === 200,
      { timeoutMs: 60_000, intervalMs: 100, what: '/healthz/ready to answer 200' }).catch((e: Error) => { throw new Error(`${e.message}\n${live.output.join('')}`); });
    const notReady = await send(`http://127.0.0.1:${deadStatus}/healthz/ready`, { timeoutMs: 3000 });
    assert.equal(notReady.status, 503);
    assert.match(notReady.text, /waiting for the xDS config and the workload certificate/);
    assert.match(dead.output.join(''), /pilotfish sidecar: warning: --ports: port name "http" appears twice; keeping http=1, ignoring http=2\n/);
    assert.equal(dead.child.exitCode, null, 'still running');
    assert.equal((await send(`http://127.0.0.1:${status}/other`)).status, 404);
    // The node announced itself as orders-1.default: its inbound listener forwards to the app (PERMISSIVE: plaintext accepted).
    const r = await send(`http://127.0.0.1:${inbound}/hello`);
    assert.equal(r.status, 200);
    const syncz = JSON.parse((await send(`http://127.0.0.1:${cp.statusPort}/debug/syncz`)).text) as { connections: { nodeId: string }[] };
    assert.ok(syncz.connections.some((c) => c.nodeId === 'orders-1.default'));
  });
});
