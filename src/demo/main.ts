// `npm start`: runs a three-service mesh on loopback (frontend → orders over HTTP, → payments over gRPC), each app behind its own Pilotfish sidecar configured by the embedded control plane.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { killAllNow, logTail, startChild, stopChildren, waitIpcReady, type Child } from './children.ts';
import { InputWatcher, syncSummary, waitControlPlaneReady } from './control-plane.ts';
import {
  appEnv, controlPlaneArgs, DEMO_LOGIN, DEPENDENCIES, entryUrl, gatewayBootstrap, outboundClusterPattern, PORT_SPAN, SERVICES, sidecarBootstrap, statusUrl,
  type MeshPorts, type ServiceName,
} from './mesh-config.ts';
import { prepareGateway, type DemoGatewayPlan } from './gateway.ts';
import { scriptedLogin } from './login-check.ts';
import {
  certificateLines, demoSpiffeId, identityArgs, paymentsProbe, plaintextProbe, sidecarCertificateLine, writeDemoCredentials, type DemoCredentials,
} from './identity.ts';
import { choosePorts } from './ports.ts';
import { waitClusterEndpoints, waitSidecarReady, xdsConfigSummary } from './sidecar-admin.ts';
import { startTraceSummaryCollector } from './trace-summary.ts';
import { formatSummary, MeshClient, ordersRoute, sendTraffic, type FrontendBody, type TrafficSummary } from './traffic.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const APPS_DIR = fileURLToPath(new URL('./apps/', import.meta.url));
const CONTROL_PLANE_BIN = path.join(ROOT, 'bin', 'pilotfish');
const PILOTFISH = process.env.PILOTFISH_BIN ?? CONTROL_PLANE_BIN;
const MESH_DIR = path.resolve(process.env.PILOTFISH_DEMO_MESH_DIR ?? fileURLToPath(new URL('./mesh/', import.meta.url)));
const READY_TIMEOUT_MS = Number(process.env.PILOTFISH_DEMO_READY_TIMEOUT_MS ?? 30_000);
const REQUESTS = 20;

const args = new Set(process.argv.slice(2));
if (args.has('--help') || args.has('-h')) {
  console.log(`usage: npm start [-- --once] [-- --verbose]
  --once     (or PILOTFISH_DEMO_ONESHOT=1) exit after the traffic summary (0 when every request succeeded)
  --verbose  (or PILOTFISH_DEMO_VERBOSE=1) also echo every child's output, prefixed with its name
  PILOTFISH_DEMO_BASE_PORT  first port of the ${PORT_SPAN}-port range the mesh uses (default 15000, next free range if busy)
  PILOTFISH_DEMO_MESH_DIR   control plane inputs (default src/demo/mesh)
  PILOTFISH_BIN             proxy binary to run as sidecar (default bin/pilotfish; the control plane is always bin/pilotfish)`);
  process.exit(0);
}
const oneShot = args.has('--once') || process.env.PILOTFISH_DEMO_ONESHOT === '1';
const verbose = args.has('--verbose') || process.env.PILOTFISH_DEMO_VERBOSE === '1';

// A closed stdout (e.g. `npm start | head`) must not crash the launcher and orphan the mesh.
process.stdout.on('error', () => {});

let controlPlane: Child | null = null;
const apps: Child[] = [];
const sidecars: Child[] = [];
const children = (): Child[] => [...(controlPlane ? [controlPlane] : []), ...apps, ...sidecars];
let client: MeshClient | null = null;
let gatewayPlan: DemoGatewayPlan | null = null;
let stopping = false;
let ticker: NodeJS.Timeout | null = null;

/**
 * Stops outside-in so each sidecar has no open downstream connection left to drain: our client, the apps, the sidecars,
 * and the control plane last (sidecars whose control plane vanished would only log reconnect attempts).
 */
