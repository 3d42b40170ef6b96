// Half-close and reset while the listener reads first bytes: peeked bytes reach the chosen filter, nothing is held or leaked.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { captureLog } from '../ca/fixtures.ts';
import { generateCert } from '../helpers/certs.ts';
import { bootstrap, DOWNSTREAM_TLS_TYPE, directResponse, httpConnectionManager, socketAddress, staticCluster, tcpProxy } from '../helpers/bootstrap.ts';
import { startTcpEcho, type SocketUpstream } from '../helpers/socket-upstreams.ts';
import { pollUntil, withTimeout } from '../helpers/wait.ts';
import { listenerFilter, startEngine, type TestEngine } from './engine-fixture.ts';

const HTTP_CHAIN = {
  filter_chain_match: { application_protocols: ['http/1.0', 'http/1.1', 'h2c'] },
  filters: [httpConnectionManager({
    statPrefix: 'sniffed',
    accessLog: false,
    virtualHosts: [{ name: 'all', domains: ['*'], routes: [directResponse({ prefix: '/' }, 200, 'http-chain')] }],
  })],
};

let echo: SocketUpstream;
let px: TestEngine;
const log = captureLog();
const cert = generateCert({ dnsNames: ['localhost'] });

before(async () => {
  echo = await startTcpEcho();
  px = await startEngine(bootstrap([
    // The capture listeners' settings: inspectors, 0.1 s to decide, then opaque TCP.
    {
      name: 'capture',
      address: socketAddress(0),
      listener_filters: [listenerFilter('tls'), listenerFilter('http')],
      listener_filters_timeout: '0.1s',
      continue_on_listener_filters_timeout: true,
      filter_chains: [HTTP_CHAIN],
      default_filter_chain: { filters: [tcpProxy('echo')] },
    },
    // No listener filter timeout at all, no TLS chain.
    {
      name: 'no-timeout',
      address: socketAddress(0),
      listener_filters: [listenerFilter('tls'), listenerFilter('http')],
      listener_filters_timeout: '0s',
      filter_chains: [HTTP_CHAIN],
      default_filter_chain: { filters: [tcpProxy('echo')] },
    },
    // A TLS-only listener: tls_inspector, no timeout.
    {
      name: 'tls-only',
      address: socketAddress(0),
      listener_filters: [listenerFilter('tls')],
      listener_filters_timeout: '0s',
      filter_chains: [{
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': DOWNSTREAM_TLS_TYPE,
            common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: cert.cert }, private_key: { inline_string: cert.key } }] },
          },
        },
        filters: HTTP_CHAIN.filters,
      }],
    },
    // http_inspector in front of a single HTTP chain (the codec gets whatever arrives), no timeout.
    {
      name: 'http-only',
      address: socketAddress(0),
      listener_filters: [listenerFilter('http')],
      listener_filters_timeout: '0s',
      filter_chains: [{ filters: HTTP_CHAIN.filters }],
    },
  ], [staticCluster('echo', [echo.port])]), log.logger);
});

after(async () => {
  await px.close();
  await echo.close();
});

/** Connects, writes `send` (if any), half-closes, and collects everything until the proxy closes the connection. */
function sendAndHalfClose(port: number, send: string | null): Promise<{ data: string; ended: boolean }> {
  return withTimeout(new Promise((resolve, reject) => {
    let data = '';
    let ended = false;
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      if (send !== null) c.write(send);
      c.end();
    });
    c.on('data', (b: Buffer) => (data += b.toString('latin1')));
    c.on('end', () => { ended = true; });
    c.on('error', reject);
    c.on('close', () => resolve({ data, ended }));
  }), 10_000, `half-closed exchange on port ${port}`);
}

/** A listener counter summed over both test listeners (both are configured as 127.0.0.1:0). */
const counter = (name: string): number => px.stats.counter(`envoy_listener_${name}`, { envoy_listener_address: '127.0.0.1_0' }).value;

test('half-close during detection: tcp_proxy delivers the peeked bytes upstream, then the FIN', async () => {
  const before = echo.connections();
  const { data, ended } = await sendAndHalfClose(px.port('capture'), 'hello');
  // The echo upstream answers each byte, and on FIN reports how many bytes it got before closing its side.
  assert.equal(data, 'hello<<EOF 5>>');
  assert.equal(ended, true);
  assert.equal(echo.connections(), before + 1);
});

test('half-close during detection with no listener filter timeout: the bytes still go through at once', async () => {
  const { data } = await sendAndHalfClose(px.port('no-timeout'), 'hello');
  assert.equal(data, 'hello<<EOF 5>>');
});

