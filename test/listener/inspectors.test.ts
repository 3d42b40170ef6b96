// The byte-level pieces of interception: HTTP detection on first bytes, x-envoy-original-dst-host parsing, SO_ORIGINAL_DST fallback.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { detectHttp, MAX_INSPECT_BYTES } from '../../src/listener/http-inspector.ts';
import { originalDestination, originalDstUnavailable } from '../../src/listener/original-destination.ts';
import { parseHostPort } from '../../src/upstream/original-dst.ts';

test('detectHttp: request lines, the h2 preface, partial input and non-HTTP bytes', () => {
  const cases: [string, ReturnType<typeof detectHttp>][] = [
    ['GET / HTTP/1.1\r\n', 'http/1.1'],
    ['POST /a?b=c HTTP/1.0\r\nHost: x\r\n', 'http/1.0'],
    ['OPTIONS * HTTP/1.1\n', 'http/1.1'],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'h2c'],
    ['PRI * HTTP/2.0\r\n', undefined], // a prefix of the preface: wait
    ['GET /long/path', undefined], // no line end yet: wait
    ['GE', undefined],
    ['GET / HTTP/2.0\r\n', null],
    ['GET /\r\n', null], // HTTP/0.9 style: not detected
    ['\x16\x03\x01', null],
    ['*1\r\n$4\r\nPING\r\n', null], // Redis
    ['SSH-2.0-OpenSSH_9.6\r\n', null],
    ['G\x00T / HTTP/1.1\r\n', null],
  ];
  for (const [input, want] of cases) assert.equal(detectHttp(Buffer.from(input, 'latin1')), want, JSON.stringify(input));
  assert.equal(detectHttp(Buffer.alloc(0)), undefined);
  assert.equal(detectHttp(Buffer.from(`GET /${'a'.repeat(MAX_INSPECT_BYTES)}`)), null, 'no line end within the inspect limit');
});

test('parseHostPort: ip:port and [ipv6]:port only', () => {
  assert.deepEqual(parseHostPort('10.0.0.1:8080'), { address: '10.0.0.1', port: 8080 });
  assert.deepEqual(parseHostPort('[::1]:443'), { address: '::1', port: 443 });
  for (const bad of ['10.0.0.1', 'example.com:80', '10.0.0.1:', '10.0.0.1:99999', '::1:80', '[::1]', '[10.0.0.1]:80', '10.0.0.1:8x', '']) {
    assert.equal(parseHostPort(bad), null, bad);
  }
});

test('originalDestination: a connection NAT did not redirect has none (the listener then uses the local address)', async () => {
  if (process.platform === 'linux') assert.equal(originalDstUnavailable(), null, 'koffi and libc load on Linux');
  else assert.match(originalDstUnavailable() ?? '', /SO_ORIGINAL_DST needs Linux and the koffi package/);
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const seen = new Promise<ReturnType<typeof originalDestination>>((resolve) => server.once('connection', (s) => {
    const od = originalDestination(s);
    s.destroy();
    resolve(od);
  }));
  const c = net.connect(port, '127.0.0.1');
  c.on('error', () => undefined);
  const od = await seen;
  c.destroy();
  server.close();
  // Without a NAT entry getsockopt fails (ENOENT); where conntrack tracks the connection it reports the address connected to.
  if (od !== null) assert.deepEqual(od, { address: '127.0.0.1', port });
});
