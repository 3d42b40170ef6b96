// `pilotfish inject` as a user runs it: files, stdin, -o, several files, and bad input (clear error, nothing written).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Deployment } from 'kubernetes-models/apps/v1';
import { parseAllDocuments } from 'yaml';

const BIN = new URL('../../bin/pilotfish', import.meta.url).pathname;
const FIXTURE = new URL('./fixtures/workloads.yaml', import.meta.url).pathname;
const dir = mkdtempSync(path.join(os.tmpdir(), 'pf-inject-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c; });
    child.stderr.on('data', (c: Buffer) => { stderr += c; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 8080
`;

describe('pilotfish inject (CLI)', () => {
  it('reads a file and writes the injected manifest to stdout', async () => {
    const r = await run(['inject', '-f', FIXTURE, '--image', 'example/pilotfish:1', '--xds-address', 'cp.mesh:15010']);
    assert.equal(r.code, 0, r.stderr);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    assert.equal(docs.length, 9);
    const dep = docs.find((d) => d.kind === 'Deployment');
    new Deployment(dep).validate();
    assert.equal(dep.spec.template.spec.initContainers[1].image, 'example/pilotfish:1');
    assert.equal(dep.spec.template.spec.initContainers[1].env.find((e: { name: string }) => e.name === 'PILOTFISH_XDS_ADDRESS').value, 'cp.mesh:15010');
  });

  it('reads stdin (-f -), writes -o FILE, and --native-sidecar=false puts the proxy first in containers', async () => {
    const out = path.join(dir, 'out.yaml');
    const r = await run(['inject', '-f', '-', '-o', out, '--native-sidecar=false'], DEPLOYMENT);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const dep = parseAllDocuments(readFileSync(out, 'utf8'))[0].toJS();
    new Deployment(dep).validate();
    assert.deepEqual(dep.spec.template.spec.containers.map((c: { name: string }) => c.name), ['pilotfish-proxy', 'web']);
    // Idempotent through the CLI as well.
    const again = await run(['inject', '-f', out, '--native-sidecar=false']);
    assert.equal(again.stdout, readFileSync(out, 'utf8'));
    assert.match(again.stderr, /skipped Deployment "web": already injected/);
  });

  it('joins several files into one multi-document stream', async () => {
    const a = path.join(dir, 'a.yaml');
    writeFileSync(a, DEPLOYMENT);
    const r = await run(['inject', '-f', a, '-f', a]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parseAllDocuments(r.stdout).length, 2);
  });

  it('reports skipped host-network pods on stderr and leaves them unchanged', async () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: node-exporter\nspec:\n  hostNetwork: true\n  containers:\n  - name: e\n    image: prom/node-exporter\n';
    const r = await run(['inject', '-f', '-'], pod);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, pod);
    assert.match(r.stderr, /skipped Pod "node-exporter": uses the host network/);
  });

  it('fails with a clear error and writes nothing on bad input', async () => {
    const out = path.join(dir, 'never.yaml');
    const notK8s = await run(['inject', '-f', '-', '-o', out], 'hello: world\n');
    assert.equal(notK8s.code, 1);
    assert.match(notK8s.stderr, /stdin document 1: not a Kubernetes object \(no kind\)/);
    assert.equal(existsSync(out), false);
    const clash = await run(['inject', '-f', '-'], DEPLOYMENT.replace('- name: web', '- name: pilotfish-proxy'));
    assert.equal(clash.code, 1);
    assert.equal(clash.stdout, '');
    assert.match(clash.stderr, /already named "pilotfish-proxy"/);
    const notYaml = await run(['inject', '-f', '-'], 'kind: Pod\n  bad: [indent\n');
    assert.equal(notYaml.code, 1);
    assert.match(notYaml.stderr, /not YAML/);
    const missing = await run(['inject', '-f', path.join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope\.yaml: ENOENT/);
    const usage = await run(['inject']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /at least one -f FILE/);
  });
});
