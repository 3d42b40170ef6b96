// Tests the mesh metrics' bounded labels, cluster → service naming, SPIFFE peer names and the identity taken from the node.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meshIdentity } from '../../src/observability/mesh-identity.ts';
import { BoundedLabel, BYTES_BUCKETS, MeshMetrics, clusterService, spiffeServiceAccount } from '../../src/observability/mesh-metrics.ts';
import { StatsRegistry } from '../../src/observability/stats.ts';

test('BoundedLabel keeps well-formed values up to its cap, then "other"; malformed ones are "unknown"', () => {
  const b = new BoundedLabel(2);
  assert.equal(b.value('frontend'), 'frontend');
  assert.equal(b.value('orders'), 'orders');
  assert.equal(b.value('frontend'), 'frontend');
  assert.equal(b.value('payments'), 'other');
  assert.equal(b.value(undefined), 'unknown');
  assert.equal(b.value('has space'), 'unknown');
  assert.equal(b.value('x'.repeat(300)), 'unknown');
});

test('destination_service of a cluster: Istio-style names give the FQDN, others stay as they are', () => {
  assert.equal(clusterService('outbound|8080||orders.shop.svc.cluster.local'), 'orders.shop.svc.cluster.local');
  assert.equal(clusterService('inbound|8081|orders'), 'orders');
  assert.equal(clusterService('orders'), 'orders');
  assert.equal(clusterService(null), 'unknown');
});

test('the service account of a SPIFFE peer names the source workload', () => {
  assert.equal(spiffeServiceAccount(['spiffe://cluster.local/ns/shop/sa/frontend']), 'frontend');
  assert.equal(spiffeServiceAccount(['spiffe://td/other']), null);
  assert.equal(spiffeServiceAccount([]), null);
});

test('identity: node metadata first, then node.cluster and POD_* env', () => {
  const meta = meshIdentity({ id: 'n1', cluster: 'c', metadata: { pilotfish: { service: 'orders', namespace: 'shop' } } }, { POD_NAME: 'orders-1', POD_NAMESPACE: 'other' });
  assert.deepEqual(meta, { service: 'orders', namespace: 'shop', pod: 'orders-1', nodeId: 'n1', destinationService: 'orders.shop.svc.cluster.local' });
  const plain = meshIdentity({ id: 'n2', cluster: 'payments', metadata: {} }, { POD_NAMESPACE: 'pay' });
  assert.deepEqual(plain, { service: 'payments', namespace: 'pay', pod: null, nodeId: 'n2', destinationService: 'payments' });
  assert.equal(meshIdentity(null, {}).service, 'unknown');
});

test('families render with HELP and TYPE, byte histograms with their own buckets', () => {
  const reg = new StatsRegistry();
  const m = new MeshMetrics(reg, meshIdentity(null, {}));
  const labels = { reporter: 'source', source_workload: 'a', destination_service: 'b', response_code: '200', response_flags: '-', request_protocol: 'http' };
  m.counter('istio_requests_total', labels).inc();
  m.histogram('istio_request_bytes', labels, BYTES_BUCKETS).record(42);
  const text = reg.renderPrometheus();
  assert.match(text, /^# HELP istio_requests_total Requests through this sidecar/m);
  assert.match(text, /^# TYPE istio_request_bytes histogram$/m);
  assert.match(text, /^istio_request_bytes_bucket\{.*le="100"\} 1$/m);
  assert.match(text, /^istio_request_bytes_bucket\{.*le="10"\} 0$/m);
});
