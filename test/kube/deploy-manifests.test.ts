// Every manifest under deploy/ parses, validates against the Kubernetes API schemas, and agrees with the control plane (flags, RBAC, CRDs, policies).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseControlPlaneArgs } from '../../xds/cli.ts';
import { compileMesh, formatInputError } from '../../xds/input/mesh.ts';
import type { RawDoc } from '../../xds/input/load-files.ts';
import { WATCHED_KINDS } from '../../xds/kube/kinds.ts';
import { validateStructural } from './structural-schema.ts';

const DEPLOY = path.resolve(import.meta.dirname, '../../deploy');
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  }).sort();
}

/** Every document of every YAML file under deploy/, with its file. */
function load(): { file: string; doc: number; obj: Obj }[] {
  const out: { file: string; doc: number; obj: Obj }[] = [];
  for (const file of yamlFiles(DEPLOY)) {
    const docs = YAML.parseAllDocuments(readFileSync(file, 'utf8'));
    (Array.isArray(docs) ? docs : [docs]).forEach((d, i) => {
      assert.deepEqual(d.errors.map((e) => e.message), [], `${file} document ${i + 1} does not parse`);
      const obj = d.toJS() as Obj | null;
      if (obj !== null) out.push({ file: path.relative(DEPLOY, file), doc: i + 1, obj });
    });
  }
  return out;
}

const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'apps/v1/Deployment': Deployment,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'apiextensions.k8s.io/v1/CustomResourceDefinition': CustomResourceDefinition,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
};

const all = load();
const objects = all.filter((d) => d.obj.kind !== 'Kustomization');
const find = (kind: string, name: string) => objects.find((d) => d.obj.kind === kind && d.obj.metadata.name === name)?.obj;
const policyCrd = find('CustomResourceDefinition', 'trafficpolicies.pilotfish.io')!;
const policySchema = policyCrd?.spec.versions[0].schema.openAPIV3Schema;

