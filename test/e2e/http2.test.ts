// End-to-end HTTP/2 through the sidecar: h2c prior knowledge, concurrent streams, h2 and HTTP/1.1 over one TLS listener by ALPN, HTTP/2 upstreams.
import assert from 'node:assert/strict';
import https from 'node:https';
import type http2 from 'node:http2';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import {
  DOWNSTREAM_TLS_TYPE,
  bootstrap,
  http2Upstream,
  httpConnectionManager,
  listener,
  route,
  staticCluster,
} from '../helpers/bootstrap.ts';
import { generateCert, type TestCert } from '../helpers/certs.ts';
import { h2connect, h2request } from '../helpers/h2-client.ts';
import { sendJson, testId } from '../helpers/http-client.ts';
import { closeAll, patternBytes, sha256, startH2cEcho, startHttpEcho, echo, type EchoReply, type HttpUpstream, type UpReq, type UpRes } from '../helpers/http-upstreams.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { gate, withTimeout } from '../helpers/wait.ts';

const T = { timeout: 60_000 };
const STREAMS = 10;

let sc: Sidecar | undefined;
let h1: HttpUpstream | undefined;
let h2: HttpUpstream | undefined;
let barrierUp: HttpUpstream | undefined;
let cert: TestCert | undefined;
const sessions: http2.ClientHttp2Session[] = [];

// The barrier upstream answers nothing until STREAMS requests are in flight at once.
let arrived = 0;
let allArrived = gate();
function barrier(req: UpReq, res: UpRes, name: string): boolean {
  arrived += 1;
  if (arrived === STREAMS) allArrived.open();
  void allArrived.promise.then(() => echo(req, res, name));
  return true;
}

function routes(): object[] {
  return [
    {
      name: 'all',
      domains: ['*'],
      routes: [route({ prefix: '/h2/' }, 'h2up'), route({ prefix: '/barrier/' }, 'barrier'), route({ prefix: '/' }, 'h1up')],
    },
  ];
}

before(async () => {
  cert = generateCert();
  h1 = await startHttpEcho('h1');
  h2 = await startH2cEcho('h2');
  barrierUp = await startHttpEcho('barrier', barrier);
  const tls = {
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': DOWNSTREAM_TLS_TYPE,
        common_tls_context: {
          alpn_protocols: ['h2', 'http/1.1'],
          tls_certificates: [{ certificate_chain: { filename: cert.certPath }, private_key: { filename: cert.keyPath } }],
        },
      },
    },
  };
  sc = await startSidecar(
    bootstrap(
      [
        listener('plain', [httpConnectionManager({ statPrefix: 'plain', virtualHosts: routes() })]),
        listener('tls', [httpConnectionManager({ statPrefix: 'tls', virtualHosts: routes() })], tls),
      ],
      [staticCluster('h1up', [h1.port]), staticCluster('h2up', [h2.port], http2Upstream()), staticCluster('barrier', [barrierUp.port])],
    ),
  );
});

after(async () => {
  for (const s of sessions) s.destroy();
  await sc?.stop();
  await closeAll(h1, h2, barrierUp);
  cert?.remove();
});

async function session(authority: string, opts: http2.SecureClientSessionOptions = {}): Promise<http2.ClientHttp2Session> {
  const s = await h2connect(authority, opts);
  sessions.push(s);
  return s;
}

test('h2c with prior knowledge to an HTTP/1.1 upstream', T, async () => {
  const s = await session(sc!.url('plain'));
  const id = testId('h2c');
  const res = await h2request(s, { ':method': 'GET', ':path': '/plain/x?y=1', 'x-test-id': id });
  assert.equal(res.status, 200);
  const json = JSON.parse(res.text) as EchoReply;
  assert.equal(json.name, 'h1');
  assert.equal(json.httpVersion, '1.1');
  assert.equal(json.url, '/plain/x?y=1');
  const line = await sc!.waitForAccess(id);
  assert.equal(line.protocol, 'HTTP/2');
});

