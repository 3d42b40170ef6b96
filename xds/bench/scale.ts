// Scale bench (not part of npm test): 1,000 services, 200 ADS streams; time from an input file change to every sidecar's ACK, and memory.
// Run: node xds/bench/scale.ts [--services 1000] [--streams 200]
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SotwClient } from '../testing/ads-client.ts';
import { typeOfUrl, type ResourceType } from '../translate/resource.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const SERVICES = arg('services', 1000);
const STREAMS = arg('streams', 200);
const TYPES: ResourceType[] = ['CDS', 'EDS', 'LDS', 'RDS'];

const svcName = (i: number) => `svc-${i}`;
const cluster = (i: number) => `outbound|8080||${svcName(i)}.default.svc.cluster.local`;

function writeInputs(dir: string): void {
  const svcs: string[] = [];
  const slices: string[] = [];
  const routes: string[] = [];
  const policies: string[] = [];
  for (let i = 0; i < SERVICES; i++) {
    svcs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: ${svcName(i)}}\nspec: {ports: [{name: http, port: 8080}]}\n`);
    const ip = (k: number) => `10.${(i >> 8) & 255}.${i & 255}.${k}`;
    slices.push(`apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${svcName(i)}-a, labels: {kubernetes.io/service-name: ${svcName(i)}}}\n`
      + `addressType: IPv4\nendpoints: [{addresses: [${ip(1)}]}, {addresses: [${ip(2)}]}, {addresses: [${ip(3)}]}]\nports: [{name: http, port: 8080}]\n`);
    if (i % 10 === 0 && i + 1 < SERVICES) {
      routes.push(`apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: split-${i}}\nspec:\n  parentRefs: [{kind: Service, group: "", name: ${svcName(i)}}]\n`
        + `  rules:\n  - matches: [{path: {type: PathPrefix, value: /v2}}]\n    backendRefs: [{name: ${svcName(i + 1)}, port: 8080}]\n`
        + `  - backendRefs: [{name: ${svcName(i)}, port: 8080, weight: 90}, {name: ${svcName(i + 1)}, port: 8080, weight: 10}]\n`);
    }
    if (i % 10 === 5) {
      policies.push(`apiVersion: pilotfish.io/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: p-${i}}\nspec:\n  targetRef: {kind: Service, name: ${svcName(i)}}\n`
        + '  timeout: 3s\n  retry: {attempts: 2, budget: {percent: 20}}\n  circuitBreaker: {maxRequests: 500}\n  outlierDetection: {consecutive5xx: 5}\n');
    }
  }
  writeFileSync(path.join(dir, 'services.yaml'), svcs.join('---\n'));
  writeFileSync(path.join(dir, 'endpoints.yaml'), slices.join('---\n'));
  writeFileSync(path.join(dir, 'routes.yaml'), routes.join('---\n'));
  writeFileSync(path.join(dir, 'policies.yaml'), policies.join('---\n'));
}

/** The file each scenario rewrites: small, like one object changed in a repo of manifests. */
function hotFile(endpointIp: string, weight: number, maxRequests: number): string {
  const s = svcName(SERVICES - 1);
  return `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${s}-hot, labels: {kubernetes.io/service-name: ${s}}}\n`
    + `addressType: IPv4\nendpoints: [{addresses: [${endpointIp}]}]\nports: [{name: http, port: 8080}]\n---\n`
    + `apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: hot}\nspec:\n  parentRefs: [{kind: Service, group: "", name: ${svcName(1)}}]\n`
    + `  rules: [{backendRefs: [{name: ${svcName(1)}, port: 8080, weight: ${weight}}, {name: ${svcName(2)}, port: 8080, weight: ${100 - weight}}]}]\n---\n`
    + `apiVersion: pilotfish.io/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: hot}\nspec:\n  targetRef: {kind: Service, name: ${svcName(3)}}\n  circuitBreaker: {maxRequests: ${maxRequests}}\n`;
}

/** One simulated sidecar: subscribes like Envoy (wildcard LDS/CDS, EDS for its clusters, RDS "outbound") and ACKs everything. */
class Sidecar {
  readonly acks = new Map<ResourceType, { count: number; at: number }>(TYPES.map((t) => [t, { count: 0, at: 0 }]));
  readonly client: SotwClient;
  private readonly onAck: () => void;

  constructor(client: SotwClient, onAck: () => void) {
    this.client = client;
    this.onAck = onAck;
  }

  async run(edsNames: string[]): Promise<void> {
    const c = this.client;
    c.send('CDS', []);
    c.send('LDS', []);
    let edsSent = false;
    for (;;) {
      let r;
      try {
        r = await c.next(null, 600_000);
      } catch {
        return;
      }
      const t = typeOfUrl(r.type_url)!;
      if (t === 'CDS' && !edsSent) {
        c.send('EDS', edsNames);
        edsSent = true;
      }
      if (t === 'LDS' && this.acks.get('LDS')!.count === 0) c.send('RDS', ['outbound']);
      c.ack(t, r, t === 'EDS' ? edsNames : t === 'RDS' ? ['outbound'] : []);
      const a = this.acks.get(t)!;
      a.count += 1;
      a.at = performance.now();
      this.onAck();
    }
  }
}

function request<T>(child: ChildProcess, msg: { kind: string }, reply: string): Promise<T> {
  return new Promise((resolve) => {
    const h = (m: { kind: string }) => {
      if (m.kind !== reply) return;
      child.off('message', h);
      resolve(m as T);
    };
    child.on('message', h);
    child.send(msg);
  });
}

const progress = (s: string) => process.stderr.write(`[scale] ${s}\n`);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pilotfish-scale-'));
  writeInputs(dir);
  writeFileSync(path.join(dir, 'hot.yaml'), hotFile('10.99.0.1', 50, 100));
  const child = fork(path.join(import.meta.dirname, 'cp-child.ts'), [dir], { execArgv: ['--expose-gc', ...(process.env.CP_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CP_PROF}`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pushes: { generation: number; ms: number }[] = [];
  const reloads: { changed: boolean; ms: number }[] = [];
  child.on('message', (m: { kind: string; generation?: number; ms?: number; changed?: boolean }) => {
    if (m.kind === 'pushed') pushes.push({ generation: m.generation!, ms: m.ms! });
    if (m.kind === 'reload') reloads.push({ changed: m.changed!, ms: m.ms! });
  });
  const t0 = performance.now();
  const ready = await new Promise<{ xdsPort: number; statusPort: number }>((resolve) => child.once('message', (m) => resolve(m as { xdsPort: number; statusPort: number })));
  const startMs = performance.now() - t0;
  const idle = await request<{ rss: number }>(child, { kind: 'mem' }, 'mem');
  progress(`control plane ready in ${Math.round(startMs)} ms`);

  let waiting: { check: () => boolean; resolve: () => void } | null = null;
  const onAck = () => {
    if (waiting?.check()) {
      waiting.resolve();
      waiting = null;
    }
  };
  const until = (check: () => boolean) => new Promise<void>((resolve) => {
    if (check()) resolve();
    else waiting = { check, resolve };
  });

  const edsNames = Array.from({ length: SERVICES }, (_, i) => cluster(i));
  const sidecars: Sidecar[] = [];
  const tc = performance.now();
  for (let i = 0; i < STREAMS; i++) {
    const meta = { pilotfish: { service: svcName(i), namespace: 'default', ports: { http: 20_000 + i }, inboundPort: 30_000 + i } };
    sidecars.push(new Sidecar(await SotwClient.connect(`127.0.0.1:${ready.xdsPort}`, { id: `sidecar-${i}`, metadata: meta }), onAck));
  }
  progress(`${STREAMS} streams connected`);
  sidecars.forEach((s) => void s.run(edsNames));
  await until(() => sidecars.every((s) => TYPES.every((t) => s.acks.get(t)!.count > 0)));
  const initialMs = performance.now() - tc;
  progress(`initial sync ${Math.round(initialMs)} ms`);
  // Announced endpoints cause more EDS rounds while streams connect; wait until /debug/syncz shows everyone SYNCED, twice.
  let stable = 0;
  while (stable < 2) {
    await new Promise((r) => setTimeout(r, 200));
    const sz = await (await fetch(`http://127.0.0.1:${ready.statusPort}/debug/syncz`)).json() as { connections: { types: Record<string, { state: string }> }[] };
    const ok = sz.connections.length === STREAMS && sz.connections.every((c) => TYPES.every((t) => c.types[t]?.state === 'SYNCED'));
    stable = ok ? stable + 1 : 0;
  }
  progress('all streams SYNCED');
  await request(child, { kind: 'gc' }, 'gc');
  const synced = await request<{ rss: number; heapUsed: number }>(child, { kind: 'mem' }, 'mem');

  const rows: string[][] = [];
  const scenario = async (name: string, type: ResourceType, text: string) => {
    const before = sidecars.map((s) => s.acks.get(type)!.count);
    const pushedBefore = pushes.length;
    const reloadsBefore = reloads.length;
    const start = performance.now();
    writeFileSync(path.join(dir, 'hot.yaml'), text);
    await until(() => sidecars.every((s, i) => s.acks.get(type)!.count > before[i]));
    const end = performance.now();
    const lat = sidecars.map((s) => s.acks.get(type)!.at - start).sort((a, b) => a - b);
    const push = pushes.slice(pushedBefore).map((p) => p.ms).reduce((a, b) => a + b, 0);
    const reload = reloads.slice(reloadsBefore).filter((x) => x.changed).map((x) => x.ms).reduce((a, b) => a + b, 0);
    progress(`${name}: ${Math.round(end - start)} ms`);
    rows.push([name, type, `${Math.round(reload)} ms (push ${push} ms)`, `${Math.round(lat[Math.floor(lat.length / 2)])} ms`, `${Math.round(end - start)} ms`]);
  };
  await scenario('endpoint change (1 EndpointSlice)', 'EDS', hotFile('10.99.0.2', 50, 100));
  await scenario('route change (HTTPRoute weights)', 'RDS', hotFile('10.99.0.2', 70, 100));
  await scenario('policy change (circuit breaker)', 'CDS', hotFile('10.99.0.2', 70, 200));
  const after = await request<{ rss: number; peakRss: number }>(child, { kind: 'mem' }, 'mem');

  console.log(`\nScale bench: ${SERVICES} services (${SERVICES} EndpointSlices x3 endpoints, ${Math.ceil(SERVICES / 10)} HTTPRoutes, ${Math.ceil(SERVICES / 10)} TrafficPolicies), ${STREAMS} SotW ADS streams (one process, own connections)`);
  console.log(`control plane start ${Math.round(startMs)} ms; initial sync of ${STREAMS} streams (connect -> all 4 types ACKed) ${Math.round(initialMs)} ms\n`);
  console.log('| change (file write; fs.watch, 100 ms debounce) | type pushed | server: read+compile+translate+push | median sidecar ACK | all sidecars ACKed |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r[0]} | ${r[1]} | ${r[2]} | ${r[3]} | ${r[4]} |`);
  console.log(`\ncontrol-plane RSS: idle ${mb(idle.rss)}, ${STREAMS} streams synced (after GC) ${mb(synced.rss)} (heap ${mb(synced.heapUsed)}), after changes ${mb(after.rss)}, peak ${mb(after.peakRss)}`);

  for (const s of sidecars) s.client.close();
  child.send({ kind: 'stop' });
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}

await main();
process.exit(0);
