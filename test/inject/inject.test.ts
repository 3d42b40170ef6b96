// Sidecar injection of real-world manifests: every workload kind, probes, annotations, lifecycle modes, idempotence, bad input; outputs validated against the Kubernetes API schemas.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DaemonSet, Deployment, ReplicaSet, StatefulSet } from 'kubernetes-models/apps/v1';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Pod, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { InjectError } from '../../src/inject/pod-settings.ts';
import type { InjectOptions } from '../../src/inject/templates.ts';
import { injectObject } from '../../src/inject/workloads.ts';
import { applyJsonPatch } from '../../src/inject/json-patch.ts';
import { injectManifest } from '../../src/inject/yaml-manifest.ts';
import { parseIptablesArgs } from '../../src/interception/iptables-options.ts';
import { parseSidecarArgs } from '../../src/sidecar/sidecar-args.ts';

const WORKLOADS = readFileSync(new URL('./fixtures/workloads.yaml', import.meta.url), 'utf8');
const OPTS: InjectOptions = { image: 'registry.example/pilotfish:0.1.0', xdsAddress: 'pilotfish-control-plane.pilotfish-system.svc:15010', nativeSidecar: true, tokenAudience: 'pilotfish-ca', version: '0.1.0' };
const LEGACY: InjectOptions = { ...OPTS, nativeSidecar: false };

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const MODELS: Record<string, new (o: Any) => { validate(): void }> = { Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, Service, ConfigMap };

function docs(text: string): Any[] {
  return parseAllDocuments(text).map((d) => d.toJS()).filter((d) => d !== null);
}

/** Validates each document against its Kubernetes API schema (kubernetes-models). */
function validateAll(text: string): Any[] {
  const out = docs(text);
  for (const d of out) {
    const M = MODELS[d.kind];
    assert.ok(M, `no model for ${d.kind}`);
    new M(d).validate();
  }
  return out;
}

function podSpec(d: Any): Any {
  if (d.kind === 'Pod') return d.spec;
  if (d.kind === 'CronJob') return d.spec.jobTemplate.spec.template.spec;
  return d.spec.template.spec;
}

const env = (c: Any, name: string): Any => c.env.find((e: Any) => e.name === name);

