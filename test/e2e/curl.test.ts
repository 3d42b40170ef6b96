// End-to-end with a real third-party client: curl --http2-prior-knowledge and --http1.1 through the sidecar (skipped when curl is missing).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { bootstrap, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { closeAll, startHttpEcho, type EchoReply, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';

const T = { timeout: 60_000 };
const hasCurl = spawnSync('which', ['curl'], { stdio: 'ignore' }).status === 0;

let sc: Sidecar | undefined;
let up: HttpUpstream | undefined;

before(async () => {
  if (!hasCurl) return;
  up = await startHttpEcho('curl-up');
  sc = await startSidecar(
    bootstrap(
      [listener('ingress', [httpConnectionManager({ virtualHosts: [{ name: 'all', domains: ['*'], routes: [route({ prefix: '/' }, 'backend')] }] })])],
      [staticCluster('backend', [up.port])],
    ),
  );
});

after(async () => {
  await sc?.stop();
  await closeAll(up);
});

/** Runs curl; the last output line is "<http_version> <status>" from -w, the rest is the body. */
function curl(args: string[]): Promise<{ version: string; status: number; body: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '20', '-w', '\n%{http_version} %{http_code}', ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl failed: ${err.message}\n${stderr}`));
      const i = stdout.lastIndexOf('\n');
      const [version, status] = stdout.slice(i + 1).split(' ');
      resolve({ version, status: Number(status), body: stdout.slice(0, i) });
    });
  });
}

test('curl --http2-prior-knowledge through the sidecar', T, async (t) => {
  if (!hasCurl) return t.skip('curl not installed');
  const r = await curl(['--http2-prior-knowledge', '-H', 'x-from: curl-h2', '--data-binary', 'curl body', `${sc!.url('ingress')}/curl/h2?q=1`]);
  assert.equal(r.version, '2');
  assert.equal(r.status, 200);
  const json = JSON.parse(r.body) as EchoReply;
  assert.equal(json.method, 'POST');
  assert.equal(json.url, '/curl/h2?q=1');
  assert.equal(json.headers['x-from'], 'curl-h2');
  assert.equal(json.body, 'curl body');
});

test('curl --http1.1 through the sidecar', T, async (t) => {
  if (!hasCurl) return t.skip('curl not installed');
  const r = await curl(['--http1.1', '-H', 'x-from: curl-h1', `${sc!.url('ingress')}/curl/h1`]);
  assert.equal(r.version, '1.1');
  assert.equal(r.status, 200);
  const json = JSON.parse(r.body) as EchoReply;
  assert.equal(json.method, 'GET');
  assert.equal(json.url, '/curl/h1');
  assert.equal(json.headers['x-from'], 'curl-h1');
  assert.equal(json.httpVersion, '1.1');
});
