// The Dockerfile's steps run as a script in a temporary folder (no Docker engine here); the packaged app starts from the image's entrypoint.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { dockerignore, folderBytes, parseDockerfile, runDockerfile } from './dockerfile-script.ts';

const REPO = new URL('../..', import.meta.url).pathname;
const NODE_DIR = path.dirname(process.execPath);
const NPM = existsSync(path.join(NODE_DIR, 'npm')) ? path.join(NODE_DIR, 'npm') : 'npm';
const MB = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

it('the Dockerfile is multi-stage on Node 24 slim, installs iptables, runs as uid 1337 with entrypoint pilotfish', () => {
  const steps = parseDockerfile(readFileSync(path.join(REPO, 'Dockerfile'), 'utf8'));
  const froms = steps.filter((s) => s.op === 'FROM').map((s) => s.args);
  assert.equal(froms.length, 2);
  assert.ok(froms.every((f) => /^node:24-(bookworm-)?slim\b/.test(f)), froms.join(', '));
  const runs = steps.filter((s) => s.op === 'RUN').map((s) => s.args);
  assert.ok(runs.some((r) => /\bnpm ci --omit=dev\b/.test(r)));
  const final = steps.slice(steps.findLastIndex((s) => s.op === 'FROM'));
  assert.ok(final.some((s) => s.op === 'RUN' && /apt-get install .*\biptables\b/.test(s.args)), 'iptables in the runtime stage');
  assert.equal(final.find((s) => s.op === 'USER')?.args, '1337:1337');
  assert.deepEqual(JSON.parse(final.find((s) => s.op === 'ENTRYPOINT')!.args), ['pilotfish']);
  const ignore = dockerignore(readFileSync(path.join(REPO, '.dockerignore'), 'utf8'));
  for (const p of ['src/cli/main.ts', 'xds/control-plane.ts', 'bin/pilotfish', 'package-lock.json', 'xds/ca/ca.proto']) assert.equal(ignore(p), false, p);
  for (const p of ['node_modules/yaml/package.json', 'test/inject/inject.test.ts', '.git/HEAD', 'bench/run.ts', 'src/demo/main.ts', 'README.md', 'docs/injection.md']) assert.equal(ignore(p), true, p);
});

it('builds the image as a script in a temporary folder and starts the packaged pilotfish', { timeout: 240_000 }, (t) => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'pf-image-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  let build;
  try {
    build = runDockerfile(REPO, out, { npm: NPM, npmArgs: ['--prefer-offline'], env: { ...process.env, PATH: `${NODE_DIR}:${process.env.PATH}` } });
  } catch (err) {
    const msg = (err as Error).message;
    if (/ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ENETUNREACH|offline/i.test(msg)) {
      t.skip(`npm registry unreachable, cannot run npm ci: ${msg.split('\n')[0]}`);
      return;
    }
    throw err;
  }
  for (const n of build.notes) t.diagnostic(n);
  assert.equal(build.user, '1337:1337');
  assert.deepEqual(build.entrypoint, ['pilotfish']);
  const app = path.join(build.final, 'app');
  assert.ok(existsSync(path.join(app, 'node_modules', 'yaml')), 'production dependencies installed');
  assert.ok(existsSync(path.join(app, 'node_modules', 'koffi')));
  for (const dev of ['typescript', 'kubernetes-models', 'oidc-provider']) assert.equal(existsSync(path.join(app, 'node_modules', dev)), false, `${dev} is a dev dependency`);
  assert.equal(existsSync(path.join(app, 'test')), false);
  assert.equal(existsSync(path.join(app, 'src', 'demo')), false);

  // ENTRYPOINT ["pilotfish"]: found on PATH (/usr/local/bin in the image).
  const env = { ...process.env, PATH: `${path.join(build.final, 'usr/local/bin')}:${NODE_DIR}:/usr/bin:/bin`, HOME: out };
  const cwd = os.tmpdir();
  const version = spawnSync('pilotfish', ['--version'], { env, cwd, encoding: 'utf8' });
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^pilotfish version \d+\.\d+\.\d+/);

  const bootstrap = path.join(out, 'envoy.yaml');
  writeFileSync(bootstrap, `static_resources:
  listeners:
  - name: ingress
    address: { socket_address: { address: 0.0.0.0, port_value: 10000 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            virtual_hosts: [{ name: all, domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: app } }] }]
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  clusters:
  - name: app
    type: STATIC
    load_assignment:
      cluster_name: app
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8080 } } } }] }]
`);
  const validate = spawnSync('pilotfish', ['proxy', '--mode', 'validate', '-c', bootstrap], { env, cwd, encoding: 'utf8' });
  assert.equal(validate.status, 0, `${validate.stdout}${validate.stderr}`);
  const injected = spawnSync('pilotfish', ['inject', '-f', path.join(REPO, 'test/inject/fixtures/workloads.yaml')], { env, cwd, encoding: 'utf8' });
  assert.equal(injected.status, 0, injected.stderr);
  assert.match(injected.stdout, /name: pilotfish-proxy/);
  for (const cmd of [['wait', '--help'], ['control-plane', '--help']]) {
    const r = spawnSync('pilotfish', cmd, { env, cwd, encoding: 'utf8' });
    assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
  }

  const modules = folderBytes(path.join(app, 'node_modules'));
  const total = folderBytes(app);
  t.diagnostic(`image contents over the node:24-slim base: /app ${MB(total)} (node_modules ${MB(modules)}, sources ${MB(total - modules)})`);
  assert.ok(total < 400 * 1024 * 1024, `the app folder is ${MB(total)}`);
});
