// use_original_dst handoff to bind_to_port:false listeners and ORIGINAL_DST clusters (header override, cleanup, upstream TLS) on real sockets.
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, directResponse, httpConnectionManager, route, socketAddress, staticCluster, tcpProxy } from '../helpers/bootstrap.ts';
import { generateCert, type TestCert } from '../helpers/certs.ts';
import { startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { startTcpEcho, type SocketUpstream } from '../helpers/socket-upstreams.ts';
import { pollUntil, withTimeout } from '../helpers/wait.ts';
import { freePort, listenerFilter, startEngine, startGreeter, talk, type TestEngine } from './engine-fixture.ts';

const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

function originalDstCluster(name: string, extra: Record<string, unknown> = {}): object {
  return {
    name, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '2s',
    original_dst_lb_config: { use_http_header: true }, cleanup_interval: '0.2s', ...extra,
  };
}

function upstreamTls(cert: TestCert, san: string): Record<string, unknown> {
  return {
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': UPSTREAM_TLS,
        sni: san,
        common_tls_context: {
          validation_context: {
            trusted_ca: { inline_string: cert.cert },
            match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: san } }],
          },
        },
      },
    },
  };
}

function get(port: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return withTimeout(new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/od', headers, agent: false }, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
    }).on('error', reject);
  }), 10_000, 'HTTP response');
}

let echo: SocketUpstream;
let greeter: Awaited<ReturnType<typeof startGreeter>>;
let web: HttpUpstream;
let cert: TestCert;
let secure: https.Server;
let securePort: number;
let px: TestEngine;
let capturePort: number;
let doc: (withVirtual: boolean, useOriginalDst: boolean) => object;

before(async () => {
  echo = await startTcpEcho();
  greeter = await startGreeter('virtual');
  web = await startHttpEcho('web');
  cert = generateCert({ commonName: 'good.example', dnsNames: ['good.example'] });
  secure = https.createServer({ cert: cert.cert, key: cert.key }, (_req, res) => res.end('tls-upstream'));
  await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
  securePort = (secure.address() as net.AddressInfo).port;
  const unbound = await freePort();
  doc = (withVirtual, useOriginalDst) => bootstrap([
    {
      name: 'capture', address: socketAddress(0, '0.0.0.0'), use_original_dst: useOriginalDst,
      filter_chains: [{ filters: [tcpProxy('echo')] }],
    },
    ...(withVirtual ? [{
      name: 'virtual', address: socketAddress(capturePort, '127.0.0.1'), bind_to_port: false,
      listener_filters: [listenerFilter('tls'), listenerFilter('http')],
      listener_filters_timeout: '0.1s', continue_on_listener_filters_timeout: true,
      filter_chains: [{ filters: [tcpProxy('greeter')] }],
    }] : []),
    {
      name: 'unbound', address: socketAddress(unbound), bind_to_port: false,
      filter_chains: [{ filters: [tcpProxy('echo')] }],
    },
    {
      name: 'egress', address: socketAddress(0),
      filter_chains: [{
        filters: [httpConnectionManager({
          accessLog: false,
          virtualHosts: [{
            name: 'all', domains: ['*'], routes: [
              route({ prefix: '/od' }, 'passthrough', {}, { match: { prefix: '/od', headers: [{ name: 'x-tls', present_match: false }] } }),
              route({ prefix: '/od', headers: [{ name: 'x-tls', string_match: { exact: 'good' } }] }, 'passthrough-tls'),
              route({ prefix: '/od', headers: [{ name: 'x-tls', string_match: { exact: 'bad' } }] }, 'passthrough-tls-bad'),
              directResponse({ prefix: '/' }, 404),
            ],
          }],
        })],
      }],
    },
  ], [
    staticCluster('echo', [echo.port]),
    staticCluster('greeter', [greeter.port]),
    originalDstCluster('passthrough'),
    originalDstCluster('passthrough-tls', upstreamTls(cert, 'good.example')),
    originalDstCluster('passthrough-tls-bad', upstreamTls(cert, 'other.example')),
  ]);
  capturePort = 0;
  px = await startEngine(doc(false, true));
  capturePort = px.port('capture');
  // The virtual listener's address is the capture listener's port: added by an update, as xDS would.
  await px.apply(doc(true, true));
});

