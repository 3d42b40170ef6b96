// The real bin/pilotfish configured over ADS by a real gRPC control plane: readiness, traffic, route updates, NACKs, delta, workers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { socketAddress } from '../helpers/bootstrap.ts';
import { send, sendJson } from '../helpers/http-client.ts';
import { closeAll, startHttpEcho, type EchoReply, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { listenerPorts, PILOTFISH_BIN, REPO_ROOT, runPilotfish, startSidecar, tempDir, writeBootstrap } from '../helpers/sidecar.ts';
import { pollUntil, withTimeout } from '../helpers/wait.ts';
import { startControlPlane, type FakeControlPlane } from '../xds-client/fake-control-plane.ts';
import { CDS, EDS, LDS, RDS, cla, edsCluster, rdsListener, routeConfig, xdsBootstrap, type XdsBootstrapOptions } from '../xds-client/fixtures.ts';

type Json = Record<string, unknown>;

let upA: HttpUpstream;
let upB: HttpUpstream;
before(async () => {
  upA = await startHttpEcho('a');
  upB = await startHttpEcho('b');
});
after(() => closeAll(upA, upB));

/** A sidecar bootstrap: admin on port 0, LDS/CDS over ADS to the control plane; no initial fetch timeout, so readiness comes only from config. */
function sidecarBootstrap(cp: FakeControlPlane, o: XdsBootstrapOptions = {}): Json {
  return { ...xdsBootstrap(cp.port, { initialFetchTimeout: '0s', ...o }), admin: { address: socketAddress(0) } };
}

/** Serves one ADS stream the whole mesh config, SotW: clusters a and b by EDS, listener "ingress" with RDS "routes" → a. */
async function serveSotw(cp: FakeControlPlane, stream: number): Promise<void> {
  await cp.waitForRequest((r) => r.stream === stream && r.typeUrl === LDS, { what: `LDS request on stream ${stream}` });
  await cp.reply(await cp.sendSotw(CDS, 'c1', [edsCluster('a'), edsCluster('b')], { stream }));
  await cp.reply(await cp.sendSotw(EDS, 'e1', [cla('a', [upA.port]), cla('b', [upB.port])], { stream }));
  await cp.reply(await cp.sendSotw(LDS, 'l1', [rdsListener('ingress', 'routes')], { stream }));
  await cp.reply(await cp.sendSotw(RDS, 'r1', [routeConfig('routes', { cluster: 'a' })], { stream }));
}

interface Proc {
  readonly admin: string;
  readonly stderr: string[];
  stop(): Promise<number | null>;
}

/** Spawns bin/pilotfish without waiting for /ready (startSidecar waits for 200; these tests look at the 503 first). */
async function spawnSidecar(bootstrap: object, args: string[] = []): Promise<Proc> {
  const dir = tempDir();
  const addressFile = path.join(dir, 'admin-address');
  const child = spawn(process.execPath, [PILOTFISH_BIN, 'proxy', '-c', writeBootstrap(bootstrap, dir), '--admin-address-path', addressFile, ...args], {
    cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (c: string) => stderr.push(c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => { gone = true; });
  const stop = async (): Promise<number | null> => {
    if (!gone) child.kill('SIGTERM');
    const code = await withTimeout(exited, 20_000, 'pilotfish to exit').catch(() => { child.kill('SIGKILL'); return null; });
    fs.rmSync(dir, { recursive: true, force: true });
    return code;
  };
  try {
    const address = await pollUntil(() => {
      if (gone) throw new Error(`pilotfish exited: ${stderr.join('')}`);
      try { return fs.readFileSync(addressFile, 'utf8').trim() || undefined; } catch { return undefined; }
    }, { timeoutMs: 30_000, intervalMs: 20, what: 'the admin address file' });
    return { admin: `http://${address}`, stderr, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitLive(admin: string): Promise<void> {
  await pollUntil(async () => (await send(`${admin}/ready`)).status === 200, { timeoutMs: 15_000, what: '/ready to answer 200' });
}

async function listenerUrl(admin: string, name: string): Promise<string> {
  const port = listenerPorts((await send(`${admin}/listeners?format=json`)).text).get(name);
  assert.ok(port, `listener ${name} is bound`);
  return `http://127.0.0.1:${port}`;
}

async function upstreamOf(url: string): Promise<string> {
  const res = await send(`${url}/x`);
  assert.equal(res.status, 200, res.text);
  return (JSON.parse(res.text) as EchoReply).name;
}

function section(dump: { configs: Json[] }, type: string): Json {
  const s = dump.configs.find((c) => c['@type'] === `type.googleapis.com/envoy.admin.v3.${type}`);
  assert.ok(s, `${type} in the config dump`);
  return s;
}

test('SotW: PRE_INITIALIZING until the config arrives, then traffic, a route update, and a NACK that changes nothing', async () => {
  const cp = await startControlPlane();
  const sc = await spawnSidecar(sidecarBootstrap(cp));
  try {
    await cp.waitForRequest((r) => r.typeUrl === LDS, { what: 'the sidecar to subscribe' });
    const before = await send(`${sc.admin}/ready`);
    assert.deepEqual([before.status, before.text], [503, 'PRE_INITIALIZING\n']);
    assert.equal((await sendJson<{ state: string }>(`${sc.admin}/server_info`)).json.state, 'PRE_INITIALIZING');

    await serveSotw(cp, cp.currentStream);
    await waitLive(sc.admin);
    assert.equal((await send(`${sc.admin}/ready`)).text, 'LIVE\n');
    const url = await listenerUrl(sc.admin, 'ingress');
    assert.equal(await upstreamOf(url), 'a');

    // A new version of the route configuration: ACKed once applied, so the next request follows it.
    const r2 = await cp.reply(await cp.sendSotw(RDS, 'r2', [routeConfig('routes', { cluster: 'b' })]));
    assert.equal(r2.msg.error_detail, null);
    assert.equal(await upstreamOf(url), 'b');

    // A bad version is NACKed: traffic keeps flowing on r2, and /config_dump shows the error.
    const nack = await cp.reply(await cp.sendSotw(RDS, 'r3', [routeConfig('routes', { cluster: 'a' }, '(unclosed')]));
    const detail = (nack.msg.error_detail as { message: string }).message;
    assert.match(detail, /safe_regex\.regex/);
    assert.equal(await upstreamOf(url), 'b');

    const { json: dump } = await sendJson<{ configs: Json[] }>(`${sc.admin}/config_dump`);
    const routes = section(dump, 'RoutesConfigDump').dynamic_route_configs as Json[];
    assert.equal(routes.length, 1);
    assert.equal(routes[0].version_info, 'r2');
    assert.equal((routes[0].route_config as Json).name, 'routes');
    assert.match(String(routes[0].last_updated), /^\d{4}-\d\d-\d\dT/);
    const errorState = routes[0].error_state as Json;
    assert.equal(errorState.details, detail);
    assert.equal(errorState.version_info, 'r3');

    const listeners = section(dump, 'ListenersConfigDump');
    assert.equal(listeners.version_info, 'l1');
    assert.equal(listeners.static_listeners, undefined);
    assert.deepEqual((listeners.dynamic_listeners as Json[]).map((l) => [l.name, (l.active_state as Json).version_info]), [['ingress', 'l1']]);
    const clusters = section(dump, 'ClustersConfigDump');
    assert.equal(clusters.version_info, 'c1');
    assert.deepEqual((clusters.static_clusters as Json[]).map((c) => (c.cluster as Json).name), ['xds_cluster'], 'static clusters stay static');
    assert.deepEqual((clusters.dynamic_active_clusters as Json[]).map((c) => [(c.cluster as Json).name, c.version_info]), [['a', 'c1'], ['b', 'c1']]);
    assert.equal(dump.configs.some((c) => String(c['@type']).endsWith('EndpointsConfigDump')), false, 'endpoints only with ?include_eds, as in Envoy');
    const { json: withEds } = await sendJson<{ configs: Json[] }>(`${sc.admin}/config_dump?include_eds`);
    const eps = section(withEds, 'EndpointsConfigDump').dynamic_endpoint_configs as Json[];
    assert.deepEqual(eps.map((e) => [(e.endpoint_config as Json).cluster_name, e.version_info]), [['a', 'e1'], ['b', 'e1']]);
    const sel = (await sendJson<{ configs: Json[] }>(`${sc.admin}/config_dump?resource=dynamic_route_configs`)).json.configs;
    assert.deepEqual(sel.map((c) => c['@type']), ['type.googleapis.com/envoy.admin.v3.RoutesConfigDump.DynamicRouteConfig']);

    // Shutdown closes the ADS stream before draining, and exits 0.
    assert.equal(await sc.stop(), 0);
  } finally {
    await sc.stop();
    await cp.stop();
  }
});

test('Delta (api_type DELTA_GRPC): the sidecar gets its config incrementally and serves a request', async () => {
  const cp = await startControlPlane();
  const serve = (async () => {
    await cp.waitForRequest((r) => r.delta && r.typeUrl === LDS, { timeoutMs: 30_000, what: 'a delta LDS request' });
    await cp.reply(await cp.sendDelta(CDS, [{ name: 'a', version: '1', resource: edsCluster('a') }]));
    await cp.reply(await cp.sendDelta(EDS, [{ name: 'a', version: '1', resource: cla('a', [upA.port]) }]));
    await cp.reply(await cp.sendDelta(LDS, [{ name: 'ingress', version: '1', resource: rdsListener('ingress', 'routes') }]));
    await cp.reply(await cp.sendDelta(RDS, [{ name: 'routes', version: '1', resource: routeConfig('routes', { cluster: 'a' }) }]));
  })();
  try {
    // startSidecar returns once /ready answers 200, which needs the whole config above.
    const sc = await startSidecar(sidecarBootstrap(cp, { apiType: 'DELTA_GRPC' }));
    try {
      await serve;
      assert.equal(await upstreamOf(sc.url('ingress')), 'a');
      const dump = (await sendJson<{ configs: Json[] }>(`${sc.admin}/config_dump`)).json;
      const l = (section(dump, 'ListenersConfigDump').dynamic_listeners as Json[])[0];
      assert.equal((l.active_state as Json).version_info, '1');
    } finally {
      assert.equal(await sc.stop(), 0);
    }
  } finally {
    await serve.catch(() => undefined);
    await cp.stop();
  }
});

test('--concurrency 2: each worker has its own ADS stream; the primary is LIVE once both have their config', async () => {
  const cp = await startControlPlane();
  const sc = await spawnSidecar(sidecarBootstrap(cp), ['--concurrency', '2']);
  try {
    await cp.waitForStream(2, 30_000);
    await serveSotw(cp, 1);
    // One worker has its config, the other has not yet: not ready.
    assert.equal((await send(`${sc.admin}/ready`)).status, 503);

    await serveSotw(cp, 2);
    await waitLive(sc.admin);
    const url = await listenerUrl(sc.admin, 'ingress');
    for (let i = 0; i < 4; i++) assert.equal(await upstreamOf(url), 'a');
    const dump = (await sendJson<{ configs: Json[] }>(`${sc.admin}/config_dump`)).json;
    assert.deepEqual((section(dump, 'ListenersConfigDump').dynamic_listeners as Json[]).map((l) => l.name), ['ingress']);
    assert.deepEqual((section(dump, 'ClustersConfigDump').static_clusters as Json[]).map((c) => (c.cluster as Json).name), ['xds_cluster']);
    assert.equal(await sc.stop(), 0);
  } finally {
    await sc.stop();
    await cp.stop();
  }
});

test('--mode validate checks dynamic_resources too', async () => {
  const cp = await startControlPlane();
  const dir = tempDir();
  try {
    const good = writeBootstrap(sidecarBootstrap(cp), dir, 'good.yaml');
    const bad = sidecarBootstrap(cp);
    (bad.dynamic_resources as Json).ads_config = { api_type: 'REST', grpc_services: [{ envoy_grpc: { cluster_name: 'nope' } }] };
    const badPath = writeBootstrap(bad, dir, 'bad.yaml');
    const run = (file: string) => runPilotfish(['proxy', '--mode', 'validate', '-c', file]);
    const ok = await run(good);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /OK/);
    const r = await run(badPath);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /dynamic_resources\.ads_config/);
    assert.equal(cp.streamCount, 0, 'validate never connects');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await cp.stop();
  }
});
