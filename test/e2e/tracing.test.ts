// End-to-end tracing: frontend → orders → payments (gRPC) through three sidecars exporting to a real OTLP receiver (gRPC and HTTP).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { http2Upstream, staticCluster } from '../helpers/bootstrap.ts';
import { send } from '../helpers/http-client.ts';
import { startMeshChain, type MeshChain } from '../helpers/mesh-chain.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';

// Sidecars inherit the environment: export each batch quickly instead of every 5 s.
process.env.OTEL_BSP_SCHEDULE_DELAY = '50';

const OTEL = 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig';
let rx: OtlpReceiver;
let mesh: MeshChain;

before(async () => {
  rx = await startOtlpReceiver();
  // Each sidecar reaches the collector another way: gRPC to an address, gRPC to a cluster, HTTP/protobuf.
  const providers = {
    frontend: { grpc_service: { google_grpc: { target_uri: `127.0.0.1:${rx.grpcPort}`, stat_prefix: 'otel' } } },
    orders: { grpc_service: { envoy_grpc: { cluster_name: 'otel_collector' } }, service_name: 'orders' },
    payments: { http_service: { http_uri: { uri: `http://127.0.0.1:${rx.httpPort}/v1/traces`, cluster: 'otel_collector', timeout: '5s' } } },
  };
  mesh = await startMeshChain({
    tracing: (svc) => ({
      random_sampling: { value: 100 },
      custom_tags: [{ tag: 'mesh', literal: { value: 'e2e' } }],
      provider: { name: 'envoy.tracers.opentelemetry', typed_config: { '@type': OTEL, ...providers[svc] } },
    }),
    extraClusters: (svc) => (svc === 'orders' ? [staticCluster('otel_collector', [rx.grpcPort], http2Upstream())] : []),
  });
});

after(async () => {
  await mesh?.close();
  await rx?.close();
});

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

/** Trace id of the traceparent the frontend app got for its last request. */
function lastFrontendTrace(): { traceId: string; spanId: string; flags: string } {
  const tp = mesh.seen.frontend.at(-1)?.traceparent;
  const m = TRACEPARENT.exec(String(tp));
  assert.ok(m, `frontend app got traceparent ${tp}`);
  return { traceId: m[1], spanId: m[2], flags: m[3] };
}

async function traceSpans(traceId: string, count: number): Promise<ReceivedSpan[]> {
  const all = await rx.waitFor((s) => s.filter((x) => x.traceId === traceId).length >= count, `${count} spans of trace ${traceId}`);
  return all.filter((x) => x.traceId === traceId);
}

function one(spans: readonly ReceivedSpan[], service: string, kind: string): ReceivedSpan {
  const found = spans.filter((s) => s.resource['service.name'] === service && s.kind === kind);
  assert.equal(found.length, 1, `one ${kind} span of ${service}, got ${found.length}: ${JSON.stringify(spans.map((s) => [s.resource['service.name'], s.kind, s.name]))}`);
  return found[0];
}

