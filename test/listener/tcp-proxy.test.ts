// tcp_proxy tests against real sockets: half-close, bulk transfer, connect failures and retries, NR/UH, idle timeout, TLS upstream.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import tls from 'node:tls';
import { proxyTcpConnection, tcpStats } from '../../src/listener/tcp-proxy.ts';
import type { TcpProxyConfig } from '../../src/model/types.ts';
import type { AccessLogEntry, AccessLogger } from '../../src/observability/types.ts';
import { ClusterManager } from '../../src/upstream/cluster-manager.ts';
import { createHost } from '../../src/upstream/host-set.ts';
import type { Host, UpstreamCluster } from '../../src/upstream/types.ts';
import { generateCert } from '../helpers/certs.ts';
import { closedPort, startTcpEcho } from '../helpers/socket-upstreams.ts';
import { withTimeout } from '../helpers/wait.ts';
import { clusterConfig, fakePoolFactory, type EndpointSpec } from '../upstream/fixtures.ts';

type Clusters = { get(name: string): UpstreamCluster | undefined };

function tcpConfig(overrides: Partial<TcpProxyConfig> = {}): TcpProxyConfig {
  return {
    kind: 'tcp', statPrefix: 'tcp', cluster: 'up', weightedClusters: null, totalWeight: 0,
    idleTimeoutMs: 3600000, maxConnectAttempts: 1, accessLog: [], ...overrides,
  };
}

function memoryLogger(): AccessLogger & { entries: AccessLogEntry[] } {
  const entries: AccessLogEntry[] = [];
  return { entries, log: (e) => entries.push(e), flush: async () => {} };
}

/** A listener on 127.0.0.1:0 that hands every connection to proxyTcpConnection; `done()` waits for the next finished one. */
async function startProxy(cfg: TcpProxyConfig, clusters: Clusters) {
  const logger = memoryLogger();
  const waiters: (() => void)[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    proxyTcpConnection(socket, cfg, clusters, {
      accessLoggers: [logger],
      onDone: () => waiters.shift()?.(),
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    logger,
    /** Call before opening the connection it waits for. */
    done: () => withTimeout(new Promise<void>((r) => waiters.push(r)), 5000, 'tcp proxy connection to finish'),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function manager(endpoints: EndpointSpec[], overrides = {}) {
  const cm = new ClusterManager({ poolFactory: fakePoolFactory().factory });
  cm.update(new Map([['up', clusterConfig('up', endpoints, overrides)]]));
  return cm;
}

/** Connects, writes `payload`, half-closes, and collects everything until the proxy ends the stream. */
function exchange(port: number, payload: Buffer | string): Promise<{ data: Buffer; ended: boolean }> {
  return withTimeout(new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      client.end(payload);
    });
    client.on('data', (c: Buffer) => chunks.push(c));
    client.on('end', () => (ended = true));
    client.on('error', reject);
    client.on('close', () => resolve({ data: Buffer.concat(chunks), ended }));
  }), 10000, 'client exchange');
}

test('half-close: the client ends its write side and still receives the reply sent after the FIN', async () => {
  const echo = await startTcpEcho();
  const cm = manager([{ host: '127.0.0.1', port: echo.port }]);
  const proxy = await startProxy(tcpConfig(), cm);
  const before = { ...tcpStats };
  const done = proxy.done();
  const { data, ended } = await exchange(proxy.port, 'hello');
  await done;
  assert.equal(data.toString(), 'hello<<EOF 5>>');
  assert.equal(ended, true);
  const [entry] = proxy.logger.entries;
  assert.equal(entry.method, null);
  assert.equal(entry.responseFlags, '-');
  assert.equal(entry.bytesReceived, 5);
  assert.equal(entry.bytesSent, data.length);
  assert.equal(entry.upstreamCluster, 'up');
  assert.equal(entry.upstreamHost, `127.0.0.1:${echo.port}`);
  assert.ok(entry.durationMs >= 0);
  assert.match(entry.downstreamRemoteAddress, /^127\.0\.0\.1:\d+$/);
  assert.equal(tcpStats.cx_total, before.cx_total + 1);
  assert.equal(tcpStats.cx_active, before.cx_active);
  const host = cm.get('up')!.hosts()[0];
  assert.equal(host.activeRequests, 0);
  assert.equal(host.rqTotal, 1);
  await Promise.all([proxy.close(), echo.close(), cm.close()]);
});

test('bulk data flows both ways with backpressure', async () => {
  const echo = await startTcpEcho();
  const cm = manager([{ host: '127.0.0.1', port: echo.port }]);
  const proxy = await startProxy(tcpConfig(), cm);
  const payload = Buffer.alloc(4 * 1024 * 1024, 'abcdefgh');
  const done = proxy.done();
  const { data } = await exchange(proxy.port, payload);
  await done;
  assert.equal(data.length, payload.length + `<<EOF ${payload.length}>>`.length);
  assert.ok(data.subarray(0, payload.length).equals(payload));
  assert.equal(proxy.logger.entries[0].bytesReceived, payload.length);
  await Promise.all([proxy.close(), echo.close(), cm.close()]);
});

test('connect failure to a closed port closes the downstream with UF', async () => {
  const port = await closedPort();
  const cm = manager([{ host: '127.0.0.1', port }]);
  const proxy = await startProxy(tcpConfig(), cm);
  const before = tcpStats.connect_fail;
  const done = proxy.done();
  const { data } = await exchange(proxy.port, 'x');
  await done;
  assert.equal(data.length, 0);
  const [entry] = proxy.logger.entries;
  assert.equal(entry.responseFlags, 'UF');
  assert.equal(entry.upstreamHost, `127.0.0.1:${port}`);
  assert.equal(tcpStats.connect_fail, before + 1);
  const host = cm.get('up')!.hosts()[0];
  assert.equal(host.cxConnectFail, 1);
  assert.equal(host.activeRequests, 0);
  await Promise.all([proxy.close(), cm.close()]);
});

