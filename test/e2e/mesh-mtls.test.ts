// Mesh mTLS from the control plane: the real control plane with its CA, two real sidecars with identity agents, an HTTP and a gRPC app.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { ControlPlane } from '../../xds/control-plane.ts';
import { echoPackage, startGrpcServer, type EchoClient, type EchoReply, type GrpcUpstream } from '../helpers/grpc-upstream.ts';
import { send, sendJson } from '../helpers/http-client.ts';
import { startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { adsBootstrap, freePort, startMeshControlPlane, type MeshControlPlane } from '../helpers/mesh-control-plane.ts';
import { startSidecar, tempDir, type Sidecar } from '../helpers/sidecar.ts';
import { pollUntil, withTimeout } from '../helpers/wait.ts';

const FRONTEND = 'spiffe://cluster.local/ns/default/sa/frontend';
const BACKEND = 'spiffe://cluster.local/ns/default/sa/backend';

/** backend: HTTP port STRICT, gRPC port PERMISSIVE; DENY /admin/* and Echo/Fail; ALLOW frontend everything, anyone Echo/Unary on 9090. */
const INPUTS = `apiVersion: v1
kind: Service
metadata: {name: frontend}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: backend}
spec: {ports: [{name: http, port: 8080}, {name: grpc, port: 9090, appProtocol: grpc}]}
---
apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: backend}
spec:
  targetRef: {kind: Service, name: backend}
  mtls: {mode: PERMISSIVE, ports: {http: STRICT}}
  authorization:
  - name: deny-admin
    action: DENY
    rules: [{to: [{paths: [/admin/*, /pilotfish.test.Echo/Fail]}]}]
  - name: allow
    action: ALLOW
    rules:
    - from: [{serviceAccounts: [frontend]}]
    - to: [{ports: [9090], paths: [/pilotfish.test.Echo/Unary]}]
`;

function echoClient(port: number, authority?: string): EchoClient {
  return new (echoPackage().Echo)(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), authority ? { 'grpc.default_authority': authority } : {}) as unknown as EchoClient;
}

function unary(c: EchoClient, method: 'Unary' | 'Fail', req: object): Promise<{ code: number; details: string; reply?: EchoReply }> {
  return new Promise((resolve) => {
    (c[method] as (r: object, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v?: EchoReply) => void) => void)(
      req, new grpc.Metadata(), { deadline: Date.now() + 10_000 },
      (err, reply) => resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '', reply }),
    );
  });
}

function serverStream(c: EchoClient): Promise<{ code: number; details: string; replies: number }> {
  return new Promise((resolve) => {
    let replies = 0;
    const call = c.ServerStream({ message: 'm', count: 2 }, new grpc.Metadata(), { deadline: Date.now() + 10_000 });
    call.on('data', () => { replies += 1; });
    call.on('error', (e: grpc.ServiceError) => resolve({ code: e.code, details: e.details, replies }));
    call.on('status', (s: grpc.StatusObject) => { if (s.code === 0) resolve({ code: 0, details: '', replies }); });
  });
}

let cp: ControlPlane;
let httpApp: HttpUpstream;
let grpcApp: GrpcUpstream;
let frontend: Sidecar;
let backend: Sidecar;
let ports: { httpIn: number; grpcIn: number; outbound: number };
let meshGrpc: EchoClient;
let plainGrpc: EchoClient;

before(async () => {
  // The CA writes a token per Service: namespace default, service account = the Service's name.
  let identity: MeshControlPlane['identity'];
  ({ cp, identity } = await startMeshControlPlane(tempDir(), INPUTS, { ca: true }));
  httpApp = await startHttpEcho('backend-http');
  grpcApp = await startGrpcServer('backend-grpc');
  ports = { httpIn: await freePort(), grpcIn: await freePort(), outbound: await freePort() };
  backend = await startSidecar(adsBootstrap(cp.xdsPort, 'backend-1', {
    service: 'backend', ports: { http: httpApp.port, grpc: grpcApp.port }, inboundPort: { http: ports.httpIn, grpc: ports.grpcIn }, outboundPort: 0,
  }, 'backend'), { args: identity('backend') });
  frontend = await startSidecar(adsBootstrap(cp.xdsPort, 'frontend-1', { service: 'frontend', outboundPort: ports.outbound, dependencies: ['backend'] }, 'frontend'), {
    args: identity('frontend'),
  });
  meshGrpc = echoClient(ports.outbound, 'backend:9090');
  plainGrpc = echoClient(ports.grpcIn);
  // Ready when the frontend has backend's endpoints and both sides have their certificates: a request gets through.
  await pollUntil(async () => (await send(`http://127.0.0.1:${ports.outbound}/ready-check`, { headers: { host: 'backend' } })).status === 200, {
    timeoutMs: 30_000, intervalMs: 100, what: 'the first mTLS request frontend → backend',
  });
});

after(async () => {
  meshGrpc?.close();
  plainGrpc?.close();
  await frontend?.stop();
  await backend?.stop();
  await httpApp?.close();
  await grpcApp?.close();
  await cp?.close();
});

