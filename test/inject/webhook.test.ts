// The injection webhook in the control plane over HTTPS with real AdmissionReview JSON: Pod CREATE, opt-out, already injected, missing object, malformed bodies, certificate from the CA or from files.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Pod } from 'kubernetes-models/v1';
import pino from 'pino';
import { applyJsonPatch } from '../../src/inject/json-patch.ts';
import type { InjectOptions } from '../../src/inject/templates.ts';
import { parseControlPlaneArgs } from '../../xds/cli.ts';
import { startControlPlane, type ControlPlane } from '../../xds/control-plane.ts';
import { EventEmitter } from 'node:events';
import { loadKubeConfig } from '../../xds/kube/api-client.ts';
import { kubeServerVersion, parseKubeVersion } from '../../xds/kube/server-version.ts';
import { issueServingCert } from '../../xds/webhook/serving-cert.ts';
import { webhookOptionsFromArgs, type WebhookArgs } from '../../xds/webhook/webhook-args.ts';
import { FakeKubeApi } from '../kube/fake-kube-api.ts';
import { withTimeout } from '../helpers/wait.ts';

const REVIEW = JSON.parse(readFileSync(new URL('./fixtures/admission-review-pod.json', import.meta.url), 'utf8'));
const INJECT: InjectOptions = { image: 'pilotfish:test', xdsAddress: 'pilotfish-control-plane.pilotfish-system.svc:15010', nativeSidecar: true, tokenAudience: 'pilotfish-ca', version: '0.1.0' };
type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function post(port: number, ca: string, body: string | Buffer, pathname = '/inject', servername = 'localhost'): Promise<{ status: number; text: string; json: Any }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: pathname, method: 'POST', ca, servername, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: Any = null;
        try { json = JSON.parse(text); } catch { /* text reply */ }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const review = (mutate: (r: Any) => void = () => {}): string => {
  const r = structuredClone(REVIEW);
  mutate(r);
  return JSON.stringify(r);
};

describe('injection webhook (certificate from the control plane CA)', () => {
  let dir: string;
  let cp: ControlPlane;
  let ca: string;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pf-webhook-'));
    writeFileSync(path.join(dir, 'svc.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: productpage, namespace: bookinfo}\nspec:\n  ports: [{name: http, port: 9080}]\n');
    cp = await startControlPlane({
      inputs: [path.join(dir, 'svc.yaml')], xdsAddress: '127.0.0.1:0', statusAddress: '127.0.0.1:0', logger: pino({ level: 'silent' }), watch: false,
      ca: { dir: path.join(dir, 'ca'), tokenFile: path.join(dir, 'tokens.yaml') },
      webhook: { address: '127.0.0.1:0', dnsNames: ['localhost', '127.0.0.1'], inject: INJECT },
    });
    ca = cp.ca!.trustBundle().join('');
  });
  after(async () => {
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('injects a Pod CREATE: allowed, base64 JSONPatch that yields a valid Pod with the sidecar', async () => {
    assert.ok(cp.webhookPort);
    const r = await post(cp.webhookPort!, ca, review());
    assert.equal(r.status, 200);
    assert.equal(r.json.apiVersion, 'admission.k8s.io/v1');
    assert.equal(r.json.kind, 'AdmissionReview');
    const res = r.json.response;
    assert.equal(res.uid, REVIEW.request.uid);
    assert.equal(res.allowed, true);
    assert.equal(res.patchType, 'JSONPatch');
    assert.equal(res.warnings, undefined);
    const ops = JSON.parse(Buffer.from(res.patch, 'base64').toString());
    const pod = applyJsonPatch(REVIEW.request.object, ops) as Any;
    new Pod(pod).validate();
    assert.deepEqual(pod.spec.initContainers.map((c: Any) => c.name), ['pilotfish-init', 'pilotfish-proxy']);
    const proxy = pod.spec.initContainers[1];
    assert.equal(proxy.env.find((e: Any) => e.name === 'PILOTFISH_SERVICE').value, 'productpage');
    assert.equal(pod.spec.containers[0].readinessProbe.httpGet.path, '/app-health/productpage/readyz');
    assert.equal(pod.spec.volumes[0].name, 'kube-api-access-8xk2p');
    // The patch applied twice by a reinvoked webhook: the second review of the patched pod adds nothing.
    const again = await post(cp.webhookPort!, ca, review((x) => { x.request.object = pod; }));
    assert.equal(again.json.response.allowed, true);
    assert.equal(again.json.response.patch, undefined);
  });

  it('allows an opted-out pod without a patch', async () => {
    const r = await post(cp.webhookPort!, ca, review((x) => { x.request.object.metadata.annotations = { 'sidecar.pilotfish.io/inject': 'false' }; }));
    assert.deepEqual(r.json.response, { uid: REVIEW.request.uid, allowed: true });
  });

  it('allows a host-network pod without a patch', async () => {
    const r = await post(cp.webhookPort!, ca, review((x) => { x.request.object.spec.hostNetwork = true; }));
    assert.deepEqual(r.json.response, { uid: REVIEW.request.uid, allowed: true });
  });

  it('answers a review without an object, or with a pod it cannot inject, as allowed with a warning', async () => {
    const missing = await post(cp.webhookPort!, ca, review((x) => { delete x.request.object; }));
    assert.equal(missing.status, 200);
    assert.equal(missing.json.response.allowed, true);
    assert.match(missing.json.response.warnings[0], /no object/);
    const clash = await post(cp.webhookPort!, ca, review((x) => { x.request.object.spec.containers[0].name = 'pilotfish-proxy'; }));
    assert.equal(clash.json.response.allowed, true);
    assert.equal(clash.json.response.patch, undefined);
    assert.match(clash.json.response.warnings[0], /already named "pilotfish-proxy"/);
  });

  it('refuses malformed bodies with 400 and a reason (no uid to answer)', async () => {
    const notJson = await post(cp.webhookPort!, ca, '{"kind": "AdmissionReview", ');
    assert.equal(notJson.status, 400);
    assert.match(notJson.text, /not JSON/);
    const noRequest = await post(cp.webhookPort!, ca, JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }));
    assert.equal(noRequest.status, 400);
    assert.match(noRequest.text, /no request.uid/);
    const wrongKind = await post(cp.webhookPort!, ca, JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }));
    assert.equal(wrongKind.status, 400);
    assert.match(wrongKind.text, /not an AdmissionReview/);
    const wrongPath = await post(cp.webhookPort!, ca, review(), '/mutate');
    assert.equal(wrongPath.status, 404);
  });

  it('serves a certificate for the configured names only', async () => {
    await assert.rejects(post(cp.webhookPort!, ca, review(), '/inject', 'other.example'), /altnames|Hostname/i);
  });
});

