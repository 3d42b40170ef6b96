// Listener filters on real sockets: http_inspector picks chains by application protocol, listener_filters_timeout with and without continue.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { bootstrap, directResponse, httpConnectionManager, socketAddress, staticCluster, tcpProxy } from '../helpers/bootstrap.ts';
import { startTcpEcho, type SocketUpstream } from '../helpers/socket-upstreams.ts';
import { withTimeout } from '../helpers/wait.ts';
import { listenerFilter, startEngine, startGreeter, talk, type TestEngine } from './engine-fixture.ts';

function hcmAnswering(body: string): object {
  return httpConnectionManager({
    statPrefix: body,
    accessLog: false,
    virtualHosts: [{ name: 'all', domains: ['*'], routes: [directResponse({ prefix: '/' }, 200, body)] }],
  });
}

/** The listener Istio builds for a port with protocol detection: HTTP chains by application_protocols, else TCP. */
function sniffingListener(name: string, extra: Record<string, unknown>): object {
  return {
    name,
    address: socketAddress(0),
    listener_filters: [listenerFilter('tls'), listenerFilter('http')],
    filter_chains: [
      { filter_chain_match: { application_protocols: ['http/1.1', 'http/1.0'] }, filters: [hcmAnswering('http1-chain')] },
      { filter_chain_match: { application_protocols: ['h2c'] }, filters: [hcmAnswering('h2c-chain')] },
    ],
    default_filter_chain: { filters: [tcpProxy('tcp-upstream')] },
    ...extra,
  };
}

let echo: SocketUpstream;
let greeter: Awaited<ReturnType<typeof startGreeter>>;
let px: TestEngine;

before(async () => {
  echo = await startTcpEcho();
  greeter = await startGreeter('smtp');
  px = await startEngine(bootstrap([
    sniffingListener('sniff', { listener_filters_timeout: '0.2s', continue_on_listener_filters_timeout: true }),
    {
      name: 'server-first',
      address: socketAddress(0),
      listener_filters: [listenerFilter('tls'), listenerFilter('http')],
      listener_filters_timeout: '0.2s',
      continue_on_listener_filters_timeout: true,
      filter_chains: [
        { filter_chain_match: { application_protocols: ['http/1.1', 'h2c'] }, filters: [hcmAnswering('http1-chain')] },
        { filters: [tcpProxy('greeter')] },
      ],
    },
    // Istio's shape for server-first ports: the inspectors are filter_disabled there, and listener_filters_timeout is 0s
    // (no limit), so only filter_disabled keeps the connection from waiting for a first byte forever.
    {
      name: 'inspectors-disabled',
      address: socketAddress(0),
      listener_filters: [
        { ...listenerFilter('tls'), filter_disabled: { or_match: { rules: [{ destination_port_range: { start: 1, end: 2 } }, { destination_port_range: { start: 2, end: 65536 } }] } } },
        { ...listenerFilter('http'), filter_disabled: { any_match: true } },
      ],
      listener_filters_timeout: '0s',
      continue_on_listener_filters_timeout: true,
      filter_chains: [
        { filter_chain_match: { application_protocols: ['http/1.1', 'h2c'] }, filters: [hcmAnswering('http1-chain')] },
        { filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [tcpProxy('greeter')] },
      ],
    },
    {
      name: 'inspectors-disabled-elsewhere',
      address: socketAddress(0),
      listener_filters: [
        { ...listenerFilter('tls'), filter_disabled: { destination_port_range: { start: 1, end: 2 } } },
        { ...listenerFilter('http'), filter_disabled: { not_match: { any_match: true } } },
      ],
      listener_filters_timeout: '0.2s',
      continue_on_listener_filters_timeout: true,
      filter_chains: [
        { filter_chain_match: { application_protocols: ['http/1.1', 'h2c'] }, filters: [hcmAnswering('http1-chain')] },
        { filters: [tcpProxy('greeter')] },
      ],
    },
    {
      name: 'strict',
      address: socketAddress(0),
      listener_filters: [listenerFilter('http')],
      listener_filters_timeout: '0.2s',
      filter_chains: [{ filters: [tcpProxy('greeter')] }],
    },
  ], [staticCluster('tcp-upstream', [echo.port]), staticCluster('greeter', [greeter.port])]));
});

after(async () => {
  await px.close();
  await echo.close();
  await greeter.close();
});

test('http_inspector: an HTTP/1.1 request reaches the chain matching application_protocols http/1.1', async () => {
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: px.port('sniff'), path: '/', agent: false }, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
    }).on('error', reject);
  });
  assert.deepEqual(res, { status: 200, body: 'http1-chain' });
});

test('http_inspector: an HTTP/1.0 request line is detected as http/1.0', async () => {
  const { data } = await talk(px.port('sniff'), { send: 'GET / HTTP/1.0\r\nHost: x\r\n\r\n', until: (d) => d.includes('http1-chain') });
  assert.match(data, /^HTTP\/1\.[01] 200/);
  assert.match(data, /http1-chain$/);
});

