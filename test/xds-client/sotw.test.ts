// State-of-the-world ADS against a real gRPC control plane: node, wildcard LDS/CDS, RDS/EDS following config, ACK, NACK, warming.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Snapshot } from '../../src/model/types.ts';
import { withTimeout } from '../helpers/wait.ts';
import { startControlPlane, type FakeControlPlane } from './fake-control-plane.ts';
import { CDS, EDS, LDS, RDS, cla, clusterNames, edsCluster, listenerNames, rdsListener, routeConfig, startSource } from './fixtures.ts';

let cp: FakeControlPlane;
before(async () => { cp = await startControlPlane(); });
after(async () => { await cp.stop(); });

const names = (r: { msg: Record<string, unknown> }): string[] => r.msg.resource_names as string[];

test('SotW: node on the first request, wildcard LDS/CDS, EDS/RDS by name, ACKs, warming, then ready', async () => {
  const from = cp.requests.length;
  const { source, engine } = await startSource(cp, { routeRetentionMs: 100 });
  try {
    const first = await cp.waitForRequest((r) => r.typeUrl === CDS, { from });
    assert.equal(cp.requests.indexOf(first), from, 'CDS is requested first');
    const node = first.msg.node as Record<string, unknown>;
    assert.equal(node.id, 'sidecar-1');
    assert.equal(node.cluster, 'payments');
    assert.equal(node.user_agent_name, 'pilotfish');
    assert.match(JSON.stringify(node.metadata), /"team".*"mesh"/, 'node metadata is sent as a Struct');
    assert.deepEqual(names(first), [], 'CDS is a wildcard subscription');
    assert.equal(first.msg.version_info, '');
    assert.equal(first.msg.response_nonce, '');
    const lds = await cp.waitForRequest((r) => r.typeUrl === LDS, { from });
    assert.deepEqual(names(lds), []);
    assert.equal(source.isReady(), false);

    // A new EDS cluster warms until its endpoints arrive.
    const n1 = await cp.sendSotw(CDS, 'c1', [edsCluster('backend', 'backend-svc')]);
    const ack1 = await cp.reply(n1);
    assert.equal(ack1.msg.version_info, 'c1');
    assert.equal(ack1.msg.error_detail, null);
    const edsReq = await cp.waitForRequest((r) => r.typeUrl === EDS, { from });
    assert.deepEqual(names(edsReq), ['backend-svc'], 'EDS asks for the service name the cluster references');
    assert.ok(!clusterNames(engine.current()).includes('backend'), 'an EDS cluster without endpoints is held back');
    assert.deepEqual(source.dump().clusters.map((c) => [c.name, c.active, c.warming?.version]), [['backend', null, 'c1']]);

    const n2 = await cp.sendSotw(EDS, 'e1', [cla('backend-svc', [4001, 4002])]);
    assert.equal((await cp.reply(n2)).msg.version_info, 'e1');
    const withBackend = await engine.waitFor((s) => s.clusters.has('backend'), 'backend in the snapshot');
    const ports = withBackend.clusters.get('backend')!.loadAssignment!.endpoints[0].lbEndpoints.map((e) => e.address.port);
    assert.deepEqual(ports, [4001, 4002]);
    assert.ok(Object.isFrozen(withBackend.clusters.get('backend')));

    // A listener waits for its route configuration.
    const n3 = await cp.sendSotw(LDS, 'l1', [rdsListener('ingress', 'routes-a')]);
    assert.equal((await cp.reply(n3)).msg.version_info, 'l1');
    const rdsReq = await cp.waitForRequest((r) => r.typeUrl === RDS, { from });
    assert.deepEqual(names(rdsReq), ['routes-a']);
    assert.ok(!listenerNames(engine.current()).includes('ingress'), 'a listener without its route configuration is held back');
    assert.equal(source.isReady(), false);

    const n4 = await cp.sendSotw(RDS, 'r1', [routeConfig('routes-a', { cluster: 'backend' })]);
    const ack4 = await cp.reply(n4);
    assert.equal(ack4.msg.version_info, 'r1');
    assert.deepEqual(names(ack4), ['routes-a'], 'the ACK repeats the subscription');
    await withTimeout(source.ready, 5000, 'ready');
    assert.equal(source.isReady(), true);
    const s = engine.current()!;
    assert.deepEqual(listenerNames(s), ['ingress']);
    assert.ok(s.routeConfigs?.has('routes-a'));

    // The listener moves to another route configuration: the subscription follows, the old listener serves meanwhile.
    const n5 = await cp.sendSotw(LDS, 'l2', [rdsListener('ingress', 'routes-b')]);
    await cp.reply(n5);
    const rdsReq2 = await cp.waitForRequest((r) => r.typeUrl === RDS && names(r).includes('routes-b'), { from });
    assert.deepEqual(names(rdsReq2), ['routes-a', 'routes-b'], 'the serving listener still needs routes-a');
    assert.equal(rdsReq2.msg.version_info, 'r1');
    assert.equal(rdsReq2.msg.response_nonce, n4, 'a subscription change carries the last nonce of its type');
    const warmingDump = source.dump().listeners.find((l) => l.name === 'ingress')!;
    assert.equal(warmingDump.active?.version, 'l1');
    assert.equal(warmingDump.warming?.version, 'l2');
    const n6 = await cp.sendSotw(RDS, 'r2', [routeConfig('routes-b', { direct: 'b' })]);
    await cp.reply(n6);
    const usesB = (x: Snapshot): boolean => {
      const net = x.listeners.find((l) => l.name === 'ingress')?.filterChains[0].network;
      return net?.kind === 'http' && net.rdsRouteConfigName === 'routes-b';
    };
    const switched = await engine.waitFor((x) => usesB(x) && x.routeConfigs?.has('routes-b') === true, 'routes-b in force');
    assert.ok(switched.routeConfigs?.has('routes-a'), 'routes-a stays usable by connections of the previous listener version while they drain');
    const unsub = await cp.waitForRequest((r) => r.typeUrl === RDS && names(r).length === 1 && names(r)[0] === 'routes-b', { from });
    assert.equal(unsub.msg.version_info, 'r2');
    await engine.waitFor((x) => usesB(x) && !x.routeConfigs?.has('routes-a'), 'routes-a dropped after the retention period');

    // LDS and CDS responses are complete: a resource left out is removed. Its EDS subscription goes too.
    const n7 = await cp.sendSotw(CDS, 'c2', []);
    await cp.reply(n7);
    await engine.waitFor((x) => !x.clusters.has('backend'), 'backend removed');
    await cp.waitForRequest((r) => r.typeUrl === EDS && names(r).length === 0, { from, what: 'EDS unsubscribe' });

    const dump = source.dump();
    assert.deepEqual(dump.versions, { listener: 'l2', route_configuration: 'r2', cluster: 'c2', cluster_load_assignment: 'e1', secret: '' });
    const l = dump.listeners.find((x) => x.name === 'ingress')!;
    assert.equal(l.active?.version, 'l2');
    assert.match(l.active!.lastUpdated, /^\d{4}-\d\d-\d\dT/);
    assert.equal(dump.lastNack, null);
  } finally {
    await source.close();
  }
});

