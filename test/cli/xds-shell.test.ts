// Tests of the process shell with xDS: in-process readiness and shutdown around the xDS source, the config dump merge, control-plane.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { buildConfigDump } from '../../src/admin/config-dump.ts';
import { runProxy } from '../../src/cli/proxy-command.ts';
import type { Snapshot } from '../../src/model/types.ts';
import { socketAddress } from '../helpers/bootstrap.ts';
import { send, sendJson } from '../helpers/http-client.ts';
import { runPilotfish } from '../helpers/sidecar.ts';
import { pollUntil } from '../helpers/wait.ts';
import { startControlPlane } from '../xds-client/fake-control-plane.ts';
import { CDS, LDS, RDS, rdsListener, routeConfig, xdsBootstrap } from '../xds-client/fixtures.ts';
import { engines } from './fixtures/fake-engine.ts';

type Json = Record<string, any>;
const ADMIN = 'type.googleapis.com/envoy.admin.v3.';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-xds-shell-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('top-level help lists control-plane, which runs the xds/ command', async () => {
  const help = await runPilotfish(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^\s+control-plane\s+/m);
  const cp = await runPilotfish(['control-plane', '--help']);
  assert.equal(cp.code, 0, cp.stderr);
  assert.match(cp.stdout, /^Usage: pilotfish control-plane/);
  assert.equal((await runPilotfish(['help', 'control-plane'])).stdout, cp.stdout);
  assert.equal((await runPilotfish(['control-plane', '--frobnicate'])).code, 2);
});

test('in-process with dynamic_resources: PRE_INITIALIZING until xDS is complete, dynamic dump from the source, source closed on quit', async () => {
  const cp = await startControlPlane();
  try {
    const doc = { ...xdsBootstrap(cp.port, { initialFetchTimeout: '0s' }), admin: { address: socketAddress(0) } };
    const cfg = path.join(dir, 'xds.json');
    fs.writeFileSync(cfg, JSON.stringify(doc));
    const addrFile = path.join(dir, 'admin-addr');
    const created = engines.length;
    const exit = runProxy(['-c', cfg, '--admin-address-path', addrFile, '--drain-time-s', '1'], {
      engineModule: new URL('./fixtures/fake-engine.ts', import.meta.url).href,
      handleSignals: false,
      logger: pino({ level: 'silent' }),
    });
    await cp.waitForRequest((r) => r.typeUrl === LDS, { what: 'the LDS subscription' });
    const admin = `http://${await pollUntil(() => fs.existsSync(addrFile) && fs.readFileSync(addrFile, 'utf8'), { timeoutMs: 10_000, what: 'admin address' })}`;
    assert.equal((await send(`${admin}/ready`)).status, 503);
    assert.equal(engines.length, created + 1);
    const engine = engines.at(-1)!;
    assert.deepEqual(engine.calls, ['apply'], 'the source applied the static part');

    await cp.reply(await cp.sendSotw(LDS, 'l1', [rdsListener('ingress', 'routes')]));
    await cp.waitForRequest((r) => r.typeUrl === RDS);
    assert.equal((await send(`${admin}/ready`)).status, 503, 'not complete yet: RDS and CDS are outstanding');
    // CDS is subscribed too: the config is complete once an (empty) cluster set arrived.
    await cp.reply(await cp.sendSotw(CDS, 'c1', []));
    await cp.reply(await cp.sendSotw(RDS, 'r1', [routeConfig('routes', { direct: 'hi' })]));
    await pollUntil(async () => (await send(`${admin}/ready`)).status === 200, { timeoutMs: 10_000, what: '/ready 200' });

    const { json: dump } = await sendJson<{ configs: Json[] }>(`${admin}/config_dump`);
    const listeners = dump.configs.find((c) => c['@type'] === `${ADMIN}ListenersConfigDump`)!;
    assert.equal(listeners.version_info, 'l1', 'the version of LDS, not the combined snapshot version');
    assert.equal(listeners.dynamic_listeners.length, 1, 'the snapshot does not list the dynamic listener a second time');
    assert.equal(listeners.dynamic_listeners[0].active_state.version_info, 'l1');
    const clusters = dump.configs.find((c) => c['@type'] === `${ADMIN}ClustersConfigDump`)!;
    assert.deepEqual(clusters.static_clusters.map((c: Json) => c.cluster.name), ['xds_cluster']);
    assert.equal(clusters.dynamic_active_clusters, undefined, 'empty lists are left out, as proto3 JSON does');

    assert.equal((await send(`${admin}/quitquitquit`, { method: 'POST' })).status, 200);
    assert.equal(await exit, 0);
    assert.equal(engine.calls.at(-1), 'drain:1000');
    await pollUntil(() => cp.currentStream === 0, { timeoutMs: 10_000, what: 'the ADS stream to be closed' });
  } finally {
    await cp.stop();
  }
});

test('buildConfigDump with xDS sections: static kept, dynamic from xDS only, Envoy order, endpoints with include_eds', () => {
  const bootstrap = { static_resources: { listeners: [{ name: 'static-l' }], clusters: [{ name: 'static-c' }] } };
  const snapshot = {
    version: 'lds=l1;cds=c1',
    source: { bootstrap, listeners: [{ name: 'static-l' }, { name: 'dyn-l' }], clusters: [{ name: 'static-c' }, { name: 'dyn-c' }] },
  } as unknown as Snapshot;
  const xds = [
    { '@type': `${ADMIN}ClustersConfigDump`, version_info: 'c1', dynamic_active_clusters: [{ version_info: 'c1', cluster: { name: 'dyn-c' } }], dynamic_warming_clusters: [] },
    { '@type': `${ADMIN}ListenersConfigDump`, version_info: 'l1', dynamic_listeners: [{ name: 'dyn-l' }] },
    { '@type': `${ADMIN}RoutesConfigDump`, dynamic_route_configs: [] },
    { '@type': `${ADMIN}EndpointsConfigDump`, dynamic_endpoint_configs: [{ version_info: 'e1' }] },
  ];
  const d = buildConfigDump(snapshot, 0, { xds });
  assert.deepEqual(d.configs.map((c) => c['@type']), ['BootstrapConfigDump', 'ClustersConfigDump', 'ListenersConfigDump', 'RoutesConfigDump'].map((t) => `${ADMIN}${t}`));
  const [, clusters, listeners, routes] = d.configs as Json[];
  assert.deepEqual(Object.keys(clusters), ['@type', 'version_info', 'static_clusters', 'dynamic_active_clusters']);
  assert.deepEqual(clusters.static_clusters.map((c: Json) => c.cluster.name), ['static-c']);
  assert.deepEqual(clusters.dynamic_active_clusters, [{ version_info: 'c1', cluster: { name: 'dyn-c' } }]);
  assert.deepEqual(listeners.dynamic_listeners, [{ name: 'dyn-l' }]);
  assert.deepEqual(listeners.static_listeners.map((l: Json) => l.listener.name), ['static-l']);
  assert.deepEqual(routes, { '@type': `${ADMIN}RoutesConfigDump` });

  const withEds = buildConfigDump(snapshot, 0, { xds, includeEds: true });
  assert.deepEqual(withEds.configs.map((c) => String(c['@type']).slice(ADMIN.length)), ['BootstrapConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump', 'ListenersConfigDump', 'RoutesConfigDump']);
});