test('http_inspector: the HTTP/2 prior-knowledge preface selects the h2c chain', async () => {
  const session = http2.connect(`http://127.0.0.1:${px.port('sniff')}`);
  try {
    const body = await withTimeout(new Promise<string>((resolve, reject) => {
      const req = session.request({ ':path': '/' });
      let b = '';
      req.on('data', (c: Buffer) => (b += c));
      req.on('end', () => resolve(b));
      req.on('error', reject);
    }), 10_000, 'h2c response');
    assert.equal(body, 'h2c-chain');
  } finally {
    session.close();
  }
});

test('http_inspector: bytes that are not HTTP go to the default tcp_proxy chain (and are replayed upstream)', async () => {
  const { data } = await talk(px.port('sniff'), { send: '*1\r\n$4\r\nPING\r\n', until: (d) => d.includes('PING') });
  assert.equal(data, '*1\r\n$4\r\nPING\r\n');
});

test('http_inspector: a request line split over several writes is still detected', async () => {
  const port = px.port('sniff');
  const { data } = await withTimeout(new Promise<{ data: string }>((resolve, reject) => {
    let d = '';
    const c = net.connect(port, '127.0.0.1', () => {
      c.write('GE');
      setImmediate(() => c.write('T / HT'));
      setImmediate(() => setImmediate(() => c.write('TP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')));
    });
    c.on('data', (b: Buffer) => (d += b));
    c.on('close', () => resolve({ data: d }));
    c.on('error', reject);
  }), 10_000, 'split request');
  assert.match(data, /http1-chain$/);
});

test('tls_inspector: a TLS ClientHello on a listener without TLS chains goes to tcp_proxy untouched', async () => {
  // The echo upstream returns the ClientHello bytes: the client sees garbage where a ServerHello should be and fails.
  const before = echo.connections();
  const err = await withTimeout(new Promise<Error>((resolve) => {
    const c = tls.connect({ port: px.port('sniff'), host: '127.0.0.1', servername: 'x.example', rejectUnauthorized: false });
    c.on('error', resolve);
    c.on('secureConnect', () => resolve(new Error('unexpected handshake')));
  }), 10_000, 'TLS failure');
  assert.notEqual(err.message, 'unexpected handshake');
  assert.equal(echo.connections(), before + 1);
});

test('server-first protocol: with continue_on_listener_filters_timeout the client gets the server greeting after the timeout', async () => {
  const { data, closed } = await talk(px.port('server-first'), { until: (d) => d.includes('\r\n') });
  assert.equal(closed, false);
  assert.equal(data, '220 smtp ready\r\n');
  assert.ok(px.stats.counter('envoy_listener_downstream_pre_cx_timeout', { envoy_listener_address: '127.0.0.1_0' }).value >= 1);
});

test('server-first protocol: the conversation continues through tcp_proxy after the greeting', async () => {
  const port = px.port('server-first');
  const got = await withTimeout(new Promise<string>((resolve, reject) => {
    let d = '';
    const c = net.connect(port, '127.0.0.1');
    c.on('data', (b: Buffer) => {
      d += b;
      if (d === '220 smtp ready\r\n') c.write('QUIT\r\n');
      if (d.includes('smtp: QUIT')) { c.destroy(); resolve(d); }
    });
    c.on('error', reject);
  }), 10_000, 'SMTP-like exchange');
  assert.equal(got, '220 smtp ready\r\nsmtp: QUIT\r\n');
});

test('filter_disabled: with every inspector off for the port, a server-first protocol gets its greeting at once (raw_buffer chain)', async () => {
  const started = Date.now();
  const { data, closed } = await talk(px.port('inspectors-disabled'), { until: (d) => d.includes('\r\n') });
  assert.equal(closed, false);
  assert.equal(data, '220 smtp ready\r\n');
  assert.ok(Date.now() - started < 2_000, 'no wait for a first byte');
});

test('filter_disabled: an HTTP request on such a port is not inspected (no ALPN): it goes to the raw_buffer chain', async () => {
  const { data } = await talk(px.port('inspectors-disabled'), { send: 'GET / HTTP/1.1\r\nhost: x\r\n\r\n', until: (d) => d.includes('smtp: GET') });
  assert.match(data, /^220 smtp ready\r\nsmtp: GET \/ HTTP\/1.1/);
});

test('filter_disabled for other ports: the inspectors run as usual (HTTP is detected; a silent client waits for the timeout)', async () => {
  const port = px.port('inspectors-disabled-elsewhere');
  const res = await new Promise<string>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/' }, (r) => { let b = ''; r.on('data', (c: Buffer) => { b += c; }); r.on('end', () => resolve(b)); }).on('error', reject);
  });
  assert.equal(res, 'http1-chain');
  const { data } = await talk(port, { until: (d) => d.includes('\r\n') });
  assert.equal(data, '220 smtp ready\r\n');
});

test('listener_filters_timeout without continue: a silent client is disconnected, nothing reaches the upstream', async () => {
  const { data, closed } = await talk(px.port('strict'));
  assert.equal(closed, true);
  assert.equal(data, '');
});

test('listener_filters_timeout without continue: a client that sends HTTP in time is served', async () => {
  const { data } = await talk(px.port('strict'), { send: 'GET / HTTP/1.1\r\n\r\n', until: (d) => d.includes('smtp: GET') });
  assert.ok(data.startsWith('220 smtp ready\r\n'));
});
