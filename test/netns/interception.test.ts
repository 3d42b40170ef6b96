// Transparent interception end to end: pods as network namespaces on a bridge, unmodified apps, `pilotfish iptables`, `pilotfish sidecar` as uid 1337, the control plane outside.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import YAML from 'yaml';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../../xds/control-plane.ts';
import { send } from '../helpers/http-client.ts';
import { pollUntil, withTimeout } from '../helpers/wait.ts';
import { netnsUnavailable, nodeForProxyUid, PROXY_UID, REPO_ROOT, runtimeRootForProxy, TestNet, type Pod, type PodProcess } from './harness.ts';

const PILOTFISH = path.join(REPO_ROOT, 'bin', 'pilotfish');
const POD_APP = path.join(REPO_ROOT, 'test', 'netns', 'pod-app.ts');
/**
 * The sidecars reach the control plane from their pod address, so they use its TLS port (--secure-xds-address, Istio's
 * 15012) for ADS and the CA: the token never travels in plaintext, and the certificate must name the host address.
 */
const DRIVER = 7777;
const A_ID = 'spiffe://cluster.local/ns/default/sa/a';

/**
 * The mesh: a (HTTP, and HTTP without a declared protocol; PERMISSIVE; authorization denies /denied) and b (HTTP on service port 80 → target port 8080, HTTP without a declared protocol, a
 * TCP echo, a server-first TCP banner; STRICT, the mesh default here). b's Service has a virtual IP that no interface
 * holds (there is no kube-proxy here): only the capture makes it reachable. "ext" is not in the mesh.
 */
const B_VIP = '10.96.0.10';
/** An HTTP port of b's app that its Service does not declare. */
const UNDECLARED = 8090;
const MESH = `apiVersion: v1
kind: Service
metadata: {name: a}
spec: {ports: [{name: http, port: 8080}, {name: web, port: 8081}]}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {clusterIP: ${B_VIP}, ports: [{name: http, port: 80, targetPort: 8080}, {name: web, port: 8081}, {name: tcp-echo, port: 9000}, {name: tcp-banner, port: 2525}]}
---
apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: a}
spec:
  targetRef: {kind: Service, name: a}
  mtls: {mode: PERMISSIVE}
  authorization: [{name: no-denied, action: DENY, rules: [{to: [{paths: [/denied]}]}]}]
`;

let skip: string | false = netnsUnavailable() ?? false;
/** What the proxy uid runs: a Node binary it may execute and a repository it may read (copies when /root hides them). */
let node = process.execPath;
let proxyRoot = REPO_ROOT;
if (!skip) {
  node = nodeForProxyUid();
  const r = runtimeRootForProxy(node);
  if ('error' in r) skip = r.error;
  else proxyRoot = r.root;
}
const PROXY_PILOTFISH = path.join(proxyRoot, 'bin', 'pilotfish');
if (skip) process.stderr.write(`# skipping the network-namespace interception test: ${skip}\n`);

