// Proof with a real xDS client: @grpc/grpc-js-xds resolves xds:///echo through our control plane and splits calls 80/20 across two servers.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { ControlPlane } from '../../xds/control-plane.ts';
import type { SyncEvent } from '../../xds/server/stream-base.ts';
import { echoClient, startGrpcServer, type EchoClient, type EchoReply, type GrpcUpstream } from '../helpers/grpc-upstream.ts';
import { getJson, InputDir, nextEvent, service, slice, startCp } from './fixtures.ts';

const require = createRequire(import.meta.url);


/** The 80/20 split for the Echo service; with `unaryToV2`, a more specific rule sends Echo/Unary to v2 only. */
function split(unaryToV2: boolean): string {
  const unary = unaryToV2 ? `  - matches: [{method: {service: pilotfish.test.Echo, method: Unary}}]
    backendRefs: [{name: echo-v2, port: 50051}]
` : '';
  return `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: echo-split}
spec:
  parentRefs: [{kind: Service, group: "", name: echo}]
  rules:
  - matches: [{method: {service: pilotfish.test.Echo}}]
    backendRefs: [{name: echo-v1, port: 50051, weight: 80}, {name: echo-v2, port: 50051, weight: 20}]
${unary}`;
}

function call(client: EchoClient): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    client.Unary({ message: 'hi' }, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err, reply) => (err ? reject(err) : resolve(reply!)));
  });
}

async function tally(client: EchoClient, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await call(client);
    counts[r.server] = (counts[r.server] ?? 0) + 1;
  }
  return counts;
}

describe('proxyless gRPC (grpc-js-xds) against the control plane', () => {
  const input = new InputDir();
  const boot = new InputDir();
  let cp: ControlPlane;
  let v1: GrpcUpstream;
  let v2: GrpcUpstream;
  let client: EchoClient;

  before(async () => {
    v1 = await startGrpcServer('v1');
    v2 = await startGrpcServer('v2');
    const grpcPort = '[{name: grpc, port: 50051, appProtocol: grpc}]';
    input.write('services.yaml', service('echo', grpcPort) + service('echo-v1', grpcPort) + service('echo-v2', grpcPort)
      + slice('echo-v1', ['127.0.0.1'], 'grpc', v1.port) + slice('echo-v2', ['127.0.0.1'], 'grpc', v2.port));
    input.write('route.yaml', split(false));
    cp = await startCp([input.dir], true);
    const bootstrap = boot.write('bootstrap.json', JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${cp.xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'proxyless-1', locality: {}, metadata: { pilotfish: { namespace: 'default' } } },
    }));
    process.env.GRPC_XDS_BOOTSTRAP = path.resolve(bootstrap);
    (require('@grpc/grpc-js-xds') as { register(): void }).register();
    client = echoClient('xds:///echo');
  });

  after(async () => {
    client?.close();
    await cp?.close();
    await v1?.close();
    await v2?.close();
    input.remove();
    boot.remove();
  });

  it('routes xds:///echo with the weighted split from our GRPCRoute', async () => {
    const counts = await tally(client, 200);
    assert.ok((counts.v1 ?? 0) > 0 && (counts.v2 ?? 0) > 0, `both backends reached: ${JSON.stringify(counts)}`);
    assert.ok(counts.v1 > counts.v2, `80/20 split favours v1: ${JSON.stringify(counts)}`);
    const conn = (await getJson(cp.statusPort, '/debug/syncz?node=proxyless-1')).body.connections[0];
    assert.deepEqual(conn.types.LDS.subscribed, ['echo']);
    assert.deepEqual(conn.types.CDS.subscribed, ['outbound|50051||echo-v1.default.svc.cluster.local', 'outbound|50051||echo-v2.default.svc.cluster.local']);
    for (const t of ['LDS', 'RDS', 'CDS', 'EDS']) assert.equal(conn.types[t].state, 'SYNCED', t);
  });

  it('follows a watched file change: a more specific rule sends Echo/Unary to v2 only', async () => {
    const before = (await getJson(cp.statusPort, '/debug/syncz?node=proxyless-1')).body.connections[0].types.RDS.ackedVersion;
    const acked = nextEvent<SyncEvent>(cp.events, 'ack', (e) => e.nodeId === 'proxyless-1' && e.type === 'RDS' && e.version !== before, 10_000);
    input.write('route.yaml', split(true));
    await acked;
    const counts = await tally(client, 20);
    assert.deepEqual(counts, { v2: 20 });
  });
});
