// The control plane with --kubernetes against a local API server replaying real list/watch traffic: pushes, resume, 410 re-list, bookmarks, missing CRDs, bad objects.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type protobuf from 'protobufjs';
import YAML from 'yaml';
import { decodeAny, xdsProtoRoot } from '../../src/xds/protos.ts';
import { startControlPlane, type ControlPlane, type ReloadOutcome } from '../../xds/control-plane.ts';
import { parseControlPlaneArgs } from '../../xds/cli.ts';
import { KubeConfigApi, loadKubeConfig } from '../../xds/kube/api-client.ts';
import { KubeSource, type KubeSnapshot } from '../../xds/kube/source.ts';
import type { DiscoveryResponse } from '../../xds/server/ads-proto.ts';
import { SotwClient } from '../../xds/testing/ads-client.ts';
import { withTimeout } from '../helpers/wait.ts';
import { getJson, nextEvent } from '../xds-server/fixtures.ts';
import { FakeKubeApi, type SeenRequest } from './fake-kube-api.ts';
import { COLLECTIONS, PATHS, endpointSlice, meshRoute, pod, service, trafficPolicy } from './objects.ts';

const ORDERS = 'outbound|8080||orders.shop.svc.cluster.local';
const PAYMENTS = 'outbound|9090||payments.shop.svc.cluster.local';

interface Harness {
  api: FakeKubeApi;
  source: KubeSource;
  cp: ControlPlane;
  snapshots: KubeSnapshot[];
  logs: { level: number; msg: string }[];
  close(): Promise<void>;
}

/** Seeds the shop namespace (orders + payments with pods and slices), then starts the control plane against it. */
async function harness(opts: { missing?: string[]; seed?: (api: FakeKubeApi) => void; pageSize?: number; absentRecheckMs?: number } = {}): Promise<Harness> {
  const api = new FakeKubeApi();
  for (const [p, kind, version] of COLLECTIONS) if (!opts.missing?.includes(p)) api.serve(p, kind, version);
  await api.start();
  api.apply(PATHS.services, service('orders', 'shop', [{ name: 'http', port: 8080, appProtocol: 'http' }]));
  api.apply(PATHS.services, service('payments', 'shop', [{ name: 'grpc', port: 9090, appProtocol: 'grpc' }]));
  api.apply(PATHS.slices, endpointSlice('orders', 'shop', 'x7k2p', [{ ip: '10.244.1.5', pod: 'orders-7d9f-abcde' }], { name: 'http', port: 8080, appProtocol: 'http' }));
  api.apply(PATHS.slices, endpointSlice('payments', 'shop', 'q9m4t', [{ ip: '10.244.1.9', pod: 'payments-5c8b-fghij' }], { name: 'grpc', port: 9090, appProtocol: 'grpc' }));
  api.apply(PATHS.pods, pod('orders-7d9f-abcde', 'shop', 'orders', '10.244.1.5', 'orders'));
  api.apply(PATHS.pods, pod('payments-5c8b-fghij', 'shop', 'payments', '10.244.1.9', 'payments'));
  opts.seed?.(api);
  const logs: Harness['logs'] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => { logs.push(JSON.parse(line)); } });
  const source = new KubeSource({ api: new KubeConfigApi(loadKubeConfig(api.kubeconfig())), logger, debounceMs: 20, backoffMs: 20, absentRecheckMs: opts.absentRecheckMs ?? 60_000, pageSize: opts.pageSize });
  const snapshots: KubeSnapshot[] = [];
  source.events.on('snapshot', (s: KubeSnapshot) => snapshots.push(s));
  const cp = await startControlPlane({ inputs: [], source, xdsAddress: '127.0.0.1:0', statusAddress: '127.0.0.1:0', logger });
  return {
    api, source, cp, snapshots, logs,
    close: async () => {
      await cp.close();
      await api.close();
    },
  };
}

function nextRequest(api: FakeKubeApi, p: string, watch: boolean): Promise<SeenRequest> {
  return nextEvent<SeenRequest>(api.events, 'request', (r) => r.path === p && r.watch === watch, 10_000);
}

