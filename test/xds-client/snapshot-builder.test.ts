// Table-driven tests of the pure snapshot builder: static + xDS stores → Snapshot, with EDS/RDS warming and expiry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as model from '../../src/model/compile-bootstrap.ts';
import type { ClusterConfig, ListenerConfig, LoadAssignment, RouteConfig } from '../../src/model/types.ts';
import type { StoredResource } from '../../src/xds/resource-store.ts';
import { buildSnapshot, type ActiveSet, type BuildInput } from '../../src/xds/snapshot-builder.ts';
import { staticCluster } from '../helpers/bootstrap.ts';
import { cla, compileStatic, edsCluster, rdsListener, routeConfig } from './fixtures.ts';

type Json = Record<string, unknown>;
const io = { readFile: (): string => { throw new Error('no files'); } };

function ok<T>(r: { ok: true; value: T } | { ok: false; errors: readonly unknown[] }): T {
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}
function entry<T>(name: string, json: Json, compiled: T, version = '1'): StoredResource<T> {
  return { name, json, version, lastUpdated: 0, compiled };
}
const L = (name: string, rds: string, v = '1') => entry<ListenerConfig>(name, rdsListener(name, rds), ok(model.compileListener(rdsListener(name, rds), io)), v);
const R = (name: string) => entry<RouteConfig>(name, routeConfig(name, { direct: name }), ok(model.compileRouteConfiguration(routeConfig(name, { direct: name }), io)));
const C = (json: Json, v = '1') => entry<ClusterConfig>(String(json.name), json, ok(model.compileCluster(json, io)), v);
const E = (name: string, ports: number[]) => entry<LoadAssignment>(name, cla(name, ports), ok(model.compileClusterLoadAssignment(cla(name, ports))));
const map = <T>(...items: StoredResource<T>[]): Map<string, StoredResource<T>> => new Map(items.map((i) => [i.name, i]));

const staticDoc = {
  node: { id: 'n', cluster: 'c' },
  static_resources: {
    listeners: [rdsListener('static-in', 'static-routes')],
    clusters: [staticCluster('xds_cluster', [18000]), edsCluster('static-eds')],
  },
  dynamic_resources: { ads_config: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }] }, lds_config: { ads: {} }, cds_config: { ads: {} } },
};
const staticSnapshot = compileStatic(staticDoc);
const base: BuildInput = { staticSnapshot, listeners: new Map(), routes: new Map(), clusters: new Map(), endpoints: new Map(), version: 'v' };

const oldBackend = C(edsCluster('backend', 'svc-old'), 'old');
const oldIngress = L('ingress', 'routes-old', 'old');
const active: ActiveSet = { listeners: map(oldIngress), clusters: map(oldBackend) };

interface Case {
  name: string;
  input: Partial<BuildInput>;
  listeners: string[];
  clusters: Record<string, number[] | null>; // name → endpoint ports (null: no load assignment)
  routeConfigs: string[];
  warming?: { listeners: string[]; clusters: string[] };
  interest?: { routes: string[]; endpoints: string[] };
  missing?: { routes: string[]; endpoints: string[] };
  /** Listener name → the RDS name it uses in the snapshot. */
  listenerRoutes?: Record<string, string>;
}

