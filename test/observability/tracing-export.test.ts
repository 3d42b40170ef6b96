// Tests span export to a real OTLP receiver (gRPC and HTTP/protobuf, env and config endpoints) and the bounded batch queue's drop/fail counters.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SpanKind, ROOT_CONTEXT } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { StatsRegistry } from '../../src/observability/stats.ts';
import { BoundedBatchProcessor, batchOptionsFromEnv, type ExportCounters } from '../../src/observability/tracing/batch-processor.ts';
import { createSpanExporter, type ClusterLookup } from '../../src/observability/tracing/exporter.ts';
import { meshIdentity } from '../../src/observability/mesh-identity.ts';
import { meshResource } from '../../src/observability/tracing/resource.ts';
import type { UpstreamCluster } from '../../src/upstream/types.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.ts';

let rx: OtlpReceiver;
before(async () => { rx = await startOtlpReceiver(); });
after(async () => { await rx.close(); });

const noClusters: ClusterLookup = { get: () => undefined };

function counters(reg: StatsRegistry): ExportCounters {
  return { sent: reg.counter('sent'), dropped: reg.counter('dropped'), failed: reg.counter('failed'), timerFlushed: reg.counter('timer') };
}

/** Sends one span named `name` through `exporter` and flushes. */
async function sendOne(exporter: SpanExporter, name: string, reg = new StatsRegistry()): Promise<void> {
  const processor = new BoundedBatchProcessor(exporter, batchOptionsFromEnv({}), counters(reg), () => {});
  const id = meshIdentity({ id: 'orders-1', cluster: 'orders', metadata: { pilotfish: { service: 'orders', namespace: 'shop' } } }, { POD_NAME: 'orders-7d9f' });
  const tp = new TracerProvider({ resource: meshResource(id, null, {}), spanProcessors: [processor] });
  const span = tp.getTracer('test').startSpan(name, { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET' } }, ROOT_CONTEXT);
  span.end();
  await processor.forceFlush();
  await processor.shutdown();
}

test('OTLP/gRPC export (google_grpc target) reaches TraceService/Export with resource and attributes', async () => {
  const exporter = createSpanExporter({ kind: 'grpc', cluster: null, targetUri: `127.0.0.1:${rx.grpcPort}`, timeoutMs: 5000, headers: [['x-tenant', 'a']] }, noClusters);
  assert.ok(exporter);
  await sendOne(exporter, 'grpc-one');
  const [s] = (await rx.waitFor((all) => all.some((x) => x.name === 'grpc-one'), 'grpc-one')).filter((x) => x.name === 'grpc-one');
  assert.equal(s.kind, 'SERVER');
  assert.equal(s.attributes['http.request.method'], 'GET');
  assert.equal(s.resource['service.name'], 'orders');
  assert.equal(s.resource['service.namespace'], 'shop');
  assert.equal(s.resource['k8s.pod.name'], 'orders-7d9f');
  assert.equal(s.resource['service.instance.id'], 'orders-7d9f');
  assert.match(s.traceId, /^[0-9a-f]{32}$/);
  assert.equal(s.parentSpanId, '');
});

test('OTLP/HTTP protobuf export (http_service) reaches POST /v1/traces', async () => {
  const exporter = createSpanExporter({ kind: 'http', uri: `http://127.0.0.1:${rx.httpPort}/v1/traces`, timeoutMs: 5000, headers: [] }, noClusters);
  assert.ok(exporter);
  await sendOne(exporter, 'http-one');
  await rx.waitFor((all) => all.some((x) => x.name === 'http-one'), 'http-one');
});

test('envoy_grpc exports to a host of the named cluster', async () => {
  const host = { key: `127.0.0.1:${rx.grpcPort}`, address: '127.0.0.1', port: rx.grpcPort };
  const clusters: ClusterLookup = { get: (n) => (n === 'otel' ? { chooseHost: () => host } as unknown as UpstreamCluster : undefined) };
  const exporter = createSpanExporter({ kind: 'grpc', cluster: 'otel', targetUri: null, timeoutMs: null, headers: [] }, clusters);
  assert.ok(exporter);
  await sendOne(exporter, 'cluster-one');
  await rx.waitFor((all) => all.some((x) => x.name === 'cluster-one'), 'cluster-one');
  // A cluster with no host fails the export (counted), it does not throw.
  const reg = new StatsRegistry();
  await sendOne(createSpanExporter({ kind: 'grpc', cluster: 'missing', targetUri: null, timeoutMs: null, headers: [] }, clusters)!, 'lost', reg);
  assert.equal(reg.counter('failed').value, 1);
});

test('without a provider endpoint the OTEL_EXPORTER_OTLP_* environment decides (gRPC and HTTP/protobuf)', async () => {
  const saved = { ...process.env };
  try {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${rx.grpcPort}`;
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'grpc';
    await sendOne(createSpanExporter(null, noClusters, process.env)!, 'env-grpc');
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${rx.httpPort}`;
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/protobuf';
    await sendOne(createSpanExporter(null, noClusters, process.env)!, 'env-http');
    await rx.waitFor((all) => all.some((x) => x.name === 'env-grpc') && all.some((x) => x.name === 'env-http'), 'env spans');
    assert.equal(createSpanExporter(null, noClusters, { OTEL_TRACES_EXPORTER: 'none' }), null);
  } finally {
    process.env = saved;
  }
});

/** An exporter whose exports complete only when the test says so. */
function heldExporter(): SpanExporter & { pending: ((r: ExportResult) => void)[]; batches: number[] } {
  const pending: ((r: ExportResult) => void)[] = [];
  const batches: number[] = [];
  return {
    pending,
    batches,
    export(spans: ReadableSpan[], done: (r: ExportResult) => void) { batches.push(spans.length); pending.push(done); },
    shutdown: async () => {},
  };
}

test('a full queue drops spans and counts them; the request path never waits for the exporter', async () => {
  const reg = new StatsRegistry();
  const c = counters(reg);
  const exporter = heldExporter();
  const opts = { maxQueueSize: 4, maxBatchSize: 2, scheduledDelayMs: 60_000, exportTimeoutMs: 60_000, maxConcurrentExports: 1 };
  const processor = new BoundedBatchProcessor(exporter, opts, c, () => {});
  const tp = new TracerProvider({ spanProcessors: [processor] });
  const tracer = tp.getTracer('t');
  for (let i = 0; i < 10; i++) tracer.startSpan(`s${i}`, {}, ROOT_CONTEXT).end();
  // Nothing was exported synchronously; 4 queued, 6 dropped.
  assert.equal(exporter.batches.length, 0);
  assert.equal(c.dropped.value, 6);
  assert.equal(processor.queued, 4);
  await new Promise<void>((r) => setImmediate(r));
  assert.deepEqual(exporter.batches, [2], 'one batch in flight (one export slot)');
  exporter.pending.shift()!({ code: ExportResultCode.SUCCESS });
  assert.deepEqual(exporter.batches, [2, 2]);
  exporter.pending.shift()!({ code: ExportResultCode.FAILED, error: new Error('collector down') });
  assert.equal(c.sent.value, 2);
  assert.equal(c.failed.value, 2);
  assert.equal(processor.queued, 0);
});

test('a hung export times out, is counted as failed and frees its slot', async () => {
  const reg = new StatsRegistry();
  const c = counters(reg);
  const exporter = heldExporter();
  const processor = new BoundedBatchProcessor(exporter, { maxQueueSize: 10, maxBatchSize: 1, scheduledDelayMs: 60_000, exportTimeoutMs: 50, maxConcurrentExports: 1 }, c, () => {});
  const tp = new TracerProvider({ spanProcessors: [processor] });
  tp.getTracer('t').startSpan('a', {}, ROOT_CONTEXT).end();
  tp.getTracer('t').startSpan('b', {}, ROOT_CONTEXT).end();
  await processor.forceFlush();
  assert.equal(c.failed.value, 2);
  assert.deepEqual(exporter.batches, [1, 1]);
});

test('forceFlush sends everything queued, batch after batch as export slots free up', async () => {
  const reg = new StatsRegistry();
  const c = counters(reg);
  const batches: number[] = [];
  const exporter: SpanExporter = {
    export(spans, done) { batches.push(spans.length); setImmediate(() => done({ code: ExportResultCode.SUCCESS })); },
    shutdown: async () => {},
  };
  const processor = new BoundedBatchProcessor(exporter, { maxQueueSize: 100, maxBatchSize: 2, scheduledDelayMs: 60_000, exportTimeoutMs: 60_000, maxConcurrentExports: 1 }, c, () => {});
  const tp = new TracerProvider({ spanProcessors: [processor] });
  for (let i = 0; i < 5; i++) tp.getTracer('t').startSpan(`s${i}`, {}, ROOT_CONTEXT).end();
  await processor.forceFlush();
  assert.deepEqual(batches, [2, 2, 1]);
  assert.equal(c.sent.value, 5);
  assert.equal(processor.queued, 0);
});
