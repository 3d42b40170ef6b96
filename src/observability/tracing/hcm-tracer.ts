// One connection manager's tracer: which spans it makes (by traffic direction), its static tags, and the start of each request's trace.
import type { Attributes, Tracer } from '@opentelemetry/api';
import type { ActiveRequest } from '../../http/active-request.ts';
import type { TracingConfig } from '../../model/tracing.ts';
import { RequestTrace } from './request-trace.ts';

export type TrafficDirection = 'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND';

/**
 * SERVER span for the downstream request on inbound (and unspecified) listeners, CLIENT span per upstream attempt on
 * outbound ones; spawn_upstream_span: true gives both (a gateway), false only the direction's own span.
 */
export function spanModes(direction: TrafficDirection, spawnUpstreamSpan: boolean | null): { server: boolean; client: boolean } {
  if (direction === 'OUTBOUND') return { server: spawnUpstreamSpan === true, client: true };
  return { server: true, client: spawnUpstreamSpan === true };
}

export class HcmTracer {
  readonly tracer: Tracer;
  readonly config: TracingConfig;
  readonly server: boolean;
  readonly client: boolean;
  /** Header formats written on every request (FORMAT_* bits), plus whatever the request itself carried. */
  readonly formats: number;
  /** Literal and environment custom tags (fixed for the life of the config). */
  readonly staticTags: Attributes;
  /** request_header custom tags: [tag, header name, default]. */
  readonly headerTags: readonly (readonly [string, string, string])[];

  constructor(tracer: Tracer, config: TracingConfig, direction: TrafficDirection, formats: number, env: NodeJS.ProcessEnv = process.env) {
    this.tracer = tracer;
    this.config = config;
    const m = spanModes(direction, config.spawnUpstreamSpan);
    this.server = m.server;
    this.client = m.client;
    this.formats = formats;
    const tags: Attributes = {};
    const headerTags: [string, string, string][] = [];
    for (const t of config.customTags) {
      if (t.kind === 'literal') tags[t.tag] = t.value;
      else if (t.kind === 'environment') { const v = env[t.name] ?? t.defaultValue; if (v !== '') tags[t.tag] = v; }
      else headerTags.push([t.tag, t.name, t.defaultValue]);
    }
    this.staticTags = tags;
    this.headerTags = headerTags;
  }

  /** Extracts the caller's context, starts the SERVER span (when this side makes one) and writes it into the request headers. */
  start(req: ActiveRequest): RequestTrace {
    return new RequestTrace(this, req);
  }
}
