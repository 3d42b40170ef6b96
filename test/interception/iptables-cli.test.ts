// `pilotfish iptables` on the command line: --dry-run prints the documented rules, bad flags exit 2 naming flag and value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hostHasIpv6 } from '../../src/interception/iptables-backend.ts';

const BIN = fileURLToPath(new URL('../../bin/pilotfish', import.meta.url));
const golden = (name: string) => readFileSync(new URL(`./golden/${name}`, import.meta.url), 'utf8');

interface Out { code: number | null; stdout: string; stderr: string }

function pilotfish(args: string[], env: Record<string, string> = {}): Promise<Out> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('--dry-run with default flags prints the documented rules (IPv6 too when the host has a global IPv6 address)', async () => {
  const r = await pilotfish(['iptables', '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, golden('default.txt') + (hostHasIpv6() ? golden('default-ipv6.txt') : ''));
  const v4 = await pilotfish(['iptables', '--dry-run', '--ipv6', 'off']);
  assert.equal(v4.stdout, golden('default.txt'));
});

test('--dry-run with a mix of short flags prints the documented rules and warns about dropped sidecar ports', async () => {
  const r = await pilotfish(['iptables', '--dry-run', '-p', '15101', '-z', '15106', '-u', '1500', '-g', '1600', '-b', '8080,9090,15020',
    '-d', '9090', '-o', '3306,5432', '-q', '6379', '-i', '10.0.0.0/8,FD00::/8,192.168.1.7', '-x', '10.96.0.1/12,fd00:0:0::1:0/112',
    '--ipv6', 'on', '--iptables-mode=nft']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, golden('mix.txt'));
  assert.equal(r.stderr, "pilotfish iptables: warning: -b: 15020 not captured: the sidecar's own port(s)\n");
});

test('environment fallbacks apply when the flag is absent', async () => {
  const r = await pilotfish(['iptables', '--dry-run', '--ipv6', 'off'], { PILOTFISH_OUTBOUND_PORT: '16001', PILOTFISH_PROXY_UID: '2000' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /-A PILOTFISH_REDIRECT -p tcp -j REDIRECT --to-ports 16001\n/);
  assert.match(r.stdout, /-m owner --uid-owner 2000 -j RETURN\n/);
  assert.match(r.stdout, /-m owner --gid-owner 2000 -j RETURN\n/);
});

test('bad flag values exit 2 with one line naming the flag and the value', async () => {
  const cases: [string[], string][] = [
    [['-p', '0'], '-p: "0" is not a port (1-65535)'],
    [['--inbound-port', '65536'], '--inbound-port: "65536" is not a port (1-65535)'],
    [['-d', '80,http'], '-d: "http" is not a port (1-65535)'],
    [['--exclude-outbound-ports=22,-1'], '--exclude-outbound-ports: "-1" is not a port (1-65535)'],
    [['-b', '8080,*'], '-b: "*" is not a port (1-65535)'],
    [['-u', 'istio-proxy'], '-u: "istio-proxy" is not a numeric id'],
    [['--proxy-gid', '-5'], '--proxy-gid: "-5" is not a numeric id'],
    [['-i', '10.0.0.0/8,10.300.0.0/16'], '-i: "10.300.0.0/16" is not an IPv4 or IPv6 CIDR (e.g. 10.0.0.0/8, fd00::/64)'],
    [['-x', 'fd00::/200'], '-x: "fd00::/200" is not an IPv4 or IPv6 CIDR (e.g. 10.0.0.0/8, fd00::/64)'],
    [['-x', '*'], `-x: "*" is not allowed (use --outbound-ip-ranges '' to capture nothing by address)`],
    [['--iptables-mode', 'iptables'], '--iptables-mode: "iptables" is not one of auto, legacy, nft'],
    [['--ipv6', 'yes'], '--ipv6: "yes" is not one of auto, on, off'],
    [['--outbound-port'], '--outbound-port requires a value (PORT)'],
    [['--dry-run=yes'], '--dry-run takes no value'],
    [['--redirect-dns'], 'unknown flag --redirect-dns'],
    [['extra'], 'unexpected argument "extra"'],
  ];
  for (const [args, message] of cases) {
    const r = await pilotfish(['iptables', '--dry-run', ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
    assert.equal(r.stderr, `pilotfish iptables: ${message} (see pilotfish iptables --help)\n`);
  }
});

test('--help and the top-level help list the command and its flags', async () => {
  const r = await pilotfish(['iptables', '--help']);
  assert.equal(r.code, 0);
  for (const f of ['-p, --outbound-port', '-z, --inbound-port', '-u, --proxy-uid', '-g, --proxy-gid', '-b, --inbound-ports',
    '-d, --exclude-inbound-ports', '-o, --exclude-outbound-ports', '-q, --include-outbound-ports', '-i, --outbound-ip-ranges',
    '-x, --exclude-outbound-ip-ranges', '--dry-run', '--cleanup', '--iptables-mode', '--ipv6', 'PILOTFISH_INBOUND_PORTS']) {
    assert.ok(r.stdout.includes(f), f);
  }
  assert.equal((await pilotfish(['help', 'iptables'])).stdout, r.stdout);
  assert.match((await pilotfish(['--help'])).stdout, /\n {2}iptables +install the NAT rules/);
});
