// `npm start`: runs a three-service mesh on loopback (frontend → orders over HTTP, → payments over gRPC), each app behind its own Pilotfish sidecar.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { killAllNow, logTail, startChild, stopChildren, waitIpcReady, type Child } from './children.ts';
import { appEnv, entryUrl, PORT_SPAN, SERVICES, sidecarBootstrap, type MeshPorts, type ServiceName } from './mesh-config.ts';
import { choosePorts } from './ports.ts';
import { waitSidecarReady } from './sidecar-admin.ts';
import { formatSummary, MeshClient, sendTraffic } from './traffic.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const APPS_DIR = fileURLToPath(new URL('./apps/', import.meta.url));
const PILOTFISH = process.env.PILOTFISH_BIN ?? path.join(ROOT, 'bin', 'pilotfish');
const READY_TIMEOUT_MS = Number(process.env.PILOTFISH_DEMO_READY_TIMEOUT_MS ?? 30_000);
const REQUESTS = 20;

const args = new Set(process.argv.slice(2));
if (args.has('--help') || args.has('-h')) {
  console.log(`usage: npm start [-- --once] [-- --verbose]
  --once     (or PILOTFISH_DEMO_ONESHOT=1) exit after the traffic summary (0 when every request succeeded)
  --verbose  (or PILOTFISH_DEMO_VERBOSE=1) also echo every child's output, prefixed with its name
  PILOTFISH_DEMO_BASE_PORT  first port of the ${PORT_SPAN}-port range the mesh uses (default 15000, next free range if busy)
  PILOTFISH_BIN             proxy binary to run as sidecar (default bin/pilotfish)`);
  process.exit(0);
}
const oneShot = args.has('--once') || process.env.PILOTFISH_DEMO_ONESHOT === '1';
const verbose = args.has('--verbose') || process.env.PILOTFISH_DEMO_VERBOSE === '1';

// A closed stdout (e.g. `npm start | head`) must not crash the launcher and orphan the mesh.
process.stdout.on('error', () => {});

const apps: Child[] = [];
const sidecars: Child[] = [];
const children = (): Child[] => [...apps, ...sidecars];
let client: MeshClient | null = null;
let stopping = false;
let ticker: NodeJS.Timeout | null = null;

/** Stops outside-in so each sidecar has no open downstream connection left to drain: our client, the apps, then the sidecars. */
async function shutdown(code: number, why: string): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (ticker) clearInterval(ticker);
    if (why) console.log(why);
    await client?.close().catch(() => {});
    const killed = [...await stopChildren(apps, 5000), ...await stopChildren(sidecars, 8000)];
    if (killed.length > 0) console.log(`did not stop on SIGTERM in time, killed: ${killed.join(', ')}`);
    console.log(`stopped ${apps.length + sidecars.length} child processes.`);
  }
  process.exit(code);
}
process.on('exit', () => killAllNow(children()));
process.once('SIGINT', () => void shutdown(0, '\nSIGINT: stopping the mesh…'));
process.once('SIGTERM', () => void shutdown(0, 'SIGTERM: stopping the mesh…'));

function fail(message: string, child?: Child): Promise<never> {
  console.error(`demo failed: ${message}`);
  if (child) console.error(`  last lines of ${child.logPath}:\n${logTail(child.logPath, 15)}`);
  return shutdown(1, '');
}

/** After startup, any child that dies takes the demo down with a pointer to its log. */
function watchForCrash(child: Child): void {
  void child.exited.then(({ code, signal }) => {
    if (!stopping) void fail(`${child.name} exited unexpectedly (${signal ?? `code ${code}`})`, child);
  });
}

async function startApps(dir: string, ports: MeshPorts): Promise<void> {
  const started = SERVICES.map((s) => {
    const c = startChild(s, process.execPath, [path.join(APPS_DIR, `${s}.ts`)], {
      env: appEnv(s, ports), logPath: path.join(dir, 'logs', `${s}.log`), echo: verbose, ipc: true,
    });
    apps.push(c);
    return c;
  });
  for (const c of started) await waitIpcReady(c, READY_TIMEOUT_MS).catch((err: Error) => fail(err.message, c));
}

