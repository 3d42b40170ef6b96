// Tests the real health check probes against real servers: HTTP/1.1 and HTTP/2 (statuses, headers, body, reuse), TCP (send/receive, connect only), gRPC health protocol.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import type { GrpcHealthCheckConfig, HealthCheckConfig, HttpHealthCheckConfig, TcpHealthCheckConfig } from '../../src/model/types.ts';
import { defaultProbers } from '../../src/upstream/health-check.ts';
import type { ProbeResult } from '../../src/upstream/health-check-probes.ts';
import { createHost } from '../../src/upstream/host-set.ts';
import type { Host } from '../../src/upstream/types.ts';
import { NOT_SERVING, startGrpcHealthServer, type GrpcHealthServer } from '../helpers/grpc-health.ts';
import { closedPort, startTcpEcho, type SocketUpstream } from '../helpers/socket-upstreams.ts';
import { clusterConfig } from './fixtures.ts';

const HTTP: HttpHealthCheckConfig = {
  kind: 'http', host: '', path: '/health', method: 'GET', expectedStatuses: [{ start: 200, end: 201 }], retriableStatuses: [],
  requestHeadersToAdd: [], requestHeadersToRemove: [], codec: 'http1', receive: [], responseBufferSize: 1024,
};

function hc(checker: HealthCheckConfig['checker'], reuseConnection = true): HealthCheckConfig {
  return {
    timeoutMs: 300, intervalMs: 1000, initialJitterMs: 0, intervalJitterMs: 0, intervalJitterPercent: 0, unhealthyThreshold: 1, healthyThreshold: 1,
    reuseConnection, noTrafficIntervalMs: 1000, noTrafficHealthyIntervalMs: 1000, unhealthyIntervalMs: 1000, unhealthyEdgeIntervalMs: 1000, healthyEdgeIntervalMs: 1000,
    checker,
  };
}

function hostAt(port: number): Host {
  return createHost({ address: '127.0.0.1', port, hostname: null, weight: 1, health: 'HEALTHY', priority: 0 });
}

const h2Cluster = clusterConfig('svc', [], { protocol: 'http2' });

/** One check with a fresh prober (closed afterwards). */
async function checkOnce(port: number, config: HealthCheckConfig, cluster = clusterConfig('svc', [])): Promise<ProbeResult> {
  const prober = defaultProbers(hostAt(port), cluster, config);
  try {
    return await prober.check(config.timeoutMs);
  } finally {
    prober.close();
  }
}

interface Seen { path: string; headers: http.IncomingHttpHeaders; remotePort: number }
let h1: http.Server;
let h1Port = 0;
let h2: http2.Http2Server;
let h2Port = 0;
const seen: Seen[] = [];
let echo: SocketUpstream;
let grpcServer: GrpcHealthServer;
let deadPort = 0;

/** /status/N answers N; /body answers "all systems OK"; /hang never answers. */
interface Res { writeHead(status: number, headers?: Record<string, string>): unknown; end(body?: string): unknown }
function respond(path: string, headers: http.IncomingHttpHeaders, remotePort: number, res: Res): void {
  seen.push({ path, headers, remotePort });
  if (path === '/hang') return;
  if (path === '/body') { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('all systems OK'); return; }
  const m = /^\/status\/(\d+)$/.exec(path);
  res.writeHead(m ? Number(m[1]) : 200);
  res.end();
}

before(async () => {
  h1 = http.createServer((req, res) => respond(req.url ?? '', req.headers, req.socket.remotePort ?? 0, res as unknown as Res));
  await new Promise<void>((r) => h1.listen(0, '127.0.0.1', r));
  h1Port = (h1.address() as net.AddressInfo).port;
  h2 = http2.createServer((req, res) => respond(req.url, req.headers as http.IncomingHttpHeaders, req.socket.remotePort ?? 0, res as unknown as Res));
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  h2Port = (h2.address() as net.AddressInfo).port;
  echo = await startTcpEcho();
  grpcServer = await startGrpcHealthServer();
  deadPort = await closedPort();
});

after(async () => {
  h1.closeAllConnections();
  await new Promise<void>((r) => h1.close(() => r()));
  await new Promise<void>((r) => h2.close(() => r()));
  await echo.close();
  await grpcServer.close();
});

test('HTTP/1.1: 200 passes; the request carries Host = cluster name and user-agent Envoy/HC', async () => {
  seen.length = 0;
  assert.deepEqual(await checkOnce(h1Port, hc({ ...HTTP, path: '/status/200' })), { ok: true });
  assert.equal(seen[0].headers.host, 'svc');
  assert.equal(seen[0].headers['user-agent'], 'Envoy/HC');
});

test('HTTP/1.1: a status outside expected_statuses fails at once; retriable_statuses mark it retriable', async () => {
  const r = await checkOnce(h1Port, hc({ ...HTTP, path: '/status/503' }));
  assert.deepEqual(r, { ok: false, network: false, retriable: false, detail: 'status 503' });
  const retriable = await checkOnce(h1Port, hc({ ...HTTP, path: '/status/503', retriableStatuses: [{ start: 500, end: 600 }] }));
  assert.equal(!retriable.ok && retriable.retriable, true);
  assert.deepEqual(await checkOnce(h1Port, hc({ ...HTTP, path: '/status/204', expectedStatuses: [{ start: 200, end: 300 }] })), { ok: true });
});