describe('pilotfish inject: workloads', () => {
  it('injects every workload kind (native sidecar); other kinds pass through byte for byte; all valid against the API schemas', () => {
    const r = injectManifest(WORKLOADS, OPTS, 'workloads.yaml');
    const out = validateAll(r.text);
    assert.deepEqual(out.map((d) => d.kind), ['Service', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod', 'ConfigMap']);
    assert.equal(r.pods.length, 7);
    assert.ok(r.pods.every((p) => p.outcome.injected), JSON.stringify(r.pods));
    for (const d of out.filter((x) => !['Service', 'ConfigMap'].includes(x.kind))) {
      const spec = podSpec(d);
      assert.equal(spec.initContainers[0].name, 'pilotfish-init', d.kind);
      assert.equal(spec.initContainers[1].name, 'pilotfish-proxy', d.kind);
      assert.equal(spec.initContainers[1].restartPolicy, 'Always');
      assert.ok(spec.initContainers[1].startupProbe, 'native sidecar has a startup probe so the app waits for it');
      assert.ok(!spec.containers.some((c: Any) => c.name.startsWith('pilotfish')), d.kind);
      assert.deepEqual(spec.volumes.filter((v: Any) => v.name.startsWith('pilotfish-')).map((v: Any) => v.name), ['pilotfish-token', 'pilotfish-root-cert', 'pilotfish-tmp']);
    }
    // Untouched documents are copied exactly (comments and formatting included).
    assert.ok(r.text.startsWith(WORKLOADS.slice(0, WORKLOADS.indexOf('---\napiVersion: apps/v1'))));
    assert.ok(r.text.endsWith('kind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  key: value\n'));
  });

  it('injects every workload kind as a regular first container with lifecycle hooks when native sidecars are off', () => {
    const out = validateAll(injectManifest(WORKLOADS, LEGACY).text);
    for (const d of out.filter((x) => !['Service', 'ConfigMap'].includes(x.kind))) {
      const spec = podSpec(d);
      const proxy = spec.containers[0];
      assert.equal(proxy.name, 'pilotfish-proxy');
      assert.equal(proxy.restartPolicy, undefined);
      assert.deepEqual(proxy.lifecycle.postStart.exec.command, ['pilotfish', 'wait', '--url', 'http://localhost:15021/healthz/ready', '--timeout', '60s']);
      const appPorts = spec.containers.slice(1).some((c: Any) => c.ports?.length);
      if (appPorts) assert.deepEqual(proxy.lifecycle.preStop.exec.command.slice(0, 3), ['pilotfish', 'wait', '--ports-closed']);
      else assert.equal(proxy.lifecycle.preStop, undefined, `${d.kind}: no app port to wait for, no preStop`);
      assert.deepEqual(spec.initContainers.map((c: Any) => c.name).filter((n: string) => n.startsWith('pilotfish')), ['pilotfish-init']);
    }
  });

  it('builds the sidecar and init containers of a multi-container Deployment with existing init containers, probes and annotations', () => {
    const dep = docs(injectManifest(WORKLOADS, OPTS).text).find((d) => d.kind === 'Deployment');
    const spec = dep.spec.template.spec;
    assert.deepEqual(spec.initContainers.map((c: Any) => c.name), ['pilotfish-init', 'pilotfish-proxy', 'migrate']);
    assert.deepEqual(spec.containers.map((c: Any) => c.name), ['reviews', 'log-shipper']);
    const [init, proxy] = spec.initContainers;
    assert.deepEqual(init.command, ['pilotfish']);
    assert.deepEqual(init.args, ['iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-g', '1337', '-i', '*', '-b', '*', '-d', '15020,15021,15000',
      '--ipv6', 'off', '-x', '169.254.169.254/32,10.96.0.0/12', '-o', '5432']);
    assert.deepEqual(init.securityContext.capabilities, { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] });
    assert.equal(init.securityContext.runAsUser, 0);
    assert.equal(init.securityContext.runAsNonRoot, false);
    assert.equal(init.image, OPTS.image);

    assert.deepEqual(proxy.args, ['sidecar', '--drain-time-s', '5']);
    assert.deepEqual(proxy.ports.map((p: Any) => p.containerPort), [15001, 15006, 15000, 15020, 15021]);
    assert.deepEqual(proxy.readinessProbe.httpGet, { path: '/healthz/ready', port: 15021, scheme: 'HTTP' });
    assert.deepEqual(proxy.securityContext, {
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, readOnlyRootFilesystem: true, runAsGroup: 1337, runAsNonRoot: true, runAsUser: 1337,
    });
    assert.deepEqual(proxy.resources, { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '1Gi' } });
    assert.equal(env(proxy, 'POD_NAME').valueFrom.fieldRef.fieldPath, 'metadata.name');
    assert.equal(env(proxy, 'POD_NAMESPACE').valueFrom.fieldRef.fieldPath, 'metadata.namespace');
    assert.equal(env(proxy, 'SERVICE_ACCOUNT').valueFrom.fieldRef.fieldPath, 'spec.serviceAccountName');
    assert.equal(env(proxy, 'INSTANCE_IP').valueFrom.fieldRef.fieldPath, 'status.podIP');
    assert.equal(env(proxy, 'PILOTFISH_XDS_ADDRESS').value, OPTS.xdsAddress);
    assert.equal(env(proxy, 'PILOTFISH_SERVICE').value, 'reviews');
    assert.equal(env(proxy, 'PILOTFISH_PORTS').value, 'http=9080,https=9443,metrics=2020');
    assert.equal(env(proxy, 'PILOTFISH_TOKEN_FILE').value, '/var/run/secrets/tokens/pilotfish-token');
    // The control plane's roots (ConfigMap pilotfish-ca-root-cert) verify its TLS port.
    assert.equal(env(proxy, 'PILOTFISH_XDS_ROOT_CERT').value, '/var/run/secrets/pilotfish/root-cert.pem');
    assert.ok(proxy.volumeMounts.some((m: Any) => m.name === 'pilotfish-root-cert' && m.mountPath === '/var/run/secrets/pilotfish' && m.readOnly === true));
    const token = spec.volumes.find((v: Any) => v.name === 'pilotfish-token');
    assert.deepEqual(token.projected.sources[0].serviceAccountToken, { audience: 'pilotfish-ca', expirationSeconds: 43200, path: 'pilotfish-token' });
    assert.deepEqual(proxy.volumeMounts[0], { name: 'pilotfish-token', mountPath: '/var/run/secrets/tokens', readOnly: true });
    assert.deepEqual(spec.volumes.find((v: Any) => v.name === 'pilotfish-root-cert').configMap, { name: 'pilotfish-ca-root-cert' });

    // Probes: HTTP (named port, headers) and TCP go through 15020; exec stays; timing fields are kept.
    const app = spec.containers[0];
    assert.deepEqual(app.livenessProbe, { httpGet: { path: '/app-health/reviews/livez', port: 15020, scheme: 'HTTP' }, initialDelaySeconds: 10, periodSeconds: 5 });
    assert.deepEqual(app.readinessProbe, { timeoutSeconds: 2, httpGet: { path: '/app-health/reviews/readyz', port: 15020, scheme: 'HTTP' } });
    assert.deepEqual(app.startupProbe, { exec: { command: ['cat', '/tmp/started'] } });
    assert.equal(spec.containers[1].readinessProbe.httpGet.path, '/app-health/log-shipper/readyz');
    assert.deepEqual(JSON.parse(env(proxy, 'PILOTFISH_APP_PROBERS').value), {
      '/app-health/reviews/livez': { httpGet: { path: '/health', port: 9080, scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: 'kubelet' }] } },
      '/app-health/reviews/readyz': { tcpSocket: { port: 9080 }, timeoutSeconds: 2 },
      '/app-health/log-shipper/readyz': { httpGet: { path: '/api/v1/health', port: 2020, scheme: 'HTTPS' } },
    });
    // Everything of the app's own is still there.
    assert.equal(app.securityContext.runAsUser, 1000);
    assert.deepEqual(app.env, [{ name: 'LOG_DIR', value: '/tmp/logs' }]);
    assert.equal(dep.spec.template.metadata.annotations['prometheus.io/scrape'], 'true');
    const status = JSON.parse(dep.spec.template.metadata.annotations['sidecar.pilotfish.io/status']);
    assert.deepEqual(status, { initContainers: ['pilotfish-init', 'pilotfish-proxy'], containers: [], volumes: ['pilotfish-token', 'pilotfish-root-cert', 'pilotfish-tmp'], native: true, version: '0.1.0' });
  });

  it('bounds the preStop wait by terminationGracePeriodSeconds (45 s: drain 5 s, wait 39 s)', () => {
    const dep = docs(injectManifest(WORKLOADS, LEGACY).text).find((d) => d.kind === 'Deployment');
    const cmd = dep.spec.template.spec.containers[0].lifecycle.preStop.exec.command;
    assert.deepEqual(cmd, ['pilotfish', 'wait', '--ports-closed', '9080,9443,2020', '--timeout', '39s']);
  });

  it('keeps comments, key order and the document separators of the manifest', () => {
    const text = injectManifest(WORKLOADS, OPTS).text;
    assert.match(text, /app: reviews # the Service's selector/);
    assert.match(text, /^# Real-world-shaped workloads/);
    assert.doesNotMatch(text, /: [&*]a\d/, 'no YAML anchors/aliases for repeated values');
    assert.equal(text.split(/^---$/m).length, WORKLOADS.split(/^---$/m).length);
    const dep = docs(text).find((d) => d.kind === 'Deployment');
    assert.deepEqual(Object.keys(dep), ['apiVersion', 'kind', 'metadata', 'spec']);
    assert.deepEqual(Object.keys(dep.spec.template.spec.containers[0]).slice(0, 4), ['name', 'image', 'imagePullPolicy', 'env']);
  });

  it('is idempotent: injecting the output again changes nothing', () => {
    for (const o of [OPTS, LEGACY]) {
      const once = injectManifest(WORKLOADS, o).text;
      const twice = injectManifest(once, o);
      assert.equal(twice.text, once);
      assert.ok(twice.pods.every((p) => !p.outcome.injected && /already injected/.test(p.outcome.reason)));
    }
  });

  it('handles a List and its items', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [docs(WORKLOADS)[1], docs(WORKLOADS)[0]] };
    const r = injectObject(list, OPTS);
    assert.ok(r.ops.every((op) => op.path.startsWith('/items/0/')));
    const out = applyJsonPatch(list, r.ops) as Any;
    new Deployment(out.items[0]).validate();
    assert.equal(out.items[0].spec.template.spec.initContainers[1].name, 'pilotfish-proxy');
    assert.deepEqual(out.items[1], list.items[1]);
  });
});

