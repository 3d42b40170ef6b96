import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import * as grpc from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import { startControlPlane } from '../xds/control-plane.ts';
import { startGrpcServer, echoPackage } from '../test/helpers/grpc-upstream.ts';
const require = createRequire(import.meta.url);
const a = await startGrpcServer('v1');
const b = await startGrpcServer('v2');
const dir = mkdtempSync(path.join(tmpdir(), 'px-'));
const svc = (n: string) => `apiVersion: v1\nkind: Service\nmetadata: {name: ${n}}\nspec:\n  ports: [{name: grpc, port: 50051, appProtocol: grpc}]\n---\n`;
const slice = (n: string, port: number) => `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${n}-1, labels: {kubernetes.io/service-name: ${n}}}\naddressType: IPv4\nendpoints: [{addresses: [127.0.0.1]}]\nports: [{name: grpc, port: ${port}}]\n---\n`;
writeFileSync(path.join(dir, 'mesh.yaml'), svc('echo') + svc('echo-v1') + svc('echo-v2') + slice('echo-v1', a.port) + slice('echo-v2', b.port) +
`apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: echo-split}
spec:
  parentRefs: [{kind: Service, group: "", name: echo}]
  rules:
  - backendRefs: [{name: echo-v1, port: 50051, weight: 80}, {name: echo-v2, port: 50051, weight: 20}]
`);
const cp = await startControlPlane({ inputs: [dir], xdsAddress: '127.0.0.1:0', statusAddress: '127.0.0.1:0', logger: pino({ level: 'debug' }) });
const boot = path.join(dir, 'bootstrap.json');
writeFileSync(boot, JSON.stringify({ xds_servers: [{ server_uri: `127.0.0.1:${cp.xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }], node: { id: 'proxyless-1', locality: {}, metadata: { pilotfish: { namespace: 'default' } } } }));
process.env.GRPC_XDS_BOOTSTRAP = boot;
require('@grpc/grpc-js-xds').register();
const client = new (echoPackage().Echo)('xds:///echo', grpc.credentials.createInsecure()) as any;
const counts: Record<string, number> = {};
for (let i = 0; i < 100; i++) {
  const r: any = await new Promise((res, rej) => client.Unary({ message: 'hi' }, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (e: any, v: any) => e ? rej(e) : res(v)));
  counts[r.server] = (counts[r.server] ?? 0) + 1;
}
console.log(counts);
const s = await (await fetch(`http://127.0.0.1:${cp.statusPort}/debug/syncz`)).json();
console.log(JSON.stringify(s.connections[0].types, null, 0));
client.close();
await cp.close(); await a.close(); await b.close();