test('max_connect_attempts retries on another host', async () => {
  const echo = await startTcpEcho();
  const bad = createHost({ address: '127.0.0.1', port: await closedPort(), hostname: null, weight: 1, health: 'HEALTHY', priority: 0 });
  const good = createHost({ address: '127.0.0.1', port: echo.port, hostname: null, weight: 1, health: 'HEALTHY', priority: 0 });
  const avoids: (Host[] | null)[] = [];
  const cluster: UpstreamCluster = {
    name: 'up',
    config: clusterConfig('up', []),
    hosts: () => [bad, good],
    chooseHost: (ctx) => {
      avoids.push(ctx.avoid ? [...ctx.avoid] : null);
      return ctx.avoid?.has(bad) ? good : bad;
    },
    pool: () => assert.fail('tcp_proxy does not use pools'),
  };
  const proxy = await startProxy(tcpConfig({ maxConnectAttempts: 2 }), { get: (n) => (n === 'up' ? cluster : undefined) });
  const done = proxy.done();
  const { data } = await exchange(proxy.port, 'hi');
  await done;
  assert.equal(data.toString(), 'hi<<EOF 2>>');
  assert.deepEqual(avoids, [null, [bad]]);
  assert.equal(bad.cxConnectFail, 1);
  assert.equal(proxy.logger.entries[0].upstreamHost, good.key);
  assert.equal(proxy.logger.entries[0].responseFlags, '-');
  await Promise.all([proxy.close(), echo.close()]);
});

test('unknown cluster → NR; cluster without hosts → UH', async () => {
  const cm = manager([]);
  for (const [cfg, flag] of [[tcpConfig({ cluster: 'nope' }), 'NR'], [tcpConfig(), 'UH']] as const) {
    const proxy = await startProxy(cfg, cm);
    const done = proxy.done();
    const { data } = await exchange(proxy.port, 'x');
    await done;
    assert.equal(data.length, 0);
    assert.equal(proxy.logger.entries[0].responseFlags, flag);
    await proxy.close();
  }
  await cm.close();
});

test('weighted clusters pick by weight', async () => {
  const echo = await startTcpEcho();
  const cm = manager([{ host: '127.0.0.1', port: echo.port }]);
  const cfg = tcpConfig({ cluster: null, weightedClusters: [{ name: 'missing', weight: 0 }, { name: 'up', weight: 10 }], totalWeight: 10 });
  const proxy = await startProxy(cfg, cm);
  const done = proxy.done();
  const { data } = await exchange(proxy.port, 'w');
  await done;
  assert.equal(data.toString(), 'w<<EOF 1>>');
  await Promise.all([proxy.close(), echo.close(), cm.close()]);
});

test('idle timeout closes a silent connection', async () => {
  const echo = await startTcpEcho();
  const cm = manager([{ host: '127.0.0.1', port: echo.port }]);
  const proxy = await startProxy(tcpConfig({ idleTimeoutMs: 50 }), cm);
  const done = proxy.done();
  const client = net.connect({ port: proxy.port, host: '127.0.0.1' });
  client.on('error', () => {});
  await withTimeout(new Promise((r) => client.on('close', r)), 5000, 'idle close');
  await done;
  assert.equal(proxy.logger.entries[0].connectionTerminationDetails, 'idle_timeout');
  await Promise.all([proxy.close(), echo.close(), cm.close()]);
});

test('TLS upstream: tls_context of the cluster is used, SAN matched, half-close preserved', async () => {
  const cert = generateCert();
  const upstream = tls.createServer({ cert: cert.cert, key: cert.key, allowHalfOpen: true }, (s) => {
    let n = 0;
    s.on('data', (c: Buffer) => (n += c.length));
    s.on('end', () => s.end(`tls-reply ${n} ${s.servername}`));
  });
  // The connection the proxy drops after rejecting the certificate can stay half-open on this allowHalfOpen server.
  const raw = new Set<net.Socket>();
  upstream.on('connection', (s: net.Socket) => raw.add(s));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as net.AddressInfo).port;
  const tlsCfg = {
    sni: 'localhost', trustedCa: cert.cert, certificate: null, alpnProtocols: [], minVersion: null, maxVersion: null,
    matchSubjectAltNames: [{ kind: 'exact' as const, value: 'localhost', regex: null, ignoreCase: false }],
  };
  const cm = manager([{ host: '127.0.0.1', port }], { tls: tlsCfg });
  const proxy = await startProxy(tcpConfig(), cm);
  let done = proxy.done();
  const { data } = await exchange(proxy.port, 'abc');
  await done;
  assert.equal(data.toString(), 'tls-reply 3 localhost');

  // A SAN mismatch is a connect failure.
  cm.update(new Map([['up', clusterConfig('up', [{ host: '127.0.0.1', port }], {
    tls: { ...tlsCfg, matchSubjectAltNames: [{ kind: 'exact', value: 'other.example', regex: null, ignoreCase: false }] },
  })]]));
  done = proxy.done();
  const failed = await exchange(proxy.port, 'abc');
  await done;
  assert.equal(failed.data.length, 0);
  assert.equal(proxy.logger.entries[1].responseFlags, 'UF');
  for (const s of raw) s.destroy();
  await Promise.all([proxy.close(), new Promise((r) => upstream.close(r)), cm.close()]);
  cert.remove();
});
