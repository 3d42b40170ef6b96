// The workload key lives in memory only: a real sidecar gets and renews its certificate without writing a file anywhere it may write.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { bootstrap, socketAddress } from '../helpers/bootstrap.ts';
import { PILOTFISH_BIN, writeBootstrap } from '../helpers/sidecar.ts';
import { withTimeout } from '../helpers/wait.ts';
import { startTestCa, type TestCa } from './ca-server.ts';
import { meshNode, spiffe } from './mesh.ts';

let ca: TestCa;
before(async () => { ca = await startTestCa({ tokens: { 'orders-token-0123456789': spiffe('orders') } }); });
after(() => ca.close());

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => !d.isDirectory()).map((d) => path.join(d.parentPath, d.name));
}

test('no file appears in the sidecar\'s HOME, working directory or TMPDIR while it gets and renews its certificate', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-home-'));
  const config = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-config-'));
  const tokenFile = path.join(config, 'token');
  fs.writeFileSync(tokenFile, 'orders-token-0123456789');
  const configPath = writeBootstrap({ ...bootstrap([], []), admin: { address: socketAddress(0) }, node: meshNode('orders') }, config);
  const child = spawn(process.execPath, [PILOTFISH_BIN, 'proxy', '-c', configPath, '--ca-address', ca.address, '--identity-token-file', tokenFile, '--cert-validity-s', '2'], {
    // bin/pilotfish keeps Node's compile cache (compiled sources, nothing else) in TMPDIR: point it elsewhere.
    cwd: home, env: { ...process.env, HOME: home, TMPDIR: home, TMP: home, TEMP: home, NODE_COMPILE_CACHE: path.join(os.tmpdir(), 'pilotfish-test-compile-cache') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let issued = 0;
  let stderr = '';
  const renewed = new Promise<void>((resolve) => {
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      issued = (stderr.match(/workload certificate issued/g) ?? []).length;
      if (issued >= 2) resolve();
    });
  });
  try {
    await withTimeout(renewed, 20_000, 'a certificate and its renewal');
  } finally {
    child.kill('SIGTERM');
    await withTimeout(exited, 20_000, 'the sidecar to exit').catch(() => child.kill('SIGKILL'));
  }
  try {
    assert.deepEqual(filesUnder(home), [], 'nothing written in HOME / cwd / TMPDIR');
    assert.deepEqual(filesUnder(config).map((f) => path.basename(f)).sort(), ['bootstrap.yaml', 'token']);
    for (const f of filesUnder(config)) assert.doesNotMatch(fs.readFileSync(f, 'utf8'), /PRIVATE KEY/);
    assert.doesNotMatch(stderr, /PRIVATE KEY/, 'the key is not logged either');
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(config, { recursive: true, force: true });
  }
});