async function setUp(): Promise<{ source: Awaited<ReturnType<typeof startSource>>['source']; engine: Awaited<ReturnType<typeof startSource>>['engine']; from: number; good: Snapshot }> {
  const from = cp.requests.length;
  const { source, engine } = await startSource(cp);
  await cp.waitForRequest((r) => r.typeUrl === LDS, { from });
  await cp.reply(await cp.sendSotw(CDS, 'c1', [edsCluster('backend')]));
  await cp.reply(await cp.sendSotw(EDS, 'e1', [cla('backend', [4001])]));
  await cp.reply(await cp.sendSotw(LDS, 'l1', [rdsListener('ingress', 'routes-a')]));
  await cp.reply(await cp.sendSotw(RDS, 'r1', [routeConfig('routes-a', { cluster: 'backend' })]));
  await withTimeout(source.ready, 5000, 'ready');
  return { source, engine, from, good: engine.current()! };
}

test('SotW: a bad resource is NACKed with error_detail naming it, and the previous config stays in force', async () => {
  const { source, engine, good } = await setUp();
  try {
    const applied = engine.applied.length;
    const nonce = await cp.sendSotw(RDS, 'r2', [routeConfig('routes-a', { cluster: 'backend' }, '(unclosed')]);
    const nack = await cp.reply(nonce);
    assert.equal(nack.msg.version_info, 'r1', 'a NACK carries the previous version');
    const detail = nack.msg.error_detail as { code: number; message: string };
    assert.equal(detail.code, 3);
    assert.match(detail.message, /^route_configuration "routes-a": virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: /);
    assert.equal(engine.applied.length, applied, 'nothing was applied');
    assert.equal(engine.current(), good);
    const dump = source.dump();
    assert.equal(dump.lastNack?.type, RDS);
    assert.equal(dump.lastNack?.versionInfo, 'r2');
    assert.equal(dump.lastNack?.error, detail.message);
    const rc = dump.routeConfigs.find((r) => r.name === 'routes-a')!;
    assert.equal(rc.active?.version, 'r1');
    assert.equal(rc.error?.details, detail.message);

    // A fixed version is accepted again.
    const ok = await cp.reply(await cp.sendSotw(RDS, 'r3', [routeConfig('routes-a', { direct: 'fixed' })]));
    assert.equal(ok.msg.version_info, 'r3');
    assert.equal(ok.msg.error_detail, null);
    assert.equal(source.dump().routeConfigs[0].error, null);
  } finally {
    await source.close();
  }
});

