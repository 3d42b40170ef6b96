// Tests of the pilotfish command line: help, bad flags, --mode validate, config errors, serve + shutdown, workers, symlinked bin.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { runPilotfish, startSidecar, PILOTFISH_BIN, type Sidecar } from '../helpers/sidecar.ts';
import { bootstrap, directResponse, httpConnectionManager, listener } from '../helpers/bootstrap.ts';
import { send } from '../helpers/http-client.ts';
import { runProxy } from '../../src/cli/proxy-command.ts';
import { mergeConfig } from '../../src/cli/load-config.ts';
import { parseProxyArgs } from '../../src/cli/proxy-args.ts';
import { engines } from './fixtures/fake-engine.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-cli-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

const directBootstrap = bootstrap(
  [listener('ingress', [httpConnectionManager({ accessLog: false, virtualHosts: [{ name: 'all', domains: ['*'], routes: [directResponse({ prefix: '/' }, 200, 'hi')] }] })])],
  [],
);

test('--help and help list the proxy subcommand and exit 0', async () => {
  for (const args of [['--help'], ['help']]) {
    const r = await runPilotfish(args);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: pilotfish/);
    assert.match(r.stdout, /^\s+proxy\s+/m);
  }
  const p = await runPilotfish(['proxy', '--help']);
  assert.equal(p.code, 0);
  for (const flag of ['--config-path', '--config-yaml', '--concurrency', '--log-level', '--admin-address-path', '--drain-time-s', '--mode']) {
    assert.ok(p.stdout.includes(flag), flag);
  }
});

test('bad invocations print one line and exit 2', async () => {
  const cases = [['proxy', '--bogus'], ['proxy', '-c'], ['proxy', '-c', 'x.yaml', '--concurrency', 'zero'], ['proxy', '-c', 'x', '-l', 'loud'], ['proxy'], ['frobnicate'], []];
  for (const args of cases) {
    const r = await runPilotfish(args);
    assert.equal(r.code, 2, args.join(' '));
    if (args.length) assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
  }
});

test('flag parsing: --flag=value, short flags, defaults', () => {
  const r = parseProxyArgs(['-c', 'a.yaml', '--concurrency=4', '-l', 'debug', '--drain-time-s', '0', '--disable-hot-restart']);
  assert.ok(r.ok);
  assert.equal(r.options.configPath, 'a.yaml');
  assert.equal(r.options.concurrency, 4);
  assert.equal(r.options.logLevel, 'debug');
  assert.equal(r.options.drainTimeS, 0);
  const d = parseProxyArgs(['--config-yaml', '{}']);
  assert.ok(d.ok);
  assert.equal(d.options.drainTimeS, 5);
  assert.equal(d.options.concurrency, 1);
});

test('--config-yaml merges over the file like proto MergeFrom', () => {
  assert.deepEqual(
    mergeConfig({ node: { id: 'a', cluster: 'c' }, static_resources: { listeners: [{ name: 'l1' }] } }, { node: { id: 'b' }, static_resources: { listeners: [{ name: 'l2' }] } }),
    { node: { id: 'b', cluster: 'c' }, static_resources: { listeners: [{ name: 'l1' }, { name: 'l2' }] } },
  );
});

