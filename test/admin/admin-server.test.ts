// Tests of the admin server over real HTTP with a fake AdminView: every endpoint, methods, formats, 404 listing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startAdminServer, type AdminServer } from '../../src/admin/admin-server.ts';
import type { AdminView, ClusterStatus, ServerState } from '../../src/admin/admin-view.ts';
import { StatsRegistry } from '../../src/observability/stats.ts';
import type { Snapshot } from '../../src/model/types.ts';

const calls: string[] = [];
let viewState: ServerState = 'LIVE';
const stats = new StatsRegistry();
stats.counter('envoy_cluster_upstream_rq_total', { envoy_cluster_name: 'backend' }).inc(4);
stats.gauge('envoy_server_live').set(1);

const bootstrap = {
  node: { id: 'n1', cluster: 'c1' },
  static_resources: {
    listeners: [{ name: 'ingress', address: { socket_address: { address: '0.0.0.0', port_value: 10000 } } }],
    clusters: [{ name: 'backend', type: 'STATIC' }],
  },
};
const snapshot = {
  version: 'static',
  node: { id: 'n1', cluster: 'c1', metadata: { team: 'x' } },
  admin: null,
  listeners: [],
  clusters: new Map(),
  source: { bootstrap, listeners: bootstrap.static_resources.listeners, clusters: bootstrap.static_resources.clusters },
} as unknown as Snapshot;

const clusters: ClusterStatus[] = [{
  name: 'backend',
  addedViaApi: false,
  circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
  hosts: [
    { key: '127.0.0.1:8080', address: '127.0.0.1', port: 8080, hostname: null, weight: 2, health: 'HEALTHY', rqActive: 1, rqTotal: 7, rqError: 2, cxConnectFail: 0 },
    { key: '[::1]:8081', address: '::1', port: 8081, hostname: 'h', weight: 1, health: 'UNHEALTHY', rqActive: 0, rqTotal: 0, rqError: 0, cxConnectFail: 3 },
  ],
}];

const view: AdminView = {
  current: () => snapshot,
  lastUpdated: () => Date.UTC(2024, 0, 1),
  state: () => viewState,
  listeners: async () => [{ name: 'ingress', host: '0.0.0.0', port: 10000 }, { name: 'v6', host: '::', port: 10001 }],
  clusters: () => clusters,
  serverInfo: () => ({ version: 'pilotfish/test', startTimeMs: Date.now() - 3000, commandLineOptions: { concurrency: 2 } }),
  drainListeners: ({ graceful }) => { calls.push(`drain:${graceful}`); },
  quit: () => { calls.push('quit'); },
  setHealthCheckFailed: (f) => { calls.push(`hc:${f}`); },
  setLogLevel: (l) => l === 'debug',
};

let admin: AdminServer;
let base: string;
before(async () => {
  admin = await startAdminServer({ address: { host: '127.0.0.1', port: 0 }, engine: view, stats: async () => stats, logger: pino({ level: 'silent' }) });
  base = `http://127.0.0.1:${admin.port}`;
});
after(() => admin.close());