const changed = (cp: ControlPlane) => nextEvent<ReloadOutcome>(cp.events, 'reload', (o) => o.changed, 10_000);

describe('Kubernetes discovery: list, watch and push', () => {
  let h: Harness;
  let root: protobuf.Root;
  let client: SotwClient;

  before(async () => {
    root = await xdsProtoRoot();
    h = await harness({ seed: (api) => api.apply(PATHS.httproutes, meshRoute('orders', 'shop', 'orders', 8080)) });
  });
  after(async () => {
    client?.close();
    await h.close();
  });

  const names = (r: DiscoveryResponse) => r.resources.map((a) => String(decodeAny(root, a.type_url, a.value).name ?? decodeAny(root, a.type_url, a.value).cluster_name)).sort();
  const endpoints = (r: DiscoveryResponse, cluster: string): string[] => {
    for (const a of r.resources) {
      const cla = decodeAny(root, a.type_url, a.value) as { cluster_name: string; endpoints?: { lb_endpoints?: { endpoint: { address: { socket_address: { address: string; port_value: number } } } }[] }[] };
      if (cla.cluster_name !== cluster) continue;
      return (cla.endpoints ?? []).flatMap((l) => (l.lb_endpoints ?? []).map((e) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`)).sort();
    }
    return [];
  };

  it('serves the listed objects over ADS: clusters and endpoints from Services and EndpointSlices', async () => {
    client = await SotwClient.connect(`127.0.0.1:${h.cp.xdsPort}`, { id: 'frontend-1.shop', metadata: { pilotfish: { service: 'frontend', namespace: 'shop' } } });
    client.send('CDS', []);
    const cds = await client.next('CDS');
    assert.deepEqual(names(cds).filter((n) => n.startsWith('outbound|')), [ORDERS, PAYMENTS]);
    client.ack('CDS', cds, []);
    client.send('EDS', [ORDERS, PAYMENTS]);
    const eds = await client.next('EDS');
    assert.deepEqual(endpoints(eds, ORDERS), ['10.244.1.5:8080']);
    assert.deepEqual(endpoints(eds, PAYMENTS), ['10.244.1.9:9090']);
    client.ack('EDS', eds, [ORDERS, PAYMENTS]);
    // The lists were paged requests with the TLS field selector for Secrets, authenticated with the kubeconfig's token.
    const secretLists = h.api.requests(PATHS.secrets, false);
    assert.deepEqual(secretLists.map((r) => r.query.fieldSelector).sort(), ['type=Opaque', 'type=kubernetes.io/tls']);
    assert.equal(secretLists[0].query.limit, '500');
    assert.equal(secretLists[0].authorization, `Bearer ${h.api.token}`);
    const cfg = (await getJson(h.cp.statusPort, '/debug/config')).body;
    assert.equal(cfg.status, 'OK');
    assert.equal(cfg.resources.services, 2);
    assert.equal(cfg.resources.httpRoutes, 1);
    assert.equal(cfg.kubernetes.synced, true);
    assert.equal(cfg.kubernetes.kinds.Service.state, 'SYNCED');
    // Pods: which identities back each Service.
    assert.deepEqual(cfg.kubernetes.pods.services['shop/orders'], { pods: 1, withSidecar: 1, serviceAccounts: ['orders'] });
  });

  it('pushes a MODIFIED EndpointSlice to the subscribed sidecar', async () => {
    const pushed = changed(h.cp);
    h.api.apply(PATHS.slices, endpointSlice('orders', 'shop', 'x7k2p', [{ ip: '10.244.1.5', pod: 'orders-7d9f-abcde' }, { ip: '10.244.2.7', pod: 'orders-7d9f-klmno' }], { name: 'http', port: 8080, appProtocol: 'http' }));
    await pushed;
    const eds = await client.next('EDS');
    assert.deepEqual(endpoints(eds, ORDERS), ['10.244.1.5:8080', '10.244.2.7:8080']);
    client.ack('EDS', eds, [ORDERS, PAYMENTS]);
  });

  it('resumes a dropped watch from the last resourceVersion it saw, without listing again', async () => {
    const lists = h.api.requests(PATHS.slices, false).length;
    const lastRv = h.api.resourceVersion; // the MODIFIED event above
    const resumed = nextRequest(h.api, PATHS.slices, true);
    h.api.dropWatches(PATHS.slices);
    const req = await resumed;
    assert.equal(req.query.resourceVersion, String(lastRv));
    assert.equal(req.query.allowWatchBookmarks, 'true');
    assert.equal(h.api.requests(PATHS.slices, false).length, lists);
    // Events after the reconnect still arrive.
    const pushed = changed(h.cp);
    h.api.apply(PATHS.slices, endpointSlice('orders', 'shop', 'x7k2p', [{ ip: '10.244.2.7', pod: 'orders-7d9f-klmno' }], { name: 'http', port: 8080, appProtocol: 'http' }));
    await pushed;
    const eds = await client.next('EDS');
    assert.deepEqual(endpoints(eds, ORDERS), ['10.244.2.7:8080']);
    client.ack('EDS', eds, [ORDERS, PAYMENTS]);
  });

  it('advances the resourceVersion on BOOKMARK without recompiling', async () => {
    const before = h.snapshots.length;
    if (!h.api.watching(PATHS.services)) await nextEvent(h.api.events, 'watch', (p) => p === PATHS.services, 10_000);
    const seen = nextEvent<{ kind: string; resourceVersion: string }>(h.source.events, 'bookmark', (b) => b.kind === 'Service', 10_000);
    const rv = h.api.bookmark(PATHS.services);
    assert.equal((await seen).resourceVersion, rv);
    const resumed = nextRequest(h.api, PATHS.services, true);
    h.api.dropWatches(PATHS.services);
    assert.equal((await resumed).query.resourceVersion, rv);
    assert.equal(h.snapshots.length, before);
  });

  it('removes a DELETED Service from the pushed clusters', async () => {
    const pushed = changed(h.cp);
    h.api.delete(PATHS.services, 'shop', 'payments');
    await pushed;
    const cds = await client.next('CDS');
    assert.deepEqual(names(cds).filter((n) => n.startsWith('outbound|')), [ORDERS]);
    client.ack('CDS', cds, []);
  });
});


describe('Kubernetes discovery: 410 Gone and re-list', () => {
  let h: Harness;
  before(async () => { h = await harness({ pageSize: 1 }); });
  after(async () => { await h.close(); });

  it('re-lists after a watch ERROR 410 and publishes nothing until the list is complete', async () => {
    const release = h.api.holdLists(PATHS.services);
    const relist = nextRequest(h.api, PATHS.services, false);
    const held = nextEvent<string[]>(h.source.events, 'held', () => true, 10_000);
    const before = h.snapshots.length;
    h.api.compact(PATHS.services); // the open watch gets {"type":"ERROR","object":{"kind":"Status","code":410,...}}
    await relist;
    // While Services re-list: a Service disappears (no watch sees it) and an EndpointSlice changes (its watch does).
    h.api.delete(PATHS.services, 'shop', 'payments');
    h.api.apply(PATHS.slices, endpointSlice('orders', 'shop', 'x7k2p', [{ ip: '10.244.3.3', pod: 'orders-7d9f-zzzzz' }], { name: 'http', port: 8080, appProtocol: 'http' }));
    assert.deepEqual(await held, ['Service']);
    assert.equal(h.snapshots.length, before, 'nothing compiled while Services re-list');
    const cfg = (await getJson(h.cp.statusPort, '/debug/config')).body;
    assert.equal(cfg.resources.services, 2, 'the last full snapshot keeps serving');
    assert.equal(cfg.kubernetes.kinds.Service.state, 'LISTING');
    const rv = h.api.resourceVersion;
    const rewatch = nextRequest(h.api, PATHS.services, true);
    const pushed = changed(h.cp);
    release();
    await pushed;
    assert.equal(h.snapshots.length, before + 1, 'one swap after the re-list');
    const last = h.snapshots.at(-1)!;
    assert.deepEqual([...last.model.services.keys()], ['shop/orders']);
    assert.deepEqual(last.model.endpointSlices.get('shop/orders')?.[0].endpoints.map((e) => e.addresses[0]), ['10.244.3.3']);
    assert.equal((await rewatch).query.resourceVersion, String(rv), 'the new watch starts at the list\'s resourceVersion');
    for (const s of h.snapshots) assert.ok(s.model.services.size > 0, 'no empty snapshot was ever published');
    const kinds = (await getJson(h.cp.statusPort, '/debug/config')).body.kubernetes.kinds;
    assert.equal(kinds.Service.expired, 1);
    assert.equal(kinds.Service.relists, 1);
    // Lists are paged (limit=1 here): the re-list followed the continue token.
    assert.ok(h.api.requests(PATHS.services, false).some((r) => r.query.continue && r.query.limit === '1'));
  });

  it('re-lists when the watch request itself answers HTTP 410 Gone', async () => {
    h.api.goneAsHttp = true;
    h.api.compact(PATHS.slices, false);
    const relist = nextRequest(h.api, PATHS.slices, false);
    const reloaded = nextEvent<ReloadOutcome>(h.cp.events, 'reload', () => true, 10_000);
    h.api.dropWatches(PATHS.slices); // the resumed watch names a compacted version: 410
    await relist;
    const out = await reloaded;
    assert.equal(out.changed, false, 'the same objects: nothing to push');
    const kinds = (await getJson(h.cp.statusPort, '/debug/config')).body.kubernetes.kinds;
    assert.equal(kinds.EndpointSlice.expired, 1);
    assert.equal(kinds.EndpointSlice.state, 'SYNCED');
    for (const s of h.snapshots) assert.ok(s.model.services.size > 0);
  });
});

describe('Kubernetes discovery: 404 after a successful list (fail static)', () => {
  it('keeps serving the last known policies while the re-list answers 404, and takes the next good list', async () => {
    const h = await harness({ seed: (api) => api.apply(PATHS.policies, trafficPolicy('orders', 'shop', 'orders', { timeout: '3s' })) });
    try {
      assert.equal((await getJson(h.cp.statusPort, '/debug/config')).body.resources.trafficPolicies, 1);
      if (!h.api.watching(PATHS.policies)) await nextEvent(h.api.events, 'watch', (p) => p === PATHS.policies, 10_000);
      const before = h.snapshots.length;
      // The API server restarts: TrafficPolicies answer 404 for a while; the watch breaks, its resume and the re-lists get 404.
      let failedLists = 0;
      const threeFailedLists = new Promise<void>((resolve) => {
        const on = (r: SeenRequest) => {
          if (r.path !== PATHS.policies || r.watch) return;
          if (++failedLists === 3) { h.api.events.off('request', on); resolve(); }
        };
        h.api.events.on('request', on);
      });
      h.api.notFound.add(PATHS.policies);
      h.api.dropWatches(PATHS.policies);
      await withTimeout(threeFailedLists, 10_000, 'three re-lists of TrafficPolicies');
      let cfg = (await getJson(h.cp.statusPort, '/debug/config')).body;
      assert.equal(cfg.resources.trafficPolicies, 1, 'the policy is still served');
      assert.equal(cfg.kubernetes.kinds.TrafficPolicy.state, 'STALE');
      assert.match(cfg.kubernetes.kinds.TrafficPolicy.lastError, /HTTP 404/);
      assert.ok(h.logs.some((l) => l.level === 40 && /TrafficPolicy: .*answered 404 after it had been listed.*keeping the last known 1 object/.test(l.msg)), JSON.stringify(h.logs));
      // Other kinds keep flowing meanwhile, with the policy still in the mesh.
      const pushed = changed(h.cp);
      h.api.apply(PATHS.slices, endpointSlice('orders', 'shop', 'x7k2p', [{ ip: '10.244.4.4', pod: 'orders-7d9f-yyyyy' }], { name: 'http', port: 8080, appProtocol: 'http' }));
      await pushed;
      assert.ok(h.snapshots.length > before);
      // The policy changes during the outage; the API comes back and the next good list replaces the store.
      h.api.apply(PATHS.policies, trafficPolicy('orders', 'shop', 'orders', { timeout: '5s' }));
      const back = nextEvent<KubeSnapshot>(h.source.events, 'snapshot', (s) => s.model.policies.get('shop/orders')?.timeoutMs === 5000, 10_000);
      h.api.notFound.delete(PATHS.policies);
      await back;
      cfg = (await getJson(h.cp.statusPort, '/debug/config')).body;
      assert.equal(cfg.kubernetes.kinds.TrafficPolicy.state, 'SYNCED');
      for (const s of h.snapshots) assert.equal(s.model.policies.size, 1, 'no snapshot without the policy was published');
    } finally {
      await h.close();
    }
  });
});

describe('Kubernetes discovery: OIDC login secrets', () => {
  it('writes the oauth2 SDS file of a RequestAuthentication whose client secret is a Secret, and rewrites it when the Secret changes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pilotfish-kube-authn-'));
    const saved = process.env.PILOTFISH_SECRET_DIR;
    process.env.PILOTFISH_SECRET_DIR = dir;
    const secret = (value: string) => ({
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: 'oidc', namespace: 'shop', uid: 'b6d1', creationTimestamp: '2026-11-26T10:00:00Z' },
      data: { 'client-secret': Buffer.from(value).toString('base64') },
    });
    const login = {
      apiVersion: 'pilotfish.io/v1alpha1', kind: 'RequestAuthentication',
      metadata: { name: 'login', namespace: 'shop', generation: 1 },
      spec: {
        targetRefs: [{ kind: 'Service', name: 'orders' }],
        oidc: {
          issuer: 'https://idp.example.com', authorizationEndpoint: 'https://idp.example.com/auth', tokenEndpoint: 'https://idp.example.com/token',
          jwksUri: 'https://idp.example.com/jwks', clientId: 'shop', clientSecret: { secretRef: { name: 'oidc', key: 'client-secret' } },
        },
      },
    };
    const h = await harness({ seed: (api) => { api.apply(PATHS.secrets, secret('s3cret')); api.apply(PATHS.authns, login); } });
    try {
      const cfg = (await getJson(h.cp.statusPort, '/debug/config')).body;
      assert.deepEqual(cfg.kubernetes.rejected, []);
      const file = path.join(dir, 'shop.login.oauth2.yaml');
      const read = () => (YAML.parse(readFileSync(file, 'utf8')) as { resources: { name: string; generic_secret: { secret: { inline_string: string } } }[] }).resources;
      const first = read();
      assert.equal(first.find((r) => r.name === 'shop/login/token')?.generic_secret.secret.inline_string, 's3cret');
      const hmac = first.find((r) => r.name === 'shop/login/hmac')?.generic_secret.secret.inline_string;
      assert.ok(hmac && hmac.length >= 32, 'a generated HMAC key');
      // The client secret is rotated in the cluster: the file follows, the generated HMAC key stays.
      const compiled = nextEvent<KubeSnapshot>(h.source.events, 'snapshot', () => true, 10_000);
      h.api.apply(PATHS.secrets, secret('rotated'));
      await compiled;
      const second = read();
      assert.equal(second.find((r) => r.name === 'shop/login/token')?.generic_secret.secret.inline_string, 'rotated');
      assert.equal(second.find((r) => r.name === 'shop/login/hmac')?.generic_secret.secret.inline_string, hmac);
    } finally {
      await h.close();
      if (saved === undefined) delete process.env.PILOTFISH_SECRET_DIR;
      else process.env.PILOTFISH_SECRET_DIR = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Kubernetes discovery: missing CRDs and invalid objects', () => {
  it('treats a kind whose CRD is not installed as empty, with one warning, and picks it up once installed', async () => {
    const h = await harness({ missing: [PATHS.policies, PATHS.grpcroutes], absentRecheckMs: 50 });
    try {
      const cfg = (await getJson(h.cp.statusPort, '/debug/config')).body;
      assert.equal(cfg.status, 'OK');
      assert.equal(cfg.resources.services, 2);
      assert.equal(cfg.kubernetes.kinds.TrafficPolicy.state, 'NOT_INSTALLED');
      assert.equal(cfg.kubernetes.kinds.GRPCRoute.state, 'NOT_INSTALLED');
      const warnings = h.logs.filter((l) => l.level === 40 && /TrafficPolicy: .*is not served \(404/.test(l.msg));
      assert.equal(warnings.length, 1, JSON.stringify(h.logs));
      assert.equal(h.logs.filter((l) => l.level >= 50).length, 0, 'no errors');
      // The CRD gets installed and a policy created: the next check lists it.
      const pushed = changed(h.cp);
      h.api.serve(PATHS.policies, 'TrafficPolicyList', 'pilotfish.io/v1alpha1');
      h.api.apply(PATHS.policies, trafficPolicy('orders', 'shop', 'orders', { timeout: '3s' }));
      await pushed;
      const now = (await getJson(h.cp.statusPort, '/debug/config')).body;
      assert.equal(now.resources.trafficPolicies, 1);
      assert.equal(now.kubernetes.kinds.TrafficPolicy.state, 'SYNCED');
      assert.equal(h.logs.filter((l) => /TrafficPolicy: .*is not served/.test(l.msg)).length, 1, 'still one warning');
    } finally {
      await h.close();
    }
  });

  it('reports an invalid object by kind, name and field, skips it and serves the rest', async () => {
    const h = await harness({
      seed: (api) => {
        api.apply(PATHS.httproutes, meshRoute('broken', 'shop', 'orders', 8080, 'nothere'));
        api.apply(PATHS.policies, trafficPolicy('orders', 'shop', 'orders', { retry: { attempts: 'three' } }));
        api.apply(PATHS.policies, trafficPolicy('payments', 'shop', 'payments', { timeout: '2s' }));
        api.apply(PATHS.pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'odd', namespace: 'shop' } });
        // Shapes every cluster has: kube-dns serves port 53 over UDP and TCP; an ExternalName Service; a slice whose
        // Service is already gone.
        const dns = service('kube-dns', 'kube-system', [{ name: 'dns', port: 53 }, { name: 'dns-tcp', port: 53 }, { name: 'metrics', port: 9153 }]);
        (dns.spec as { ports: { protocol: string }[] }).ports[0].protocol = 'UDP';
        api.apply(PATHS.services, dns);
        const dnsSlice = endpointSlice('kube-dns', 'kube-system', 'a1b2c', [{ ip: '10.244.0.2', pod: 'coredns-1' }], { name: 'dns-tcp', port: 53 });
        (dnsSlice.ports as object[]).unshift({ name: 'dns', port: 53, protocol: 'UDP' });
        api.apply(PATHS.slices, dnsSlice);
        api.apply(PATHS.services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'shop' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } });
        api.apply(PATHS.slices, endpointSlice('gone', 'shop', 'zz9zz', [{ ip: '10.244.9.9', pod: 'gone-1' }], { name: 'http', port: 80 }));
      },
    });
    try {
      const cfg = (await getJson(h.cp.statusPort, '/debug/config')).body;
      assert.equal(cfg.status, 'OK');
      assert.equal(cfg.resources.services, 3);
      assert.equal(cfg.resources.trafficPolicies, 1);
      assert.ok(cfg.ignoredDocuments.includes('Service shop/db: ExternalName Service (no endpoints to route to)'));
      assert.ok(cfg.ignoredDocuments.includes('EndpointSlice shop/gone-zz9zz: no Service shop/gone in the mesh'));
      assert.equal(cfg.resources.httpRoutes, 0);
      const rejected = cfg.kubernetes.rejected as { kind: string; name: string; path: string; errors: { field: string; text: string }[] }[];
      const route = rejected.find((r) => r.kind === 'HTTPRoute');
      assert.equal(route?.name, 'shop/broken');
      assert.equal(route?.errors[0].field, 'spec.rules[0].backendRefs[0].name');
      assert.match(route!.errors[0].text, /^\/apis\/gateway\.networking\.k8s\.io\/v1\/namespaces\/shop\/httproutes\/broken \(HTTPRoute shop\/broken\): spec\.rules\[0\]\.backendRefs\[0\]\.name: no Service shop\/nothere/);
      const policy = rejected.find((r) => r.kind === 'TrafficPolicy');
      assert.equal(policy?.name, 'shop/orders');
      assert.equal(policy?.errors[0].field, 'spec.retry.attempts');
      assert.deepEqual(cfg.kubernetes.pods.problems, ['Pod shop/odd: spec: missing or not a mapping']);
      assert.equal(rejected.length, 2, JSON.stringify(rejected));
      const brokenLogs = () => h.logs.filter((l) => l.level === 50 && /object skipped: .*HTTPRoute shop\/broken/.test(l.msg)).length;
      assert.equal(brokenLogs(), 1);
      // Another change recompiles: the same problem is not logged again. (A change to a compiled kind: Pods are only
      // indexed for the status report and do not recompile.)
      const recompiled = nextEvent<KubeSnapshot>(h.source.events, 'snapshot', () => true, 10_000);
      h.api.apply(PATHS.policies, trafficPolicy('payments', 'shop', 'payments', { timeout: '3s' }));
      await recompiled;
      assert.equal(brokenLogs(), 1);
      // Fixing the object brings it in.
      const pushed = changed(h.cp);
      h.api.apply(PATHS.httproutes, meshRoute('broken', 'shop', 'orders', 8080));
      await pushed;
      const now = (await getJson(h.cp.statusPort, '/debug/config')).body;
      assert.equal(now.resources.httpRoutes, 1);
      assert.deepEqual(now.kubernetes.rejected.map((r: { name: string }) => r.name), ['shop/orders']);
    } finally {
      await h.close();
    }
  });

  it('parses --kubernetes and --kubeconfig, refusing them mixed with files', () => {
    const ok = parseControlPlaneArgs(['--kubernetes', '--kubeconfig', '/tmp/kc.yaml']);
    assert.ok(ok.ok && ok.options.kubernetes && ok.options.kubeconfig === '/tmp/kc.yaml' && ok.options.inputs.length === 0);
    const mixed = parseControlPlaneArgs(['--kubernetes', '-f', 'mesh/']);
    assert.ok(!mixed.ok && /cannot be combined/.test(mixed.error));
    const alone = parseControlPlaneArgs(['--kubeconfig', 'kc.yaml', '-f', 'mesh/']);
    assert.ok(!alone.ok && /needs --kubernetes/.test(alone.error));
  });
});

describe('pilotfish control-plane --kubernetes (the command)', () => {
  it('starts against the kubeconfig\'s API server, serves what it lists, and exits 0 on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const { createInterface } = await import('node:readline');
    const api = new FakeKubeApi();
    for (const [p, kind, version] of COLLECTIONS) if (p !== PATHS.policies) api.serve(p, kind, version);
    await api.start();
    api.apply(PATHS.services, service('orders', 'shop', [{ name: 'http', port: 8080 }]));
    const bin = new URL('../../bin/pilotfish', import.meta.url).pathname;
    const child = spawn(process.execPath, [bin, 'control-plane', '--kubernetes', '--kubeconfig', api.kubeconfig(), '--no-ca',
      '--xds-address', '127.0.0.1:0', '--status-address', '127.0.0.1:0', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    try {
      const lines: { msg: string; statusPort?: number; level: number }[] = [];
      const serving = new Promise<number>((resolve, reject) => {
        createInterface(child.stdout).on('line', (l) => {
          const j = JSON.parse(l) as { msg: string; statusPort?: number; level: number };
          lines.push(j);
          if (j.msg === 'control plane serving') resolve(j.statusPort!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      const statusPort = await serving;
      const cfg = (await getJson(statusPort, '/debug/config')).body;
      assert.equal(cfg.resources.services, 1);
      assert.equal(cfg.kubernetes.kinds.TrafficPolicy.state, 'NOT_INSTALLED');
      assert.ok(lines.some((l) => l.level === 40 && /TrafficPolicy/.test(l.msg)), 'the missing CRD is a warning');
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await api.close();
    }
  });
});
