// The CA flags of `pilotfish control-plane`, and the command run as a process: it starts the CA by default and refuses an exposed key.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { CertificateAuthority } from '../../xds/ca/authority.ts';
import { caOptionsFromArgs, parseDuration } from '../../xds/ca/ca-args.ts';
import { ROOT_KEY_FILE } from '../../xds/ca/root-store.ts';
import { CONTROL_PLANE_USAGE, parseControlPlaneArgs } from '../../xds/cli.ts';
import { withTimeout } from '../helpers/wait.ts';
import { service } from '../xds-server/fixtures.ts';
import { CaClient } from './ca-client.ts';
import { captureLog, makeCsr, tempDir } from './fixtures.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');

describe('control-plane CA flags', () => {
  it('parses them into options.ca, and leaves it out when none are given', () => {
    const r = parseControlPlaneArgs(['-f', 'x', '--ca-dir', '/s', '--trust-domain=example.org', '--cert-max-ttl', '2h', '--ca-extra-root', 'a.pem', '--ca-extra-root=b.pem', '--token-file', 't.yaml']);
    assert.ok(r.ok);
    assert.deepEqual(r.options.ca, { dir: '/s', trustDomain: 'example.org', certMaxTtlSeconds: 7200, extraRoots: ['a.pem', 'b.pem'], tokenFile: 't.yaml' });
    const k = parseControlPlaneArgs(['-f', 'x', '--ca-cert', 'c.pem', '--ca-key', 'k.pem', '--k8s-api-server', 'https://kubernetes.default.svc', '--token-audience', 'pilotfish-ca', '--k8s-ca-file', 'ca.crt']);
    assert.ok(k.ok);
    assert.deepEqual(caOptionsFromArgs(k.options.ca), {
      trustDomain: undefined, dir: undefined, caCertFile: 'c.pem', caKeyFile: 'k.pem', extraRootFiles: undefined, maxTtlSeconds: undefined, tokenFile: undefined,
      kubernetes: { apiServer: 'https://kubernetes.default.svc', tokenFile: undefined, caFile: 'ca.crt', audiences: ['pilotfish-ca'] },
    });
    const plain = parseControlPlaneArgs(['-f', 'x']);
    assert.ok(plain.ok);
    assert.equal('ca' in plain.options, false);
    assert.deepEqual(caOptionsFromArgs(plain.options.ca), { trustDomain: undefined, dir: undefined, caCertFile: undefined, caKeyFile: undefined, extraRootFiles: undefined, maxTtlSeconds: undefined, tokenFile: undefined, kubernetes: undefined }, 'the CA runs by default');
    const off = parseControlPlaneArgs(['-f', 'x', '--no-ca']);
    assert.ok(off.ok);
    assert.equal(caOptionsFromArgs(off.options.ca), null);
    assert.match(CONTROL_PLANE_USAGE, /--ca-dir DIR/);
  });

  it('refuses bad values and combinations with one line each', () => {
    const table: [string[], RegExp][] = [
      [['--ca-cert', 'c.pem'], /--ca-cert and --ca-key go together/],
      [['--no-ca', '--ca-dir', 'd'], /--no-ca cannot be combined/],
      [['--cert-max-ttl', '1d'], /--cert-max-ttl expects a duration like 24h/],
      [['--cert-max-ttl', '0'], /--cert-max-ttl expects/],
      [['--trust-domain', 'Not Valid'], /--trust-domain: trust domain "Not Valid" may contain only/],
      [['--k8s-api-server', 'kubernetes'], /--k8s-api-server expects an http\(s\) URL/],
      [['--token-audience', 'a'], /need --k8s-api-server/],
      [['--token-file', 't', '--k8s-api-server', 'https://k'], /alternatives/],
      [['--ca-dir'], /--ca-dir needs a path/],
    ];
    for (const [argv, re] of table) {
      const r = parseControlPlaneArgs(['-f', 'x', ...argv]);
      assert.equal(r.ok, false, argv.join(' '));
      if (!r.ok) assert.match(r.error, re, argv.join(' '));
    }
  });

  it('parses durations', () => {
    const table: [string, number | null][] = [['24h', 86400], ['90m', 5400], ['3600s', 3600], ['1h30m', 5400], ['120', 120], ['', null], ['0s', null], ['1d', null], ['h', null]];
    for (const [v, s] of table) assert.equal(parseDuration(v), s, v);
  });
});

function runCp(args: string[]): { child: ReturnType<typeof spawn>; out: () => string; serving: Promise<{ xdsPort: number }> } {
  const script = 'import("./xds/control-plane.ts").then((m) => m.runControlPlaneCommand(process.argv.slice(1))).then((c) => process.exit(c))';
  const child = spawn(process.execPath, ['-e', script, '--', ...args, '--xds-address', '127.0.0.1:0', '--status-address', '127.0.0.1:0'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const serving = new Promise<{ xdsPort: number }>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('control plane serving'));
      if (line) resolve(JSON.parse(line) as { xdsPort: number });
    });
  });
  return { child, out: () => out, serving };
}

describe('control-plane command with the CA', () => {
  it('starts the CA with its flags and signs over the xDS port', async () => {
    const dir = tempDir();
    const input = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(input, service('orders', '[{port: 80}]'));
    const caDir = path.join(dir, 'ca');
    const cp = runCp(['-f', input, '--ca-dir', caDir, '--trust-domain', 'example.org', '--cert-max-ttl', '1h']);
    try {
      const { xdsPort } = await withTimeout(cp.serving, 15_000, `control plane start (output: ${cp.out()})`);
      const tokens = YAML.parse(fs.readFileSync(path.join(caDir, 'tokens.yaml'), 'utf8')) as Record<string, unknown>;
      const client = await CaClient.connect(xdsPort);
      try {
        const res = await client.create(makeCsr('spiffe://example.org/ns/default/sa/orders'), Object.keys(tokens)[0]);
        const leaf = new X509Certificate(res.cert_chain[0]);
        assert.equal(leaf.subjectAltName, 'URI:spiffe://example.org/ns/default/sa/orders');
        assert.ok(leaf.validToDate.getTime() <= Date.now() + 3600_000 + 1000);
      } finally {
        client.close();
      }
    } finally {
      cp.child.kill('SIGTERM');
    }
    const [code] = await withTimeout(once(cp.child, 'exit'), 10_000, 'control plane exit');
    assert.equal(code, 0);
  });

  it('refuses to start when the root key is readable by others, saying why', async () => {
    const dir = tempDir();
    const input = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(input, service('orders', '[{port: 80}]'));
    const caDir = path.join(dir, 'ca');
    fs.mkdirSync(caDir, { mode: 0o700 });
    await CertificateAuthority.open({ dir: caDir, logger: captureLog().logger });
    fs.chmodSync(path.join(caDir, ROOT_KEY_FILE), 0o644);
    const cp = runCp(['-f', input, '--ca-dir', caDir]);
    const [code] = await withTimeout(once(cp.child, 'exit'), 15_000, 'control plane exit');
    assert.equal(code, 1);
    assert.match(cp.out(), /pilotfish control-plane: CA key file .*root-key\.pem has mode 0644: group or others can read it; refusing to use it/);
  });
});