async function startSidecars(dir: string): Promise<Map<ServiceName, string>> {
  const env = { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` };
  const started = SERVICES.map((s) => {
    const addressPath = path.join(dir, `${s}-sidecar.admin-address`);
    const args = ['proxy', '-c', path.join(dir, `${s}-sidecar.yaml`), '--admin-address-path', addressPath, '--concurrency', '1'];
    const c = startChild(`${s}-sidecar`, PILOTFISH, args, { env, logPath: path.join(dir, 'logs', `${s}-sidecar.log`), echo: verbose, ipc: false });
    sidecars.push(c);
    return { s, c, addressPath };
  });
  const admins = new Map<ServiceName, string>();
  for (const { s, c, addressPath } of started) {
    admins.set(s, await waitSidecarReady(c, addressPath, READY_TIMEOUT_MS).catch((err: Error) => fail(err.message, c)));
  }
  return admins;
}

async function main(): Promise<void> {
  if (!fs.existsSync(PILOTFISH)) {
    console.error(`demo failed: the proxy binary ${PILOTFISH} does not exist (set PILOTFISH_BIN to use another).`);
    process.exit(1);
  }
  const choice = await choosePorts(process.env.PILOTFISH_DEMO_BASE_PORT);
  if (!choice.ok) {
    console.error(`demo failed: ${choice.message}`);
    process.exit(1);
  }
  for (const note of choice.notes) console.log(note);
  const ports = choice.ports;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-demo-'));
  fs.mkdirSync(path.join(dir, 'logs'));
  for (const s of SERVICES) fs.writeFileSync(path.join(dir, `${s}-sidecar.yaml`), stringify(sidecarBootstrap(s, ports)));

  console.log(`Pilotfish demo mesh on 127.0.0.1, ports ${ports.base}-${ports.base + PORT_SPAN - 1}`);
  console.log(`Envoy v3 bootstraps: ${dir}/{${SERVICES.map((s) => `${s}-sidecar`).join(',')}}.yaml`);
  await startApps(dir, ports);
  console.log(`apps up: frontend :${ports.app.frontend}, orders :${ports.app.orders}, payments (gRPC) :${ports.app.payments}`);
  const admins = await startSidecars(dir);
  console.log(`sidecars ready: ${SERVICES.map((s) => `${s} (admin ${admins.get(s)})`).join(', ')}`);
  for (const c of children()) watchForCrash(c);

  const url = entryUrl(ports);
  console.log(`\nTraffic: ${REQUESTS} requests → ${url} (frontend's inbound sidecar listener)`);
  client = new MeshClient(url);
  const summary = await sendTraffic(client, REQUESTS);
  console.log(formatSummary(summary));
  console.log(`  sample response: ${JSON.stringify(summary.sample)}`);

  console.log('\nWhere to look:');
  for (const s of SERVICES) {
    const a = `http://${admins.get(s)}`;
    console.log(`  ${`${s} sidecar`.padEnd(17)} ${a}/stats/prometheus  ${a}/clusters  ${a}/config_dump`);
  }
  console.log(`  access logs (sidecars) and app output: ${path.join(dir, 'logs')}/{${children().map((c) => c.name).join(',')}}.log`);
  console.log(`  try it yourself: curl -s ${url} | head -c 400`);

  const allOk = summary.succeeded === summary.requests;
  if (oneShot) await shutdown(allOk ? 0 : 1, allOk ? '\none-shot mode: done.' : '\none-shot mode: some requests failed.');
  console.log('\nRunning: one request per second through the mesh. Ctrl-C to stop.');
  let failing = false;
  ticker = setInterval(() => {
    void client?.sendOne().then((r) => {
      if (stopping) return;
      const bad = r.error !== null;
      if (bad && !failing) console.log(`request through the mesh failed: ${r.error}`);
      if (!bad && failing) console.log('requests through the mesh succeed again.');
      failing = bad;
    });
  }, 1000);
}

main().catch((err: Error) => fail(err.stack ?? err.message));
