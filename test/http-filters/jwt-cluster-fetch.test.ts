// clusterFetcher: real requests through a cluster's load balancer and pool, and each way a fetch fails naming the cluster.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { ClusterConfig } from '../../src/model/types.ts';
import { clusterFetcher, FETCH_MAX_BODY_BYTES } from '../../src/http/filters/cluster-fetch.ts';
import { ClusterManager } from '../../src/upstream/cluster-manager.ts';
import { createHostPool } from '../../src/upstream/pool/host-pool-factory.ts';
import { clusterConfig } from '../upstream/fixtures.ts';

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

function manager(...cs: ClusterConfig[]): ClusterManager {
  const cm = new ClusterManager({ poolFactory: createHostPool });
  cm.update(new Map(cs.map((c) => [c.name, c])));
  return cm;
}

test('GET and POST go to the cluster host with the uri path, authority and body', async () => {
  const seen: { method?: string; url?: string; host?: string; body: string }[] = [];
  const { server, port } = await listen((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, host: req.headers.host, body });
      res.writeHead(201, { 'content-type': 'application/json', 'x-a': 'b' }).end('{"keys":[]}');
    });
  });
  const cm = manager(clusterConfig('jwks', [{ host: '127.0.0.1', port }]));
  const fetch = clusterFetcher(cm);
  const r = await fetch({ uri: 'http://issuer.example/.well-known/jwks.json?x=1', cluster: 'jwks', timeoutMs: 5000 }, { method: 'GET' });
  assert.equal(r.status, 201);
  assert.equal(r.headers['x-a'], 'b');
  assert.equal(r.body.toString(), '{"keys":[]}');
  const p = await fetch({ uri: 'http://idp/token', cluster: 'jwks', timeoutMs: 5000 },
    { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=2' });
  assert.equal(p.status, 201);
  assert.deepEqual(seen, [
    { method: 'GET', url: '/.well-known/jwks.json?x=1', host: 'issuer.example', body: '' },
    { method: 'POST', url: '/token', host: 'idp', body: 'a=1&b=2' },
  ]);
  await cm.close();
  server.close();
});

test('unknown cluster, no host, connect error, timeout and an oversized body reject naming the cluster', async () => {
  const hang: http.ServerResponse[] = [];
  const { server, port } = await listen((req, res) => {
    if (req.url === '/hang') { hang.push(res); return; }
    res.end(Buffer.alloc(FETCH_MAX_BODY_BYTES + 10, 'a'));
  });
  const closed = await listen(() => {});
  const closedPort = closed.port;
  await new Promise((r) => closed.server.close(r));
  const cm = manager(
    clusterConfig('up', [{ host: '127.0.0.1', port }]),
    clusterConfig('empty', []),
    clusterConfig('down', [{ host: '127.0.0.1', port: closedPort }]),
  );
  const fetch = clusterFetcher(cm);
  const get = (cluster: string, path = '/', timeoutMs = 5000) => fetch({ uri: `http://x${path}`, cluster, timeoutMs }, { method: 'GET' });
  await assert.rejects(get('nope'), /cluster "nope": unknown cluster/);
  await assert.rejects(get('empty'), /cluster "empty": no healthy host/);
  await assert.rejects(get('down'), /cluster "down": connect error/);
  await assert.rejects(get('up', '/hang', 50), /cluster "up": timeout after 50 ms/);
  await assert.rejects(get('up', '/big'), /cluster "up": response body exceeds 1048576 bytes/);
  for (const res of hang) res.destroy();
  await cm.close();
  server.closeAllConnections();
  server.close();
});
