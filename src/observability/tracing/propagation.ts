// Trace context in request headers: extracted from W3C traceparent/tracestate or B3 (single `b3` or multi x-b3-*), written back in the same formats.
import { ROOT_CONTEXT, TraceFlags, trace, type Context, type SpanContext, type TextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3Propagator } from '@opentelemetry/propagator-b3';
import type { HeaderRecord } from '../../http/exchange.ts';

/** Bit flags of the header formats a request carried (and that we write). */
export const FORMAT_W3C = 1;
export const FORMAT_B3_MULTI = 2;
export const FORMAT_B3_SINGLE = 4;

/** What we write besides the formats a request came with: W3C (OTEL_PROPAGATORS' default, tracecontext). */
export const DEFAULT_FORMATS = FORMAT_W3C;

const w3c = new W3CTraceContextPropagator();
const b3 = new B3Propagator();
const getter: TextMapGetter<HeaderRecord> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

export interface Extracted {
  /** ROOT_CONTEXT, or a context holding the remote parent span context. */
  readonly context: Context;
  /** The formats present on the request (FORMAT_* bits). */
  readonly formats: number;
}

const NONE: Extracted = { context: ROOT_CONTEXT, formats: 0 };

/** Reads the caller's trace context; W3C wins when both W3C and B3 are present and valid. */
export function extractContext(h: HeaderRecord): Extracted {
  let formats = 0;
  if (h.traceparent !== undefined) formats |= FORMAT_W3C;
  if (h['x-b3-traceid'] !== undefined) formats |= FORMAT_B3_MULTI;
  if (h.b3 !== undefined) formats |= FORMAT_B3_SINGLE;
  if (formats === 0) return NONE;
  if ((formats & FORMAT_W3C) !== 0) {
    const ctx = w3c.extract(ROOT_CONTEXT, h, getter);
    if (trace.getSpanContext(ctx) !== undefined) return { context: ctx, formats };
  }
  if ((formats & (FORMAT_B3_MULTI | FORMAT_B3_SINGLE)) !== 0) {
    const ctx = b3.extract(ROOT_CONTEXT, h, getter);
    if (trace.getSpanContext(ctx) !== undefined) return { context: ctx, formats };
  }
  return { context: ROOT_CONTEXT, formats };
}

/** Writes `sc` into the headers in the given formats (stale B3 parent ids are removed). */
export function injectContext(h: HeaderRecord, sc: SpanContext, formats: number): void {
  const sampled = (sc.traceFlags & TraceFlags.SAMPLED) !== 0;
  if ((formats & FORMAT_W3C) !== 0) {
    h.traceparent = `00-${sc.traceId}-${sc.spanId}-${sampled ? '01' : '00'}`;
    const state = sc.traceState?.serialize();
    if (state) h.tracestate = state;
    else if (h.tracestate !== undefined) delete h.tracestate;
  }
  if ((formats & FORMAT_B3_MULTI) !== 0) {
    h['x-b3-traceid'] = sc.traceId;
    h['x-b3-spanid'] = sc.spanId;
    h['x-b3-sampled'] = sampled ? '1' : '0';
    if (h['x-b3-parentspanid'] !== undefined) delete h['x-b3-parentspanid'];
    if (h['x-b3-flags'] !== undefined) delete h['x-b3-flags'];
  }
  if ((formats & FORMAT_B3_SINGLE) !== 0) h.b3 = `${sc.traceId}-${sc.spanId}-${sampled ? '1' : '0'}`;
}