test('HTTP/2 downstream request body reaches an HTTP/1.1 upstream intact', T, async () => {
  const s = await session(sc!.url('plain'));
  const payload = patternBytes(1024 * 1024 + 7);
  const res = await h2request(s, { ':method': 'POST', ':path': '/plain/upload', 'content-type': 'application/octet-stream' }, payload);
  assert.equal(res.status, 200);
  const json = JSON.parse(res.text) as EchoReply;
  assert.equal(json.bodyLength, payload.length);
  assert.equal(json.bodySha256, sha256(payload));
});

test(`${STREAMS} concurrent streams on one HTTP/2 connection are proxied concurrently`, T, async () => {
  arrived = 0;
  allArrived = gate();
  const s = await session(sc!.url('plain'));
  const all = [];
  for (let i = 0; i < STREAMS; i++) all.push(h2request(s, { ':method': 'GET', ':path': `/barrier/${i}` }, undefined, 30_000));
  const results = await Promise.all(all);
  results.forEach((r, i) => {
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.text) as EchoReply).url, `/barrier/${i}`);
  });
});

test('h2 over TLS when the client offers h2 by ALPN', T, async () => {
  const s = await session(`https://127.0.0.1:${sc!.port('tls')}`, { ca: cert!.cert, ALPNProtocols: ['h2', 'http/1.1'] });
  assert.equal(s.alpnProtocol, 'h2');
  const res = await h2request(s, { ':method': 'GET', ':path': '/tls/h2' });
  assert.equal(res.status, 200);
  const json = JSON.parse(res.text) as EchoReply;
  assert.equal(json.name, 'h1');
  assert.equal(json.headers['x-forwarded-proto'], 'https');
});

test('HTTP/1.1 over the same TLS listener when ALPN selects http/1.1', T, async () => {
  const result = await withTimeout(
    new Promise<{ status: number; alpn: string; version: string; body: string }>((resolve, reject) => {
      const options: https.RequestOptions & ConnectionOptions = {
        host: '127.0.0.1',
        port: sc!.port('tls'),
        path: '/tls/h1',
        ca: cert!.cert,
        ALPNProtocols: ['http/1.1'],
        agent: false,
      };
      const req = https.request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            alpn: String((res.socket as TLSSocket).alpnProtocol),
            version: res.httpVersion,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      });
      req.on('error', reject);
      req.end();
    }),
    15_000,
    'HTTPS/1.1 response',
  );
  assert.equal(result.alpn, 'http/1.1');
  assert.equal(result.status, 200);
  assert.equal(result.version, '1.1');
  const json = JSON.parse(result.body) as EchoReply;
  assert.equal(json.url, '/tls/h1');
  assert.equal(json.headers['x-forwarded-proto'], 'https');
});

test('HTTP/1.1 downstream to an HTTP/2 (h2c) upstream', T, async () => {
  const { res, json } = await sendJson<EchoReply>(`${sc!.url('plain')}/h2/from-h1`, { method: 'POST', body: 'h1 body' });
  assert.equal(res.status, 200);
  assert.equal(json.name, 'h2');
  assert.equal(json.httpVersion, '2.0');
  assert.equal(json.url, '/h2/from-h1');
  assert.equal(json.body, 'h1 body');
});

test('HTTP/2 downstream to an HTTP/2 upstream, with a body', T, async () => {
  const s = await session(sc!.url('plain'));
  const payload = patternBytes(300_000);
  const res = await h2request(s, { ':method': 'POST', ':path': '/h2/from-h2' }, payload);
  assert.equal(res.status, 200);
  const json = JSON.parse(res.text) as EchoReply;
  assert.equal(json.name, 'h2');
  assert.equal(json.httpVersion, '2.0');
  assert.equal(json.bodySha256, sha256(payload));
});
