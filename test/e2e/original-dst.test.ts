// Real NAT: in a network namespace, iptables REDIRECTs an app's connections to the proxy's capture port; SO_ORIGINAL_DST routes them on.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PILOTFISH_BIN } from '../helpers/sidecar.ts';
import { withTimeout } from '../helpers/wait.ts';

/** The sidecar's group: the NAT rules let its own connections out (Istio excludes uid 1337 the same way). */
const PROXY_GID = 1337;
const DUMMY_IP = '10.77.0.2';
const TCP_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const STDOUT_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';

function missing(): string | null {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and iptables)';
  for (const tool of ['ip', 'iptables']) {
    if (spawnSync(tool, ['-V'], { stdio: 'ignore' }).status !== 0) return `needs the ${tool} command`;
  }
  return null;
}

const skip = missing();
const ns = `pf-w1-${randomBytes(4).toString('hex')}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-w1-odst-'));
const children: ChildProcess[] = [];
const proxyOut: string[] = [];
let nsCreated = false;
/** Whether ip6tables NAT works here (the IPv6 test skips otherwise). */
let ipv6Nat: string | null = 'not set up';

function run(args: string[]): void {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr || r.stdout}`);
}

function inNs(args: string[]): void {
  run(['ip', 'netns', 'exec', ns, ...args]);
}

function removeNamespace(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (nsCreated) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  nsCreated = false;
  fs.rmSync(dir, { recursive: true, force: true });
}
process.on('exit', removeNamespace);

