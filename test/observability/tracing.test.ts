// Tests trace-context propagation (W3C, B3 single and multi), span attributes and status rules, and the parent-based ratio sampler.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace';
import {
  A, errorType, grpcMethod, grpcStatus, setMethod, setPath, setServer, spanName, spanStatus,
} from '../../src/observability/tracing/attributes.ts';
import { spanModes } from '../../src/observability/tracing/hcm-tracer.ts';
import {
  DEFAULT_FORMATS, FORMAT_B3_MULTI, FORMAT_B3_SINGLE, FORMAT_W3C, extractContext, injectContext,
} from '../../src/observability/tracing/propagation.ts';
import { formatsFromEnv } from '../../src/observability/tracing/runtime.ts';
import { envSamplerRatio, meshSampler } from '../../src/observability/tracing/sampler.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

test('W3C traceparent and tracestate are extracted', () => {
  const { context, formats } = extractContext({ traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'a=1,b=2' });
  const sc = trace.getSpanContext(context);
  assert.equal(formats, FORMAT_W3C);
  assert.equal(sc?.traceId, TRACE);
  assert.equal(sc?.spanId, SPAN);
  assert.equal(sc?.traceFlags, TraceFlags.SAMPLED);
  assert.equal(sc?.isRemote, true);
  assert.equal(sc?.traceState?.get('b'), '2');
});

test('B3 multi-header and single-header contexts are extracted, with their sampling decision', () => {
  const multi = extractContext({ 'x-b3-traceid': TRACE, 'x-b3-spanid': SPAN, 'x-b3-sampled': '0' });
  assert.equal(multi.formats, FORMAT_B3_MULTI);
  assert.equal(trace.getSpanContext(multi.context)?.traceId, TRACE);
  assert.equal(trace.getSpanContext(multi.context)?.traceFlags, TraceFlags.NONE);
  const single = extractContext({ b3: `${TRACE}-${SPAN}-1` });
  assert.equal(single.formats, FORMAT_B3_SINGLE);
  assert.equal(trace.getSpanContext(single.context)?.spanId, SPAN);
  assert.equal(trace.getSpanContext(single.context)?.traceFlags, TraceFlags.SAMPLED);
  // 64-bit B3 trace ids are widened to 128 bits.
  const short = extractContext({ 'x-b3-traceid': 'a3ce929d0e0e4736', 'x-b3-spanid': SPAN, 'x-b3-sampled': '1' });
  assert.equal(trace.getSpanContext(short.context)?.traceId, '0000000000000000a3ce929d0e0e4736');
});

test('W3C wins over B3 when both are valid; an invalid traceparent falls back to B3', () => {
  const other = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  const both = extractContext({ traceparent: `00-${TRACE}-${SPAN}-01`, 'x-b3-traceid': other, 'x-b3-spanid': SPAN });
  assert.equal(trace.getSpanContext(both.context)?.traceId, TRACE);
  assert.equal(both.formats, FORMAT_W3C | FORMAT_B3_MULTI);
  const bad = extractContext({ traceparent: 'garbage', 'x-b3-traceid': other, 'x-b3-spanid': SPAN, 'x-b3-sampled': '1' });
  assert.equal(trace.getSpanContext(bad.context)?.traceId, other);
});

test('no or unusable headers give the root context', () => {
  assert.equal(extractContext({}).context, ROOT_CONTEXT);
  assert.equal(trace.getSpanContext(extractContext({ traceparent: 'x' }).context), undefined);
});

test('inject writes every requested format and clears stale B3 parent ids', () => {
  const h: Record<string, string | string[] | undefined> = { 'x-b3-parentspanid': 'ffffffffffffffff', tracestate: 'old=1' };
  injectContext(h, { traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED }, FORMAT_W3C | FORMAT_B3_MULTI | FORMAT_B3_SINGLE);
  assert.equal(h.traceparent, `00-${TRACE}-${SPAN}-01`);
  assert.equal(h.tracestate, undefined);
  assert.equal(h['x-b3-traceid'], TRACE);
  assert.equal(h['x-b3-spanid'], SPAN);
  assert.equal(h['x-b3-sampled'], '1');
  assert.equal(h['x-b3-parentspanid'], undefined);
  assert.equal(h.b3, `${TRACE}-${SPAN}-1`);
  const u: Record<string, string> = {};
  injectContext(u, { traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.NONE }, FORMAT_W3C);
  assert.deepEqual(u, { traceparent: `00-${TRACE}-${SPAN}-00` });
});

test('OTEL_PROPAGATORS picks the formats written; default is W3C', () => {
  assert.equal(formatsFromEnv({}), DEFAULT_FORMATS);
  assert.equal(formatsFromEnv({ OTEL_PROPAGATORS: 'tracecontext' }), FORMAT_W3C);
  assert.equal(formatsFromEnv({ OTEL_PROPAGATORS: 'b3, tracecontext,baggage' }), FORMAT_W3C | FORMAT_B3_SINGLE);
});