describe('mesh mTLS and authorization from the control plane', () => {
  it('frontend → backend HTTP (STRICT) goes over mTLS: the app sees frontend\'s SPIFFE ID in x-forwarded-client-cert', async () => {
    const r = await send(`http://127.0.0.1:${ports.outbound}/hello`, { headers: { host: 'backend', 'x-forwarded-client-cert': 'URI=spiffe://cluster.local/ns/default/sa/admin' } });
    assert.equal(r.status, 200, r.text);
    const xfcc = (JSON.parse(r.text) as { headers: Record<string, string> }).headers['x-forwarded-client-cert'];
    assert.match(xfcc, new RegExp(`^By=${BACKEND};Hash=[0-9a-f]{64};URI=${FRONTEND}$`), 'set from the verified peer, the client\'s own value dropped');
  });

  it('the frontend sidecar got a TLS cluster for backend that accepts only backend\'s identity, with Istio\'s SNI', async () => {
    const { json } = await sendJson<{ configs: Record<string, any>[] }>(`${frontend.admin}/config_dump`);
    const clusters = json.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump')!;
    const c = clusters.dynamic_active_clusters.map((x: { cluster: Record<string, any> }) => x.cluster).find((x: { name: string }) => x.name === 'outbound|8080||backend.default.svc.cluster.local');
    const tls = c.transport_socket.typed_config;
    assert.equal(tls.sni, 'outbound_.8080_._.backend.default.svc.cluster.local');
    assert.deepEqual(tls.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names, [{ san_type: 'URI', matcher: { exact: BACKEND } }]);
    const secrets = json.configs.find((x) => x['@type'] === 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump')!;
    assert.equal(secrets.dynamic_active_secrets.find((s: { name: string }) => s.name === 'default').certificate.identity, FRONTEND);
  });

  it('STRICT refuses plaintext: a request straight to the HTTP inbound listener gets no response', async () => {
    const s = net.connect(ports.httpIn, '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    s.on('error', () => undefined);
    s.write('GET /hello HTTP/1.1\r\nHost: backend\r\n\r\n');
    await withTimeout(new Promise((r) => s.once('close', r)), 15_000, 'the plaintext connection to be closed');
    assert.doesNotMatch(got, /HTTP\/1\.1/);
    assert.equal(httpApp.seen.filter((x) => x.url === '/hello' && x.headers['x-forwarded-client-cert'] === undefined).length, 0, 'nothing plaintext reached the app');
  });

  it('PERMISSIVE accepts both: gRPC over mTLS through the sidecars and plaintext h2c straight to the inbound listener', async () => {
    const viaMesh = await unary(meshGrpc, 'Unary', { message: 'mesh' });
    assert.equal(viaMesh.code, 0, viaMesh.details);
    assert.equal(viaMesh.reply?.server, 'backend-grpc');
    const plain = await unary(plainGrpc, 'Unary', { message: 'plain' });
    assert.equal(plain.code, 0, plain.details);
    assert.equal(plain.reply?.message, 'plain');
  });

  it('authorization allows HTTP and gRPC from frontend\'s identity', async () => {
    assert.equal((await send(`http://127.0.0.1:${ports.outbound}/orders/1`, { headers: { host: 'backend' } })).status, 200);
    const stream = await serverStream(meshGrpc);
    assert.deepEqual([stream.code, stream.replies], [0, 2], stream.details);
  });

  it('authorization denies HTTP with 403 (DENY rule)', async () => {
    const r = await send(`http://127.0.0.1:${ports.outbound}/admin/users`, { headers: { host: 'backend' } });
    assert.equal(r.status, 403);
    assert.match(r.text, /RBAC: access denied/);
    assert.equal(httpApp.seen.filter((x) => x.url === '/admin/users').length, 0);
  });

  it('authorization denies gRPC with status 7: a DENY rule over mTLS, and a plaintext caller no ALLOW rule matches', async () => {
    const denied = await unary(meshGrpc, 'Fail', { code: 2, message: 'should not run', trailers: {} });
    assert.equal(denied.code, grpc.status.PERMISSION_DENIED, denied.details);
    const anonymous = await serverStream(plainGrpc);
    assert.deepEqual([anonymous.code, anonymous.replies], [grpc.status.PERMISSION_DENIED, 0], anonymous.details);
  });

  it('the control plane\'s /debug/certs shows each workload\'s certificate serial, identity and expiry', async () => {
    const r = await fetch(`http://127.0.0.1:${cp.statusPort}/debug/certs`);
    const body = (await r.json()) as { workloads: { identity: string; serial: string; notAfter: string }[] };
    for (const id of [FRONTEND, BACKEND]) {
      const w = body.workloads.find((x) => x.identity === id);
      assert.ok(w, `${id} in /debug/certs`);
      assert.match(w.serial, /^[0-9a-f]+$/i);
      assert.ok(Date.parse(w.notAfter) > Date.now());
    }
    const config = (await (await fetch(`http://127.0.0.1:${cp.statusPort}/debug/config`)).json()) as { mtls: unknown; notTranslated: string[] };
    assert.deepEqual(config.mtls, { trustDomain: 'cluster.local', defaultMode: 'PERMISSIVE' });
    assert.deepEqual(config.notTranslated, []);
  });
});