test('one trace id across frontend → orders → payments, one SERVER and one CLIENT span per hop, linked parent to child', async () => {
  const res = await send(`${mesh.entry}/orders`);
  assert.equal(res.status, 200, res.text);
  assert.match(res.text, /charge/);
  const { traceId } = lastFrontendTrace();
  const spans = await traceSpans(traceId, 5);
  assert.equal(spans.length, 5);
  const fS = one(spans, 'frontend', 'SERVER');
  const fC = one(spans, 'frontend', 'CLIENT');
  const oS = one(spans, 'orders', 'SERVER');
  const oC = one(spans, 'orders', 'CLIENT');
  const pS = one(spans, 'payments', 'SERVER');
  // The sidecar started the trace (the client sent no context); each hop's span is the parent of the next.
  assert.equal(fS.parentSpanId, '');
  assert.equal(fC.parentSpanId, fS.spanId, 'the app copied the trace headers: outbound CLIENT is a child of inbound SERVER');
  assert.equal(oS.parentSpanId, fC.spanId);
  assert.equal(oC.parentSpanId, oS.spanId);
  assert.equal(pS.parentSpanId, oC.spanId);
  // The context the frontend app saw is its sidecar's SERVER span.
  assert.equal(lastFrontendTrace().spanId, fS.spanId);

  // HTTP semantic conventions on the SERVER span.
  assert.equal(fS.name, 'GET');
  assert.equal(fS.attributes['http.request.method'], 'GET');
  assert.equal(fS.attributes['url.path'], '/orders');
  assert.equal(fS.attributes['url.scheme'], 'http');
  assert.equal(fS.attributes['http.response.status_code'], 200);
  assert.equal(fS.attributes['server.address'], '127.0.0.1');
  assert.equal(fS.attributes['network.peer.address'], '127.0.0.1');
  assert.equal(typeof fS.attributes['network.peer.port'], 'number');
  assert.equal(fS.attributes['network.protocol.version'], '1.1');
  assert.equal(fS.status, 'UNSET');
  // Mesh attributes.
  assert.equal(fS.attributes.upstream_cluster, 'local_frontend');
  assert.match(String(fS.attributes.upstream_address), /^127\.0\.0\.1:\d+$/);
  assert.equal(fS.attributes.response_flags, '-');
  assert.equal(fS.attributes.mesh, 'e2e');
  const requestId = mesh.seen.frontend.at(-1)?.['x-request-id'];
  assert.equal(fS.attributes['guid:x-request-id'], requestId);
  assert.equal(oS.attributes['guid:x-request-id'], requestId, 'x-request-id travels with the trace');
  // CLIENT span: where it went.
  assert.equal(fC.attributes.upstream_cluster, 'orders');
  assert.match(String(fC.attributes['url.full']), /^http:\/\/127\.0\.0\.1:\d+\/orders$/);
  assert.equal(fC.attributes['network.peer.address'], '127.0.0.1');
  assert.equal(fC.attributes['http.response.status_code'], 200);
  assert.equal(fC.attributes['http.request.resend_count'], undefined);
  // gRPC spans.
  for (const s of [oC, pS]) {
    assert.equal(s.name, 'pilotfish.test.Echo/Unary');
    assert.equal(s.attributes['rpc.system'], 'grpc');
    assert.equal(s.attributes['rpc.service'], 'pilotfish.test.Echo');
    assert.equal(s.attributes['rpc.method'], 'Unary');
    assert.equal(s.attributes['rpc.grpc.status_code'], 0);
    assert.equal(s.attributes['network.protocol.version'], '2');
    assert.equal(s.status, 'UNSET');
  }
  // Resources: service.name is the workload's service, with its namespace.
  assert.equal(fS.resource['service.namespace'], 'shop');
  assert.equal(fS.resource['service.instance.id'], 'frontend-sidecar');
  assert.ok(fS.endNs >= fS.startNs && fS.startNs <= fC.startNs && fC.endNs <= fS.endNs, 'the CLIENT span lies within the SERVER span');
});

test('a retried call shows two CLIENT spans, each the parent of its own SERVER span', async () => {
  const res = await send(`${mesh.entry}/flaky`);
  assert.equal(res.status, 200, res.text);
  const { traceId } = lastFrontendTrace();
  const spans = await traceSpans(traceId, 5);
  const fS = one(spans, 'frontend', 'SERVER');
  const clients = spans.filter((s) => s.resource['service.name'] === 'frontend' && s.kind === 'CLIENT').sort((a, b) => Number(a.startNs - b.startNs));
  assert.equal(clients.length, 2);
  const [first, second] = clients;
  assert.equal(first.parentSpanId, fS.spanId);
  assert.equal(second.parentSpanId, fS.spanId);
  assert.equal(first.attributes['http.response.status_code'], 503);
  assert.equal(first.attributes['error.type'], '503');
  assert.equal(first.status, 'ERROR');
  assert.equal(first.attributes['http.request.resend_count'], undefined);
  assert.equal(second.attributes['http.response.status_code'], 200);
  assert.equal(second.attributes['http.request.resend_count'], 1);
  assert.equal(second.status, 'UNSET');
  assert.ok(first.endNs <= second.startNs, 'the first attempt ended before the retry started');
  const servers = spans.filter((s) => s.resource['service.name'] === 'orders' && s.kind === 'SERVER');
  assert.deepEqual(servers.map((s) => s.parentSpanId).sort(), [first.spanId, second.spanId].sort());
  assert.equal(servers.find((s) => s.parentSpanId === first.spanId)?.status, 'ERROR');
});