test('span modes follow the listener direction and spawn_upstream_span', () => {
  assert.deepEqual(spanModes('INBOUND', null), { server: true, client: false });
  assert.deepEqual(spanModes('UNSPECIFIED', null), { server: true, client: false });
  assert.deepEqual(spanModes('OUTBOUND', null), { server: false, client: true });
  assert.deepEqual(spanModes('INBOUND', true), { server: true, client: true });
  assert.deepEqual(spanModes('OUTBOUND', true), { server: true, client: true });
  assert.deepEqual(spanModes('OUTBOUND', false), { server: false, client: true });
});

test('HTTP attributes: method normalisation, path/query with redaction and truncation, server address', () => {
  const a: Attributes = {};
  setMethod(a, 'GET');
  setMethod(a, 'get');
  assert.equal(a[A.method], '_OTHER');
  assert.equal(a[A.methodOriginal], 'get');
  setPath(a, '/orders/42?sig=secret&x=1', 256);
  assert.equal(a[A.urlPath], '/orders/42');
  assert.equal(a[A.urlQuery], 'sig=REDACTED&x=1');
  const b: Attributes = {};
  setPath(b, `/${'a'.repeat(300)}`, 10);
  assert.equal(b[A.urlPath], `/${'a'.repeat(9)}`);
  assert.equal(b[A.urlQuery], undefined);
  const s: Attributes = {};
  setServer(s, 'orders:8080', 'http');
  assert.deepEqual(s, { [A.serverAddress]: 'orders', [A.serverPort]: 8080 });
  const v6: Attributes = {};
  setServer(v6, '[::1]', 'https');
  assert.deepEqual(v6, { [A.serverAddress]: '::1', [A.serverPort]: 443 });
});

test('gRPC method, status and span names', () => {
  assert.deepEqual(grpcMethod('/payments.Payments/Charge'), { service: 'payments.Payments', method: 'Charge' });
  assert.equal(grpcMethod('/'), null);
  assert.equal(grpcMethod('/only'), null);
  assert.equal(spanName('POST', grpcMethod('/payments.Payments/Charge')), 'payments.Payments/Charge');
  assert.equal(spanName('GET', null), 'GET');
  assert.equal(spanName('FROB', null), 'HTTP');
  assert.equal(grpcStatus({ 'grpc-status': '5' }, null), 5);
  assert.equal(grpcStatus({}, { 'grpc-status': '0' }), 0);
  assert.equal(grpcStatus({}, {}), null);
});

test('span status: SERVER fails on 5xx, CLIENT on 4xx; gRPC by code; no response is an error', () => {
  assert.equal(spanStatus(true, 404, null, null), null);
  assert.equal(spanStatus(true, 503, null, 'UF')?.code, SpanStatusCode.ERROR);
  assert.equal(spanStatus(true, 503, null, 'UF')?.message, 'UF');
  assert.equal(spanStatus(false, 404, null, null)?.code, SpanStatusCode.ERROR);
  assert.equal(spanStatus(true, 200, 5, null), null);
  assert.equal(spanStatus(true, 200, 14, null)?.code, SpanStatusCode.ERROR);
  assert.equal(spanStatus(false, 200, 5, null)?.code, SpanStatusCode.ERROR);
  assert.equal(spanStatus(false, 0, null, null)?.code, SpanStatusCode.ERROR);
  assert.equal(errorType(true, 503, null, null), '503');
  assert.equal(errorType(true, 404, null, null), null);
  assert.equal(errorType(false, 0, null, 'connect_failure'), 'connect_failure');
  assert.equal(errorType(false, 200, 14, null), '14');
});

test('sampler: a remote parent decides; new traces follow the ratio; x-client-trace-id uses client sampling', () => {
  const s = meshSampler({ random: 0, client: 1 });
  const sampledParent = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED, isRemote: true });
  const unsampledParent = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.NONE, isRemote: true });
  assert.equal(s.shouldSample(sampledParent, TRACE, 'GET', SpanKind.SERVER, {}, []).decision, SamplingDecision.RECORD_AND_SAMPLED);
  const all = meshSampler({ random: 1, client: 1 });
  assert.equal(all.shouldSample(unsampledParent, TRACE, 'GET', SpanKind.SERVER, {}, []).decision, SamplingDecision.NOT_RECORD);
  assert.equal(s.shouldSample(ROOT_CONTEXT, TRACE, 'GET', SpanKind.SERVER, {}, []).decision, SamplingDecision.NOT_RECORD);
  assert.equal(s.shouldSample(ROOT_CONTEXT, TRACE, 'GET', SpanKind.SERVER, { [A.clientTraceId]: 'abc' }, []).decision, SamplingDecision.RECORD_AND_SAMPLED);
  // A 1 % ratio keeps roughly 1 % of random trace ids.
  const one = meshSampler({ random: 0.01, client: 0.01 });
  let kept = 0;
  for (let i = 0; i < 20_000; i++) {
    const id = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
    if (one.shouldSample(ROOT_CONTEXT, id, 'GET', SpanKind.SERVER, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED) kept++;
  }
  assert.ok(kept > 100 && kept < 320, `kept ${kept} of 20000`);
});

test('OTEL_TRACES_SAMPLER ratio is the default when random_sampling is unset', () => {
  assert.equal(envSamplerRatio({}), null);
  assert.equal(envSamplerRatio({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }), 0.25);
  assert.equal(envSamplerRatio({ OTEL_TRACES_SAMPLER: 'always_off' }), 0);
  assert.equal(envSamplerRatio({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'x' }), 1);
});
