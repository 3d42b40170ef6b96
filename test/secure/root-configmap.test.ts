// Root distribution like istio-ca-root-cert: ConfigMap pilotfish-ca-root-cert in every injection-enabled namespace, against a fake API server speaking the real wire format.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { CertificateAuthority } from '../../xds/ca/authority.ts';
import { startControlPlane } from '../../xds/control-plane.ts';
import { KubeConfigApi, loadKubeConfig } from '../../xds/kube/api-client.ts';
import { coreV1ConfigMaps, RootCertPublisher, ROOT_CONFIGMAP_KEY, ROOT_CONFIGMAP_NAME } from '../../xds/secure/root-configmap.ts';
import { FakeKubeApi, type Obj } from '../kube/fake-kube-api.ts';
import { pollUntil, withTimeout } from '../helpers/wait.ts';
import { FakeConfigMaps } from './fake-configmaps.ts';

const NS = '/api/v1/namespaces';
const logger = pino({ level: 'silent' });

function namespace(name: string, labels: Record<string, string> = {}): Obj {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

function pemCount(pem: string | undefined): number {
  return (pem ?? '').match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
}

describe('root ConfigMap publisher', () => {
  let api: FakeKubeApi;
  let cms: FakeConfigMaps;
  let ca: CertificateAuthority;
  let publisher: RootCertPublisher;
  let dir: string;
  const existing = new Set<string>();
  const addNs = (name: string, labels: Record<string, string> = {}) => {
    existing.add(name);
    api.apply(NS, namespace(name, labels));
  };
  const data = (ns: string) => cms.get(ns, ROOT_CONFIGMAP_NAME)?.data?.[ROOT_CONFIGMAP_KEY];
  const until = (what: string, pred: () => boolean) => withTimeout(cms.until(pred), 20_000, what);
  const stateOf = (ns: string, state: string) => pollUntil(() => publisher.namespaces().find((n) => n.namespace === ns)?.state === state, { timeoutMs: 20_000, what: `${ns} ${state}` });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-rootcm-'));
    ca = await CertificateAuthority.open({ dir: path.join(dir, 'ca'), logger });
    api = await new FakeKubeApi().serve(NS, 'NamespaceList', 'v1').start();
    cms = new FakeConfigMaps(api, () => [...existing]);
    addNs('shop', { 'pilotfish-injection': 'enabled' });
    addNs('other', { team: 'x' });
    addNs('kube-system');
    const kc = loadKubeConfig(api.kubeconfig());
    publisher = new RootCertPublisher({ api: new KubeConfigApi(kc), configMaps: coreV1ConfigMaps(kc), ca, logger, resyncMs: 60_000, retryMs: 20 });
    publisher.start();
  });

  after(async () => {
    publisher?.stop();
    await api?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the ConfigMap in labelled namespaces only, with the CA root under root-cert.pem', async () => {
    await until('the ConfigMap in shop', () => data('shop') !== undefined);
    assert.equal(data('shop'), ca.trustBundle().join(''));
    assert.equal(new X509Certificate(data('shop')!).fingerprint256, ca.roots()[0].fingerprint);
    const cm = cms.get('shop', ROOT_CONFIGMAP_NAME)!;
    assert.equal(cm.metadata.labels?.['app.kubernetes.io/managed-by'], 'pilotfish-control-plane');
    assert.equal(cms.get('other', ROOT_CONFIGMAP_NAME), undefined);
    assert.equal(cms.get('kube-system', ROOT_CONFIGMAP_NAME), undefined);
    assert.deepEqual(cms.writes, [{ method: 'POST', namespace: 'shop', name: ROOT_CONFIGMAP_NAME }]);
    await stateOf('shop', 'current');
    assert.deepEqual(publisher.namespaces().map((n) => [n.namespace, n.state]), [['shop', 'current']]);
  });

  it('replaces it with every root during a rotation, and with the remaining roots afterwards', async () => {
    const staged = await ca.rotateRoot({ activate: false });
    await until('both roots in shop', () => pemCount(data('shop')) === 2);
    assert.equal(data('shop'), ca.trustBundle().join(''));
    assert.equal(cms.writes.at(-1)?.method, 'PUT');
    const old = ca.roots().find((r) => r.state === 'active')!;
    ca.activateRoot(staged.fingerprint);
    ca.removeRoot(old.fingerprint);
    await until('only the new root in shop', () => pemCount(data('shop')) === 1 && new X509Certificate(data('shop')!).fingerprint256 === staged.fingerprint);
  });

  it('writes it into a namespace that is created or labelled later', async () => {
    addNs('billing', { 'pilotfish-injection': 'enabled' });
    await until('the ConfigMap in billing', () => data('billing') === ca.trustBundle().join(''));
    addNs('other', { team: 'x', 'pilotfish-injection': 'enabled' });
    await until('the ConfigMap in other', () => data('other') === ca.trustBundle().join(''));
    assert.equal(cms.get('kube-system', ROOT_CONFIGMAP_NAME), undefined);
  });

  it('keeps other keys of an existing ConfigMap, fixes a stale root, and retries a failed write', async () => {
    addNs('legacy', { 'pilotfish-injection': 'enabled' });
    // Someone created it first, with a stale root and an extra key; the next write fails once.
    cms.objects.set(`legacy/${ROOT_CONFIGMAP_NAME}`, {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CONFIGMAP_NAME, namespace: 'legacy', resourceVersion: '7' },
      data: { [ROOT_CONFIGMAP_KEY]: 'stale', note: 'keep me' },
    });
    cms.failWrites = 1;
    await until('legacy fixed', () => data('legacy') === ca.trustBundle().join(''));
    assert.equal(cms.get('legacy', ROOT_CONFIGMAP_NAME)?.data?.note, 'keep me');
    assert.equal(cms.failWrites, 0, 'the failing write happened');
    await stateOf('legacy', 'current');
  });
});