async function shutdown(code: number, why: string): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (ticker) clearInterval(ticker);
    if (why) console.log(why);
    await client?.close().catch(() => {});
    await gatewayPlan?.idp?.close().catch(() => {});
    const killed = [
      ...await stopChildren(apps, 5000), ...await stopChildren(sidecars, 8000), ...await stopChildren(controlPlane ? [controlPlane] : [], 5000),
    ];
    if (killed.length > 0) console.log(`did not stop on SIGTERM in time, killed: ${killed.join(', ')}`);
    console.log(`stopped ${children().length} child processes.`);
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

/** Child processes find `node` (the bin/pilotfish shebang) even when npm started us with another PATH. */
const CHILD_ENV = { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` };

/** Where the sidecars' spans go: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT when set (e.g. Jaeger), else our summary collector. */
const traces = { env: {} as Record<string, string>, note: '', finished: 0, last: '', live: false };

async function setUpTraces(): Promise<void> {
  const target = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (target) {
    traces.note = `traces: exported over OTLP to ${target} (${process.env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf'})`;
    return;
  }
  const collector = await startTraceSummaryCollector((line) => {
    traces.finished++;
    traces.last = line;
    if (traces.live && !stopping) console.log(line);
  });
  traces.env = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: process.env.OTEL_BSP_SCHEDULE_DELAY ?? '500' };
  traces.note = 'traces: one line per finished trace below (set OTEL_EXPORTER_OTLP_ENDPOINT to send them to Jaeger, see deploy/jaeger/)';
}

/** The control plane's input files: every YAML/JSON file directly in MESH_DIR (see controlPlaneArgs for why not the directory). */
function meshFiles(): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(MESH_DIR).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  } catch (err) {
    console.error(`demo failed: cannot read the mesh inputs ${MESH_DIR}: ${(err as Error).message}`);
    process.exit(1);
  }
  if (names.length === 0) {
    console.error(`demo failed: no *.yaml inputs for the control plane in ${MESH_DIR}`);
    process.exit(1);
  }
  return names.map((f) => path.join(MESH_DIR, f));
}

