// The sidecar's app-probe server (port 15020) against a real app, and `pilotfish wait` as the proxy container's postStart / preStop hooks.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startAppProbeServer, type AppProbeServer } from '../../src/sidecar/app-probes.ts';
import { issueServingCert } from '../../xds/webhook/serving-cert.ts';
import { CertificateAuthority } from '../../xds/ca/authority.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';

const BIN = new URL('../../bin/pilotfish', import.meta.url).pathname;

function get(port: number, p: string, method = 'GET'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http.request({ host: '127.0.0.1', port, path: p, method }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject).end();
  });
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

describe('app-probe server (port 15020)', () => {
  let app: http.Server;
  let tls: https.Server;
  let probes: AppProbeServer;
  let appPort: number;
  let seen: http.IncomingHttpHeaders[] = [];
  let healthy = true;
  let closedPort: number;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pf-probes-'));
  before(async () => {
    app = http.createServer((req, res) => {
      seen.push(req.headers);
      if (req.url === '/healthz') { res.writeHead(healthy ? 200 : 500); res.end(); return; }
      if (req.url === '/slow') return; // never answers
      res.writeHead(404); res.end();
    });
    appPort = await listen(app);
    const ca = await CertificateAuthority.open({ dir: path.join(dir, 'ca'), logger: pino({ level: 'silent' }) });
    const cert = issueServingCert(ca, ['localhost']);
    tls = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => { res.writeHead(204); res.end(); });
    const tlsPort = await listen(tls);
    const spare = net.createServer();
    closedPort = await listen(spare);
    spare.close();
    const probers = {
      '/app-health/web/livez': { httpGet: { path: '/healthz', port: appPort, scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: 'kubelet' }] } },
      '/app-health/web/readyz': { tcpSocket: { port: appPort } },
      '/app-health/web/startupz': { httpGet: { path: '/slow', port: appPort }, timeoutSeconds: 1 },
      '/app-health/tls/readyz': { httpGet: { path: '/', port: tlsPort, scheme: 'HTTPS' } },
      '/app-health/gone/livez': { tcpSocket: { port: closedPort } },
    };
    probes = await startAppProbeServer({ PILOTFISH_APP_PROBERS: JSON.stringify(probers) }, { port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await probes.close();
    app.close();
    tls.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the original HTTP probe (path, headers) and returns the app status', async () => {
    seen = [];
    assert.equal((await get(probes.port, '/app-health/web/livez')).status, 200);
    assert.equal(seen[0]['x-probe'], 'kubelet');
    healthy = false;
    assert.equal((await get(probes.port, '/app-health/web/livez')).status, 500);
    healthy = true;
  });

  it('runs TCP probes: 200 when the port accepts, 503 when refused', async () => {
    assert.equal((await get(probes.port, '/app-health/web/readyz')).status, 200);
    const gone = await get(probes.port, '/app-health/gone/livez');
    assert.equal(gone.status, 503);
    assert.match(gone.text, /ECONNREFUSED/);
  });

  it('probes HTTPS apps without verifying their certificate, as the kubelet does', async () => {
    assert.equal((await get(probes.port, '/app-health/tls/readyz')).status, 204);
  });

  it('fails a probe that exceeds its timeoutSeconds', async () => {
    const r = await get(probes.port, '/app-health/web/startupz');
    assert.equal(r.status, 503);
    assert.match(r.text, /timed out/);
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    assert.equal((await get(probes.port, '/app-health/other/livez')).status, 404);
    assert.equal((await get(probes.port, '/')).status, 404);
    assert.equal((await get(probes.port, '/app-health/web/livez', 'POST')).status, 405);
  });

  it('rejects a malformed PILOTFISH_APP_PROBERS with a clear error', async () => {
    await assert.rejects(startAppProbeServer({ PILOTFISH_APP_PROBERS: '{' }, { port: 0 }), /PILOTFISH_APP_PROBERS is not JSON/);
    await assert.rejects(startAppProbeServer({ PILOTFISH_APP_PROBERS: '{"/x":{}}' }, { port: 0 }), /"\/x" is not \/app-health/);
    await assert.rejects(startAppProbeServer({ PILOTFISH_APP_PROBERS: '{"/app-health/a/livez":{"exec":{}}}' }, { port: 0 }), /needs httpGet.port or tcpSocket.port/);
    await assert.rejects(startAppProbeServer({ PILOTFISH_APP_PROBERS: '{"/app-health/a/livez":{"httpGet":{"port":80,"httpHeaders":3}}}' }, { port: 0 }), /"\/app-health\/a\/livez" httpGet.httpHeaders must be a list/);
    await assert.rejects(startAppProbeServer({ PILOTFISH_APP_PROBERS: '{"/app-health/a/livez":{"httpGet":{"port":80,"scheme":1}}}' }, { port: 0 }), /httpGet.scheme must be a string/);
    await assert.rejects(startAppProbeServer({ PILOTFISH_APP_PROBERS: '{"/app-health/a/livez":{"tcpSocket":{"port":80},"timeoutSeconds":"1"}}' }, { port: 0 }), /timeoutSeconds must be a number/);
  });

  it('fails a probe whose header node:http refuses (503) instead of the process', async () => {
    const bad = await startAppProbeServer({
      PILOTFISH_APP_PROBERS: JSON.stringify({ '/app-health/a/livez': { httpGet: { port: 1, httpHeaders: [{ name: 'x-a', value: 'a\nb' }] } } }),
    }, { port: 0, host: '127.0.0.1' });
    try {
      assert.equal((await get(bad.port, '/app-health/a/livez')).status, 503);
    } finally {
      await bad.close();
    }
  });
});