test('SotW: duplicate names in one response, undecodable resources and static name clashes are NACKed', async () => {
  const { source, engine, good } = await setUp();
  try {
    const dup = await cp.reply(await cp.sendSotw(CDS, 'c2', [edsCluster('backend'), edsCluster('backend')]));
    assert.equal(dup.msg.version_info, 'c1');
    assert.match((dup.msg.error_detail as { message: string }).message, /^cluster "backend": name: duplicate resource name/);

    const wrongType = await cp.reply(await cp.sendSotw(CDS, 'c3', [], { rawResources: [{ type_url: LDS, value: Buffer.alloc(0) }] }));
    assert.match((wrongType.msg.error_detail as { message: string }).message, /cluster \[0\]: @type: resource type/);

    const garbage = await cp.reply(await cp.sendSotw(CDS, 'c4', [], { rawResources: [{ type_url: CDS, value: Buffer.from([0xff, 0xff, 0xff]) }] }));
    assert.match((garbage.msg.error_detail as { message: string }).message, /cluster \[0\]: cannot decode/);
    assert.equal(engine.current(), good);
    assert.equal(source.dump().versions.cluster, 'c1');
  } finally {
    await source.close();
  }
});

test('SotW: a dynamic listener may not replace a static one', async () => {
  const from = cp.requests.length;
  const { source, engine } = await startSource(cp, { listeners: [rdsListener('static-in', 'static-routes')] });
  try {
    await cp.waitForRequest((r) => r.typeUrl === LDS, { from });
    const rds = await cp.waitForRequest((r) => r.typeUrl === RDS, { from, what: 'RDS for the static listener' });
    assert.deepEqual(names(rds), ['static-routes'], 'static listeners subscribe to their RDS names too');
    const nack = await cp.reply(await cp.sendSotw(LDS, 'l1', [rdsListener('static-in', 'other')]));
    assert.match((nack.msg.error_detail as { message: string }).message, /^listener "static-in": name: a static listener has this name/);
    assert.deepEqual(listenerNames(engine.current()), ['static-in'], 'the static listener serves from the start');
  } finally {
    await source.close();
  }
});

test('SotW: an engine that cannot apply an update gets it NACKed and keeps the previous config', async () => {
  const { source, engine, good } = await setUp();
  try {
    engine.failNext = new Error('listen EADDRINUSE 127.0.0.1:1');
    const nack = await cp.reply(await cp.sendSotw(LDS, 'l2', [rdsListener('ingress', 'routes-a'), rdsListener('other', 'routes-a')]));
    assert.equal(nack.msg.version_info, 'l1');
    assert.match((nack.msg.error_detail as { message: string }).message, /EADDRINUSE/);
    assert.deepEqual(listenerNames(engine.current()), listenerNames(good));
    const dump = source.dump();
    assert.deepEqual(dump.listeners.map((l) => [l.name, l.active?.version, l.error?.versionInfo]), [['ingress', 'l1', undefined], ['other', undefined, 'l2']]);
    assert.match(dump.listeners[1].error!.details, /^LDS update \(other\) could not be applied: listen EADDRINUSE/);
    assert.equal(dump.lastNack?.kind, 'listener');
  } finally {
    await source.close();
  }
});

test('SotW: an RDS name that never arrives stops blocking after initial_fetch_timeout', async () => {
  const from = cp.requests.length;
  const { source, engine } = await startSource(cp, { initialFetchTimeout: '0.3s' });
  try {
    await cp.waitForRequest((r) => r.typeUrl === LDS, { from });
    await cp.reply(await cp.sendSotw(CDS, 'c1', []));
    await cp.reply(await cp.sendSotw(LDS, 'l1', [rdsListener('ingress', 'missing-routes')]));
    assert.ok(!listenerNames(engine.current()).includes('ingress'));
    await withTimeout(source.ready, 5000, 'ready after the initial fetch timeout');
    const s = await engine.waitFor((x) => listenerNames(x).includes('ingress'), 'ingress active without routes');
    assert.equal(s.routeConfigs?.has('missing-routes'), false);
    // The subscription stays; when the route configuration finally arrives it is used.
    await cp.reply(await cp.sendSotw(RDS, 'r1', [routeConfig('missing-routes', { direct: 'late' })]));
    await engine.waitFor((x) => x.routeConfigs?.has('missing-routes') === true, 'late routes applied');
  } finally {
    await source.close();
  }
});

test('SotW: no response at all → ready after initial_fetch_timeout, serving the static part', async () => {
  const from = cp.requests.length;
  const { source, engine } = await startSource(cp, { initialFetchTimeoutMs: 200 });
  try {
    await cp.waitForRequest((r) => r.typeUrl === LDS, { from });
    assert.deepEqual(clusterNames(engine.current()), ['xds_cluster'], 'the static part is applied at once');
    assert.equal(source.isReady(), false);
    await withTimeout(source.ready, 5000, 'ready');
    assert.equal(source.isReady(), true);
  } finally {
    await source.close();
  }
});
