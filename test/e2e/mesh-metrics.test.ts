// End-to-end mesh metrics: traffic through frontend → orders → payments, then /stats/prometheus of each sidecar parsed and counted.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { listener, staticCluster, tcpProxy } from '../helpers/bootstrap.ts';
import { send } from '../helpers/http-client.ts';
import { startMeshChain, type MeshChain, type ServiceName } from '../helpers/mesh-chain.ts';
import { parsePrometheusText, sampleSum, sampleValue, type Family } from '../helpers/prometheus-text.ts';

let mesh: MeshChain;
let echo: net.Server;

before(async () => {
  echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const echoPort = (echo.address() as net.AddressInfo).port;
  mesh = await startMeshChain({
    extraListeners: (svc) => (svc === 'frontend' ? [{ ...listener('tcp_out', [tcpProxy('echo_tcp', 'tcp_out')]), traffic_direction: 'OUTBOUND' }] : []),
    extraClusters: (svc) => (svc === 'frontend' ? [staticCluster('echo_tcp', [echoPort])] : []),
  });
});

after(async () => {
  await mesh?.close();
  await new Promise((r) => echo?.close(r));
});

async function scrape(svc: ServiceName): Promise<Map<string, Family>> {
  const res = await send(`${mesh.sidecars[svc].admin}/stats/prometheus`);
  assert.equal(res.status, 200);
  return parsePrometheusText(res.text);
}

/** Sends bytes through the frontend sidecar's tcp_proxy listener and reads them back. */
async function tcpRoundTrip(payload: Buffer): Promise<void> {
  const sock = net.connect(mesh.sidecars.frontend.port('tcp_out'), '127.0.0.1');
  const got: Buffer[] = [];
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    sock.on('error', reject);
    sock.on('data', (c: Buffer) => { got.push(c); n += c.length; if (n >= payload.length) sock.end(); });
    sock.on('close', () => resolve());
    sock.write(payload);
  });
  assert.deepEqual(Buffer.concat(got), payload);
}