async function startControlPlane(dir: string, inputs: readonly string[], ports: MeshPorts, creds: DemoCredentials): Promise<void> {
  const c = startChild('control-plane', CONTROL_PLANE_BIN, controlPlaneArgs(inputs, ports, creds), {
    // The login's client secret and cookie HMAC key go to SDS files here, read by the gateway on the same machine.
    env: { ...CHILD_ENV, PILOTFISH_SECRET_DIR: path.join(dir, 'secrets') }, logPath: path.join(dir, 'logs', 'control-plane.log'), echo: verbose, ipc: false,
  });
  controlPlane = c;
  await waitControlPlaneReady(c, statusUrl(ports), READY_TIMEOUT_MS).catch((err: Error) => fail(err.message, c));
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

async function startSidecars(dir: string, ports: MeshPorts, creds: DemoCredentials): Promise<Map<ServiceName, string>> {
  const started = SERVICES.map((s) => {
    const addressPath = path.join(dir, `${s}-sidecar.admin-address`);
    // The identity agent gets the workload certificate from the control plane's CA; the sidecar is ready once it has it.
    const args = ['proxy', '-c', path.join(dir, `${s}-sidecar.yaml`), '--admin-address-path', addressPath, '--concurrency', '1', ...identityArgs(s, ports, creds)];
    const c = startChild(`${s}-sidecar`, PILOTFISH, args, { env: { ...CHILD_ENV, ...traces.env }, logPath: path.join(dir, 'logs', `${s}-sidecar.log`), echo: verbose, ipc: false });
    sidecars.push(c);
    return { s, c, addressPath };
  });
  const admins = new Map<ServiceName, string>();
  for (const { s, c, addressPath } of started) {
    admins.set(s, await waitSidecarReady(c, addressPath, READY_TIMEOUT_MS).catch((err: Error) => fail(err.message, c)));
  }
  return admins;
}

/** Starts the gateway proxy (node `gateway: public`, its own identity) and waits until it has frontend's endpoints. */
async function startGateway(dir: string, ports: MeshPorts, creds: DemoCredentials): Promise<string> {
  fs.writeFileSync(path.join(dir, 'gateway-proxy.yaml'), stringify(gatewayBootstrap(ports)));
  const addressPath = path.join(dir, 'gateway.admin-address');
  const args = ['proxy', '-c', path.join(dir, 'gateway-proxy.yaml'), '--admin-address-path', addressPath, '--concurrency', '1',
    '--ca-address', `127.0.0.1:${ports.controlPlane.xds}`, '--identity-token-file', creds.gatewayToken];
  const c = startChild('gateway', PILOTFISH, args, { env: { ...CHILD_ENV, ...traces.env }, logPath: path.join(dir, 'logs', 'gateway.log'), echo: verbose, ipc: false });
  sidecars.push(c);
  const admin = await waitSidecarReady(c, addressPath, READY_TIMEOUT_MS).catch((err: Error) => fail(err.message, c));
  await waitClusterEndpoints(admin, new Map([['frontend', outboundClusterPattern('frontend')]]), READY_TIMEOUT_MS).catch((err: Error) => fail(err.message, c));
  return admin;
}

/** The login through the gateway (scripted like a browser): false when it did not reach frontend with the user's headers. */
async function printLoginProof(plan: DemoGatewayPlan): Promise<boolean> {
  console.log('\nGateway with an OpenID Connect login (oauth2 + jwt_authn filters from the control plane):');
  if (!plan.idp) {
    console.log(`  ${plan.note}`);
    const r = await new MeshClient(plan.url).sendOne();
    console.log(`  GET ${plan.url} through the gateway: ${r.error ?? 'HTTP 200 from frontend'}`);
    return r.error === null;
  }
  const r = await scriptedLogin(plan.url, DEMO_LOGIN.user.username, DEMO_LOGIN.user.password);
  console.log(`  scripted browser login: ${r.ok ? 'OK' : 'FAILED'}: ${r.line}`);
  return r.ok;
}

/** A sidecar is ready with its first config; frontend's also needs the endpoints orders and payments announced (EDS). */
async function waitMeshWired(admins: Map<ServiceName, string>): Promise<string[]> {
  const lines: string[] = [];
  for (const s of SERVICES) {
    const deps = DEPENDENCIES[s];
    if (deps.length === 0) continue;
    const patterns = new Map(deps.map((d) => [d, outboundClusterPattern(d)]));
    const side = sidecars.find((c) => c.name === `${s}-sidecar`);
    const found = await waitClusterEndpoints(admins.get(s)!, patterns, READY_TIMEOUT_MS).catch((err: Error) => fail(err.message, side));
    lines.push(`${s} sidecar got endpoints over EDS: ${[...found].map(([d, hosts]) => `${d} ${hosts.join(' ')}`).join(', ')}`);
  }
  return lines;
}

/** Prints what each sidecar's /config_dump says came over xDS; false when a sidecar has static listeners or no dynamic ones. */
async function printXdsProof(admins: Map<ServiceName, string>, ports: MeshPorts): Promise<boolean> {
  console.log('\nConfig over xDS (each sidecar\'s /config_dump; the bootstraps hold only node, admin and xds_cluster):');
  let ok = true;
  for (const s of SERVICES) {
    const label = `${s} sidecar`.padEnd(17);
    try {
      const x = await xdsConfigSummary(admins.get(s)!);
      if (x.dynamicListeners.length === 0 || x.staticListeners.length > 0) ok = false;
      const routes = x.dynamicRoutes.length > 0 ? `; routes ${x.dynamicRoutes.join(', ')}` : '';
      console.log(`  ${label} dynamic listeners ${x.dynamicListeners.join(', ') || '(none)'}${routes}; dynamic clusters ${x.dynamicClusters.join(', ') || '(none)'}`);
      if (x.staticListeners.length > 0) console.log(`  ${' '.repeat(17)} unexpected static listeners: ${x.staticListeners.join(', ')}`);
    } catch (err) {
      ok = false;
      console.log(`  ${label} /config_dump failed: ${(err as Error).message}`);
    }
  }
  const sync = await syncSummary(statusUrl(ports));
  if (!sync) console.log('  control plane /debug/syncz did not answer');
  else {
    console.log(`  control plane /debug/syncz: ${sync.nodes} sidecars connected, ${sync.allSynced ? 'all SYNCED' : 'not all SYNCED'}`);
    for (const l of sync.lines) console.log(`    ${l}`);
  }
  return ok;
}

/**
 * Prints the mTLS evidence: who orders and payments saw calling (the x-forwarded-client-cert URI their sidecars set
 * from the verified client certificate), that orders' STRICT listener refuses plaintext, and each workload's
 * certificate from the control plane's CA. False when a call did not carry frontend's identity or plaintext got in.
 */
async function printMtlsProof(ports: MeshPorts, summary: TrafficSummary, admins: Map<ServiceName, string>): Promise<boolean> {
  const frontendId = demoSpiffeId('frontend');
  console.log('\nmTLS (control plane CA, orders STRICT, frontend and payments PERMISSIVE, payments allows only frontend):');
  console.log(`  caller identity seen by orders ${summary.mtls.orders}/${summary.requests}, by payments ${summary.mtls.payments}/${summary.requests} (${frontendId}, from x-forwarded-client-cert)`);
  const probe = await plaintextProbe(ports.inbound.orders);
  console.log(`  plaintext HTTP straight to orders' inbound listener :${ports.inbound.orders}: ${probe === 'refused' ? 'refused (no TLS handshake, connection closed)' : `NOT refused: ${probe}`}`);
  const denied = await paymentsProbe(ports.inbound.payments);
  console.log(`  plaintext gRPC straight to payments' inbound listener :${ports.inbound.payments} (no identity): ${denied}`);
  console.log('  workload certificates (control plane /debug/certs):');
  for (const l of await certificateLines(statusUrl(ports))) console.log(`    ${l}`);
  console.log('  workload certificates (each sidecar\'s /config_dump, SecretsConfigDump "default"):');
  for (const s of SERVICES) console.log(`    ${`${s} sidecar`.padEnd(17)} ${await sidecarCertificateLine(admins.get(s)!)}`);
  return summary.mtls.orders === summary.requests && summary.mtls.payments === summary.requests && probe === 'refused' && denied.startsWith('7 ');
}

/** The long-running part: one request per second, reporting failures, recoveries and route changes, and following the control plane's inputs. */
async function keepRunning(ports: MeshPorts, initialRoute: string | null | undefined): Promise<void> {
  const inputs = new InputWatcher(statusUrl(ports));
  await inputs.poll(); // the version being served now: later versions are edits
  console.log('\nRunning: one request per second through the mesh. Ctrl-C to stop.');
  traces.live = true;
  let failing = false;
  let route = initialRoute;
  ticker = setInterval(() => {
    void inputs.poll().then((lines) => { if (!stopping) for (const l of lines) console.log(l); });
    void client?.sendOne().then((r) => {
      if (stopping) return;
      const bad = r.error !== null;
      if (bad && !failing) console.log(`request through the mesh failed: ${r.error}`);
      if (!bad && failing) console.log('requests through the mesh succeed again.');
      failing = bad;
      const now = ordersRoute(r.body);
      if (now !== undefined && now !== route) {
        console.log(`orders now receives ${now === null ? 'no x-demo-route header' : `x-demo-route: ${now}`} (the route change reached frontend's sidecar).`);
        route = now;
      }
    });
  }, 1000);
}

async function main(): Promise<void> {
  for (const [what, bin] of [['proxy', PILOTFISH], ['control plane', CONTROL_PLANE_BIN]] as const) {
    if (!fs.existsSync(bin)) {
      console.error(`demo failed: the ${what} binary ${bin} does not exist${what === 'proxy' ? ' (set PILOTFISH_BIN to use another)' : ''}.`);
      process.exit(1);
    }
  }
  const inputs = meshFiles();
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
  const creds = writeDemoCredentials(dir);
  gatewayPlan = await prepareGateway(dir, ports);
  const rel = path.relative(process.cwd(), MESH_DIR);
  const meshInputs = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : MESH_DIR;

  console.log(`Pilotfish demo mesh on 127.0.0.1, ports ${ports.base}-${ports.base + PORT_SPAN - 1}`);
  await startControlPlane(dir, [...inputs, gatewayPlan.inputFile], ports, creds);
  console.log(`control plane up: inputs ${meshInputs}${path.sep}{${inputs.map((f) => path.basename(f)).join(',')}}, xDS 127.0.0.1:${ports.controlPlane.xds}, status ${statusUrl(ports)}`);
  console.log(`sidecar bootstraps (node metadata + ADS only): ${dir}/{${SERVICES.map((s) => `${s}-sidecar`).join(',')}}.yaml`);
  await startApps(dir, ports);
  await setUpTraces();
  console.log(`apps up: frontend :${ports.app.frontend}, orders :${ports.app.orders}, payments (gRPC) :${ports.app.payments}`);
  const admins = await startSidecars(dir, ports, creds);
  console.log(`sidecars ready: ${SERVICES.map((s) => `${s} (admin ${admins.get(s)})`).join(', ')}`);
  const gatewayAdmin = await startGateway(dir, ports, creds);
  console.log(`gateway ready: ${gatewayPlan.url} (admin ${gatewayAdmin}, identity spiffe://cluster.local/ns/default/sa/gateway)`);
  for (const c of children()) watchForCrash(c);
  for (const line of await waitMeshWired(admins)) console.log(line);

  const url = entryUrl(ports);
  console.log(`\nTraffic: ${REQUESTS} requests → ${url} (frontend's inbound sidecar listener)`);
  client = new MeshClient(url);
  const summary = await sendTraffic(client, REQUESTS);
  console.log(formatSummary(summary));
  console.log(`  sample response: ${JSON.stringify(summary.sample)}`);
  const xdsOk = await printXdsProof(admins, ports);
  const mtlsOk = await printMtlsProof(ports, summary, admins);
  const loginOk = await printLoginProof(gatewayPlan);

  const status = statusUrl(ports);
  console.log('\nWhere to look:');
  console.log(`  ${'control plane'.padEnd(17)} ${status}/debug/syncz (each sidecar's ACK/NACK state)  ${status}/debug/config (inputs, errors)`);
  console.log(`  ${'certificates'.padEnd(17)} ${status}/debug/certs (CA roots, each workload's serial, identity, expiry); each sidecar's /certs and /config_dump (SecretsConfigDump)`);
  console.log(`  ${'mesh inputs'.padEnd(17)} ${meshInputs}${path.sep}: edit ${path.join(meshInputs, 'orders.yaml')} while the demo runs and watch the change reach the sidecars`);
  for (const s of SERVICES) {
    const a = `http://${admins.get(s)}`;
    console.log(`  ${`${s} sidecar`.padEnd(17)} ${a}/stats/prometheus  ${a}/clusters  ${a}/config_dump  ${a}/certs`);
  }
  console.log(`  logs (control plane, sidecars, apps): ${path.join(dir, 'logs')}/{${children().map((c) => c.name).join(',')}}.log`);
  console.log(`  try it yourself: curl -s ${url} | head -c 400`);
  if (gatewayPlan.idp) {
    console.log(`  log in:           open ${gatewayPlan.url} in a browser, sign in as ${DEMO_LOGIN.user.username} / ${DEMO_LOGIN.user.password} (provider ${gatewayPlan.idp.issuer}); ${gatewayPlan.url.replace(/\/$/, '')}${DEMO_LOGIN.signoutPath} signs out`);
  } else {
    console.log(`  gateway:          ${gatewayPlan.url} (no login: ${gatewayPlan.note})`);
  }
  console.log(`  ${traces.note}`);
  if (traces.last !== '') console.log(`    ${traces.finished} finished so far, the last: ${traces.last}`);

  const allOk = summary.succeeded === summary.requests && xdsOk && mtlsOk && loginOk;
  if (oneShot) await shutdown(allOk ? 0 : 1, allOk ? '\none-shot mode: done.' : '\none-shot mode: some requests failed, did not go over mTLS, or a sidecar has config that did not come over xDS.');
  await keepRunning(ports, ordersRoute(summary.sample as FrontendBody | null));
}

main().catch((err: Error) => fail(err.stack ?? err.message));