const cases: Case[] = [
  {
    name: 'static only: static listeners and clusters serve; their RDS/EDS names are of interest',
    input: {},
    listeners: ['static-in'],
    clusters: { xds_cluster: [18000], 'static-eds': null },
    routeConfigs: [],
    interest: { routes: ['static-routes'], endpoints: ['static-eds'] },
    missing: { routes: ['static-routes'], endpoints: ['static-eds'] },
  },
  {
    name: 'RDS and EDS fill static resources',
    input: { routes: map(R('static-routes')), endpoints: map(E('static-eds', [1])) },
    listeners: ['static-in'],
    clusters: { xds_cluster: [18000], 'static-eds': [1] },
    routeConfigs: ['static-routes'],
    missing: { routes: [], endpoints: [] },
  },
  {
    name: 'a new EDS cluster without endpoints warms; a STATIC one is used at once',
    input: { clusters: map(C(edsCluster('backend', 'svc')), C(staticCluster('fixed', [2]) as Json)) },
    listeners: ['static-in'],
    clusters: { xds_cluster: [18000], 'static-eds': null, fixed: [2] },
    routeConfigs: [],
    warming: { listeners: [], clusters: ['backend'] },
    interest: { routes: ['static-routes'], endpoints: ['static-eds', 'svc'] },
  },
  {
    name: 'an EDS cluster takes the endpoints of its service name',
    input: { clusters: map(C(edsCluster('backend', 'svc'))), endpoints: map(E('svc', [7, 8]), E('backend', [9])) },
    listeners: ['static-in'],
    clusters: { xds_cluster: [18000], 'static-eds': null, backend: [7, 8] },
    routeConfigs: [],
    warming: { listeners: [], clusters: [] },
  },
  {
    name: 'a changed EDS cluster waiting for its new service keeps the previous version in force',
    input: { active, clusters: map(C(edsCluster('backend', 'svc-new'), 'new')), endpoints: map(E('svc-old', [5])) },
    listeners: ['static-in'],
    clusters: { xds_cluster: [18000], 'static-eds': null, backend: [5] },
    routeConfigs: [],
    warming: { listeners: [], clusters: ['backend'] },
    interest: { routes: ['static-routes'], endpoints: ['static-eds', 'svc-new', 'svc-old'] },
  },
  {
    name: 'an EDS name whose initial fetch timed out: the cluster goes active with no endpoints',
    input: { clusters: map(C(edsCluster('backend', 'svc'))), expiredEndpoints: new Set(['svc']) },
    listeners: ['static-in'],
    clusters: { xds_cluster: [18000], 'static-eds': null, backend: [] },
    routeConfigs: [],
    warming: { listeners: [], clusters: [] },
    missing: { routes: ['static-routes'], endpoints: ['static-eds'] },
  },
  {
    name: 'a new listener waits for its route configuration',
    input: { listeners: map(L('ingress', 'routes-a')) },
    listeners: ['static-in'],
    clusters: { xds_cluster: [18000], 'static-eds': null },
    routeConfigs: [],
    warming: { listeners: ['ingress'], clusters: [] },
    interest: { routes: ['routes-a', 'static-routes'], endpoints: ['static-eds'] },
  },
  {
    name: 'a listener with its route configuration serves; unreferenced route configurations are left out',
    input: { listeners: map(L('ingress', 'routes-a')), routes: map(R('routes-a'), R('unused')) },
    listeners: ['static-in', 'ingress'],
    clusters: { xds_cluster: [18000], 'static-eds': null },
    routeConfigs: ['routes-a'],
    warming: { listeners: [], clusters: [] },
  },
  {
    name: 'a changed listener waiting for a new route configuration keeps the previous version in force',
    input: { active, listeners: map(L('ingress', 'routes-new', 'new')), routes: map(R('routes-old')) },
    listeners: ['static-in', 'ingress'],
    clusters: { xds_cluster: [18000], 'static-eds': null },
    routeConfigs: ['routes-old'],
    warming: { listeners: ['ingress'], clusters: [] },
    interest: { routes: ['routes-new', 'routes-old', 'static-routes'], endpoints: ['static-eds'] },
    listenerRoutes: { ingress: 'routes-old' },
  },
  {
    name: 'an RDS name whose initial fetch timed out: the listener goes active without routes',
    input: { listeners: map(L('ingress', 'routes-a')), expiredRoutes: new Set(['routes-a']) },
    listeners: ['static-in', 'ingress'],
    clusters: { xds_cluster: [18000], 'static-eds': null },
    routeConfigs: [],
    warming: { listeners: [], clusters: [] },
  },
  {
    name: 'a dynamic cluster cannot replace a static one',
    input: { clusters: map(C(staticCluster('xds_cluster', [1]) as Json)) },
    listeners: ['static-in'],
    clusters: { xds_cluster: [18000], 'static-eds': null },
    routeConfigs: [],
  },
];

for (const c of cases) {
  test(`snapshot builder: ${c.name}`, () => {
    const r = buildSnapshot({ ...base, ...c.input });
    const s = r.snapshot;
    assert.equal(s.version, 'v');
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.listeners));
    assert.deepEqual(s.listeners.map((l) => l.name), c.listeners);
    const clusters = Object.fromEntries([...s.clusters].map(([n, cl]) => [n, cl.loadAssignment ? cl.loadAssignment.endpoints.flatMap((e) => e.lbEndpoints.map((x) => x.address.port)) : null]));
    assert.deepEqual(clusters, c.clusters);
    assert.deepEqual([...(s.routeConfigs?.keys() ?? [])], c.routeConfigs);
    if (c.warming) assert.deepEqual(r.warming, c.warming);
    if (c.interest) assert.deepEqual({ routes: [...r.interest.routes].sort(), endpoints: [...r.interest.endpoints].sort() }, c.interest);
    if (c.missing) assert.deepEqual({ routes: [...r.missing.routes].sort(), endpoints: [...r.missing.endpoints].sort() }, c.missing);
    for (const [l, rds] of Object.entries(c.listenerRoutes ?? {})) {
      const net = s.listeners.find((x) => x.name === l)!.filterChains[0].network;
      assert.equal(net.kind === 'http' ? net.rdsRouteConfigName : null, rds);
    }
    // source lists what is in force: static resources first, then the dynamic ones.
    assert.deepEqual(s.source.listeners.map((l) => (l as Json).name), c.listeners);
    assert.deepEqual(s.source.clusters.map((x) => (x as Json).name), Object.keys(c.clusters));
    assert.deepEqual([...r.active.listeners.keys()], c.listeners.filter((n) => n !== 'static-in'));
  });
}

test('snapshot builder: the same inputs give the same filled cluster object (the engine sees no change)', () => {
  const input = { ...base, clusters: map(C(edsCluster('backend'))), endpoints: map(E('backend', [1])) };
  const a = buildSnapshot(input).snapshot.clusters.get('backend');
  const b = buildSnapshot(input).snapshot.clusters.get('backend');
  assert.ok(a && a === b);
  assert.ok(Object.isFrozen(a));
});
