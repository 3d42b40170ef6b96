// `pilotfish iptables` applied for real in fresh network namespaces (root only): install, reinstall without
// duplicates, cleanup leaving other rules, backend auto-detection, and traffic actually captured (or not).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { findBinary } from '../../src/interception/iptables-backend.ts';
import { dryRun } from '../../src/interception/iptables-command.ts';
import { parseIptablesArgs } from '../../src/interception/iptables-options.ts';

const BIN = fileURLToPath(new URL('../../bin/pilotfish', import.meta.url));
const LABEL_SERVER = fileURLToPath(new URL('./label-server.ts', import.meta.url));

function missing(tools: string[]): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and iptables)';
  const absent = tools.filter((t) => findBinary(t) === null);
  return absent.length > 0 ? `needs ${absent.join(', ')}` : false;
}

const namespaces: string[] = [];
const processes: ChildProcess[] = [];
after(async () => {
  for (const p of processes) p.kill('SIGKILL');
  for (const ns of namespaces) await sh('ip', ['netns', 'del', ns]);
});

interface Out { code: number; stdout: string; stderr: string }

function sh(file: string, args: string[]): Promise<Out> {
  return new Promise((resolve) => {
    execFile(file, args, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function must(file: string, args: string[]): Promise<string> {
  const r = await sh(file, args);
  assert.equal(r.code, 0, `${file} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function newNamespace(): Promise<string> {
  const ns = `pf-w2-${randomBytes(4).toString('hex')}`;
  await must('ip', ['netns', 'add', ns]);
  namespaces.push(ns);
  await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  return ns;
}

const inNs = (ns: string, file: string, args: string[]) => sh('ip', ['netns', 'exec', ns, file, ...args]);
const pilotfish = (ns: string, args: string[]) => inNs(ns, process.execPath, [BIN, 'iptables', ...args]);

/** The rule lines (-A ...) iptables-save shows for the nat table. */
async function natRules(ns: string, save: string): Promise<string[]> {
  const r = await inNs(ns, save, ['-t', 'nat']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.startsWith('-A '));
}

async function natChains(ns: string, save: string): Promise<string[]> {
  const r = await inNs(ns, save, ['-t', 'nat']);
  return r.stdout.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]);
}

/** The -A lines --dry-run prints for these flags (what must end up installed). */
function expectedRules(args: string[], family: 4 | 6): string[] {
  const r = parseIptablesArgs(args);
  assert.ok(r.ok);
  return dryRun(r.options, [family]).split('\n').filter((l) => l.startsWith('-A '));
}

const sorted = (xs: string[]) => [...xs].sort();

for (const mode of ['legacy', 'nft'] as const) {
  const save4 = `iptables-${mode}-save`;
  const save6 = `ip6tables-${mode}-save`;
  test(`--iptables-mode ${mode}: apply, apply again without duplicates, cleanup leaves unrelated rules`, {
    skip: missing(['ip', save4, `iptables-${mode}-restore`, save6, `ip6tables-${mode}-restore`, `iptables-${mode}`]),
  }, async () => {
    const ns = await newNamespace();
    const flags = ['--iptables-mode', mode, '--ipv6', 'on', '-x', '10.96.0.0/12,fd00::/64', '-d', '9000'];
    const first = await pilotfish(ns, flags);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(sorted(await natRules(ns, save4)), sorted(expectedRules(flags, 4)));
    assert.deepEqual(sorted(await natRules(ns, save6)), sorted(expectedRules(flags, 6)));

    const second = await pilotfish(ns, flags);
    assert.equal(second.code, 0, second.stderr);
    const rules = await natRules(ns, save4);
    assert.deepEqual(sorted(rules), sorted(expectedRules(flags, 4)), 'nothing duplicated');
    assert.equal(rules.filter((l) => l === '-A OUTPUT -p tcp -j PILOTFISH_OUTPUT').length, 1);
    assert.deepEqual(sorted(await natRules(ns, save6)), sorted(expectedRules(flags, 6)));

    // Changed flags replace the rules; a jump no longer wanted (-b '') is removed.
    const changed = [...flags, '-b', '', '-p', '16001'];
    assert.equal((await pilotfish(ns, changed)).code, 0);
    assert.deepEqual(sorted(await natRules(ns, save4)), sorted(expectedRules(changed, 4)));

    await must('ip', ['netns', 'exec', ns, `iptables-${mode}`, '-w', '-t', 'nat', '-A', 'OUTPUT', '-p', 'udp', '--dport', '53', '-j', 'RETURN']);
    await must('ip', ['netns', 'exec', ns, `iptables-${mode}`, '-w', '-t', 'nat', '-N', 'OTHER']);
    await must('ip', ['netns', 'exec', ns, `iptables-${mode}`, '-w', '-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '-j', 'OTHER']);
    const cleanup = await pilotfish(ns, ['--cleanup', '--iptables-mode', mode]);
    assert.equal(cleanup.code, 0, cleanup.stderr);
    assert.deepEqual(await natRules(ns, save4), ['-A PREROUTING -p tcp -j OTHER', '-A OUTPUT -p udp -m udp --dport 53 -j RETURN']);
    assert.ok(!(await natChains(ns, save4)).some((c) => c.startsWith('PILOTFISH')));
    assert.deepEqual(await natRules(ns, save6), []);
    assert.ok(!(await natChains(ns, save6)).some((c) => c.startsWith('PILOTFISH')));

    const again = await pilotfish(ns, ['--cleanup', '--iptables-mode', mode, '--ipv6', 'off']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing to remove/);
  });
}

test('--iptables-mode auto uses the backend that already has rules; --cleanup finds ours in either', {
  skip: missing(['ip', 'iptables-legacy', 'iptables-legacy-save', 'iptables-nft-save', 'iptables-legacy-restore', 'iptables-nft-restore']),
}, async () => {
  const ns = await newNamespace();
  await must('ip', ['netns', 'exec', ns, 'iptables-legacy', '-w', '-t', 'nat', '-A', 'OUTPUT', '-p', 'udp', '-j', 'RETURN']);
  const r = await pilotfish(ns, ['--ipv6', 'off']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /applied with iptables-legacy-restore/);
  assert.ok((await natRules(ns, 'iptables-legacy-save')).includes('-A OUTPUT -p tcp -j PILOTFISH_OUTPUT'));
  assert.deepEqual(await natRules(ns, 'iptables-nft-save'), []);
  const c = await pilotfish(ns, ['--cleanup', '--ipv6', 'off']);
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual(await natRules(ns, 'iptables-legacy-save'), ['-A OUTPUT -p udp -j RETURN']);

  const empty = await newNamespace();
  const n = await pilotfish(empty, ['--ipv6', 'off']);
  assert.equal(n.code, 0, n.stderr);
  assert.match(n.stdout, /applied with iptables-nft-restore/, 'no rules anywhere: nft');
});

test('no iptables binary: a clear error, exit 1', { skip: missing(['unshare', 'mount']) }, async () => {
  // A private mount namespace with empty sbin directories and a PATH without iptables.
  const script = 'for d in /usr/local/sbin /usr/sbin /sbin; do [ -d "$d" ] && [ ! -L "$d" ] && mount -t tmpfs none "$d"; done; '
    + `PATH=/nonexistent exec "${process.execPath}" "${BIN}" iptables --iptables-mode auto --ipv6 off`;
  const r = await sh('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^pilotfish iptables: no iptables binary found: looked for iptables-nft-restore, iptables-legacy-restore and iptables-restore/);
});

function startServers(ns: string, specs: string[]): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, LABEL_SERVER, ...specs], { stdio: ['ignore', 'pipe', 'inherit'] });
  processes.push(child);
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`label server in ${ns} exited ${code}`)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { if (d.includes('ready')) resolve(); });
  });
}

/** Connects with bash's /dev/tcp (optionally as another user) and returns what the server answered. */
async function connect(ns: string, host: string, port: number, uid?: number): Promise<string> {
  const bash = ['bash', '-c', `exec 3<>/dev/tcp/${host}/${port} && cat <&3`];
  const cmd = uid === undefined ? bash : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...bash];
  const r = await inNs(ns, cmd[0], cmd.slice(1));
  assert.equal(r.code, 0, `connect ${host}:${port} from ${ns}${uid === undefined ? '' : ` as uid ${uid}`}: ${r.stderr}`);
  return r.stdout.trim();
}

for (const mode of ['nft', 'legacy'] as const) {
  test(`traffic (${mode}): the app's outbound and inbound TCP reach the capture ports; the proxy uid, excluded ports and loopback do not`, {
    skip: missing(['ip', `iptables-${mode}-restore`, `iptables-${mode}-save`, `ip6tables-${mode}-restore`, `ip6tables-${mode}-save`, 'bash', 'setpriv', 'curl']),
  }, async () => {
    const pod = await newNamespace();
    const outside = await newNamespace();
    const [va, vb] = [`pfa${pod.slice(-8)}`, `pfb${pod.slice(-8)}`];
    await must('ip', ['-n', pod, 'link', 'add', va, 'type', 'veth', 'peer', 'name', vb, 'netns', outside]);
    await must('ip', ['-n', pod, 'addr', 'add', '10.255.0.2/24', 'dev', va]);
    await must('ip', ['-n', outside, 'addr', 'add', '10.255.0.1/24', 'dev', vb]);
    await must('ip', ['-n', pod, 'addr', 'add', 'fd00:255::2/64', 'dev', va, 'nodad']);
    await must('ip', ['-n', outside, 'addr', 'add', 'fd00:255::1/64', 'dev', vb, 'nodad']);
    await must('ip', ['-n', pod, 'link', 'set', va, 'up']);
    await must('ip', ['-n', outside, 'link', 'set', vb, 'up']);

    const r = await pilotfish(pod, ['--iptables-mode', mode, '--ipv6', 'on', '-o', '81']);
    assert.equal(r.code, 0, r.stderr);
    await Promise.all([
      startServers(pod, ['127.0.0.1:15001=outbound-capture', '[::1]:15001=outbound-capture-v6', '[::]:15006=inbound-capture',
        '0.0.0.0:15021=sidecar-status', '0.0.0.0:8080=app']),
      startServers(outside, ['[::]:80=outside-80', '0.0.0.0:81=outside-81']),
    ]);

    assert.equal(await connect(pod, '10.255.0.1', 80), 'outbound-capture', 'app → outside is captured');
    assert.equal(await connect(pod, '10.255.0.1', 80, 1337), 'outside-80', 'the proxy uid goes out as is');
    assert.equal(await connect(pod, '10.255.0.1', 81), 'outside-81', 'an excluded outbound port goes out as is');
    assert.equal(await connect(pod, '127.0.0.1', 8080), 'app', 'loopback is not captured');
    assert.equal(await connect(pod, '10.255.0.2', 8080), 'app', 'the app calling its own pod address (over lo) is not captured');
    assert.equal(await connect(pod, '10.255.0.2', 8080, 1337), 'inbound-capture', 'the sidecar calling its own pod address goes through inbound capture');
    // Istio's inbound passthrough convention: the sidecar connects to its pod's address from 127.0.0.6, not captured.
    const passthrough = await inNs(pod, 'setpriv', ['--reuid=1337', '--regid=1337', '--clear-groups',
      'curl', '-sS', '--http0.9', '--interface', '127.0.0.6', 'http://10.255.0.2:8080/']);
    assert.equal(passthrough.stdout.trim(), 'app', `uid 1337 from 127.0.0.6 to the pod address: ${passthrough.stderr}`);
    assert.equal(await connect(outside, '10.255.0.2', 8080), 'inbound-capture', 'inbound to an app port is captured');
    assert.equal(await connect(outside, '10.255.0.2', 15021), 'sidecar-status', "the sidecar's own ports are not captured");
    assert.equal(await connect(pod, 'fd00:255::1', 80), 'outbound-capture-v6', 'IPv6: app → outside is captured');
    assert.equal(await connect(pod, 'fd00:255::1', 80, 1337), 'outside-80', 'IPv6: the proxy uid goes out as is');
    assert.equal(await connect(outside, 'fd00:255::2', 8080), 'inbound-capture', 'IPv6: inbound is captured');
  });
}