test('--mode validate: OK for a good file; errors one per line and exit 1 for a bad one', async () => {
  const good = write('good.json', JSON.stringify(directBootstrap));
  const ok = await runPilotfish(['proxy', '--mode', 'validate', '-c', good]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /OK/);
  const bad = write('bad.yaml', 'static_resources:\n  clusters:\n  - name: c\n    type: NOT_A_TYPE\n    lb_policy: NOPE\n');
  const r = await runPilotfish(['proxy', '--mode', 'validate', '-c', bad]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.ok(lines.length >= 2, r.stderr);
  assert.ok(lines.some((l) => l.includes('cluster "c"') && l.includes('type')), r.stderr);
  const missing = await runPilotfish(['proxy', '--mode', 'validate', '-c', path.join(dir, 'missing.yaml')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read config file/);
});

test('serve with an invalid config exits 1 without starting anything', async () => {
  const bad = write('bad-serve.yaml', 'admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }\nstatic_resources: { listeners: [{ name: l }] }\n');
  const addr = path.join(dir, 'never-written');
  const r = await runPilotfish(['proxy', '-c', bad, '--admin-address-path', addr]);
  assert.equal(r.code, 1);
  assert.ok(r.stderr.trim().length > 0);
  assert.equal(fs.existsSync(addr), false);
});

test('in-process serve: admin address file, /ready LIVE, /quitquitquit drains and resolves 0', async () => {
  const cfg = write('fake.json', JSON.stringify(directBootstrap));
  const addrFile = path.join(dir, 'admin-addr');
  const exit = runProxy(['-c', cfg, '--admin-address-path', addrFile, '--drain-time-s', '2'], {
    engineModule: new URL('./fixtures/fake-engine.ts', import.meta.url).href,
    handleSignals: false,
    logger: pino({ level: 'silent' }),
  });
  let admin = '';
  while (!admin) {
    const done = await Promise.race([exit.then(() => true), new Promise<false>((r) => setImmediate(() => r(false)))]);
    assert.equal(done, false, 'runProxy ended early');
    if (fs.existsSync(addrFile)) admin = `http://${fs.readFileSync(addrFile, 'utf8')}`;
  }
  let ready = await send(`${admin}/ready`);
  while (ready.status !== 200) ready = await send(`${admin}/ready`);
  assert.equal(ready.text, 'LIVE\n');
  const ls = JSON.parse((await send(`${admin}/listeners?format=json`)).text);
  assert.equal(ls.listener_statuses[0].name, 'ingress');
  assert.equal((await send(`${admin}/quitquitquit`, { method: 'POST' })).text, 'OK\n');
  assert.equal(await exit, 0);
  assert.deepEqual(engines.at(-1)?.calls, ['apply', 'drain:2000']);
});

/** Runs `body` against a started sidecar, always stopping it; returns the exit code of the stop. */
async function withSidecar(concurrency: number, body: (sc: Sidecar) => Promise<void>): Promise<number> {
  const sc = await startSidecar(directBootstrap, { concurrency });
  let code = -1;
  try {
    await body(sc);
  } finally {
    code = await sc.stop();
  }
  return code;
}

test('the real binary serves, answers admin, and exits 0 on SIGTERM', async () => {
  const code = await withSidecar(1, async (sc) => {
    assert.equal((await send(`${sc.url('ingress')}/`)).text, 'hi');
    assert.equal(JSON.parse((await send(`${sc.admin}/server_info`)).text).state, 'LIVE');
  });
  assert.equal(code, 0);
});

test('--concurrency 2: workers share the listener, the primary sums their stats, SIGTERM exits 0', async () => {
  const code = await withSidecar(2, async (sc) => {
    for (let i = 0; i < 10; i++) assert.equal((await send(`${sc.url('ingress')}/`)).status, 200);
    const prom = (await send(`${sc.admin}/stats/prometheus`)).text;
    const m = /^envoy_http_downstream_rq_total\{envoy_http_conn_manager_prefix="ingress_http"\} (\d+)$/m.exec(prom);
    assert.equal(m?.[1], '10');
    assert.match(prom, /^envoy_server_concurrency 2$/m);
    assert.equal(JSON.parse((await send(`${sc.admin}/server_info`)).text).command_line_options.concurrency, 2);
  });
  assert.equal(code, 0);
});

test('--concurrency 2: a worker that dies is restarted with a log line', async () => {
  const code = await withSidecar(2, async (sc) => {
    const workerPids = execFileSync('pgrep', ['-P', String(sc.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
    assert.equal(workerPids.length, 2);
    process.kill(workerPids[0], 'SIGKILL');
    await sc.waitForLine((l) => l.includes('worker died; restarting it'), { stream: 'stderr' });
    // node:cluster numbers workers 1, 2, then 3 for the replacement.
    await sc.waitForLine((l) => l.includes('"worker":3') && l.includes('"msg":"worker ready"'), { stream: 'stderr', timeoutMs: 15_000 });
    assert.equal((await send(`${sc.admin}/ready`)).status, 200);
    assert.match((await send(`${sc.admin}/stats`)).text, /^server\.worker_restarts: 1$/m);
    assert.equal((await send(`${sc.url('ingress')}/`)).status, 200);
  });
  assert.equal(code, 0);
});

test('bin/pilotfish works through a node_modules/.bin symlink', async () => {
  const binDir = path.join(dir, 'node_modules', '.bin');
  fs.mkdirSync(binDir, { recursive: true });
  const link = path.join(binDir, 'pilotfish');
  fs.symlinkSync(PILOTFISH_BIN, link);
  const child = spawn(link, ['--help'], { env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` } });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  const code = await new Promise((r) => child.on('close', r));
  assert.equal(code, 0);
  assert.match(out, /proxy/);
});
