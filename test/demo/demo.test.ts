// Runs the demo mesh in one-shot mode on a free port range and checks every request got answers from orders and payments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { planPorts, portList, PORT_SPAN } from '../../src/demo/mesh-config.ts';
import { isPortFree } from '../../src/demo/ports.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PILOTFISH = process.env.PILOTFISH_BIN ?? `${ROOT}bin/pilotfish`;

/** A base port whose whole range is free right now (random start so parallel runs rarely collide). */
async function freeBase(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20000 + PORT_SPAN * Math.floor(Math.random() * 390);
    const checks = await Promise.all(portList(planPorts(base)).map((p) => isPortFree(p.port)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error('no free port range found');
}

test('demo mesh answers every request through the sidecars', { skip: !fs.existsSync(PILOTFISH) && `${PILOTFISH} not built yet`, timeout: 120_000 }, async (t) => {
  const base = await freeBase();
  const child = spawn(process.execPath, [`${ROOT}src/demo/main.ts`, '--once'], {
    env: { ...process.env, PILOTFISH_DEMO_BASE_PORT: String(base), PILOTFISH_DEMO_ONESHOT: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM'); });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d; });
  child.stderr.on('data', (d: Buffer) => { out += d; });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));

  assert.equal(code, 0, `demo exited ${code}; output:\n${out}`);
  const line = out.split('\n').find((l) => l.startsWith('summary: '));
  assert.ok(line, `no summary line in output:\n${out}`);
  const summary = JSON.parse(line.slice('summary: '.length)) as { requests: number; succeeded: number; orders: number; payments: number; statuses: Record<string, number> };
  assert.ok(summary.requests > 0);
  assert.equal(summary.succeeded, summary.requests, out);
  assert.equal(summary.orders, summary.requests, 'frontend got an orders answer for every request');
  assert.equal(summary.payments, summary.requests, 'frontend got a payments answer for every request');
  assert.deepEqual(summary.statuses, { '200': summary.requests });
  assert.match(out, new RegExp(`RESULT: ${summary.requests}/${summary.requests} requests succeeded`));
  assert.match(out, /\/config_dump/);
});