test('HTTP/1.1: host, method and header options', async () => {
  seen.length = 0;
  const config = hc({
    ...HTTP, path: '/status/200', host: 'health.local', method: 'HEAD',
    requestHeadersToAdd: [{ key: 'x-probe', value: 'pilotfish', dynamic: false, appendAction: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }],
    requestHeadersToRemove: ['user-agent'],
  });
  assert.deepEqual(await checkOnce(h1Port, config), { ok: true });
  assert.equal(seen[0].headers.host, 'health.local');
  assert.equal(seen[0].headers['x-probe'], 'pilotfish');
  assert.equal(seen[0].headers['user-agent'], undefined);
});

test('HTTP/1.1: receive must be found in the body', async () => {
  assert.deepEqual(await checkOnce(h1Port, hc({ ...HTTP, path: '/body', receive: [Buffer.from('systems').toString('hex'), Buffer.from('OK').toString('hex')] })), { ok: true });
  const r = await checkOnce(h1Port, hc({ ...HTTP, path: '/body', receive: [Buffer.from('DOWN').toString('hex')] }));
  assert.equal(r.ok, false);
});

test('HTTP/1.1: reuse_connection keeps one connection; without it every check connects again', async () => {
  for (const reuse of [true, false]) {
    seen.length = 0;
    const prober = defaultProbers(hostAt(h1Port), clusterConfig('svc', []), hc({ ...HTTP, path: '/status/200' }, reuse));
    await prober.check(1000);
    await prober.check(1000);
    prober.close();
    assert.equal(seen[0].remotePort === seen[1].remotePort, reuse, `reuse_connection ${reuse}`);
  }
});

test('HTTP/1.1: connection refused and no answer are network failures', async () => {
  const refused = await checkOnce(deadPort, hc({ ...HTTP }));
  assert.equal(!refused.ok && refused.network, true);
  const hang = await checkOnce(h1Port, hc({ ...HTTP, path: '/hang' }));
  assert.equal(!hang.ok && hang.network, true);
});

test('HTTP/2 (codec_client_type HTTP2): statuses and :authority', async () => {
  seen.length = 0;
  assert.deepEqual(await checkOnce(h2Port, hc({ ...HTTP, codec: 'http2', path: '/status/200' })), { ok: true });
  assert.equal(seen[0].headers[':authority'], 'svc');
  const r = await checkOnce(h2Port, hc({ ...HTTP, codec: 'http2', path: '/status/500' }));
  assert.deepEqual(r, { ok: false, network: false, retriable: false, detail: 'status 500' });
  const hang = await checkOnce(h2Port, hc({ ...HTTP, codec: 'http2', path: '/hang' }));
  assert.equal(!hang.ok && hang.network, true);
});

const TCP: TcpHealthCheckConfig = { kind: 'tcp', send: null, receive: [] };

test('TCP: connect only; refused is a network failure', async () => {
  assert.deepEqual(await checkOnce(echo.port, hc(TCP)), { ok: true });
  const r = await checkOnce(deadPort, hc(TCP));
  assert.equal(!r.ok && r.network, true);
});

test('TCP: send and receive, on a kept connection', async () => {
  const ping = { ...TCP, send: Buffer.from('PING').toString('hex'), receive: [Buffer.from('PI').toString('hex'), Buffer.from('NG').toString('hex')] };
  const before = echo.connections();
  const prober = defaultProbers(hostAt(echo.port), clusterConfig('svc', []), hc(ping));
  assert.deepEqual(await prober.check(1000), { ok: true });
  assert.deepEqual(await prober.check(1000), { ok: true });
  prober.close();
  assert.equal(echo.connections() - before, 1);
  const wrong = await checkOnce(echo.port, hc({ ...ping, receive: [Buffer.from('PONG').toString('hex')] }));
  assert.equal(!wrong.ok && wrong.network, true, 'no matching reply before the timeout');
});

const GRPC: GrpcHealthCheckConfig = { kind: 'grpc', serviceName: '', authority: '', initialMetadata: [] };

test('gRPC: SERVING passes; NOT_SERVING and an unknown service fail at once', async () => {
  grpcServer.statuses.set('echo.Echo', NOT_SERVING);
  assert.deepEqual(await checkOnce(grpcServer.port, hc(GRPC), h2Cluster), { ok: true });
  const down = await checkOnce(grpcServer.port, hc({ ...GRPC, serviceName: 'echo.Echo' }), h2Cluster);
  assert.deepEqual(down, { ok: false, network: false, retriable: false, detail: 'serving status 2' });
  const unknown = await checkOnce(grpcServer.port, hc({ ...GRPC, serviceName: 'nope' }), h2Cluster);
  assert.deepEqual(unknown, { ok: false, network: false, retriable: false, detail: 'grpc-status 5' });
  const refused = await checkOnce(deadPort, hc(GRPC), h2Cluster);
  assert.equal(!refused.ok && refused.network, true);
});

test('gRPC: service_name and initial_metadata reach the server', async () => {
  grpcServer.calls.length = 0;
  grpcServer.statuses.set('pay.Payments', 1);
  const config = hc({ ...GRPC, serviceName: 'pay.Payments', initialMetadata: [{ key: 'x-probe', value: 'hc', dynamic: false, appendAction: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }] });
  assert.deepEqual(await checkOnce(grpcServer.port, config, h2Cluster), { ok: true });
  assert.equal(grpcServer.calls[0].service, 'pay.Payments');
  assert.equal(grpcServer.calls[0].metadata['x-probe'], 'hc');
});