after(async () => {
  await px.close();
  await echo.close();
  await greeter.close();
  await web.close();
  await new Promise<void>((r) => { secure.close(() => r()); secure.closeAllConnections(); });
});

test('use_original_dst hands the connection to the bind_to_port:false listener on its destination address', async () => {
  const { data } = await talk(capturePort, { host: '127.0.0.1', until: (d) => d.includes('\r\n') });
  assert.equal(data, '220 virtual ready\r\n');
});

test('use_original_dst: a destination without a listener of its own stays on the receiving listener', async () => {
  const { data } = await talk(capturePort, { host: '127.0.0.2', send: 'hello', until: (d) => d.includes('hello') });
  assert.equal(data, 'hello');
});

test('bind_to_port:false listeners are never bound but are listed', async () => {
  const unbound = px.engine.listeners().find((l) => l.name === 'unbound');
  assert.ok(unbound);
  await assert.rejects(talk(unbound.port), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
  assert.ok(px.engine.listeners().some((l) => l.name === 'virtual' && l.port === capturePort));
});

test('listener update: without use_original_dst the capture listener keeps every connection', async () => {
  await px.apply(doc(true, false));
  try {
    const { data } = await talk(capturePort, { host: '127.0.0.1', send: 'mine', until: (d) => d.includes('mine') });
    assert.equal(data, 'mine');
  } finally {
    await px.apply(doc(true, true));
  }
  const { data } = await talk(capturePort, { host: '127.0.0.1', until: (d) => d.includes('\r\n') });
  assert.equal(data, '220 virtual ready\r\n');
});

test('ORIGINAL_DST with use_http_header: x-envoy-original-dst-host picks the host, created on demand', async () => {
  const res = await get(px.port('egress'), { 'x-envoy-original-dst-host': `127.0.0.1:${web.port}` });
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.body).name, 'web');
  const cluster = px.engine.clusters().find((c) => c.name === 'passthrough')!;
  assert.ok(cluster.hosts().some((h) => h.key === `127.0.0.1:${web.port}`));
});

test('ORIGINAL_DST: idle hosts are removed after cleanup_interval', async () => {
  await get(px.port('egress'), { 'x-envoy-original-dst-host': `127.0.0.1:${web.port}` });
  const cluster = px.engine.clusters().find((c) => c.name === 'passthrough')!;
  await pollUntil(() => cluster.hosts().length === 0, { timeoutMs: 10_000, what: 'ORIGINAL_DST hosts to be cleaned up' });
});

test('ORIGINAL_DST: an invalid header and no original destination is 503 no healthy upstream', async () => {
  const invalid = await get(px.port('egress'), { 'x-envoy-original-dst-host': 'not-an-address' });
  assert.equal(invalid.status, 503);
  assert.equal(invalid.body, 'no healthy upstream');
  const missing = await get(px.port('egress'), {});
  assert.equal(missing.status, 503);
  assert.ok(px.stats.counter('envoy_cluster_original_dst_host_invalid', { envoy_cluster_name: 'passthrough' }).value >= 1);
});

test('ORIGINAL_DST hosts use the cluster transport socket: TLS with a SAN check', async () => {
  const ok = await get(px.port('egress'), { 'x-envoy-original-dst-host': `127.0.0.1:${securePort}`, 'x-tls': 'good' });
  assert.deepEqual(ok, { status: 200, body: 'tls-upstream' });
  const bad = await get(px.port('egress'), { 'x-envoy-original-dst-host': `127.0.0.1:${securePort}`, 'x-tls': 'bad' });
  assert.equal(bad.status, 503);
});
