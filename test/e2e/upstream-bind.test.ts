// Cluster.upstream_bind_config end to end: the upstream sees connections from the bound source address (127.0.0.6) over HTTP/1, HTTP/2, tcp_proxy and health checks.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, http2Upstream, httpConnectionManager, listener, route, staticCluster, tcpProxy } from '../helpers/bootstrap.ts';
import { send } from '../helpers/http-client.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { pollUntil, withTimeout } from '../helpers/wait.ts';

const T = { timeout: 60_000 };
/** Loopback accepts any 127/8 source, so a server on 127.0.0.1 sees the bound address as the peer. */
const SOURCE = '127.0.0.6';
const BIND = { upstream_bind_config: { source_address: { address: SOURCE, port_value: 0 } } };

let sc: Sidecar | undefined;
let h1: http.Server;
let h2: http2.Http2Server;
let tcp: net.Server;
/** Only TCP health checks connect here. */
let tcpChecked: net.Server;
/** Peers of the health-check requests the HTTP/1 server got, and of the TCP health checks. */
const healthPeers: string[] = [];
const tcpCheckPeers: string[] = [];

const peerOf = (s: { remoteAddress?: string }): string => s.remoteAddress ?? '?';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

before(async () => {
  h1 = http.createServer((req, res) => {
    if (req.url === '/healthz') healthPeers.push(peerOf(req.socket));
    res.end(JSON.stringify({ proto: 'h1', peer: peerOf(req.socket) }));
  });
  h2 = http2.createServer((req, res) => res.end(JSON.stringify({ proto: 'h2', peer: peerOf(req.socket) })));
  tcp = net.createServer((s) => s.end(`peer=${peerOf(s)}`));
  tcpChecked = net.createServer((s) => { tcpCheckPeers.push(peerOf(s)); s.end(); });
  const [p1, p2, pt, ptc] = [await listen(h1), await listen(h2), await listen(tcp), await listen(tcpChecked)];
  const every = { timeout: '1s', interval: '0.2s', no_traffic_interval: '0.2s', unhealthy_threshold: 2, healthy_threshold: 1 };
  sc = await startSidecar(bootstrap(
    [
      listener('http', [httpConnectionManager({
        virtualHosts: [{ name: 'all', domains: ['*'], routes: [
          route({ prefix: '/h1' }, 'h1'), route({ prefix: '/h2' }, 'h2'), route({ prefix: '/plain' }, 'plain'), route({ prefix: '/checked' }, 'checked'),
        ] }],
      })]),
      listener('tcp', [tcpProxy('tcp')]),
    ],
    [
      staticCluster('h1', [p1], BIND),
      staticCluster('h2', [p2], { ...BIND, ...http2Upstream() }),
      staticCluster('tcp', [pt], BIND),
      staticCluster('plain', [p1]),
      staticCluster('checked', [p1], { ...BIND, health_checks: [{ ...every, http_health_check: { path: '/healthz' } }] }),
      staticCluster('tcp_checked', [ptc], { ...BIND, health_checks: [{ ...every, tcp_health_check: {} }] }),
    ],
  ));
});

after(async () => {
  await sc?.stop();
  h1?.closeAllConnections();
  h2?.close();
  await Promise.all([h1, tcp, tcpChecked].map((s) => new Promise((r) => s?.close(r))));
});

test('HTTP/1 (undici pool) connects from the bound source address; a cluster without it does not', T, async () => {
  const bound = await send(`${sc!.url('http')}/h1`);
  assert.deepEqual(JSON.parse(bound.text), { proto: 'h1', peer: SOURCE });
  const plain = await send(`${sc!.url('http')}/plain`);
  assert.deepEqual(JSON.parse(plain.text), { proto: 'h1', peer: '127.0.0.1' });
});

test('HTTP/2 (node:http2 pool) connects from the bound source address', T, async () => {
  const r = await send(`${sc!.url('http')}/h2`);
  assert.deepEqual(JSON.parse(r.text), { proto: 'h2', peer: SOURCE });
});

test('tcp_proxy connects from the bound source address', T, async () => {
  const s = net.connect({ port: sc!.port('tcp'), host: '127.0.0.1' });
  const got = await withTimeout(new Promise<string>((resolve, reject) => {
    let data = '';
    s.on('data', (d: Buffer) => { data += d.toString('utf8'); });
    s.once('end', () => resolve(data));
    s.once('error', reject);
  }), 20_000, 'the tcp upstream to answer');
  s.destroy();
  assert.equal(got, `peer=${SOURCE}`);
});

test('active health checks connect from the bound source address too', T, async () => {
  await pollUntil(() => healthPeers.length > 0, { timeoutMs: 20_000, intervalMs: 50, what: 'a health check request' });
  assert.deepEqual([...new Set(healthPeers)], [SOURCE]);
  const r = await send(`${sc!.url('http')}/checked`);
  assert.deepEqual(JSON.parse(r.text), { proto: 'h1', peer: SOURCE });
  await pollUntil(() => tcpCheckPeers.length > 0, { timeoutMs: 20_000, intervalMs: 50, what: 'a TCP health check connection' });
  assert.deepEqual([...new Set(tcpCheckPeers)], [SOURCE]);
});
