// ClusterManager tests: reconciliation, host/pool identity across updates, graceful pool close, EDS and DNS clusters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterConfig } from '../../src/model/types.ts';
import { ClusterManager } from '../../src/upstream/cluster-manager.ts';
import { assignment, clusterConfig, fakePoolFactory } from './fixtures.ts';

const ctx = { hash: null, avoid: null };
const map = (...cs: ClusterConfig[]) => new Map(cs.map((c) => [c.name, c]));

test('get/all reflect the configured clusters; choose picks configured hosts', async () => {
  const { factory } = fakePoolFactory();
  const cm = new ClusterManager({ poolFactory: factory });
  cm.update(map(clusterConfig('a', [{ host: '10.0.0.1', port: 80 }]), clusterConfig('b', [])));
  assert.equal(cm.all().length, 2);
  assert.equal(cm.get('a')!.chooseHost(ctx)!.key, '10.0.0.1:80');
  assert.equal(cm.get('b')!.chooseHost(ctx), null);
  assert.equal(cm.get('zzz'), undefined);
  await cm.close();
  assert.equal(cm.all().length, 0);
});

test('unchanged clusters keep state; changed ones keep Host objects and pools of remaining endpoints', async () => {
  const { factory, pools } = fakePoolFactory();
  const cm = new ClusterManager({ poolFactory: factory });
  cm.update(map(clusterConfig('a', [{ host: '10.0.0.1', port: 80 }, { host: '10.0.0.2', port: 80 }])));
  const cluster = cm.get('a')!;
  const [h1, h2] = cluster.hosts();
  const p1 = cluster.pool(h1);
  const p2 = cluster.pool(h2);
  assert.equal(cluster.pool(h1), p1, 'pools are reused');
  h1.rqTotal = 5;

  // Equal config in a new object: nothing changes.
  cm.update(map(clusterConfig('a', [{ host: '10.0.0.1', port: 80 }, { host: '10.0.0.2', port: 80 }])));
  assert.equal(cm.get('a'), cluster);
  assert.deepEqual(cluster.hosts(), [h1, h2]);

  // Endpoint 2 removed, 3 added, policy changed.
  cm.update(map(clusterConfig('a', [{ host: '10.0.0.1', port: 80 }, { host: '10.0.0.3', port: 80 }], { lbPolicy: 'RANDOM' })));
  const now = cm.get('a')!;
  assert.equal(now.config.lbPolicy, 'RANDOM');
  assert.equal(now.hosts()[0], h1);
  assert.equal(h1.rqTotal, 5);
  assert.equal(now.pool(h1), p1);
  await new Promise((r) => setImmediate(r));
  const fp1 = pools.find((p) => p === p1)!;
  const fp2 = pools.find((p) => p === p2)!;
  assert.equal(fp2.closed, 1, 'removed host pool closed gracefully');
  assert.equal(fp2.destroyed, 0, 'not destroyed');
  assert.equal(fp1.closed, 0);
  await cm.close();
  assert.equal(fp1.closed, 1);
  assert.ok(pools.every((p) => p.destroyed === 0));
});

test('a connection-setting change closes old pools; removed clusters drain their pools', async () => {
  const { factory, pools } = fakePoolFactory();
  const cm = new ClusterManager({ poolFactory: factory });
  cm.update(map(clusterConfig('a', [{ host: '10.0.0.1', port: 80 }]), clusterConfig('b', [{ host: '10.0.0.5', port: 80 }])));
  const a = cm.get('a')!;
  const h = a.hosts()[0];
  const old = a.pool(h);
  cm.get('b')!.pool(cm.get('b')!.hosts()[0]);
  cm.update(map(clusterConfig('a', [{ host: '10.0.0.1', port: 80 }], { connectTimeoutMs: 100 })));
  assert.equal(cm.get('b'), undefined);
  assert.equal(a.hosts()[0], h);
  assert.notEqual(a.pool(h), old);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(pools.map((p) => [p.host.key, p.closed, p.destroyed]), [['10.0.0.1:80', 1, 0], ['10.0.0.5:80', 1, 0], ['10.0.0.1:80', 0, 0]]);
  await cm.close();
});

test('a pool asked for a host that was removed meanwhile is drained after use', async () => {
  const { factory, pools } = fakePoolFactory();
  const cm = new ClusterManager({ poolFactory: factory });
  cm.update(map(clusterConfig('a', [{ host: '10.0.0.1', port: 80 }])));
  const a = cm.get('a')!;
  const h = a.chooseHost(ctx)!;
  cm.update(map(clusterConfig('a', [{ host: '10.0.0.2', port: 80 }])));
  a.pool(h);
  await cm.close();
  assert.equal(pools.find((p) => p.host === h)!.closed, 1);
});

test('EDS cluster: no endpoints until setLoadAssignment; assignments survive config changes', async () => {
  const { factory } = fakePoolFactory();
  const cm = new ClusterManager({ poolFactory: factory });
  cm.setLoadAssignment('early', assignment('early', [{ host: '10.9.9.9', port: 1 }]));
  cm.update(map(clusterConfig('eds', null, { type: 'EDS' }), clusterConfig('early', null, { type: 'EDS' })));
  assert.equal(cm.get('eds')!.chooseHost(ctx), null);
  assert.equal(cm.get('early')!.chooseHost(ctx)!.key, '10.9.9.9:1');
  cm.setLoadAssignment('eds', assignment('eds', [{ host: '10.1.0.1', port: 8080 }]));
  const h = cm.get('eds')!.chooseHost(ctx)!;
  assert.equal(h.key, '10.1.0.1:8080');
  cm.update(map(clusterConfig('eds', null, { type: 'EDS', connectTimeoutMs: 1 }), clusterConfig('early', null, { type: 'EDS' })));
  assert.equal(cm.get('eds')!.chooseHost(ctx), h);
  await cm.close();
});

test('ORIGINAL_DST cluster is accepted and has no hosts', async () => {
  const cm = new ClusterManager({ poolFactory: fakePoolFactory().factory });
  cm.update(map(clusterConfig('odst', null, { type: 'ORIGINAL_DST', lbPolicy: 'CLUSTER_PROVIDED' })));
  assert.equal(cm.get('odst')!.chooseHost(ctx), null);
  await cm.close();
});

test('STRICT_DNS cluster resolves localhost', async () => {
  const cm = new ClusterManager({ poolFactory: fakePoolFactory().factory });
  cm.update(map(clusterConfig('dns', [{ host: 'localhost', port: 7 }], { type: 'STRICT_DNS', dnsLookupFamily: 'V4_ONLY' })));
  assert.equal(cm.get('dns')!.chooseHost(ctx), null);
  await cm.ready();
  const h = cm.get('dns')!.chooseHost(ctx)!;
  assert.equal(h.key, '127.0.0.1:7');
  assert.equal(h.hostname, 'localhost');
  await cm.close();
});