describe('deploy/ manifests', () => {
  it('parse, and each object validates against its Kubernetes API schema (kubernetes-models)', () => {
    assert.ok(objects.length > 20, `only ${objects.length} objects found`);
    const custom = new Set(['pilotfish.io/v1alpha1/TrafficPolicy', 'gateway.networking.k8s.io/v1/HTTPRoute']);
    for (const { file, doc, obj } of objects) {
      const id = `${obj.apiVersion}/${obj.kind}`;
      if (custom.has(id)) continue;
      const Model = MODELS[id];
      assert.ok(Model, `${file} document ${doc}: no schema for ${id}`);
      assert.doesNotThrow(() => new Model(obj).validate(), `${file} document ${doc} (${obj.kind} ${obj.metadata?.name})`);
    }
  });

  it('kustomizations list files that exist, and every manifest belongs to one', () => {
    const listed = new Set<string>();
    for (const { file, obj } of all.filter((d) => d.obj.kind === 'Kustomization')) {
      assert.equal(obj.apiVersion, 'kustomize.config.k8s.io/v1beta1', file);
      const dir = path.join(DEPLOY, path.dirname(file));
      for (const r of obj.resources as string[]) {
        const p = path.join(dir, r);
        assert.ok(existsSync(p), `${file}: resource ${r} does not exist`);
        if (statSync(p).isDirectory()) assert.ok(existsSync(path.join(p, 'kustomization.yaml')), `${file}: ${r} has no kustomization.yaml`);
        listed.add(path.relative(DEPLOY, p));
      }
    }
    for (const f of new Set(objects.map((d) => d.file))) assert.ok(listed.has(f), `${f} is in no kustomization.yaml`);
    for (const k of ['base', 'jaeger', 'sample']) assert.ok(existsSync(path.join(DEPLOY, k, 'kustomization.yaml')), `deploy/${k}/kustomization.yaml`);
  });

  it('runs the control plane with flags it accepts: --kubernetes, the CA, TokenReview and the webhook', () => {
    const dep = find('Deployment', 'pilotfish-control-plane')!;
    const c = dep.spec.template.spec.containers[0];
    assert.equal(c.image, 'pilotfish:0.1.0');
    assert.equal(c.args[0], 'control-plane');
    const parsed = parseControlPlaneArgs(c.args.slice(1));
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    assert.equal(parsed.options.kubernetes, true);
    assert.equal(parsed.options.xdsAddress, '0.0.0.0:15010');
    assert.equal(parsed.options.secureXdsAddress, '0.0.0.0:15012');
    assert.equal(parsed.options.ca?.k8sApiServer, 'https://kubernetes.default.svc');
    for (const f of ['--webhook-address=0.0.0.0:15017', '--webhook-cert=/etc/pilotfish/webhook/tls.crt', '--webhook-key=/etc/pilotfish/webhook/tls.key']) assert.ok(c.args.includes(f), f);
    assert.deepEqual(c.ports.map((p: { containerPort: number }) => p.containerPort), [15010, 15012, 15014, 15017]);
    const svc = find('Service', 'pilotfish-control-plane')!;
    assert.deepEqual(svc.spec.ports.map((p: { port: number }) => p.port), [15010, 15012, 15014, 443]);
    assert.equal(dep.spec.template.spec.serviceAccountName, 'pilotfish-control-plane');
  });

  it('grants list and watch on every kind the control plane watches, and TokenReview create', () => {
    const rules = find('ClusterRole', 'pilotfish-control-plane')!.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const can = (group: string, resource: string, verb: string) => rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    for (const k of WATCHED_KINDS) {
      const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/([^/]+)$/.exec(k.path)!;
      for (const verb of ['list', 'watch']) assert.ok(can(m[1] ?? '', m[2], verb), `${verb} ${m[2]}.${m[1] ?? ''}`);
    }
    assert.ok(can('authentication.k8s.io', 'tokenreviews', 'create'));
    const binding = find('ClusterRoleBinding', 'pilotfish-control-plane')!;
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'pilotfish-control-plane', namespace: 'pilotfish-system' }]);
  });

  it('registers the injection webhook as the control plane serves it', () => {
    const wh = find('MutatingWebhookConfiguration', 'pilotfish-sidecar-injector')!.webhooks[0];
    assert.deepEqual(wh.namespaceSelector, { matchLabels: { 'pilotfish-injection': 'enabled' } });
    assert.equal(wh.failurePolicy, 'Ignore');
    assert.equal(wh.sideEffects, 'None');
    assert.deepEqual(wh.admissionReviewVersions, ['v1']);
    assert.deepEqual(wh.clientConfig.service, { name: 'pilotfish-control-plane', namespace: 'pilotfish-system', path: '/inject', port: 443 });
    assert.equal(find('Namespace', 'pilotfish-demo')!.metadata.labels?.['pilotfish-injection'], 'enabled');
  });

  it('defines the CRDs at the group, version and plural the control plane watches', () => {
    for (const k of WATCHED_KINDS.filter((w) => w.apiVersion.startsWith('pilotfish.io/'))) {
      const plural = k.path.slice(k.path.lastIndexOf('/') + 1);
      const crd = find('CustomResourceDefinition', `${plural}.pilotfish.io`);
      assert.ok(crd, `CRD ${plural}.pilotfish.io`);
      assert.equal(crd.spec.names.kind, k.kind);
      assert.equal(`${crd.spec.group}/${crd.spec.versions[0].name}`, k.apiVersion);
      assert.equal(crd.spec.scope, 'Namespaced');
    }
  });

  it('validates every TrafficPolicy (deploy/sample, src/demo/mesh, xds/POLICY.md examples) against the CRD schema', () => {
    const policies: { where: string; obj: unknown }[] = objects.filter((d) => d.obj.kind === 'TrafficPolicy').map((d) => ({ where: `deploy/${d.file}`, obj: d.obj }));
    const demo = path.resolve(DEPLOY, '../src/demo/mesh');
    for (const f of readdirSync(demo).filter((n) => n.endsWith('.yaml'))) {
      for (const d of YAML.parseAllDocuments(readFileSync(path.join(demo, f), 'utf8')) as YAML.Document[]) {
        const o = d.toJS() as Obj;
        if (o?.kind === 'TrafficPolicy') policies.push({ where: `src/demo/mesh/${f}`, obj: o });
      }
    }
    const md = readFileSync(path.resolve(DEPLOY, '../xds/POLICY.md'), 'utf8');
    for (const block of md.matchAll(/```yaml\n([\s\S]*?)```/g)) {
      if (!/^kind: TrafficPolicy$/m.test(block[1])) continue;
      for (const d of YAML.parseAllDocuments(block[1]) as YAML.Document[]) {
        const o = d.toJS() as Obj;
        if (o?.kind === 'TrafficPolicy') policies.push({ where: `xds/POLICY.md ${o.metadata?.name}`, obj: o });
      }
    }
    assert.ok(policies.length >= 5, `${policies.length} policies`);
    for (const p of policies) assert.deepEqual(validateStructural(policySchema, p.obj), [], p.where);
    // The schema does refuse what it should.
    const bad = { apiVersion: 'pilotfish.io/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 'x' }, spec: { targetRef: { name: 'x' }, timeout: '3 seconds', retry: { attempts: 101 }, mtls: { mode: 'ON' } } };
    assert.deepEqual(validateStructural(policySchema, bad).map((e) => e.split(':')[0]).sort(), ['spec.mtls.mode', 'spec.retry.attempts', 'spec.timeout']);
  });

  it('compiles the sample mesh (Services, TrafficPolicies, HTTPRoute) with the control plane\'s input compiler', () => {
    const docs: RawDoc[] = objects
      .filter((d) => ['Service', 'TrafficPolicy', 'HTTPRoute'].includes(d.obj.kind) && d.file.startsWith('sample/'))
      .map((d) => ({ src: { file: d.file, doc: d.doc }, value: d.obj }));
    const r = compileMesh(docs);
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatInputError).join('\n'));
    assert.deepEqual([...r.model.services.keys()].sort(), ['pilotfish-demo/frontend', 'pilotfish-demo/orders', 'pilotfish-demo/payments']);
    assert.equal(r.model.policies.get('pilotfish-demo/orders')?.mtls?.mode, 'STRICT');
    assert.equal(r.model.routes.length, 1);
    // The sample's workloads run as the service accounts the payments policy names.
    const payments = r.model.policies.get('pilotfish-demo/payments')!;
    assert.deepEqual(payments.authorization?.[0].rules[0].from[0].serviceAccounts, ['frontend']);
    assert.equal(find('Deployment', 'frontend')!.spec.template.spec.serviceAccountName, 'frontend');
  });
});