test('istio_* request metrics count the traffic sent, per reporter, workload, service, code, flags and protocol', async () => {
  const N = 5;
  const body = 'x'.repeat(100);
  for (let i = 0; i < N - 1; i++) assert.equal((await send(`${mesh.entry}/orders`)).status, 200);
  assert.equal((await send(`${mesh.entry}/orders`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } })).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await send(`${mesh.entry}/flaky`)).status, 200);
  assert.equal((await send(`${mesh.entry}/orders?fail=14`)).status, 502);
  await tcpRoundTrip(Buffer.alloc(1000, 7));

  const fe = await scrape('frontend');
  const inbound = { reporter: 'destination', destination_service: 'frontend.shop.svc.cluster.local', source_workload: 'unknown', request_protocol: 'http', response_flags: '-' };
  assert.equal(sampleValue(fe, 'istio_requests_total', { ...inbound, response_code: '200' }), N + 2);
  assert.equal(sampleValue(fe, 'istio_requests_total', { ...inbound, response_code: '502' }), 1);
  assert.equal(sampleValue(fe, 'istio_request_duration_milliseconds_count', { ...inbound, response_code: '200' }), N + 2);
  assert.equal(sampleValue(fe, 'istio_request_bytes_sum', { ...inbound, response_code: '200' }), 100);
  assert.equal(sampleValue(fe, 'istio_request_bytes_count', { ...inbound, response_code: '200' }), N + 2);
  assert.ok(sampleValue(fe, 'istio_response_bytes_sum', { ...inbound, response_code: '200' }) > 0);
  const outbound = { reporter: 'source', source_workload: 'frontend', destination_service: 'orders', request_protocol: 'http', response_flags: '-' };
  assert.equal(sampleValue(fe, 'istio_requests_total', { ...outbound, response_code: '200' }), N + 2, 'a retried request counts once');
  assert.equal(sampleValue(fe, 'istio_requests_total', { ...outbound, response_code: '502' }), 1);
  // Upstream cluster stats next to them: the two retries, and the gauges/counters of the cluster.
  const orders = { envoy_cluster_name: 'orders' };
  assert.equal(sampleValue(fe, 'envoy_cluster_upstream_rq_retry', orders), 2);
  for (const name of ['envoy_cluster_upstream_cx_active', 'envoy_cluster_upstream_rq_pending_active', 'envoy_cluster_upstream_rq_timeout', 'envoy_cluster_upstream_rq_pending_overflow', 'envoy_cluster_upstream_rq_retry_overflow']) {
    assert.ok(fe.get(name)?.samples.some((s) => s.labels.envoy_cluster_name === 'orders'), `${name} for cluster orders`);
  }
  // TCP.
  const tcp = { reporter: 'source', source_workload: 'frontend', destination_service: 'echo_tcp', request_protocol: 'tcp' };
  assert.equal(sampleValue(fe, 'istio_tcp_connections_opened_total', tcp), 1);
  assert.equal(sampleSum(fe, 'istio_tcp_connections_closed_total', tcp), 1);
  assert.equal(sampleSum(fe, 'istio_tcp_received_bytes_total', tcp), 1000);
  assert.equal(sampleSum(fe, 'istio_tcp_sent_bytes_total', tcp), 1000);

  const or = await scrape('orders');
  const orIn = { reporter: 'destination', source_workload: 'frontend', destination_service: 'orders.shop.svc.cluster.local', request_protocol: 'http' };
  assert.equal(sampleValue(or, 'istio_requests_total', { ...orIn, response_code: '200' }), N + 2);
  assert.equal(sampleValue(or, 'istio_requests_total', { ...orIn, response_code: '503' }), 2, 'each failed first attempt reached orders');
  assert.equal(sampleValue(or, 'istio_requests_total', { ...orIn, response_code: '502' }), 1);
  const orOut = { reporter: 'source', source_workload: 'orders', destination_service: 'payments', request_protocol: 'grpc', response_code: '200' };
  assert.equal(sampleValue(or, 'istio_requests_total', orOut), N + 1, 'gRPC failures are HTTP 200 with a grpc-status');

  const pay = await scrape('payments');
  assert.equal(sampleValue(pay, 'istio_requests_total', {
    reporter: 'destination', source_workload: 'orders', destination_service: 'payments.shop.svc.cluster.local', request_protocol: 'grpc', response_code: '200',
  }), N + 1);
});

test('labels come from bounded sets: paths and headers never become label values; peer names are capped', async () => {
  for (let i = 0; i < 3; i++) {
    await send(`${mesh.entry}/orders/${i}/${'z'.repeat(i)}?q=${i}`, { headers: { 'user-agent': `ua-${i}` } });
  }
  const text = (await send(`${mesh.sidecars.frontend.admin}/stats/prometheus`)).text;
  assert.doesNotMatch(text, /ua-\d|\/orders\/|q=/);
  // Forged peer names straight at the orders sidecar: malformed ones are "unknown", and past 100 names "other".
  const orders = mesh.sidecars.orders.url('inbound');
  const forged = (v: string) => send(`${orders}/flaky`, { headers: { 'x-pilotfish-peer-workload': v } });
  await forged('bad value!');
  await forged('a'.repeat(300));
  for (let i = 0; i < 110; i++) await forged(`forged-${i}`);
  const or = await scrape('orders');
  const sources = new Set(or.get('istio_requests_total')!.samples.map((s) => s.labels.source_workload));
  assert.ok(sources.has('unknown'));
  assert.ok(sources.has('other'));
  assert.ok(sources.size <= 103, `${sources.size} source_workload values`);
  assert.equal(sampleSum(or, 'istio_requests_total', { source_workload: 'other' }), 110 - (100 - (sources.has('frontend') ? 1 : 0)));
  // The peer header never reaches the app: the inbound side takes it off.
  assert.equal(mesh.seen.orders.at(-1)?.['x-pilotfish-peer-workload'], undefined);
});
