// `pilotfish control-plane` flags, startup refusal of invalid input, and the command run as a real process until SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseControlPlaneArgs } from '../../xds/cli.ts';
import { InvalidInputError, type ReloadOutcome } from '../../xds/control-plane.ts';
import { withTimeout } from '../helpers/wait.ts';
import { getJson, InputDir, nextEvent, service, startCp } from './fixtures.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');

describe('control-plane command', () => {
  const input = new InputDir();
  after(() => input.remove());

  it('parses flags', () => {
    const ok = parseControlPlaneArgs(['-f', 'a.yaml', '--input=dir', '--xds-address', '0.0.0.0:1', '--status-address=[::1]:2', '--log-level', 'DEBUG']);
    assert.deepEqual(ok, { ok: true, options: { inputs: ['a.yaml', 'dir'], xdsAddress: '0.0.0.0:1', statusAddress: '[::1]:2', logLevel: 'debug', help: false } });
    const table: [string[], RegExp][] = [
      [[], /at least one --input/],
      [['-f'], /-f needs a path/],
      [['-f', 'x', '--xds-address', 'nope'], /--xds-address expects host:port/],
      [['-f', 'x', '--log-level', 'loud'], /--log-level must be one of/],
      [['-f', 'x', '--frobnicate'], /unknown flag "--frobnicate"/],
    ];
    for (const [argv, re] of table) {
      const r = parseControlPlaneArgs(argv);
      assert.equal(r.ok, false, argv.join(' '));
      if (!r.ok) assert.match(r.error, re);
    }
    assert.equal(parseControlPlaneArgs(['--help']).ok, true);
  });

  it('refuses to start on invalid input, listing every error', async () => {
    const f = input.write('bad.yaml', `${service('a', '[{port: 80}]')}apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {ports: [{port: 99999}]}\n`);
    await assert.rejects(startCp([f]), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.equal(err.errors.length, 1);
      assert.match(err.message, /bad\.yaml: document 2 \(Service default\/b\): spec\.ports\[0\]\.port: 99999 is out of range/);
      return true;
    });
  });

  it('watches a file input: refuses a bad edit, applies the fixed one', async () => {
    const f = input.write('watched.yaml', service('w', '[{port: 80}]'));
    const cp = await startCp([f], true);
    try {
      let reload = nextEvent<ReloadOutcome>(cp.events, 'reload');
      input.write('watched.yaml', service('w', '[{port: 0}]'));
      const bad = await reload;
      assert.equal(bad.applied, false);
      assert.equal(bad.errors[0].field, 'spec.ports[0].port');
      const cfg = (await getJson(cp.statusPort, '/debug/config')).body;
      assert.equal(cfg.status, 'ERROR');
      assert.equal(cfg.resources.services, 1, 'the last good config is still served');
      reload = nextEvent<ReloadOutcome>(cp.events, 'reload', (o) => o.applied);
      input.write('watched.yaml', service('w', '[{port: 80}]') + service('w2', '[{port: 81}]'));
      const good = await reload;
      assert.equal(good.changed, true);
      assert.equal((await getJson(cp.statusPort, '/debug/config')).body.resources.services, 2);
    } finally {
      await cp.close();
    }
  });

  it('runs as a process, serves status, and exits 0 on SIGTERM', async () => {
    const f = input.write('good.yaml', service('a', '[{port: 80}]'));
    const script = 'import("./xds/control-plane.ts").then((m) => m.runControlPlaneCommand(process.argv.slice(1))).then((c) => process.exit(c))';
    const child = spawn(process.execPath, ['-e', script, '--', '-f', f, '--xds-address', '127.0.0.1:0', '--status-address', '127.0.0.1:0'], {
      cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const serving = new Promise<{ statusPort: number }>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.includes('control plane serving'));
        if (line) resolve(JSON.parse(line) as { statusPort: number });
      });
    });
    const { statusPort } = await withTimeout(serving, 10_000, `control plane start (output: ${out})`);
    const cfg = await getJson(statusPort, '/debug/config');
    assert.equal(cfg.body.status, 'OK');
    assert.equal(cfg.body.resources.services, 1);
    assert.equal((await getJson(statusPort, '/ready')).status, 200);
    assert.equal((await getJson(statusPort, '/nope')).status, 404);
    child.kill('SIGTERM');
    const [code] = await withTimeout(once(child, 'exit'), 10_000, 'control plane exit');
    assert.equal(code, 0);
  });
});