async function get(path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const r = await fetch(base + path, { method });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

test('/ready reflects the state and /healthcheck/fail|ok', async () => {
  assert.deepEqual(await get('/ready'), { status: 200, type: 'text/plain; charset=UTF-8', body: 'LIVE\n' });
  viewState = 'PRE_INITIALIZING';
  assert.equal((await get('/ready')).body, 'PRE_INITIALIZING\n');
  assert.equal((await get('/ready')).status, 503);
  viewState = 'LIVE';
  assert.equal((await get('/healthcheck/fail', 'POST')).body, 'OK\n');
  assert.deepEqual(await get('/ready'), { status: 503, type: 'text/plain; charset=UTF-8', body: 'DRAINING\n' });
  assert.equal(JSON.parse((await get('/server_info')).body).state, 'DRAINING');
  await get('/healthcheck/ok', 'POST');
  assert.equal((await get('/ready')).status, 200);
  assert.deepEqual(calls.splice(0), ['hc:true', 'hc:false']);
});

test('/server_info has Envoy fields', async () => {
  const r = await get('/server_info');
  assert.equal(r.type, 'application/json');
  const info = JSON.parse(r.body);
  assert.equal(info.version, 'pilotfish/test');
  assert.equal(info.state, 'LIVE');
  assert.match(info.uptime_current_epoch, /^\d+s$/);
  assert.equal(info.command_line_options.concurrency, 2);
  assert.equal(info.node.id, 'n1');
  assert.equal(info.node.cluster, 'c1');
});

test('/config_dump has the Envoy dump types and ?resource selects one list', async () => {
  const dump = JSON.parse((await get('/config_dump')).body);
  const types = dump.configs.map((c: { '@type': string }) => c['@type']);
  assert.deepEqual(types, [
    'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump',
    'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
    'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
    'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
  ]);
  assert.equal(dump.configs[2].static_listeners[0].listener.name, 'ingress');
  assert.equal(dump.configs[2].static_listeners[0].last_updated, '2024-01-01T00:00:00.000Z');
  const sel = JSON.parse((await get('/config_dump?resource=static_clusters')).body);
  assert.equal(sel.configs[0]['@type'], 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump.StaticCluster');
  assert.equal(sel.configs[0].cluster.name, 'backend');
  assert.equal((await get('/config_dump?resource=nope')).status, 404);
});

test('/clusters text and json', async () => {
  const text = (await get('/clusters')).body.split('\n');
  assert.ok(text.includes('backend::default_priority::max_connections::1024'));
  assert.ok(text.includes('backend::added_via_api::false'));
  assert.ok(text.includes('backend::127.0.0.1:8080::health_flags::healthy'));
  assert.ok(text.includes('backend::127.0.0.1:8080::rq_active::1'));
  assert.ok(text.includes('backend::127.0.0.1:8080::rq_total::7'));
  assert.ok(text.includes('backend::127.0.0.1:8080::rq_success::4'));
  assert.ok(text.includes('backend::127.0.0.1:8080::weight::2'));
  assert.ok(text.includes('backend::[::1]:8081::health_flags::/failed_eds_health'));
  assert.ok(text.includes('backend::[::1]:8081::hostname::h'));
  const json = JSON.parse((await get('/clusters?format=json')).body);
  const c = json.cluster_statuses[0];
  assert.equal(c.name, 'backend');
  const h = c.host_statuses[0];
  assert.deepEqual(h.address, { socket_address: { address: '127.0.0.1', port_value: 8080 } });
  assert.deepEqual(h.stats.find((s: { name: string }) => s.name === 'rq_total'), { name: 'rq_total', value: '7' });
  assert.deepEqual(h.stats.find((s: { name: string }) => s.name === 'cx_total'), { name: 'cx_total' });
  assert.equal(h.health_status.eds_health_status, 'HEALTHY');
  assert.equal(h.weight, 2);
});

test('/listeners text and json', async () => {
  assert.equal((await get('/listeners')).body, 'ingress::0.0.0.0:10000\nv6::[::]:10001\n');
  const json = JSON.parse((await get('/listeners?format=json')).body);
  assert.deepEqual(json.listener_statuses[0], { name: 'ingress', local_address: { socket_address: { address: '0.0.0.0', port_value: 10000 } } });
});

test('/stats text, json, filter and prometheus', async () => {
  const text = (await get('/stats')).body;
  assert.ok(text.includes('cluster.backend.upstream_rq_total: 4\n'));
  assert.ok(text.includes('server.live: 1\n'));
  assert.equal((await get('/stats?filter=^server')).body, 'server.live: 1\n');
  assert.equal((await get('/stats?filter=(')).status, 400);
  const json = JSON.parse((await get('/stats?format=json')).body);
  assert.deepEqual(json.stats.find((s: { name: string }) => s.name === 'cluster.backend.upstream_rq_total'), { name: 'cluster.backend.upstream_rq_total', value: 4 });
  const prom = await get('/stats/prometheus');
  assert.equal(prom.type, 'text/plain; version=0.0.4; charset=UTF-8');
  assert.ok(prom.body.includes('envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"} 4\n'));
  assert.equal((await get('/stats?format=prometheus')).body, prom.body);
});

test('mutations are POST only; GET answers 405', async () => {
  for (const p of ['/drain_listeners', '/quitquitquit', '/healthcheck/fail', '/healthcheck/ok', '/logging']) {
    const r = await get(p);
    assert.equal(r.status, 405, p);
  }
  assert.deepEqual(calls.splice(0), []);
  assert.equal((await get('/drain_listeners?graceful', 'POST')).body, 'OK\n');
  assert.equal((await get('/drain_listeners', 'POST')).body, 'OK\n');
  assert.deepEqual(calls.splice(0), ['drain:true', 'drain:false']);
  assert.equal((await get('/logging?level=debug', 'POST')).status, 200);
  assert.equal((await get('/logging?level=loud', 'POST')).status, 400);
});

test('/quitquitquit answers OK then calls quit()', async () => {
  const r = await get('/quitquitquit', 'POST');
  assert.equal(r.body, 'OK\n');
  while (!calls.includes('quit')) await new Promise((res) => setImmediate(res));
  calls.splice(0);
});

test('unknown paths answer 404 with the command listing; / lists too', async () => {
  const r = await get('/nope');
  assert.equal(r.status, 404);
  assert.match(r.body, /^invalid path\. admin commands are:\n/);
  for (const p of ['/ready', '/server_info', '/config_dump', '/clusters', '/listeners', '/stats', '/stats/prometheus', '/drain_listeners', '/quitquitquit', '/healthcheck/fail']) {
    assert.ok(r.body.includes(`  ${p}: `), p);
  }
  assert.equal((await get('/')).status, 200);
  assert.equal((await get('/ready', 'HEAD')).status, 200);
});

test('a second admin on the same port fails to start', async () => {
  await assert.rejects(startAdminServer({ address: { host: '127.0.0.1', port: admin.port }, engine: view, stats: () => stats, logger: pino({ level: 'silent' }) }), /EADDRINUSE/);
});