/** Starts `node <argv>` inside the namespace; resolves once a stdout or stderr line matches `ready`. Stdout lines go to `lines`. */
function startInNs(name: string, argv: string[], ready: RegExp, opts: { gid?: number; lines?: string[] } = {}): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.gid ? { gid: opts.gid } : {}) });
  children.push(child);
  let err = '';
  return withTimeout(new Promise((resolve, reject) => {
    const watch = (stream: NodeJS.ReadableStream, lines: string[] | undefined): void => {
      let buf = '';
      stream.on('data', (c: Buffer) => {
        buf += c.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          lines?.push(line);
          if (ready.test(line)) resolve(child);
        }
      });
    };
    watch(child.stdout!, opts.lines);
    watch(child.stderr!, undefined);
    child.stderr!.on('data', (c: Buffer) => { if (err.length < 10_000) err += c.toString(); });
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}: ${err}`)));
  }), 60_000, `${name} to start in namespace ${ns}`);
}

const UPSTREAMS = `
import http from 'node:http';
import net from 'node:net';
const serve = (name, host, port) => new Promise((r) => http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ name, local: req.socket.localAddress + ':' + req.socket.localPort }));
}).listen(port, host, r));
await serve('A', '127.0.0.2', 9000);
await serve('B', '${DUMMY_IP}', 9001);
await serve('A6', '::1', 9000);
await new Promise((r) => net.createServer((s) => { s.on('error', () => {}); s.end('greeter C\\n'); }).listen(7002, '127.0.0.1', r));
console.log('READY');
`;

const CLIENT = `
import net from 'node:net';
const [host, port, mode] = process.argv.slice(2);
const s = net.connect(Number(port), host, () => s.write(mode === 'http' ? 'GET / HTTP/1.1\\r\\nHost: ' + host + '\\r\\nConnection: close\\r\\n\\r\\n' : ''));
let d = '';
s.on('data', (c) => (d += c));
s.on('close', () => console.log(JSON.stringify({ data: d })));
s.on('error', (e) => console.log(JSON.stringify({ error: e.code })));
setTimeout(() => { s.destroy(); }, 15000).unref();
`;

function accessLog(prefix: string): object[] {
  const format = `${prefix} %DOWNSTREAM_LOCAL_ADDRESS% %UPSTREAM_HOST% %UPSTREAM_CLUSTER%\n`;
  return [{ name: 'envoy.access_loggers.stdout', typed_config: { '@type': STDOUT_LOG, log_format: { text_format_source: { inline_string: format } } } }];
}

function bootstrapDoc(): object {
  const addr = (address: string, port: number) => ({ socket_address: { address, port_value: port } });
  const hcm = (statPrefix: string, routeTo: object) => ({
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM_TYPE, stat_prefix: statPrefix, access_log: accessLog('HTTP'),
      route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, ...routeTo }] }] },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
    },
  });
  const tcp = (cluster: string) => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_TYPE, stat_prefix: cluster, cluster, access_log: accessLog('TCP') } });
  const originalDst = (name: string) => ({ name, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '5s' });
  return {
    node: { id: 'w1-netns', cluster: 'w1' },
    admin: { address: addr('127.0.0.1', 0) },
    static_resources: {
      listeners: [
        {
          name: 'virtualOutbound', address: addr('0.0.0.0', 15001), use_original_dst: true,
          listener_filters: [{ name: 'envoy.filters.listener.original_dst' }],
          filter_chains: [
            { filter_chain_match: { destination_port: 9003 }, filters: [hcm('chain9003', { direct_response: { status: 200, body: { inline_string: 'chain-9003' } } })] },
            { filter_chain_match: { prefix_ranges: [{ address_prefix: '10.77.0.0', prefix_len: 16 }], destination_port: 9004 }, filters: [hcm('range', { direct_response: { status: 200, body: { inline_string: 'range-10.77' } } })] },
          ],
          default_filter_chain: { filters: [tcp('PassthroughCluster')] },
        },
        {
          // IPv6 capture (ip6tables REDIRECTs here): SO_ORIGINAL_DST at SOL_IPV6.
          name: 'virtualOutbound6', address: addr('::', 15002), use_original_dst: true,
          listener_filters: [{ name: 'envoy.filters.listener.original_dst' }],
          filter_chains: [{ filters: [tcp('PassthroughCluster')] }],
        },
        {
          name: '0.0.0.0_9001', address: addr('0.0.0.0', 9001), bind_to_port: false,
          listener_filters: [{ name: 'envoy.filters.listener.http_inspector' }],
          listener_filters_timeout: '0.1s', continue_on_listener_filters_timeout: true,
          filter_chains: [{ filter_chain_match: { application_protocols: ['http/1.1'] }, filters: [hcm('outbound_9001', { route: { cluster: 'PassthroughHttp' } })] }],
        },
        {
          name: `${DUMMY_IP}_9002`, address: addr(DUMMY_IP, 9002), bind_to_port: false,
          filter_chains: [{ filters: [tcp('greeter')] }],
        },
      ],
      clusters: [
        originalDst('PassthroughCluster'),
        originalDst('PassthroughHttp'),
        { name: 'greeter', type: 'STATIC', connect_timeout: '5s', load_assignment: { cluster_name: 'greeter', endpoints: [{ lb_endpoints: [{ endpoint: { address: addr('127.0.0.1', 7002) } }] }] } },
      ],
    },
  };
}

/** Runs the client inside the namespace (as root, so its connections are redirected) and returns what it read. */
async function client(host: string, port: number, mode: 'http' | 'tcp'): Promise<string> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, path.join(dir, 'client.mjs'), host, String(port), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  await withTimeout(new Promise((r) => child.on('close', r)), 30_000, `client ${host}:${port}`);
  const result = JSON.parse(out.trim()) as { data?: string; error?: string };
  if (result.error) throw new Error(`client ${host}:${port}: ${result.error}`);
  return result.data ?? '';
}

function body(raw: string): string {
  return raw.slice(raw.indexOf('\r\n\r\n') + 4);
}

function waitForLog(pred: (l: string) => boolean): Promise<string> {
  return withTimeout(new Promise((resolve) => {
    const check = (): void => {
      const hit = proxyOut.find(pred);
      if (hit !== undefined) resolve(hit);
      else setTimeout(check, 25);
    };
    check();
  }), 10_000, 'access log line');
}

before(async () => {
  if (skip) return;
  run(['ip', 'netns', 'add', ns]);
  nsCreated = true;
  inNs(['ip', 'link', 'set', 'lo', 'up']);
  inNs(['ip', 'addr', 'add', `${DUMMY_IP}/32`, 'dev', 'lo']);
  // Istio's shape: the proxy's own traffic returns untouched, everything else to the ports goes to the capture port.
  inNs(['iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-m', 'owner', '--gid-owner', String(PROXY_GID), '-j', 'RETURN']);
  inNs(['iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '9000:9004', '-j', 'REDIRECT', '--to-ports', '15001']);
  const v6 = [['ip6tables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-m', 'owner', '--gid-owner', String(PROXY_GID), '-j', 'RETURN'],
    ['ip6tables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '9000', '-j', 'REDIRECT', '--to-ports', '15002']];
  try {
    for (const rule of v6) inNs(rule);
    ipv6Nat = null;
  } catch (err) {
    ipv6Nat = `ip6tables NAT unavailable: ${(err as Error).message.split('\n')[0]}`;
  }
  fs.writeFileSync(path.join(dir, 'upstreams.mjs'), UPSTREAMS);
  fs.writeFileSync(path.join(dir, 'client.mjs'), CLIENT);
  fs.writeFileSync(path.join(dir, 'bootstrap.json'), JSON.stringify(bootstrapDoc()));
  await startInNs('upstreams', [path.join(dir, 'upstreams.mjs')], /^READY$/);
  await startInNs('pilotfish', [PILOTFISH_BIN, 'proxy', '-c', path.join(dir, 'bootstrap.json')], /"msg":"ready"/, { gid: PROXY_GID, lines: proxyOut });
});

after(() => {
  removeNamespace();
});

test('SO_ORIGINAL_DST: a redirected connection to 127.0.0.2:9000 is proxied through the ORIGINAL_DST cluster to its real destination', { skip: skip ?? false }, async () => {
  const raw = await client('127.0.0.2', 9000, 'http');
  assert.deepEqual(JSON.parse(body(raw)), { name: 'A', local: '127.0.0.2:9000' });
  // The sidecar saw the original destination (not 15001) and connected to exactly it.
  const line = await waitForLog((l) => l.startsWith('TCP 127.0.0.2:9000 '));
  assert.equal(line, 'TCP 127.0.0.2:9000 127.0.0.2:9000 PassthroughCluster');
});

test('use_original_dst: the wildcard bind_to_port:false listener 0.0.0.0:9001 gets the connection; its HTTP router uses ORIGINAL_DST', { skip: skip ?? false }, async () => {
  const raw = await client(DUMMY_IP, 9001, 'http');
  assert.deepEqual(JSON.parse(body(raw)), { name: 'B', local: `${DUMMY_IP}:9001` });
  const line = await waitForLog((l) => l.startsWith(`HTTP ${DUMMY_IP}:9001 `));
  assert.equal(line, `HTTP ${DUMMY_IP}:9001 ${DUMMY_IP}:9001 PassthroughHttp`);
});

test('use_original_dst: the listener on exactly the original ip:port wins', { skip: skip ?? false }, async () => {
  assert.equal(await client(DUMMY_IP, 9002, 'tcp'), 'greeter C\n');
});

test('original_dst: filter_chain_match destination_port and prefix_ranges see the original destination', { skip: skip ?? false }, async () => {
  assert.equal(body(await client('127.0.0.2', 9003, 'http')), 'chain-9003');
  assert.equal(body(await client(DUMMY_IP, 9004, 'http')), 'range-10.77');
});

test('SO_ORIGINAL_DST over IPv6 (ip6tables REDIRECT, IP6T_SO_ORIGINAL_DST)', { skip: skip ?? false }, async (t) => {
  if (ipv6Nat !== null) { t.skip(ipv6Nat); return; }
  const raw = await client('::1', 9000, 'http');
  assert.deepEqual(JSON.parse(body(raw)), { name: 'A6', local: '::1:9000' });
  const line = await waitForLog((l) => l.startsWith('TCP [::1]:9000 '));
  assert.equal(line, 'TCP [::1]:9000 [::1]:9000 PassthroughCluster');
});