describe('pilotfish inject: skipped pods and annotations', () => {
  const pod = (extra: Any = {}, spec: Any = {}): Any => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...extra }, spec: { containers: [{ name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }] }], ...spec },
  });

  it('skips a host-network pod with the reason', () => {
    const r = injectObject(pod({}, { hostNetwork: true }), OPTS);
    assert.equal(r.ops.length, 0);
    assert.match((r.pods[0].outcome as Any).reason, /host network/);
  });

  it('skips pods that opt out by annotation or label', () => {
    for (const meta of [{ annotations: { 'sidecar.pilotfish.io/inject': 'false' } }, { labels: { 'sidecar.pilotfish.io/inject': 'false' } }]) {
      const r = injectObject(pod(meta), OPTS);
      assert.equal(r.ops.length, 0);
      assert.match((r.pods[0].outcome as Any).reason, /opted out/);
    }
  });

  it('honours per-pod ports, ranges, resources, lifecycle mode and probe rewriting', () => {
    const p = pod({ annotations: {
      'traffic.pilotfish.io/includeInboundPorts': '8080',
      'traffic.pilotfish.io/excludeInboundPorts': '9000,9001',
      'traffic.pilotfish.io/includeOutboundIPRanges': '10.0.0.0/8',
      'traffic.pilotfish.io/includeOutboundPorts': '443',
      'sidecar.pilotfish.io/proxyCPU': '50m',
      'sidecar.pilotfish.io/proxyMemoryLimit': '256Mi',
      'sidecar.pilotfish.io/nativeSidecar': 'false',
      'sidecar.pilotfish.io/rewriteAppHTTPProbers': 'false',
    } }, { containers: [{ name: 'app', image: 'a', ports: [{ containerPort: 8080 }], livenessProbe: { httpGet: { path: '/l', port: 8080 } } }] });
    const out = applyJsonPatch(p, injectObject(p, OPTS).ops) as Any;
    new Pod(out).validate();
    assert.deepEqual(out.spec.initContainers[0].args.slice(9), ['-i', '10.0.0.0/8', '-b', '8080', '-d', '15020,15021,15000,9000,9001', '--ipv6', 'off', '-q', '443']);
    const proxy = out.spec.containers[0];
    assert.equal(proxy.name, 'pilotfish-proxy');
    assert.deepEqual(proxy.resources, { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '2', memory: '256Mi' } });
    assert.deepEqual(out.spec.containers[1].livenessProbe, { httpGet: { path: '/l', port: 8080 } });
    assert.equal(env(proxy, 'PILOTFISH_APP_PROBERS'), undefined);
    assert.equal(env(proxy, 'PILOTFISH_PORTS').value, 'port-8080=8080');
  });

  it('names a port whose name another container already declared port-<n>; the sidecar accepts the result', () => {
    // Kubernetes only warns about the duplicate name (e.g. an app and an oauth2-proxy both call their port "http").
    const p = pod({ labels: { app: 'web' } }, { containers: [
      { name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }] },
      { name: 'oauth2-proxy', image: 'oauth2-proxy:7', ports: [{ name: 'http', containerPort: 4180 }, { name: 'metrics', containerPort: 9090 }] },
    ] });
    const out = applyJsonPatch(p, injectObject(p, OPTS).ops) as Any;
    new Pod(out).validate();
    const proxy = out.spec.initContainers[1];
    assert.equal(env(proxy, 'PILOTFISH_PORTS').value, 'http=8080,metrics=9090,port-4180=4180');
    // What the injected sidecar reads from its environment starts it (a duplicate name used to exit 2).
    const parsed = parseSidecarArgs([], { PILOTFISH_XDS_ADDRESS: 'cp:15012', PILOTFISH_SERVICE: env(proxy, 'PILOTFISH_SERVICE').value,
      PILOTFISH_PORTS: env(proxy, 'PILOTFISH_PORTS').value, INSTANCE_IP: '10.0.0.5', PILOTFISH_CA_ADDR: 'none' }, () => false);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    assert.deepEqual(parsed.options.ports, { http: 8080, metrics: 9090, 'port-4180': 4180 });
    assert.deepEqual(parsed.warnings, []);
  });

  it('injects --ipv6 off: the capture listeners are IPv4-only, so no ip6tables REDIRECT on dual-stack pods', () => {
    const p = pod();
    const out = applyJsonPatch(p, injectObject(p, OPTS).ops) as Any;
    const init = out.spec.initContainers[0];
    assert.deepEqual(init.command, ['pilotfish']);
    const r = parseIptablesArgs(init.args.slice(1), {});
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.equal(r.options.ipv6, 'off');
  });

  it('regular-container mode points kubectl at the first app container (kubectl.kubernetes.io/default-container) unless set', () => {
    const dep = docs(injectManifest(WORKLOADS, LEGACY).text).find((d) => d.kind === 'Deployment');
    new Deployment(dep).validate();
    assert.equal(dep.spec.template.spec.containers[0].name, 'pilotfish-proxy');
    assert.equal(dep.spec.template.metadata.annotations['kubectl.kubernetes.io/default-container'], 'reviews');
    // A pod without annotations, one that already names its default container, and a native sidecar (proxy not in containers).
    const bare = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image: 'a' }, { name: 'b', image: 'b' }] } };
    const a = applyJsonPatch(bare, injectObject(bare, LEGACY).ops) as Any;
    new Pod(a).validate();
    assert.equal(a.metadata.annotations['kubectl.kubernetes.io/default-container'], 'app');
    const set = pod({ annotations: { 'kubectl.kubernetes.io/default-container': 'sidecar-x' } });
    const b = applyJsonPatch(set, injectObject(set, LEGACY).ops) as Any;
    new Pod(b).validate();
    assert.equal(b.metadata.annotations['kubectl.kubernetes.io/default-container'], 'sidecar-x');
    const c = applyJsonPatch(pod(), injectObject(pod(), OPTS).ops) as Any;
    assert.equal(c.metadata.annotations?.['kubectl.kubernetes.io/default-container'], undefined);
  });

  it('adds metadata and annotations to a pod that has none', () => {
    const p = { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'app', image: 'a' }] } };
    const out = applyJsonPatch(p, injectObject(p, OPTS).ops) as Any;
    new Pod(out).validate();
    assert.ok(out.metadata.annotations['sidecar.pilotfish.io/status']);
  });
});