test('B3-only callers (multi and single header) are joined to their trace', async () => {
  const traceId = '463ac35c9f6413ad48485a3953bb6124';
  const spanId = 'a2fb4a1d1a96d312';
  await send(`${mesh.entry}/orders`, { headers: { 'x-b3-traceid': traceId, 'x-b3-spanid': spanId, 'x-b3-sampled': '1' } });
  const spans = await traceSpans(traceId, 5);
  const fS = one(spans, 'frontend', 'SERVER');
  assert.equal(fS.parentSpanId, spanId);
  assert.equal(one(spans, 'payments', 'SERVER').traceId, traceId);
  // The app got both formats, for the frontend SERVER span.
  const h = mesh.seen.frontend.at(-1)!;
  assert.equal(h['x-b3-traceid'], traceId);
  assert.equal(h['x-b3-spanid'], fS.spanId);
  assert.equal(h['x-b3-sampled'], '1');
  assert.equal(h.traceparent, `00-${traceId}-${fS.spanId}-01`);

  const single = '5b8efff798038103d269b633813fc60c';
  await send(`${mesh.entry}/orders`, { headers: { b3: `${single}-eee19b7ec3c1b174-1` } });
  const s2 = await traceSpans(single, 5);
  assert.equal(one(s2, 'frontend', 'SERVER').parentSpanId, 'eee19b7ec3c1b174');
  assert.match(String(mesh.seen.frontend.at(-1)!.b3), new RegExp(`^${single}-[0-9a-f]{16}-1$`), 'a b3 caller gets b3 back');
});

test('a W3C caller is the parent of the first span; tracestate travels', async () => {
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  await send(`${mesh.entry}/orders`, { headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01`, tracestate: 'vendor=abc' } });
  const spans = await traceSpans(traceId, 5);
  assert.equal(one(spans, 'frontend', 'SERVER').parentSpanId, 'b7ad6b7169203331');
  assert.equal(mesh.seen.frontend.at(-1)!.tracestate, 'vendor=abc');
  assert.equal(mesh.seen.orders.at(-1)!.tracestate, 'vendor=abc');
});

test('gRPC and HTTP errors set span status', async () => {
  const res = await send(`${mesh.entry}/orders?fail=14`);
  assert.equal(res.status, 502);
  const spans = await traceSpans(lastFrontendTrace().traceId, 5);
  const pS = one(spans, 'payments', 'SERVER');
  const oC = one(spans, 'orders', 'CLIENT');
  assert.equal(pS.attributes['rpc.grpc.status_code'], 14);
  assert.equal(pS.status, 'ERROR', 'UNAVAILABLE is a server error');
  assert.equal(oC.status, 'ERROR');
  assert.equal(oC.attributes['error.type'], '14');
  assert.equal(one(spans, 'orders', 'SERVER').status, 'ERROR', 'HTTP 502 on a SERVER span');
  assert.equal(one(spans, 'frontend', 'CLIENT').attributes['http.response.status_code'], 502);

  await send(`${mesh.entry}/orders?fail=5`);
  const s2 = await traceSpans(lastFrontendTrace().traceId, 5);
  assert.equal(one(s2, 'payments', 'SERVER').status, 'UNSET', 'NOT_FOUND is not a server error');
  assert.equal(one(s2, 'orders', 'CLIENT').status, 'ERROR', 'but it is a client error');
});

test('an unsampled caller is honoured: the decision travels and no span is exported', async () => {
  const traceId = '11111111111111112222222222222222';
  const res = await send(`${mesh.entry}/orders`, { headers: { traceparent: `00-${traceId}-3333333333333333-00` } });
  assert.equal(res.status, 200);
  const f = lastFrontendTrace();
  assert.equal(f.traceId, traceId);
  assert.equal(f.flags, '00');
  assert.match(String(mesh.seen.orders.at(-1)!.traceparent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
  // Stopping the sidecars flushes every queued span: none of this trace may be among them.
  const stats = await send(`${mesh.sidecars.frontend.admin}/stats/prometheus`);
  const sent = Number(/^envoy_tracing_opentelemetry_spans_sent (\d+)/m.exec(stats.text)?.[1]);
  assert.ok(sent >= 10, `frontend sidecar reports spans sent (${sent})`);
  assert.match(stats.text, /^envoy_tracing_opentelemetry_spans_dropped 0$/m);
  await mesh.close();
  assert.equal(rx.spans.filter((s) => s.traceId === traceId).length, 0);
  assert.ok(rx.spans.length >= 35);
});
