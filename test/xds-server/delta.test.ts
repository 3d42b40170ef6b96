// DeltaAggregatedResources with a real grpc-js client: subscribe, unsubscribe, removed_resources, initial versions, NACK.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ControlPlane } from '../../xds/control-plane.ts';
import type { SyncEvent } from '../../xds/server/stream-base.ts';
import { DeltaClient } from '../../xds/testing/ads-client.ts';
import { getJson, InputDir, nextEvent, service, slice, startCp } from './fixtures.ts';

const ORDERS = 'outbound|8080||orders.default.svc.cluster.local';
const PAYMENTS = 'outbound|9090||payments.default.svc.cluster.local';
const ORDERS_SVC = service('orders', '[{name: http, port: 8080}]');
const PAYMENTS_SVC = service('payments', '[{name: grpc, port: 9090, appProtocol: grpc}]');

describe('Delta ADS', () => {
  const input = new InputDir();
  let cp: ControlPlane;
  const clients: DeltaClient[] = [];
  const addr = () => `127.0.0.1:${cp.xdsPort}`;

  before(async () => {
    input.write('mesh.yaml', ORDERS_SVC + PAYMENTS_SVC + slice('orders', ['10.0.0.1'], 'http', 8081) + slice('payments', ['10.0.0.2'], 'grpc', 9091));
    cp = await startCp([input.dir]);
  });

  after(async () => {
    for (const c of clients) c.close();
    await cp.close();
    input.remove();
  });

  it('subscribes, unsubscribes and reports removed resources', async () => {
    const c = await DeltaClient.connect(addr(), { id: 'delta-1' });
    clients.push(c);
    c.send('CDS');
    const cds = await c.next('CDS');
    assert.deepEqual(cds.resources.map((r) => r.name).sort(), [ORDERS, PAYMENTS]);
    assert.ok(cds.resources.every((r) => /^[0-9a-f]{16}$/.test(r.version)), 'per-resource versions are content hashes');
    assert.deepEqual(cds.removed_resources, []);
    c.ack('CDS', cds);

    c.send('EDS', { subscribe: [ORDERS, 'outbound|1||ghost.default.svc.cluster.local'] });
    const eds = await c.next('EDS');
    assert.deepEqual(eds.resources.map((r) => r.name), [ORDERS]);
    assert.deepEqual(eds.removed_resources, ['outbound|1||ghost.default.svc.cluster.local'], 'a subscribed name that does not exist is reported removed');
    c.ack('EDS', eds);

    c.send('EDS', { subscribe: [PAYMENTS], unsubscribe: [ORDERS] });
    const eds2 = await c.next('EDS');
    assert.deepEqual(eds2.resources.map((r) => r.name), [PAYMENTS]);
    assert.deepEqual(eds2.removed_resources, []);
    c.ack('EDS', eds2);

    // Only the changed resource is sent on a change; unsubscribed ORDERS is not.
    input.write('mesh.yaml', ORDERS_SVC + PAYMENTS_SVC + slice('orders', ['10.0.0.9'], 'http', 8081) + slice('payments', ['10.0.0.3'], 'grpc', 9091));
    await cp.reload();
    const eds3 = await c.next('EDS');
    assert.deepEqual(eds3.resources.map((r) => r.name), [PAYMENTS]);
    c.ack('EDS', eds3);

    // Deleting the payments Service removes its cluster (wildcard CDS) and its load assignment (named EDS).
    input.write('mesh.yaml', ORDERS_SVC + slice('orders', ['10.0.0.9'], 'http', 8081));
    await cp.reload();
    const cds2 = await c.next('CDS');
    assert.deepEqual(cds2.resources, []);
    assert.deepEqual(cds2.removed_resources, [PAYMENTS]);
    const eds4 = await c.next('EDS');
    assert.deepEqual(eds4.removed_resources, [PAYMENTS]);
    c.ack('CDS', cds2);
    const acked = nextEvent<SyncEvent>(cp.events, 'ack', (e) => e.nodeId === 'delta-1' && e.type === 'EDS');
    c.ack('EDS', eds4);
    await acked;
    const t = (await getJson(cp.statusPort, '/debug/syncz?node=delta-1')).body.connections[0];
    assert.equal(t.protocol, 'delta');
    assert.deepEqual([t.types.EDS.state, t.types.EDS.subscribed], ['SYNCED', ['outbound|1||ghost.default.svc.cluster.local', PAYMENTS]]);
    input.write('mesh.yaml', ORDERS_SVC + PAYMENTS_SVC + slice('orders', ['10.0.0.1'], 'http', 8081) + slice('payments', ['10.0.0.2'], 'grpc', 9091));
    await cp.reload();
    // The subscribed name springs back into existence: it is sent again.
    const cds3 = await c.next('CDS');
    assert.deepEqual(cds3.resources.map((r) => r.name), [PAYMENTS]);
    const eds5 = await c.next('EDS');
    assert.deepEqual(eds5.resources.map((r) => r.name), [PAYMENTS]);
    c.ack('CDS', cds3);
    c.ack('EDS', eds5);
  });

  it('honours initial_resource_versions on reconnect and records NACKs', async () => {
    const first = await DeltaClient.connect(addr(), { id: 'delta-2' });
    clients.push(first);
    first.send('CDS', { subscribe: ['*'] });
    const cds = await first.next('CDS');
    const versions = Object.fromEntries(cds.resources.map((r) => [r.name, r.version]));
    first.close();

    const again = await DeltaClient.connect(addr(), { id: 'delta-2b' });
    clients.push(again);
    again.send('CDS', { subscribe: ['*'], initial: { [ORDERS]: versions[ORDERS], [PAYMENTS]: 'stale', 'outbound|7||gone.default.svc.cluster.local': 'x' } });
    const resp = await again.next('CDS');
    assert.deepEqual(resp.resources.map((r) => r.name), [PAYMENTS], 'the up-to-date cluster is not resent');
    assert.deepEqual(resp.removed_resources, ['outbound|7||gone.default.svc.cluster.local']);

    const nack = nextEvent<SyncEvent>(cp.events, 'nack', (e) => e.nodeId === 'delta-2b');
    again.send('CDS', { nonce: resp.nonce, error: 'payments cluster is bad' });
    await nack;
    const conn = (await getJson(cp.statusPort, '/debug/syncz?node=delta-2b')).body.connections[0];
    assert.deepEqual([conn.types.CDS.state, conn.types.CDS.nackError], ['NACKED', 'payments cluster is bad']);
  });
});