describe('pilotfish inject: bad input', () => {
  const throwsInject = (f: () => unknown, re: RegExp) => assert.throws(f, (e: unknown) => e instanceof InjectError && re.test(e.message));

  it('refuses a pod with a container already named like ours but no status annotation', () => {
    for (const spec of [{ containers: [{ name: 'pilotfish-proxy', image: 'x' }] }, { initContainers: [{ name: 'pilotfish-init', image: 'x' }], containers: [{ name: 'a', image: 'b' }] }]) {
      throwsInject(() => injectObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec }, OPTS), /already named "pilotfish-(proxy|init)".*status/);
    }
  });

  it('refuses input that is not Kubernetes YAML, naming the document', () => {
    throwsInject(() => injectManifest('apiVersion: v1\nkind: Pod\n---\nkey: [unclosed\n', OPTS, 'm.yaml'), /m\.yaml.*not YAML/);
    throwsInject(() => injectManifest('just a string\n', OPTS, 'm.yaml'), /m\.yaml document 1: not a Kubernetes object \(.*got string\)/);
    throwsInject(() => injectManifest('- a\n- b\n', OPTS), /not a Kubernetes object.*a list/);
    throwsInject(() => injectManifest('apiVersion: v1\nmetadata: {name: x}\n', OPTS), /no kind/);
    throwsInject(() => injectManifest('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {}\n', OPTS), /Deployment "web" has no spec.template/);
    throwsInject(() => injectManifest('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n', OPTS), /spec.containers is empty/);
  });

  it('refuses a pod reached through a YAML alias, and an alias bomb, naming the document', () => {
    const pod = '&pod {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: app, image: x}]}}';
    throwsInject(() => injectManifest(`apiVersion: v1\nkind: List\nitems:\n- ${pod}\n- *pod\n`, OPTS, 'm.yaml'), /m\.yaml document 1: items\.1 is the YAML alias \*pod/);
    throwsInject(() => injectManifest('x: &s {containers: [{name: app, image: x}]}\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: *s\n', OPTS), /spec is the YAML alias \*s/);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]', 'kind: Pod', ''].join('\n');
    throwsInject(() => injectManifest(bomb, OPTS, 'm.yaml'), /m\.yaml document 1: not usable YAML: Excessive alias count/);
  });

  it('refuses bad annotation values, naming the annotation', () => {
    const p = (k: string, v: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { [k]: v } }, spec: { containers: [{ name: 'a', image: 'b' }] } });
    throwsInject(() => injectObject(p('traffic.pilotfish.io/excludeInboundPorts', '80,http'), OPTS), /excludeInboundPorts: "http" is not a port/);
    throwsInject(() => injectObject(p('traffic.pilotfish.io/excludeOutboundIPRanges', '10.0.0.0/33'), OPTS), /not an IP range/);
    // What pilotfish iptables would refuse in the init container (a zone id) is refused here already.
    throwsInject(() => injectObject(p('traffic.pilotfish.io/excludeOutboundIPRanges', 'fe80::1%eth0'), OPTS), /"fe80::1%eth0" is not an IP range/);
    throwsInject(() => injectObject(p('sidecar.pilotfish.io/proxyMemory', 'lots'), OPTS), /proxyMemory: "lots" is not a Kubernetes quantity/);
    throwsInject(() => injectObject(p('sidecar.pilotfish.io/nativeSidecar', 'yes'), OPTS), /must be "true" or "false"/);
  });
});