function wait(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'wait', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c; });
    child.stderr.on('data', (c: Buffer) => { stderr += c; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('pilotfish wait', () => {
  it('postStart: returns once the readiness URL answers 200', async () => {
    let hits = 0;
    const status = http.createServer((_req, res) => {
      hits += 1;
      res.writeHead(hits < 3 ? 503 : 200);
      res.end();
    });
    const port = await listen(status);
    const r = await wait(['--url', `http://127.0.0.1:${port}/healthz/ready`, '--timeout', '30s', '--interval', '50ms']);
    status.close();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(hits >= 3);
    assert.match(r.stdout, /is ready/);
  });

  it('postStart: exits 1 with the last error after the timeout', async () => {
    const spare = net.createServer();
    const port = await listen(spare);
    spare.close();
    const r = await wait(['--url', `http://127.0.0.1:${port}/healthz/ready`, '--timeout', '1s', '--interval', '100ms']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not ready after 1s \(last: ECONNREFUSED\)/);
  });

  it('preStop: asks the admin to drain, then waits until the app port is closed', async () => {
    const drains: string[] = [];
    const admin = http.createServer((req, res) => {
      drains.push(`${req.method} ${req.url}`);
      res.end('OK\n');
      // The app stops once draining began (as the kubelet's SIGTERM to the app would make it).
      appServer.close();
    });
    const adminPort = await listen(admin);
    const appServer = net.createServer();
    const appPort = await listen(appServer);
    const r = await wait(['--drain', `http://127.0.0.1:${adminPort}/drain_listeners?inboundonly&graceful`, '--ports-closed', String(appPort), '--timeout', '30s', '--interval', '50ms']);
    admin.close();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(drains, ['POST /drain_listeners?inboundonly&graceful']);
    assert.match(r.stdout, new RegExp(`app ports ${appPort} closed`));
  });

  it('preStop: gives up after the bounded time and still exits 0', async () => {
    const appServer = net.createServer((s) => s.destroy());
    const appPort = await listen(appServer);
    const r = await wait(['--ports-closed', String(appPort), '--timeout', '1s', '--interval', '100ms']);
    appServer.close();
    assert.equal(r.code, 0);
    assert.match(r.stderr, /still open after 1s; continuing shutdown/);
  });

  it('rejects bad flags', async () => {
    const r = await wait(['--url', 'ftp://x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--url expects an http:\/\/ URL/);
    assert.equal((await wait([])).code, 2);
  });
});