describe('control plane with root ConfigMaps', () => {
  it('publishes its CA root through the control plane options and shows the namespaces in /debug/config', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-rootcm-cp-'));
    const api = await new FakeKubeApi().serve(NS, 'NamespaceList', 'v1').start();
    const cms = new FakeConfigMaps(api, () => ['shop']);
    api.apply(NS, namespace('shop', { 'pilotfish-injection': 'enabled' }));
    fs.writeFileSync(path.join(dir, 'mesh.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: orders}\nspec: {ports: [{name: http, port: 8080}]}\n');
    const kc = loadKubeConfig(api.kubeconfig());
    const cp = await startControlPlane({
      inputs: [path.join(dir, 'mesh.yaml')], xdsAddress: '127.0.0.1:0', statusAddress: '127.0.0.1:0', logger, watch: false,
      ca: { dir: path.join(dir, 'ca') }, rootConfigMaps: { api: new KubeConfigApi(kc), configMaps: coreV1ConfigMaps(kc) },
    });
    try {
      await withTimeout(cms.until(() => cms.get('shop', ROOT_CONFIGMAP_NAME) !== undefined), 20_000, 'the ConfigMap');
      assert.equal(cms.get('shop', ROOT_CONFIGMAP_NAME)?.data?.[ROOT_CONFIGMAP_KEY], cp.ca!.trustBundle().join(''));
      await pollUntil(() => cp.rootPublisher!.namespaces()[0]?.state === 'current', { timeoutMs: 20_000, what: 'shop current' });
      const config = await (await fetch(`http://127.0.0.1:${cp.statusPort}/debug/config`)).json() as { rootConfigMaps: { namespace: string; state: string }[] };
      assert.deepEqual(config.rootConfigMaps.map((n) => [n.namespace, n.state]), [['shop', 'current']]);
    } finally {
      await cp.close();
      await api.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