describe('transparent interception in network namespaces', { skip }, () => {
  const net = new TestNet();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-netns-'));
  fs.chmodSync(dir, 0o755); // the sidecars (uid 1337) read their token files here
  const procs: PodProcess[] = [];
  let cp: ControlPlane | null = null;
  let xdsPort = 0;
  let secureXdsPort = 0;
  /** The CA's roots, readable by the proxy uid (in a cluster: the ConfigMap pilotfish-ca-root-cert). */
  const rootFile = path.join(dir, 'root-cert.pem');
  let a: Pod, b: Pod, c: Pod, ext: Pod;
  const sidecars = new Map<string, PodProcess>();

  const cpOptions = (policy: 'ALLOW_ANY' | 'REGISTRY_ONLY'): ControlPlaneOptions => ({
    inputs: [path.join(dir, 'mesh.yaml')], xdsAddress: `${net.hostIp}:${xdsPort}`, statusAddress: '127.0.0.1:0',
    secureXds: { address: `${net.hostIp}:${secureXdsPort}`, dnsNames: [net.hostIp] },
    logger: pino({ level: 'silent' }), watch: false, ca: { dir: path.join(dir, 'ca') }, mtls: { defaultMode: 'STRICT' }, outboundTrafficPolicy: policy,
  });

  /** Asks a pod's app (its driver port, not captured) to make a call; the app has no proxy settings. */
  async function drive(pod: Pod, query: string): Promise<Record<string, any>> {
    const r = await send(`http://${pod.ip}:${DRIVER}${query}`, { timeoutMs: 20_000 });
    assert.equal(r.status, 200, `driver of ${pod.name}: ${r.text}`);
    return JSON.parse(r.text) as Record<string, any>;
  }

  const httpCall = (from: Pod, to: Pod, p = '/'): Promise<Record<string, any>> => drive(from, `/http?url=${encodeURIComponent(`http://${to.ip}:8080${p}`)}`);

  function startApp(pod: Pod, env: Record<string, string>): PodProcess {
    const p = pod.start(process.execPath, [POD_APP], { env: { APP_NAME: pod.name, HTTP_PORT: '8080', ...env } });
    procs.push(p);
    return p;
  }

  function tokenFile(sa: string): string {
    const tokens = YAML.parse(fs.readFileSync(path.join(dir, 'ca', 'tokens.yaml'), 'utf8')) as Record<string, { serviceAccount: string }>;
    const file = path.join(dir, `${sa}.token`);
    fs.writeFileSync(file, Object.entries(tokens).find(([, id]) => id.serviceAccount === sa)![0], { mode: 0o600 });
    fs.chownSync(file, PROXY_UID, PROXY_UID);
    return file;
  }

  async function startSidecar(pod: Pod, ports: string): Promise<void> {
    // The init container's job: capture everything but the sidecar's uid, its status port and the test's driver port.
    await pod.exec(process.execPath, [PILOTFISH, 'iptables', '-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-g', String(PROXY_UID), '-d', `15021,${DRIVER}`]);
    const p = pod.start(node, [PROXY_PILOTFISH, 'sidecar', '--xds-address', `${net.hostIp}:${secureXdsPort}`, '--xds-root-cert', rootFile,
      '--service', pod.name, '--pod-name', pod.name, '--address', pod.ip, '--ports', ports, '--identity-token-file', tokenFile(pod.name),
      '--drain-time-s', '1'], { uid: PROXY_UID });
    procs.push(p);
    sidecars.set(pod.name, p);
  }

  async function ready(pod: Pod): Promise<void> {
    const sc = sidecars.get(pod.name)!;
    const died = new Promise<never>((_, reject) => sc.child.once('exit', () => reject(new Error(`sidecar of ${pod.name} exited:\n${sc.output.slice(-20).join('\n')}`))));
    died.catch(() => undefined); // it may exit later, at the end of the test
    if (sc.child.exitCode !== null) throw new Error(`sidecar of ${pod.name} exited:\n${sc.output.slice(-20).join('\n')}`);
    await Promise.race([died, pollUntil(async () => (await send(`http://${pod.ip}:15021/healthz/ready`, { timeoutMs: 3000 })).status === 200,
      { timeoutMs: 60_000, intervalMs: 200, what: `the sidecar of ${pod.name} to be ready (/healthz/ready)` })])
      .catch((e: Error) => { throw new Error(`${e.message}\n${failureContext()}`); });
  }

  /** Waits until node `<pod>.default` has ACKed a listener config from the current control plane. */
  async function synced(pod: Pod): Promise<void> {
    await pollUntil(async () => {
      const r = await send(`http://127.0.0.1:${cpStatusPort}/debug/syncz`, { timeoutMs: 3000 });
      const conns = (JSON.parse(r.text) as { connections: { nodeId: string; types: Record<string, { state: string }> }[] }).connections;
      return conns.some((x) => x.nodeId === `${pod.name}.default` && x.types.LDS?.state === 'SYNCED' && x.types.CDS?.state === 'SYNCED');
    }, { timeoutMs: 60_000, intervalMs: 200, what: `${pod.name}'s sidecar to sync with the control plane` });
  }
  let cpStatusPort = 0;
  function failureContext(): string {
    return [...sidecars].map(([n, p]) => `--- sidecar ${n} ---\n${p.output.slice(-25).join('\n')}`).join('\n');
  }

  before(async () => {
    await net.create();
    a = await net.addPod('a');
    b = await net.addPod('b');
    c = await net.addPod('c');
    ext = await net.addPod('ext');
    // Pods have a default route (as in Kubernetes): without one, connecting to the Service's VIP fails before iptables.
    await a.exec('ip', ['route', 'add', 'default', 'via', net.hostIp]);
    fs.writeFileSync(path.join(dir, 'mesh.yaml'), MESH);
    cp = await startControlPlane(cpOptions('ALLOW_ANY'));
    xdsPort = cp.xdsPort;
    secureXdsPort = cp.secureXdsPort!;
    cpStatusPort = cp.statusPort;
    fs.writeFileSync(rootFile, cp.ca!.trustBundle().join(''), { mode: 0o644 });
    const apps = [
      startApp(a, { DRIVER_PORT: String(DRIVER), WEB_PORT: '8081' }),
      startApp(b, { WEB_PORT: '8081', ECHO_PORT: '9000', BANNER_PORT: '2525', UNDECLARED_PORT: String(UNDECLARED) }),
      startApp(c, { DRIVER_PORT: String(DRIVER) }),
      startApp(ext, {}),
    ];
    await Promise.all(apps.map((p) => p.waitForLine(/^http listening/, 30_000)));
    await Promise.all([startSidecar(a, 'http=8080,web=8081'), startSidecar(b, 'http=8080,web=8081,tcp-echo=9000,tcp-banner=2525')]);
    await Promise.all([ready(a), ready(b)]);
    // Ready means configured; b's endpoint reaches a's listeners once the control plane has pushed it.
    await pollUntil(async () => (await httpCall(a, b)).status === 200, { timeoutMs: 30_000, intervalMs: 200, what: 'a → b through both sidecars' })
      .catch((e: Error) => { throw new Error(`${e.message}\n${failureContext()}`); });
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await cp?.close();
    await net.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("pod a's app calls http://<b>:8080/ with no proxy setting and gets b's answer; b's app sees a's SPIFFE identity", async () => {
    const r = await httpCall(a, b, '/hello');
    assert.equal(r.status, 200, JSON.stringify(r));
    const body = JSON.parse(r.body as string) as { from: string; path: string; peer: string; xfcc: string | null };
    assert.equal(body.from, 'b');
    assert.equal(body.path, '/hello');
    assert.equal(body.peer, '127.0.0.1', "b's app is reached by its sidecar on loopback");
    assert.match(body.xfcc ?? '', new RegExp(`URI=${A_ID.replace(/[/.]/g, '\\$&')}`), 'x-forwarded-client-cert names a');
    for (const [name, sc] of sidecars) {
      const uid = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${sc.child.pid}/status`, 'utf8'))?.[1];
      assert.equal(uid, String(PROXY_UID), `the sidecar of ${name} runs as uid ${PROXY_UID}`);
    }
  });

  it('the bytes between the pods are TLS (tcpdump on the bridge); plaintext between pods without sidecars is visible', async () => {
    const pcap = path.join(dir, 'bridge.pcap');
    const marker = `secret-${Math.random().toString(36).slice(2)}`;
    const visible = `visible-${Math.random().toString(36).slice(2)}`;
    const dump = await net.capture('tcp port 8080', pcap);
    const meshed = await httpCall(a, b, `/${marker}`);
    const plain = await httpCall(c, ext, `/${visible}`);
    assert.equal(meshed.status, 200);
    assert.equal(plain.status, 200);
    // The plaintext call went last: once tcpdump has written it, it has written the mesh call's packets too.
    await pollUntil(() => fs.readFileSync(pcap).includes(visible), { timeoutMs: 20_000, intervalMs: 50, what: 'tcpdump to record the plaintext call' })
      .catch((e: Error) => { throw new Error(`${e.message} (tcpdump: ${dump.output.join(' / ')})`); });
    await dump.stop();
    const bytes = fs.readFileSync(pcap);
    assert.ok(!bytes.includes(marker), 'the path of a → b never crosses the bridge in the clear');
    // TLS records (application data, content type 23, version 3.3) crossed the bridge: the pooled connection's handshake may predate the capture.
    assert.ok(bytes.includes(Buffer.from([0x17, 0x03, 0x03])), 'TLS application data records crossed the bridge');
  });

  it('a pod without a sidecar is refused by b (STRICT mTLS) but accepted in plaintext by a (PERMISSIVE)', async () => {
    const r = await httpCall(c, b);
    assert.equal(r.ok, false, `plaintext from c must not reach b's app: ${JSON.stringify(r)}`);
    const p = await httpCall(c, a, '/permissive');
    assert.equal(p.status, 200, JSON.stringify(p));
    const body = JSON.parse(p.body as string) as { from: string; xfcc: string | null };
    assert.deepEqual([body.from, body.xfcc], ['a', null], 'no client certificate, no identity');
  });

  it('a port without a declared protocol is detected: HTTP from a reaches b', async () => {
    const r = await drive(a, `/http?url=${encodeURIComponent(`http://${b.ip}:8081/detected`)}`);
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.deepEqual((({ from, path: p }) => ({ from, path: p }))(JSON.parse(r.body as string) as { from: string; path: string }), { from: 'b', path: '/detected' });
    // a's sidecar took the HTTP chain (http_inspector): its access log has the request's path, which tcp_proxy cannot know.
    await sidecars.get('a')!.waitForLine(/"path":"\/detected"/, 10_000);
  });

  it('TCP services work through capture: an echo server and a server-first banner', async () => {
    const echo = await drive(a, `/tcp?host=${b.ip}&port=9000&send=ping-42&expect=7`);
    assert.deepEqual([echo.ok, echo.data], [true, 'ping-42'], JSON.stringify(echo));
    const banner = await drive(a, `/tcp?host=${b.ip}&port=2525&expect=13`);
    assert.deepEqual([banner.ok, banner.data], [true, '220 b ready\r\n'], JSON.stringify(banner));
  });

  it("a port b's Service does not declare is reachable from a through both sidecars (mTLS), passed to b's app from 127.0.0.6", async () => {
    const r = await drive(a, `/http?url=${encodeURIComponent(`http://${b.ip}:${UNDECLARED}/undeclared`)}`);
    assert.equal(r.status, 200, `${JSON.stringify(r)}\n${failureContext()}`);
    const body = JSON.parse(r.body as string) as { from: string; path: string; peer: string };
    assert.deepEqual([body.from, body.path], ['b', '/undeclared']);
    assert.equal(body.peer, '127.0.0.6', "b's sidecar connects from 127.0.0.6 (upstream_bind_config), which iptables does not capture again");
    // b is STRICT: the passthrough still needs mTLS, so a pod without a sidecar is refused.
    const plain = await drive(c, `/http?url=${encodeURIComponent(`http://${b.ip}:${UNDECLARED}/`)}`);
    assert.equal(plain.ok, false, `plaintext from c must not reach b's undeclared port: ${JSON.stringify(plain)}`);
  });

  it("b's Service VIP (assigned to no interface, no kube-proxy) reaches b over mTLS: the capture routes <VIP>:80 to b's endpoints", async () => {
    const r = await drive(a, `/http?url=${encodeURIComponent(`http://${B_VIP}:80/vip`)}`);
    assert.equal(r.status, 200, `${JSON.stringify(r)}\n${failureContext()}`);
    const body = JSON.parse(r.body as string) as { from: string; path: string; xfcc: string | null };
    assert.deepEqual([body.from, body.path], ['b', '/vip']);
    assert.match(body.xfcc ?? '', new RegExp(`URI=${A_ID.replace(/[/.]/g, '\\$&')}`), "b's app sees a's SPIFFE identity");
  });

  /** Established TCP connections in a pod whose local port is `port` (the sidecar's accepted connections on that listener). */
  async function accepted(pod: Pod, port: number): Promise<number> {
    const out = await pod.exec('ss', ['-Htn', 'state', 'established', 'sport', '=', `:${port}`]);
    return out.split('\n').filter((l) => l.trim() !== '').length;
  }

  /** Connects from the test (outside every pod), sends a request line and resolves when the peer closes (rejects after 10 s). */
  function closedFromOutside(host: string, port: number): Promise<void> {
    const s = connect({ host, port });
    s.on('connect', () => s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
    s.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
    return withTimeout(closed, 10_000, `${host}:${port} to close the connection`).finally(() => s.destroy());
  }

  it("connections to a sidecar's capture ports are closed at once and do not loop (from outside, and from the app to 127.0.0.1:15001)", async () => {
    const before = { b15001: await accepted(b, 15001), a15001: await accepted(a, 15001), a15006: await accepted(a, 15006) };
    // From outside to <b>:15001 and <a>:15006 (pilotfish iptables exempts both ports, so they reach the capture
    // listeners unredirected; a is PERMISSIVE, so plaintext would be passed through to <a>:15006 again and again).
    await closedFromOutside(b.ip, 15001);
    await closedFromOutside(a.ip, 15006);
    await closedFromOutside(b.ip, 15006);
    // a's app dialing its sidecar's outbound capture port directly.
    const r = await drive(a, `/tcp?host=127.0.0.1&port=15001&send=${encodeURIComponent('GET / HTTP/1.1\r\nhost: x\r\n\r\n')}&expect=1`);
    assert.deepEqual([r.ok, r.data], [false, ''], JSON.stringify(r));
    assert.match(String(r.error), /closed by peer|ECONNRESET/, `closed, not left hanging: ${JSON.stringify(r)}`);
    // No connection is left behind (a loop keeps opening new ones to the same port).
    await pollUntil(async () => (await accepted(b, 15001)) <= before.b15001 && (await accepted(a, 15001)) <= before.a15001 && (await accepted(a, 15006)) <= before.a15006,
      { timeoutMs: 10_000, intervalMs: 100, what: `the capture listeners' connections to go back to ${JSON.stringify(before)}` });
    // The sidecars still serve.
    assert.equal((await httpCall(a, b)).status, 200);
  });

  it('HTTP/1.0 to a port without a declared protocol meets the authorization rules (PERMISSIVE plaintext from a pod without a sidecar)', async () => {
    const raw = (p: string): Promise<Record<string, any>> =>
      drive(c, `/tcp?host=${a.ip}&port=8081&send=${encodeURIComponent(`GET ${p} HTTP/1.0\r\nhost: a\r\n\r\n`)}&expect=12`);
    const denied = await raw('/denied');
    assert.match(String(denied.data), /^HTTP\/1\.[01] 403 /, `a's DENY rule refuses /denied over HTTP/1.0: ${JSON.stringify(denied)}`);
    const allowed = await raw('/allowed');
    assert.match(String(allowed.data), /^HTTP\/1\.[01] 200 /, JSON.stringify(allowed));
  });

  it('outside the mesh: ALLOW_ANY passes through to the original destination, REGISTRY_ONLY refuses', async () => {
    const allowed = await httpCall(a, ext, '/out');
    assert.equal(allowed.status, 200, JSON.stringify(allowed));
    assert.equal((JSON.parse(allowed.body as string) as { from: string }).from, 'ext');
    // The policy is mesh config: restart the control plane with REGISTRY_ONLY (same address, same CA); sidecars reconnect.
    await cp!.close();
    cp = null;
    cp = await startControlPlane(cpOptions('REGISTRY_ONLY'));
    cpStatusPort = cp.statusPort;
    await synced(a);
    const refused = await httpCall(a, ext, '/out');
    assert.equal(refused.ok, false, `ext must be unreachable under REGISTRY_ONLY: ${JSON.stringify(refused)}`);
    // Mesh destinations still work (once b has re-announced its endpoint to the new control plane).
    await pollUntil(async () => (await httpCall(a, b)).status === 200, { timeoutMs: 30_000, intervalMs: 200, what: 'a → b under REGISTRY_ONLY' });
  });
});