test('half-close during detection: an HTTP/1.0 request followed by FIN gets its response', async () => {
  for (const port of [px.port('capture'), px.port('no-timeout')]) {
    const { data } = await sendAndHalfClose(port, 'GET / HTTP/1.0\r\nHost: x\r\n\r\n');
    assert.match(data, /^HTTP\/1\.[01] 200/);
    assert.match(data, /http-chain$/);
  }
});

test('half-close during detection: a partial request line then FIN is opaque TCP (not HTTP), bytes delivered', async () => {
  const { data } = await sendAndHalfClose(px.port('no-timeout'), 'GET / HTT');
  assert.equal(data, 'GET / HTT<<EOF 9>>');
});

test('half-close during detection: the HTTP codec gets the bytes and the end of stream (an unfinished request is answered 400)', async () => {
  const { data, ended } = await sendAndHalfClose(px.port('http-only'), 'GET / HTT');
  assert.match(data, /^HTTP\/1\.1 400 /);
  assert.equal(ended, true);
});

test('a whole HTTP/1.1 request then half-close: answered, then the connection closes', async () => {
  const { data, ended } = await sendAndHalfClose(px.port('http-only'), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(data, /^HTTP\/1\.1 200 /);
  assert.match(data, /http-chain$/);
  assert.equal(ended, true);
});

test('half-close in the middle of a ClientHello: closed at once (the handshake can never finish), not held', async () => {
  // A TLS record header announcing 512 bytes of handshake, and only a few of them.
  const partial = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]).toString('latin1');
  const { data, ended } = await sendAndHalfClose(px.port('tls-only'), partial);
  assert.equal(ended, true);
  assert.ok(!data.includes('http-chain'));
});

test('TLS still works on that listener', async () => {
  const tls = await import('node:tls');
  const got = await withTimeout(new Promise<string>((resolve, reject) => {
    let d = '';
    const c = tls.connect({ port: px.port('tls-only'), host: '127.0.0.1', servername: 'localhost', ca: cert.cert }, () => c.end('GET / HTTP/1.0\r\nHost: x\r\n\r\n'));
    c.on('data', (b: Buffer) => (d += b.toString('latin1')));
    c.on('close', () => resolve(d));
    c.on('error', reject);
  }), 10_000, 'TLS exchange');
  assert.match(got, /http-chain$/);
});

test('connect and half-close with no bytes and no listener filter timeout: the proxy closes (no CLOSE-WAIT leak)', async () => {
  const before = counter('downstream_listener_filter_remote_close');
  const upstreams = echo.connections();
  const { data, ended } = await sendAndHalfClose(px.port('no-timeout'), null);
  assert.equal(data, '');
  assert.equal(ended, true);
  assert.equal(echo.connections(), upstreams);
  assert.ok(counter('downstream_listener_filter_remote_close') > before);
});

test('connect and half-close with no bytes on the capture listener: closed at once, not after the timeout', async () => {
  const { data, ended } = await sendAndHalfClose(px.port('capture'), null);
  assert.equal(data, '');
  assert.equal(ended, true);
});

test('reset during detection: counted and logged, its timer never dispatches it upstream', async () => {
  const before = counter('downstream_listener_filter_error');
  const upstreams = echo.connections();
  await withTimeout(new Promise<void>((resolve, reject) => {
    const c = net.connect({ port: px.port('capture'), host: '127.0.0.1' }, () => {
      c.write('hel', () => setImmediate(() => { c.resetAndDestroy(); resolve(); }));
    });
    c.on('error', reject);
  }), 10_000, 'reset connection');
  await pollUntil(() => counter('downstream_listener_filter_error') > before, { timeoutMs: 10_000, what: 'listener filter error counter' });
  assert.ok(log.lines.some((l) => /reset|error/i.test(String(l.msg)) && l.listener === 'capture'), 'a debug line names the listener');
  // A later connection that waits out the same timeout: had the reset connection's timer survived, it fired first.
  const { data } = await sendAndHalfCloseAfterTimeout(px.port('capture'));
  assert.equal(data, 'x');
  assert.equal(echo.connections(), upstreams + 1);
});

/** Writes one undetectable byte, waits for the listener filter timeout to pass it to tcp_proxy (echoed back), then closes. */
function sendAndHalfCloseAfterTimeout(port: number): Promise<{ data: string }> {
  return withTimeout(new Promise((resolve, reject) => {
    let data = '';
    const c = net.connect({ port, host: '127.0.0.1' }, () => c.write('x'));
    c.on('data', (b: Buffer) => {
      data += b.toString('latin1');
      if (data === 'x') { c.destroy(); resolve({ data }); }
    });
    c.on('error', reject);
  }), 10_000, 'echo after the listener filter timeout');
}
