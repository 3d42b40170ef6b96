// StreamAggregatedResources with a real grpc-js client: wildcard LDS/CDS, named RDS/EDS, ACK/NACK, minimal pushes, refused input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type protobuf from 'protobufjs';
import { decodeAny, xdsProtoRoot } from '../../src/xds/protos.ts';
import type { ControlPlane } from '../../xds/control-plane.ts';
import type { DiscoveryResponse } from '../../xds/server/ads-proto.ts';
import type { SyncEvent } from '../../xds/server/stream-base.ts';
import { SotwClient } from '../../xds/testing/ads-client.ts';
import type { ResourceType } from '../../xds/translate/resource.ts';
import { getJson, InputDir, nextEvent, service, slice, startCp } from './fixtures.ts';

const ORDERS = 'outbound|8080||orders.default.svc.cluster.local';
const PAYMENTS = 'outbound|9090||payments.default.svc.cluster.local';

function routeYaml(weightV1: number, weightV2: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: orders}
spec:
  parentRefs: [{kind: Service, group: "", name: orders}]
  rules: [{backendRefs: [{name: orders, port: 8080, weight: ${weightV1}}, {name: orders-v2, port: 8080, weight: ${weightV2}}]}]
`;
}

const SERVICES = service('orders', '[{name: http, port: 8080}]') + service('orders-v2', '[{name: http, port: 8080}]')
  + service('payments', '[{name: grpc, port: 9090, appProtocol: grpc}]');

describe('SotW ADS', () => {
  const input = new InputDir();
  let cp: ControlPlane;
  let root: protobuf.Root;
  const clients: SotwClient[] = [];
  const addr = () => `127.0.0.1:${cp.xdsPort}`;

  function names(r: DiscoveryResponse): string[] {
    return r.resources.map((a) => {
      const o = decodeAny(root, a.type_url, a.value);
      return String(o.name ?? o.cluster_name);
    }).sort();
  }

  const acked = (node: string, type: ResourceType) => (e: SyncEvent) => e.nodeId === node && e.type === type;

  before(async () => {
    root = await xdsProtoRoot();
    input.write('services.yaml', SERVICES);
    input.write('endpoints.yaml', slice('orders', ['10.0.0.1'], 'http', 8081) + slice('payments', ['10.0.0.2'], 'grpc', 9091));
    input.write('routes.yaml', routeYaml(90, 10));
    cp = await startCp([input.dir]);
  });

  after(async () => {
    for (const c of clients) c.close();
    await cp.close();
    input.remove();
  });

  it('serves wildcard LDS/CDS and named EDS/RDS, and resends nothing after ACKs', async () => {
    const c = await SotwClient.connect(addr(), { id: 'orders-1', metadata: { pilotfish: { service: 'orders', ports: { http: 18081 }, inboundPort: 15006 } } });
    clients.push(c);
    const rebuilt = nextEvent(cp.events, 'pushed');
    c.send('CDS', []);
    const cds = await c.next('CDS');
    await rebuilt; // the node's announced endpoint is in the mesh now
    assert.deepEqual(names(cds), ['inbound|15006|orders', 'outbound|8080||orders-v2.default.svc.cluster.local', ORDERS, PAYMENTS]);
    assert.equal(cds.nonce !== '' && cds.version_info !== '', true);
    c.ack('CDS', cds, []);
    const edsNames = [ORDERS, PAYMENTS];
    c.send('EDS', edsNames);
    const eds = await c.next('EDS');
    assert.deepEqual(names(eds), [ORDERS, PAYMENTS]);
    const orders = decodeAny(root, eds.resources[0].type_url, eds.resources.find((a) => decodeAny(root, a.type_url, a.value).cluster_name === ORDERS)!.value);
    const ports = JSON.stringify(orders).match(/"port_value":\d+/g);
    assert.deepEqual(ports, ['"port_value":8081', '"port_value":15006'], 'slice endpoint plus the announced inbound port');
    c.ack('EDS', eds, edsNames);
    c.send('LDS', []);
    const lds = await c.next('LDS');
    assert.deepEqual(names(lds), ['inbound|15006', 'outbound']);
    c.ack('LDS', lds, []);
    c.send('RDS', ['outbound']);
    const rds = await c.next('RDS');
    assert.deepEqual(names(rds), ['outbound']);
    const lastAck = nextEvent<SyncEvent>(cp.events, 'ack', acked('orders-1', 'RDS'));
    c.ack('RDS', rds, ['outbound']);
    await lastAck;
    const sync = (await getJson(cp.statusPort, '/debug/syncz?node=orders-1')).body;
    assert.equal(sync.connections.length, 1);
    const conn = sync.connections[0];
    assert.equal(conn.service, 'orders');
    for (const t of ['LDS', 'RDS', 'CDS', 'EDS']) {
      assert.equal(conn.types[t].state, 'SYNCED', t);
      assert.equal(conn.types[t].ackedVersion, conn.types[t].sentVersion, t);
      assert.ok(conn.types[t].ackedAt, t);
    }
    assert.deepEqual(conn.types.EDS.subscribed, edsNames);
    assert.equal(conn.types.CDS.wildcard, true);

    // An endpoint-only change: only EDS is pushed, and only the changed load assignment.
    input.write('endpoints.yaml', slice('orders', ['10.0.0.1'], 'http', 8081) + slice('payments', ['10.0.0.2', '10.0.0.3'], 'grpc', 9091));
    assert.equal((await cp.reload()).changed, true);
    const eds2 = await c.next(null);
    assert.equal(eds2.type_url.endsWith('ClusterLoadAssignment'), true, `expected only EDS, got ${eds2.type_url}`);
    assert.deepEqual(names(eds2), [PAYMENTS]);
    assert.notEqual(eds2.version_info, eds.version_info);
    let ack = nextEvent<SyncEvent>(cp.events, 'ack', acked('orders-1', 'EDS'));
    c.ack('EDS', eds2, edsNames);
    await ack;
    for (const t of ['LDS', 'RDS', 'CDS', 'EDS'] as const) assert.equal(c.inbox.pending(t), 0, `${t} was resent`);

    // A route-only change: only RDS is pushed.
    input.write('routes.yaml', routeYaml(50, 50));
    await cp.reload();
    const rds2 = await c.next(null);
    assert.equal(rds2.type_url.endsWith('RouteConfiguration'), true, `expected only RDS, got ${rds2.type_url}`);
    assert.match(JSON.stringify(decodeAny(root, rds2.type_url, rds2.resources[0].value)), /"weight":50/);
    ack = nextEvent<SyncEvent>(cp.events, 'ack', acked('orders-1', 'RDS'));
    c.ack('RDS', rds2, ['outbound']);
    await ack;
    for (const t of ['LDS', 'RDS', 'CDS', 'EDS'] as const) assert.equal(c.inbox.pending(t), 0, `${t} was pushed`);
  });

  it('records a NACK in /debug/syncz and does not resend the rejected version', async () => {
    const c = await SotwClient.connect(addr(), { id: 'picky', metadata: { pilotfish: { namespace: 'default' } } });
    clients.push(c);
    c.send('CDS', []);
    const cds = await c.next('CDS');
    c.send('EDS', [PAYMENTS], { nonce: '' });
    const eds = await c.next('EDS');
    c.ack('EDS', eds, [PAYMENTS]);
    const nacked = nextEvent<SyncEvent>(cp.events, 'nack', (e) => e.nodeId === 'picky');
    c.nack('CDS', cds, [], 'cluster outbound|9090 rejected: test says no');
    const ev = await nacked;
    assert.equal(ev.version, cds.version_info);
    const conn = (await getJson(cp.statusPort, '/debug/syncz?node=picky')).body.connections[0];
    assert.equal(conn.types.CDS.state, 'NACKED');
    assert.equal(conn.types.CDS.nackError, 'cluster outbound|9090 rejected: test says no');
    assert.equal(conn.types.CDS.nackedVersion, cds.version_info);
    assert.equal(conn.types.CDS.ackedVersion, null, 'never ACKed');
    assert.ok(conn.types.CDS.nackAt);

    // An unrelated change pushes EDS only: the rejected CDS version is not sent again.
    input.write('endpoints.yaml', slice('orders', ['10.0.0.1'], 'http', 8081) + slice('payments', ['10.0.0.4'], 'grpc', 9091));
    await cp.reload();
    const next = await c.next(null);
    assert.equal(next.type_url.endsWith('ClusterLoadAssignment'), true, `expected EDS, got ${next.type_url}`);
    c.ack('EDS', next, [PAYMENTS]);

    // A cluster change produces a new CDS version, which is sent and can be ACKed.
    input.write('policy.yaml', `apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: payments}