describe('injection webhook (certificate from files, no CA)', () => {
  it('serves with --webhook-cert/--webhook-key', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pf-webhook-files-'));
    const input = path.join(dir, 'svc.yaml');
    writeFileSync(input, 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{name: http, port: 80}]\n');
    const first = await startControlPlane({
      inputs: [input], xdsAddress: '127.0.0.1:0', statusAddress: '127.0.0.1:0', logger: pino({ level: 'silent' }), watch: false,
      ca: { dir: path.join(dir, 'ca'), tokenFile: path.join(dir, 'tokens.yaml') },
    });
    const cert = issueServingCert(first.ca!, ['localhost']);
    await first.close();
    writeFileSync(path.join(dir, 'tls.crt'), cert.certPem);
    writeFileSync(path.join(dir, 'tls.key'), cert.keyPem);
    const cp = await startControlPlane({
      inputs: [input], xdsAddress: '127.0.0.1:0', statusAddress: '127.0.0.1:0', logger: pino({ level: 'silent' }), watch: false, ca: null,
      webhook: { address: '127.0.0.1:0', certFile: path.join(dir, 'tls.crt'), keyFile: path.join(dir, 'tls.key'), inject: INJECT },
    });
    try {
      const r = await post(cp.webhookPort!, cert.caBundle!, review());
      assert.equal(r.json.response.patchType, 'JSONPatch');
    } finally {
      await cp.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses the webhook flags of pilotfish control-plane', () => {
    const ok = parseControlPlaneArgs(['-f', 'x', '--webhook-address', '0.0.0.0:15017', '--webhook-dns-name', 'a.svc', '--inject-image', 'img:1', '--inject-native-sidecar', 'false']);
    assert.ok(ok.ok);
    assert.deepEqual(ok.ok && ok.options.webhook, { address: '0.0.0.0:15017', dnsNames: ['a.svc'], image: 'img:1', nativeSidecar: false });
    const e1 = parseControlPlaneArgs(['-f', 'x', '--inject-image', 'img:1']);
    assert.deepEqual(e1, { ok: false, error: 'the --webhook-* / --inject-* flags need --webhook-address' });
    const e2 = parseControlPlaneArgs(['-f', 'x', '--webhook-address', '0.0.0.0:15017', '--no-ca']);
    assert.match(!e2.ok ? e2.error : '', /needs --webhook-cert\/--webhook-key when the certificate authority is off/);
    const e3 = parseControlPlaneArgs(['-f', 'x', '--webhook-address', 'nope']);
    assert.match(!e3.ok ? e3.error : '', /--webhook-address expects host:port/);
  });
});

