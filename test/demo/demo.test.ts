// Runs the demo mesh (control plane, three apps, three xDS-configured sidecars) on a free port range: one-shot traffic, /config_dump, a live input edit and SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { planPorts, portList, PORT_SPAN } from '../../src/demo/mesh-config.ts';
import { isPortFree } from '../../src/demo/ports.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PILOTFISH = process.env.PILOTFISH_BIN ?? `${ROOT}bin/pilotfish`;
const SKIP = !fs.existsSync(PILOTFISH) && `${PILOTFISH} not built yet`;

type Json = Record<string, unknown>;

/**
 * A base port whose whole range is free right now (random start so parallel runs rarely collide). The range stays
 * below Linux's ephemeral ports (32768+), which other tests' outgoing connections take at any moment.
 */
async function freeBase(): Promise<number> {
  const slots = Math.floor((32768 - 20000) / PORT_SPAN) - 1;
  for (let i = 0; i < 50; i++) {
    const base = 20000 + PORT_SPAN * Math.floor(Math.random() * slots);
    const checks = await Promise.all(portList(planPorts(base)).map((p) => isPortFree(p.port)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error('no free port range found');
}

interface Demo {
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything the demo printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the first output line matching `re` (already printed or yet to come); rejects if the demo exits first or after timeoutMs. */
  line(re: RegExp, timeoutMs?: number): Promise<string>;
  readonly exited: Promise<number | null>;
}

function startDemo(base: number, args: string[], env: Record<string, string> = {}): Demo {
  const child = spawn(process.execPath, [`${ROOT}src/demo/main.ts`, ...args], {
    env: { ...process.env, PILOTFISH_DEMO_BASE_PORT: String(base), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: { re: RegExp; resolve: (l: string) => void; timer: NodeJS.Timeout }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const hit = out.split('\n').find((l) => w.re.test(l));
      if (hit !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(hit);
      }
    }
  };
  const onData = (d: Buffer) => { out += d; check(); };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return {
    child,
    output: () => out,
    exited,
    line: (re, timeoutMs = 30_000) => new Promise<string>((resolve, reject) => {
      // A deadline, not a delay: a missed event fails with the output instead of hanging until the test's timeout.
      const timer = setTimeout(() => reject(new Error(`demo did not print ${re} within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
      waiters.push({ re, resolve, timer });
      check();
      void exited.then((code) => { clearTimeout(timer); reject(new Error(`demo exited (${code}) before printing ${re}; output:\n${out}`)); });
    }),
  };
}

function stopOnExit(t: { after(fn: () => void): void }, d: Demo): void {
  t.after(() => { if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGTERM'); });
}

test('demo mesh answers every request through the sidecars (--once)', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const base = await freeBase();
  const demo = startDemo(base, ['--once'], { PILOTFISH_DEMO_ONESHOT: '1' });
  stopOnExit(t, demo);
  const code = await demo.exited;
  const out = demo.output();

  assert.equal(code, 0, `demo exited ${code}; output:\n${out}`);
  const line = out.split('\n').find((l) => l.startsWith('summary: '));
  assert.ok(line, `no summary line in output:\n${out}`);
  const summary = JSON.parse(line.slice('summary: '.length)) as {
    requests: number; succeeded: number; orders: number; payments: number; statuses: Record<string, number>; mtls: { orders: number; payments: number };
  };
  assert.ok(summary.requests > 0);
  assert.equal(summary.succeeded, summary.requests, out);
  assert.equal(summary.orders, summary.requests, 'frontend got an orders answer for every request');
  assert.equal(summary.payments, summary.requests, 'frontend got a payments answer for every request');
  assert.deepEqual(summary.statuses, { '200': summary.requests });
  // Every call went over mTLS: orders and payments saw frontend's SPIFFE ID in the x-forwarded-client-cert their sidecars set.
  assert.deepEqual(summary.mtls, { orders: summary.requests, payments: summary.requests });
  assert.match(out, /"seenPeer":"spiffe:\/\/cluster\.local\/ns\/default\/sa\/frontend"/);
  assert.match(out, new RegExp(`RESULT: ${summary.requests}/${summary.requests} requests succeeded`));
  assert.match(out, /"seenRoute":"orders-v1"/, 'the HTTPRoute in src/demo/mesh/orders.yaml set its header on the way to orders');
  const p = planPorts(base);
  assert.match(out, new RegExp(`frontend sidecar +dynamic listeners inbound\\|${p.inbound.frontend}, outbound; routes outbound;`));
  assert.match(out, new RegExp(`orders sidecar +dynamic listeners inbound\\|${p.inbound.orders};`));
  assert.match(out, new RegExp(`payments sidecar +dynamic listeners inbound\\|${p.inbound.payments};`));
  assert.match(out, /control plane \/debug\/syncz: 4 sidecars connected, all SYNCED/);
  // The gateway in front of frontend: with the proxy's oauth2/jwt_authn filters, a scripted browser logs in at the demo's
  // OpenID provider and frontend sees the user's identity headers; without them, the gateway still reaches frontend.
  assert.match(out, new RegExp(`gateway ready: http://127\\.0\\.0\\.1:${p.gateway.http}/ \\(admin 127\\.0\\.0\\.1:${p.gateway.admin}, identity spiffe://cluster\\.local/ns/default/sa/gateway\\)`));
  const login = /scripted browser login: OK: alice logged in through the gateway; frontend saw x-user-sub: alice, x-user-email: alice@example\.com, x-user-groups: \S+/;
  const noLogin = new RegExp(`the gateway runs without a login\n  GET http://127\\.0\\.0\\.1:${p.gateway.http}/ through the gateway: HTTP 200 from frontend`);
  assert.ok(login.test(out) || noLogin.test(out), `no gateway login (or plain gateway) proof in:\n${out}`);
  if (!noLogin.test(out)) assert.match(out, /open http:\/\/127\.0\.0\.1:\d+\/ in a browser, sign in as alice \/ wonderland/);
  assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${p.controlPlane.status}/debug/syncz`));
  assert.match(out, /edit .*orders\.yaml while the demo runs/);
  assert.match(out, /\/config_dump/);
  // mTLS: orders (STRICT) refuses plaintext, payments' authorization denies a caller without frontend's identity, and
  // the control plane's /debug/certs and each sidecar's /config_dump show every workload's certificate.
  assert.match(out, new RegExp(`plaintext HTTP straight to orders' inbound listener :${p.inbound.orders}: refused`));
  assert.match(out, new RegExp(`plaintext gRPC straight to payments' inbound listener :${p.inbound.payments} \\(no identity\\): 7 PERMISSION_DENIED`));
  for (const s of ['frontend', 'orders', 'payments']) {
    const cert = new RegExp(`spiffe://cluster\\.local/ns/default/sa/${s}  serial ([0-9a-f]+)  expires \\d{4}-`, 'g');
    const serials = [...out.matchAll(cert)].map((m) => m[1]);
    assert.equal(serials.length, 2, `${s}: a certificate line from /debug/certs and one from its sidecar's /config_dump`);
    assert.equal(serials[0], serials[1], `${s}: the CA and the sidecar name the same certificate`);
  }
  assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${p.controlPlane.status}/debug/certs`));
  assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${p.admin.orders}/certs`));
});

test('long-running demo: sidecar config comes over xDS, an input edit reaches the sidecars, SIGTERM exits 0', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const meshDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-demo-mesh-'));
  t.after(() => fs.rmSync(meshDir, { recursive: true, force: true }));
  fs.cpSync(path.join(ROOT, 'src/demo/mesh'), meshDir, { recursive: true });
  const base = await freeBase();
  const p = planPorts(base);
  const demo = startDemo(base, [], { PILOTFISH_DEMO_ONESHOT: '', PILOTFISH_DEMO_MESH_DIR: meshDir });
  stopOnExit(t, demo);
  await demo.line(/^Running: one request per second/);
  assert.match(demo.output(), /RESULT: 20\/20 requests succeeded/);

  // orders runs STRICT: a plaintext request straight to its inbound listener gets no HTTP answer, the connection closes.
  const plain = net.connect(p.inbound.orders, '127.0.0.1');
  let got = '';
  plain.on('data', (d: Buffer) => { got += d.toString('latin1'); });
  plain.on('error', () => undefined);
  plain.write('GET /orders HTTP/1.1\r\nHost: orders\r\n\r\n');
  await new Promise((r) => plain.once('close', r));
  assert.equal(got, '', 'orders\' STRICT listener answered plaintext');
  // ... while its sidecar serves mTLS: the inbound listener's only chain has a DownstreamTlsContext requiring a client certificate.
  const ordersDump = (await (await fetch(`http://127.0.0.1:${p.admin.orders}/config_dump`)).json()) as { configs: Json[] };
  const ordersListeners = ordersDump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump')!;
  const inbound = ((ordersListeners.dynamic_listeners as Json[])[0].active_state as Json).listener as Json;
  const tls = ((inbound.filter_chains as Json[])[0].transport_socket as Json).typed_config as Json;
  assert.equal(tls['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext');
  assert.ok(tls.require_client_certificate === true || (tls.require_client_certificate as Json)?.value === true);

  // Straight from each sidecar's admin: every listener is dynamic (came over ADS); the only static cluster is xds_cluster.
  const expected: Record<string, string[]> = {
    [p.admin.frontend]: [`inbound|${p.inbound.frontend}`, 'outbound'],
    [p.admin.orders]: [`inbound|${p.inbound.orders}`],
    [p.admin.payments]: [`inbound|${p.inbound.payments}`],
  };
  for (const [admin, listeners] of Object.entries(expected)) {
    const dump = (await (await fetch(`http://127.0.0.1:${admin}/config_dump`)).json()) as { configs: Json[] };
    const section = (type: string) => dump.configs.find((c) => c['@type'] === `type.googleapis.com/envoy.admin.v3.${type}`) ?? {};
    const l = section('ListenersConfigDump');
    assert.equal(l.static_listeners, undefined, `admin ${admin}: no static listeners`);
    const dynamic = (l.dynamic_listeners as Json[] | undefined) ?? [];
    assert.deepEqual(dynamic.map((x) => x.name), listeners, `admin ${admin}: dynamic listeners`);
    for (const x of dynamic) assert.match(String((x.active_state as Json).version_info), /\S/, `listener ${String(x.name)} has an xDS version`);
    const c = section('ClustersConfigDump');
    assert.deepEqual(((c.static_clusters as Json[]) ?? []).map((x) => (x.cluster as Json).name), ['xds_cluster']);
    assert.ok(((c.dynamic_active_clusters as Json[]) ?? []).length >= 1, `admin ${admin}: dynamic clusters`);
  }

  // Edit the route's header value twice, as a user would in src/demo/mesh/orders.yaml, saving by rename as sed -i and
  // vim do (the second save is the one a recursive directory watch on Linux misses): the demo reports each new value.
  const orders = path.join(meshDir, 'orders.yaml');
  const original = fs.readFileSync(orders, 'utf8');
  assert.match(original, /value: orders-v1/);
  for (const value of ['orders-edited', 'orders-edited-again']) {
    fs.writeFileSync(`${orders}.tmp`, original.replace('value: orders-v1', `value: ${value}`));
    fs.renameSync(`${orders}.tmp`, orders);
    await demo.line(new RegExp(`orders now receives x-demo-route: ${value}( |$)`));
  }
  assert.match(demo.output(), /control plane: input change applied/);

  demo.child.kill('SIGTERM');
  const code = await demo.exited;
  assert.equal(code, 0, demo.output());
  assert.match(demo.output(), /stopped 8 child processes\./);
});
