// Control-plane faults: stream loss → reconnect with backoff and resubscribe with the last versions; unreachable at start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withTimeout } from '../helpers/wait.ts';
import { FakeControlPlane, startControlPlane } from './fake-control-plane.ts';
import { CDS, EDS, LDS, RDS, cla, clusterNames, edsCluster, listenerNames, rdsListener, routeConfig, startSource } from './fixtures.ts';

type Msg = Record<string, unknown>;

test('stream loss: the last good config stays in force, the client reconnects and resubscribes with its versions', async () => {
  const cp = await startControlPlane();
  const { source, engine } = await startSource(cp, { backoff: { initialMs: 30, maxMs: 120 } });
  try {
    await cp.waitForRequest((r) => r.typeUrl === LDS);
    await cp.reply(await cp.sendSotw(CDS, 'c1', [edsCluster('backend')]));
    await cp.reply(await cp.sendSotw(EDS, 'e1', [cla('backend', [4001])]));
    await cp.reply(await cp.sendSotw(LDS, 'l1', [rdsListener('ingress', 'routes-a')]));
    const lastNonce = await cp.sendSotw(RDS, 'r1', [routeConfig('routes-a', { cluster: 'backend' })]);
    await cp.reply(lastNonce);
    await withTimeout(source.ready, 5000, 'ready');
    assert.equal(source.connected(), true);
    const good = engine.current();
    const applied = engine.applied.length;

    // The control plane goes away for a while: nothing changes in the data plane.
    await cp.stop();
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(engine.current(), good);
    const from = cp.requests.length;
    await cp.start();
    await cp.waitForStream(2);
    const stream = cp.currentStream;
    const req = async (typeUrl: string): Promise<Msg> => (await cp.waitForRequest((r) => r.stream === stream && r.typeUrl === typeUrl, { from })).msg;
    const cds = await req(CDS);
    assert.equal((cds.node as Msg).id, 'sidecar-1', 'the first request of the new stream carries the node');
    assert.equal(cds.version_info, 'c1');
    assert.equal(cds.response_nonce, '', 'nonces do not survive a stream');
    const eds = await req(EDS);
    assert.deepEqual([eds.version_info, eds.resource_names], ['e1', ['backend']]);
    const lds = await req(LDS);
    assert.deepEqual([lds.version_info, lds.resource_names], ['l1', []]);
    const rds = await req(RDS);
    assert.deepEqual([rds.version_info, rds.resource_names], ['r1', ['routes-a']]);
    assert.equal(engine.applied.length, applied, 'resubscribing applies nothing');
    assert.equal(engine.current(), good);

    // The new stream delivers updates as before.
    const n = await cp.sendSotw(RDS, 'r2', [routeConfig('routes-a', { direct: 'after restart' })]);
    assert.equal((await cp.reply(n)).msg.version_info, 'r2');
    await engine.waitFor((s) => s.routeConfigs?.get('routes-a')?.virtualHosts[0].routes[0].action.kind === 'direct_response', 'update after reconnect');
    assert.equal(source.isReady(), true);
  } finally {
    await source.close();
    await cp.stop();
  }
});

test('control plane unreachable at start: the static part serves, /ready stays false until config arrives', async () => {
  const cp = new FakeControlPlane();
  await cp.start();
  await cp.stop(); // keep the port, nobody listening
  const { source, engine } = await startSource(cp, {
    backoff: { initialMs: 20, maxMs: 100 },
    listeners: [rdsListener('static-in', 'static-routes')],
    initialFetchTimeoutMs: 0,
  });
  try {
    assert.deepEqual(listenerNames(engine.current()), ['static-in']);
    assert.deepEqual(clusterNames(engine.current()), ['xds_cluster']);
    assert.equal(source.isReady(), false);
    assert.equal(source.connected(), false);

    await cp.start();
    await cp.waitForStream(1);
    await cp.waitForRequest((r) => r.typeUrl === RDS, { what: 'RDS for the static listener' });
    await cp.reply(await cp.sendSotw(CDS, 'c1', []));
    await cp.reply(await cp.sendSotw(LDS, 'l1', []));
    assert.equal(source.isReady(), false, 'the static listener still waits for its route configuration');
    await cp.reply(await cp.sendSotw(RDS, 'r1', [routeConfig('static-routes', { direct: 'hi' })]));
    await withTimeout(source.ready, 5000, 'ready');
    assert.equal(source.connected(), true);
    assert.ok(engine.current()?.routeConfigs?.has('static-routes'));
  } finally {
    await source.close();
    await cp.stop();
  }
});

test('a server that ends the stream cleanly is reconnected to as well', async () => {
  const cp = await startControlPlane();
  const { source } = await startSource(cp, { backoff: { initialMs: 10, maxMs: 50 } });
  try {
    await cp.waitForStream(1);
    await cp.waitForRequest((r) => r.typeUrl === LDS);
    cp.endStream();
    await cp.waitForStream(2);
    cp.endStream();
    await cp.waitForStream(3);
    await cp.waitForRequest((r) => r.stream === 3 && r.typeUrl === LDS);
  } finally {
    await source.close();
    await cp.stop();
  }
});
