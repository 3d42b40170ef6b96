// End-to-end bootstrap validation: each malformed config makes pilotfish exit non-zero with one clear line naming resource and field, before listening; --mode validate.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { stringify } from 'yaml';
import { bootstrap, directResponse, httpConnectionManager, listener, route, socketAddress, staticCluster } from '../helpers/bootstrap.ts';
import { runPilotfish, tempDir, writeBootstrap } from '../helpers/sidecar.ts';

const T = { timeout: 60_000 };
const dir = tempDir();
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const vhosts = (routes: object[]) => [{ name: 'all', domains: ['*'], routes }];
const good = () =>
  bootstrap([listener('ingress', [httpConnectionManager({ virtualHosts: vhosts([route({ prefix: '/' }, 'backend')]) })])], [staticCluster('backend', [1])]);

interface Case {
  name: string;
  config: object | string;
  /** A stderr line must satisfy this: it names the resource and the field. */
  line: (l: string) => boolean;
  expect: string;
}

const cases: Case[] = [
  {
    name: 'YAML syntax error',
    config: 'static_resources:\n  listeners: [ { name: broken,\n    address: {\n',
    line: (l) => /yaml/i.test(l) && /line\s*\d+|\d+:\d+/i.test(l),
    expect: 'a line saying the YAML is malformed, with a line number',
  },
  {
    name: 'route to an unknown cluster',
    config: bootstrap(
      [listener('ingress', [httpConnectionManager({ virtualHosts: vhosts([route({ prefix: '/' }, 'no_such_cluster')]) })])],
      [staticCluster('backend', [1])],
    ),
    line: (l) => (l.includes('ingress') || l.includes('local_route')) && l.includes('route.cluster') && l.includes('no_such_cluster'),
    expect: 'a line naming listener "ingress", field ...route.cluster and the cluster no_such_cluster',
  },
  {
    name: 'duplicate listener names',
    config: bootstrap(
      [
        listener('dup', [httpConnectionManager({ virtualHosts: vhosts([directResponse({ prefix: '/' }, 200, 'one')]) })]),
        listener('dup', [httpConnectionManager({ virtualHosts: vhosts([directResponse({ prefix: '/' }, 200, 'two')]) })]),
      ],
      [],
    ),
    line: (l) => l.includes('dup') && /\bname\b/.test(l) && /duplicate|already|more than once|unique|twice/i.test(l),
    expect: 'a line naming listener "dup", field name, and saying it is a duplicate',
  },
  {
    name: 'invalid safe_regex',
    config: bootstrap(
      [listener('ingress', [httpConnectionManager({ virtualHosts: vhosts([route({ safe_regex: { regex: '/items/(unclosed' } }, 'backend')]) })])],
      [staticCluster('backend', [1])],
    ),
    line: (l) => (l.includes('ingress') || l.includes('local_route')) && l.includes('safe_regex'),
    expect: 'a line naming listener "ingress" and field ...match.safe_regex.regex',
  },
  {
    name: 'port 70000',
    config: (() => {
      const b = bootstrap([listener('big_port', [httpConnectionManager({ virtualHosts: vhosts([directResponse({ prefix: '/' }, 200, 'x')]) })])], []) as {
        static_resources: { listeners: { address: object }[] };
      };
      b.static_resources.listeners[0].address = socketAddress(70000);
      return b;
    })(),
    line: (l) => l.includes('big_port') && l.includes('port_value'),
    expect: 'a line naming listener "big_port" and field address.socket_address.port_value',
  },
];

for (const [i, c] of cases.entries()) {
  test(`bootstrap error: ${c.name} → non-zero exit, one clear line, nothing listening`, T, async () => {
    const file = writeBootstrap(c.config, dir, `bad-${i}.yaml`);
    const addressFile = path.join(dir, `admin-address-${i}`);
    const r = await runPilotfish(['proxy', '-c', file, '--admin-address-path', addressFile, '--concurrency', '1']);
    assert.equal(r.timedOut, false, `pilotfish kept running on a bad config\n${r.stderr}`);
    assert.notEqual(r.code, 0, 'exit code must be non-zero');
    assert.notEqual(r.code, null, `killed by ${r.signal} instead of exiting`);
    const lines = r.stderr.split('\n');
    assert.ok(lines.some(c.line), `expected ${c.expect} on stderr, got:\n${r.stderr.slice(0, 3000)}`);
    assert.ok(!r.stderr.includes('    at '), `a stack trace is not a clear error:\n${r.stderr.slice(0, 3000)}`);
    const addr = fs.existsSync(addressFile) ? fs.readFileSync(addressFile, 'utf8').trim() : '';
    assert.equal(addr, '', 'admin must not have started (admin address written)');
  });
}

test('--mode validate on a good bootstrap exits 0 without serving', T, async () => {
  const file = writeBootstrap(good(), dir, 'good.yaml');
  const addressFile = path.join(dir, 'admin-address-validate');
  const r = await runPilotfish(['proxy', '--mode', 'validate', '-c', file, '--admin-address-path', addressFile]);
  assert.equal(r.timedOut, false, 'validate mode must exit by itself');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.existsSync(addressFile) ? fs.readFileSync(addressFile, 'utf8').trim() : '', '');
});

test('--mode validate on a bad bootstrap exits non-zero with the error line', T, async () => {
  const bad = cases[1];
  const file = path.join(dir, 'bad-validate.yaml');
  fs.writeFileSync(file, typeof bad.config === 'string' ? bad.config : stringify(bad.config));
  const r = await runPilotfish(['proxy', '--mode', 'validate', '-c', file]);
  assert.equal(r.timedOut, false);
  assert.notEqual(r.code, 0);
  assert.notEqual(r.code, null);
  assert.ok(r.stderr.split('\n').some(bad.line), `expected ${bad.expect}, got:\n${r.stderr.slice(0, 3000)}`);
});
