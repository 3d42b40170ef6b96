// Tests the demo's summary collector: OTLP/HTTP JSON from the real exporter in, one line per finished trace out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { startTraceSummaryCollector, summarizeTrace, type SummarySpan } from '../../src/demo/trace-summary.ts';

const span = (o: Partial<SummarySpan> & Pick<SummarySpan, 'spanId' | 'parentSpanId' | 'service' | 'kind'>): SummarySpan => ({
  traceId: 'abcdef0123456789abcdef0123456789', name: 'GET', startNs: 0n, durationMs: 1, status: 200, error: false, resend: 0, ...o,
});

test('a summary shows the hops as a tree, retries and errors', () => {
  const line = summarizeTrace([
    span({ spanId: 'f', parentSpanId: '', service: 'frontend', kind: 'SERVER', durationMs: 12.34 }),
    span({ spanId: 'c1', parentSpanId: 'f', service: 'frontend', kind: 'CLIENT', startNs: 1n }),
    span({ spanId: 'c2', parentSpanId: 'f', service: 'frontend', kind: 'CLIENT', startNs: 2n, resend: 1 }),
    span({ spanId: 'c3', parentSpanId: 'f', service: 'frontend', kind: 'CLIENT', startNs: 3n }),
    span({ spanId: 'o1', parentSpanId: 'c1', service: 'orders', kind: 'SERVER', startNs: 1n, error: true, status: 503 }),
    span({ spanId: 'o2', parentSpanId: 'c2', service: 'orders', kind: 'SERVER', startNs: 2n }),
    span({ spanId: 'p', parentSpanId: 'c3', service: 'payments', kind: 'SERVER', startNs: 3n, durationMs: 2 }),
  ]);
  assert.equal(line, 'trace abcdef01 GET 200 12.3 ms, 7 spans, 3 services: frontend 12.3 ms → {orders 1.0 ms !, orders 1.0 ms, payments 2.0 ms} (1 retry) (errors in orders)');
});

test('the collector takes the exporter\'s OTLP/JSON and prints each trace once it is quiet', async () => {
  const lines: string[] = [];
  let done!: () => void;
  const printed = new Promise<void>((r) => { done = r; });
  const c = await startTraceSummaryCollector((l) => { lines.push(l); done(); }, 50);
  try {
    const tp = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'frontend' }) });
    const tracer = tp.getTracer('t');
    const root = tracer.startSpan('GET', { kind: SpanKind.SERVER, attributes: { 'http.response.status_code': 200 } }, ROOT_CONTEXT);
    const child = tracer.startSpan('GET', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, root));
    child.setStatus({ code: SpanStatusCode.ERROR });
    child.end();
    root.end();
    const exporter = new OTLPTraceExporter({ url: `${c.endpoint}/v1/traces` });
    await new Promise<void>((resolve, reject) => exporter.export([root, child] as unknown as ReadableSpan[], (r) => (r.code === 0 ? resolve() : reject(r.error))));
    await printed;
    assert.equal(lines.length, 1);
    assert.match(lines[0], new RegExp(`^trace ${root.spanContext().traceId.slice(0, 8)} GET 200 [\\d.]+ ms, 2 spans, 1 services: frontend [\\d.]+ ms \\(errors in frontend\\)$`));
    await exporter.shutdown();
  } finally {
    await c.close();
  }
});