describe('injection webhook: lifecycle mode from the API server version (--kubernetes)', () => {
  let api: FakeKubeApi;
  let dir: string;
  /** What GET /version answers next (status, body, and optionally a promise to wait for before answering). */
  let answers: [number, object, Promise<void>?][] = [];
  const VERSION = (minor: string, gitVersion: string) => ({ major: '1', minor, gitVersion, gitCommit: 'abc', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.22', compiler: 'gc', platform: 'linux/amd64' });

  before(async () => {
    api = await new FakeKubeApi().start();
    api.extraHandler = (_req, res, url) => {
      if (url.pathname !== '/version') return false;
      const [code, body, gate] = answers.length > 1 ? answers.shift()! : answers[0];
      void (gate ?? Promise.resolve()).then(() => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
      return true;
    };
    dir = mkdtempSync(path.join(os.tmpdir(), 'pf-webhook-version-'));
    writeFileSync(path.join(dir, 'svc.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: productpage, namespace: bookinfo}\nspec:\n  ports: [{name: http, port: 9080}]\n');
  });
  after(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function withWebhook(args: WebhookArgs, body: (port: number, ca: string, logs: EventEmitter) => Promise<void>): Promise<void> {
    const kc = loadKubeConfig(api.kubeconfig());
    const logs = new EventEmitter();
    const logger = pino({ level: 'info' }, { write: (line: string) => { logs.emit('line', JSON.parse(line)); } });
    const webhook = { ...webhookOptionsFromArgs({ address: '127.0.0.1:0', dnsNames: ['localhost', '127.0.0.1'], image: 'pilotfish:test', ...args }, () => kubeServerVersion(kc))!, versionRetryMs: 20 };
    const cp = await startControlPlane({
      inputs: [path.join(dir, 'svc.yaml')], xdsAddress: '127.0.0.1:0', statusAddress: '127.0.0.1:0', logger, watch: false,
      ca: { dir: path.join(dir, 'ca'), tokenFile: path.join(dir, 'tokens.yaml') }, webhook,
    });
    try {
      await body(cp.webhookPort!, cp.ca!.trustBundle().join(''), logs);
    } finally {
      await cp.close();
    }
  }

  async function injected(port: number, ca: string): Promise<Any> {
    const r = await post(port, ca, review());
    assert.equal(r.json.response.patchType, 'JSONPatch', r.text);
    const pod = applyJsonPatch(REVIEW.request.object, JSON.parse(Buffer.from(r.json.response.patch, 'base64').toString())) as Any;
    new Pod(pod).validate();
    return pod;
  }
  const isNative = (pod: Any) => pod.spec.initContainers.some((c: Any) => c.name === 'pilotfish-proxy' && c.restartPolicy === 'Always');

  it('injects a regular first container on Kubernetes 1.28 (no native sidecars), with kubectl\'s default container', async () => {
    answers = [[200, VERSION('28', 'v1.28.9')]];
    await withWebhook({}, async (port, ca) => {
      const pod = await injected(port, ca);
      assert.equal(isNative(pod), false);
      assert.deepEqual(pod.spec.initContainers.map((c: Any) => c.name), ['pilotfish-init']);
      assert.equal(pod.spec.containers[0].name, 'pilotfish-proxy');
      assert.equal(pod.spec.containers[0].restartPolicy, undefined);
      assert.equal(pod.metadata.annotations['kubectl.kubernetes.io/default-container'], 'productpage');
      assert.equal(JSON.parse(pod.metadata.annotations['sidecar.pilotfish.io/status']).native, false);
    });
  });

  it('injects native sidecars from 1.29 (managed clusters report minor "30+")', async () => {
    answers = [[200, VERSION('30+', 'v1.30.2-gke.1000')]];
    await withWebhook({}, async (port, ca) => {
      assert.equal(isNative(await injected(port, ca)), true);
    });
  });

  it('--inject-native-sidecar decides when given, without asking the API server', async () => {
    answers = [[200, VERSION('28', 'v1.28.9')]];
    const before = api.seen.filter((r) => r.path === '/version').length;
    await withWebhook({ nativeSidecar: true }, async (port, ca) => {
      assert.equal(isNative(await injected(port, ca)), true);
    });
    assert.equal(api.seen.filter((r) => r.path === '/version').length, before);
  });

  it('injects regular containers while the version cannot be read, and native ones once it can', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    answers = [[503, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 503, reason: 'ServiceUnavailable', message: 'starting' }], [200, VERSION('31', 'v1.31.0'), gate]];
    await withWebhook({}, async (port, ca, logs) => {
      const known = withTimeout(new Promise<void>((resolve) => logs.on('line', (l: { msg: string }) => { if (/native sidecars \(Kubernetes >= 1\.29\)/.test(l.msg)) resolve(); })), 10_000, 'the version to be read');
      assert.equal(isNative(await injected(port, ca)), false, 'regular until the version is known');
      release(); // the retry's answer arrives
      await known;
      assert.equal(isNative(await injected(port, ca)), true);
    });
  });

  it('parses the versions servers report', () => {
    assert.deepEqual(parseKubeVersion({ major: '1', minor: '29+', gitVersion: 'v1.29.3-eks-adc7111' }), { major: 1, minor: 29, gitVersion: 'v1.29.3-eks-adc7111' });
    assert.deepEqual(parseKubeVersion({ major: '', minor: '', gitVersion: 'v1.27.16' }), { major: 1, minor: 27, gitVersion: 'v1.27.16' });
    assert.equal(parseKubeVersion({ gitVersion: 'unknown' }), null);
  });
});
