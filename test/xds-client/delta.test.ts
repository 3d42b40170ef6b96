// Incremental ADS (api_type DELTA_GRPC) against a real gRPC control plane: subscribe deltas, removals, NACK, reconnect.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { withTimeout } from '../helpers/wait.ts';
import { startControlPlane, type FakeControlPlane, type SeenRequest } from './fake-control-plane.ts';
import { CDS, EDS, LDS, RDS, cla, clusterNames, edsCluster, listenerNames, rdsListener, routeConfig, startSource } from './fixtures.ts';

let cp: FakeControlPlane;
before(async () => { cp = await startControlPlane(); });
after(async () => { await cp.stop(); });

const sub = (r: SeenRequest): string[] => r.msg.resource_names_subscribe as string[];
const unsub = (r: SeenRequest): string[] => r.msg.resource_names_unsubscribe as string[];
const isAck = (r: SeenRequest): boolean => r.msg.error_detail === null;

test('delta: wildcard LDS/CDS, RDS/EDS subscribe and unsubscribe deltas, removed_resources, NACK, reconnect with initial_resource_versions', async () => {
  const from = cp.requests.length;
  const { source, engine } = await startSource(cp, { apiType: 'DELTA_GRPC', backoff: { initialMs: 20, maxMs: 100 }, routeRetentionMs: 100 });
  try {
    const first = await cp.waitForRequest((r) => r.delta && r.typeUrl === CDS, { from });
    assert.equal(cp.requests.indexOf(first), from);
    assert.equal((first.msg.node as Record<string, unknown>).id, 'sidecar-1');
    assert.deepEqual(sub(first), [], 'an empty first subscription is the wildcard');
    assert.deepEqual(first.msg.initial_resource_versions, {});
    await cp.waitForRequest((r) => r.typeUrl === LDS, { from });

    const n1 = await cp.sendDelta(CDS, [{ name: 'backend', version: '7', resource: edsCluster('backend') }]);
    const ack1 = await cp.reply(n1);
    assert.ok(isAck(ack1));
    assert.equal(ack1.msg.type_url, CDS);
    const edsSub = await cp.waitForRequest((r) => r.typeUrl === EDS && sub(r).length > 0, { from });
    assert.deepEqual(sub(edsSub), ['backend']);
    assert.ok(!clusterNames(engine.current()).includes('backend'), 'warming until endpoints arrive');
    await cp.reply(await cp.sendDelta(EDS, [{ name: 'backend', version: '3', resource: cla('backend', [4001]) }]));
    await engine.waitFor((s) => s.clusters.get('backend')?.loadAssignment?.endpoints[0].lbEndpoints[0].address.port === 4001, 'backend with endpoints');

    await cp.reply(await cp.sendDelta(LDS, [{ name: 'ingress', version: '1', resource: rdsListener('ingress', 'routes-a') }]));
    const rdsSub = await cp.waitForRequest((r) => r.typeUrl === RDS && sub(r).length > 0, { from });
    assert.deepEqual(sub(rdsSub), ['routes-a']);
    await cp.reply(await cp.sendDelta(RDS, [{ name: 'routes-a', version: '1', resource: routeConfig('routes-a', { cluster: 'backend' }) }], [], { systemVersion: 'sys-1' }));
    await withTimeout(source.ready, 5000, 'ready');
    assert.deepEqual(listenerNames(engine.current()), ['ingress']);

    // A bad resource: NACK with error_detail, nothing changes.
    const good = engine.current();
    const nack = await cp.reply(await cp.sendDelta(RDS, [{ name: 'routes-a', version: '2', resource: routeConfig('routes-a', { cluster: 'backend' }, '[') }]));
    assert.equal((nack.msg.error_detail as { code: number }).code, 3);
    assert.match((nack.msg.error_detail as { message: string }).message, /^route_configuration "routes-a": .*safe_regex\.regex/);
    assert.equal(engine.current(), good);
    assert.equal(source.dump().routeConfigs[0].active?.version, '1');

    // A Resource whose name differs from the resource inside is rejected.
    const mismatch = await cp.reply(await cp.sendDelta(CDS, [{ name: 'alias', version: '1', resource: edsCluster('backend') }]));
    assert.match((mismatch.msg.error_detail as { message: string }).message, /^cluster "alias": name: the resource is named "backend"/);

    // More clusters, then removed_resources drops one and its EDS subscription.
    await cp.reply(await cp.sendDelta(CDS, [{ name: 'b2', version: '1', resource: edsCluster('b2') }]));
    const b2Sub = await cp.waitForRequest((r) => r.typeUrl === EDS && sub(r).includes('b2'), { from });
    assert.deepEqual([sub(b2Sub), unsub(b2Sub)], [['b2'], []], 'only the new name is subscribed');
    await cp.reply(await cp.sendDelta(EDS, [{ name: 'b2', version: '1', resource: cla('b2', [4002]) }]));
    await engine.waitFor((s) => s.clusters.has('b2'), 'b2 in force');
    await cp.reply(await cp.sendDelta(CDS, [], ['backend']));
    await engine.waitFor((s) => !s.clusters.has('backend') && s.clusters.has('b2'), 'backend removed');
    const edsUnsub = await cp.waitForRequest((r) => r.typeUrl === EDS && unsub(r).length > 0, { from });
    assert.deepEqual([sub(edsUnsub), unsub(edsUnsub)], [[], ['backend']]);

    // Reconnect: every type comes back with the versions held, so the server can send only what changed.
    const good2 = engine.current();
    const fromRestart = cp.requests.length;
    await cp.restart();
    await cp.waitForStream(2);
    const again = async (typeUrl: string): Promise<SeenRequest> => cp.waitForRequest((r) => r.stream === 2 && r.typeUrl === typeUrl, { from: fromRestart });
    const cds = await again(CDS);
    assert.deepEqual(sub(cds), []);
    assert.deepEqual(cds.msg.initial_resource_versions, { b2: '1' });
    assert.equal((cds.msg.node as Record<string, unknown>).id, 'sidecar-1');
    const eds = await again(EDS);
    assert.deepEqual([sub(eds), eds.msg.initial_resource_versions], [['b2'], { b2: '1' }]);
    const lds = await again(LDS);
    assert.deepEqual(lds.msg.initial_resource_versions, { ingress: '1' });
    const rds = await again(RDS);
    assert.deepEqual([sub(rds), rds.msg.initial_resource_versions], [['routes-a'], { 'routes-a': '1' }]);
    assert.equal(engine.current(), good2, 'the config stays in force across the reconnect');

    // Listener removed over the new stream: its RDS name is unsubscribed.
    await cp.reply(await cp.sendDelta(LDS, [], ['ingress']));
    await engine.waitFor((s) => s.listeners.length === 0, 'listener removed');
    const rdsUnsub = await cp.waitForRequest((r) => r.stream === 2 && r.typeUrl === RDS && unsub(r).length > 0, { from: fromRestart });
    assert.deepEqual(unsub(rdsUnsub), ['routes-a']);
    await engine.waitFor((s) => s.routeConfigs?.size === 0, 'routes-a dropped once connections had time to drain');
    const dump = source.dump();
    assert.deepEqual(dump.listeners, []);
    assert.deepEqual(dump.routeConfigs, []);
    assert.deepEqual(dump.clusters.map((c) => [c.name, c.active?.version, c.error]), [['b2', '1', null]], 'a later accepted CDS update clears the error state');
  } finally {
    await source.close();
  }
});