spec: {targetRef: {kind: Service, name: payments}, circuitBreaker: {maxRequests: 10}}
`);
    await cp.reload();
    const cds2 = await c.next('CDS');
    assert.notEqual(cds2.version_info, cds.version_info);
    const ack = nextEvent<SyncEvent>(cp.events, 'ack', acked('picky', 'CDS'));
    c.ack('CDS', cds2, []);
    await ack;
    const after = (await getJson(cp.statusPort, '/debug/syncz?node=picky')).body.connections[0];
    assert.equal(after.types.CDS.state, 'SYNCED');
    assert.equal(after.types.CDS.ackedVersion, cds2.version_info);
  });

  it('answers explicit LDS names (proxyless) and treats an emptied list as unsubscribing', async () => {
    const c = await SotwClient.connect(addr(), { id: 'grpc-client' });
    clients.push(c);
    c.send('LDS', ['payments', 'nothere']);
    const lds = await c.next('LDS');
    assert.deepEqual(names(lds), ['payments']);
    const api = decodeAny(root, lds.resources[0].type_url, lds.resources[0].value) as { api_listener?: unknown };
    assert.ok(api.api_listener, 'api_listener for a proxyless client');
    c.ack('LDS', lds, ['payments', 'nothere']);
    c.send('LDS', ['payments', 'orders'], { version: lds.version_info });
    const lds2 = await c.next('LDS');
    assert.deepEqual(names(lds2), ['orders', 'payments'], 'full LDS state including the newly named listener');
    // After explicit names, an empty list unsubscribes from everything instead of meaning wildcard.
    const ack = nextEvent<SyncEvent>(cp.events, 'ack', acked('grpc-client', 'LDS'));
    c.ack('LDS', lds2, []);
    await ack;
    const lt = (await getJson(cp.statusPort, '/debug/syncz?node=grpc-client')).body.connections[0].types.LDS;
    assert.deepEqual([lt.wildcard, lt.subscribed, lt.state], [false, [], 'SYNCED']);
  });

  it('refuses an invalid input change, keeps serving the last good config, and says why', async () => {
    const before = (await getJson(cp.statusPort, '/debug/config')).body;
    assert.equal(before.status, 'OK');
    input.write('routes.yaml', routeYaml(50, 50).replace('weight: 50}]', 'weight: fifty}]'));
    const out = await cp.reload();
    assert.equal(out.applied, false);
    const cfg = (await getJson(cp.statusPort, '/debug/config')).body;
    assert.equal(cfg.status, 'ERROR');
    assert.equal(cfg.version, before.version);
    assert.equal(cfg.generation, before.generation);
    assert.equal(cfg.errors.length, 1);
    assert.equal(cfg.errors[0].file.endsWith('routes.yaml'), true);
    assert.equal(cfg.errors[0].doc, 1);
    assert.equal(cfg.errors[0].kind, 'HTTPRoute');
    assert.equal(cfg.errors[0].field, 'spec.rules[0].backendRefs[1].weight');
    assert.match(cfg.errors[0].text, /routes\.yaml: document 1 \(HTTPRoute default\/orders\): spec\.rules\[0\]\.backendRefs\[1\]\.weight: expected an integer/);
    assert.equal((await getJson(cp.statusPort, '/ready')).status, 200);
    input.write('routes.yaml', routeYaml(50, 50));
    const fixed = await cp.reload();
    assert.equal(fixed.applied, true);
    assert.equal((await getJson(cp.statusPort, '/debug/config')).body.status, 'OK');
  });
});
