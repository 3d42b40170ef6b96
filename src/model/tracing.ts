// Compiles HCM `tracing` (sampling, custom tags, the envoy.tracers.opentelemetry provider) into TracingConfig.
import {
  CUSTOM_TAG, CUSTOM_TAG_ENVIRONMENT, CUSTOM_TAG_HEADER, CUSTOM_TAG_LITERAL, ENVOY_GRPC, GOOGLE_GRPC, GRPC_SERVICE, HCM_TRACING,
  HEADER_VALUE, HEADER_VALUE_OPTION, HTTP_SERVICE, HTTP_URI, OPENTELEMETRY_CONFIG, PERCENT, TRACING_HTTP,
} from './fields-tracing.ts';
import type { Msg } from './proto-message.ts';
import { openTyped } from './typed-config.ts';

export const OPENTELEMETRY_TRACER = 'envoy.tracers.opentelemetry';

/** A span tag added to every span of the connection manager (Envoy's custom_tags; metadata tags are not supported). */
export type CustomTagConfig =
  | { readonly tag: string; readonly kind: 'literal'; readonly value: string }
  | { readonly tag: string; readonly kind: 'environment' | 'request_header'; readonly name: string; readonly defaultValue: string };

/** Where the OTLP exporter sends spans. */
export type OtlpTarget =
  | {
    readonly kind: 'grpc';
    /** envoy_grpc.cluster_name: sent to a host of this cluster (plaintext). */
    readonly cluster: string | null;
    /** google_grpc.target_uri ("host:port" or a URL). */
    readonly targetUri: string | null;
    readonly timeoutMs: number | null;
    readonly headers: readonly (readonly [string, string])[];
  }
  | {
    readonly kind: 'http';
    /** http_uri.uri, e.g. "http://jaeger:4318/v1/traces" (OTLP/HTTP protobuf). */
    readonly uri: string;
    readonly timeoutMs: number | null;
    readonly headers: readonly (readonly [string, string])[];
  };

export interface TracingProviderConfig {
  /** OpenTelemetryConfig.service_name (null: OTEL_SERVICE_NAME or the node's service). */
  readonly serviceName: string | null;
  /** null: the exporter comes from the OTEL_EXPORTER_OTLP_* environment variables. */
  readonly target: OtlpTarget | null;
}

/** HttpConnectionManager.tracing, compiled. Ratios are fractions in [0, 1]. */
export interface TracingConfig {
  /** random_sampling (default: OTEL_TRACES_SAMPLER_ARG for ratio samplers, else 100 %); null when not set. */
  readonly randomSampling: number | null;
  /** client_sampling: applied to requests with x-client-trace-id (default 100 %). */
  readonly clientSampling: number;
  /** overall_sampling: a cap applied after the other two (default 100 %). */
  readonly overallSampling: number;
  /** spawn_upstream_span; null = by the listener's traffic_direction. */
  readonly spawnUpstreamSpan: boolean | null;
  /** max_path_tag_length (default 256). */
  readonly maxPathTagLength: number;
  readonly customTags: readonly CustomTagConfig[];
  /** null: OpenTelemetry with the OTEL_* environment. */
  readonly provider: TracingProviderConfig | null;
}

/** envoy.type.v3.Percent (a double 0–100) as a fraction; null when absent. */
function percent(t: Msg, name: string): number | null {
  const p = t.msg(name, PERCENT);
  if (p === null) return null;
  const v = p.get('value') ?? 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) {
    p.error('value', `must be a percentage from 0 to 100, got ${JSON.stringify(v)}`);
    return null;
  }
  return v / 100;
}

function compileCustomTag(m: Msg): CustomTagConfig | null {
  const tag = m.requiredStr('tag');
  switch (m.oneOf(['literal', 'environment', 'request_header'], true, 'literal, environment, request_header')) {
    case 'literal': {
      const l = m.msg('literal', CUSTOM_TAG_LITERAL);
      return l === null ? null : { tag, kind: 'literal', value: l.requiredStr('value') };
    }
    case 'environment':
    case 'request_header': {
      const kind = m.has('environment') ? 'environment' : 'request_header';
      const s = m.msg(kind, kind === 'environment' ? CUSTOM_TAG_ENVIRONMENT : CUSTOM_TAG_HEADER);
      if (s === null) return null;
      const name = s.requiredStr('name');
      return { tag, kind, name: kind === 'request_header' ? name.toLowerCase() : name, defaultValue: s.str('default_value') };
    }
    default:
      return null;
  }
}

function headerList(items: readonly Msg[]): [string, string][] {
  return items.map((h) => [h.requiredStr('key').toLowerCase(), h.str('value')]);
}

function compileTarget(o: Msg): OtlpTarget | null {
  switch (o.oneOf(['grpc_service', 'http_service'], false)) {
    case 'grpc_service': {
      const g = o.msg('grpc_service', GRPC_SERVICE);
      if (g === null) return null;
      const headers = headerList(g.msgList('initial_metadata', HEADER_VALUE));
      const timeoutMs = g.optDurationMs('timeout');
      const which = g.oneOf(['envoy_grpc', 'google_grpc'], true);
      if (which === 'envoy_grpc') {
        const e = g.msg('envoy_grpc', ENVOY_GRPC);
        return { kind: 'grpc', cluster: e?.requiredStr('cluster_name') ?? '', targetUri: null, timeoutMs, headers };
      }
      if (which === 'google_grpc') {
        const e = g.msg('google_grpc', GOOGLE_GRPC);
        return { kind: 'grpc', cluster: null, targetUri: e?.requiredStr('target_uri') ?? '', timeoutMs, headers };
      }
      return null;
    }
    case 'http_service': {
      const h = o.msg('http_service', HTTP_SERVICE);
      const u = h?.msg('http_uri', HTTP_URI) ?? null;
      if (h === null) return null;
      if (u === null) { h.error('http_uri', 'is required'); return null; }
      const uri = u.requiredStr('uri');
      if (uri !== '' && !/^https?:\/\/[^/]+/.test(uri)) u.error('uri', `must be an http:// or https:// URL, got ${JSON.stringify(uri)}`);
      const headers = headerList(h.msgList('request_headers_to_add', HEADER_VALUE_OPTION).flatMap((o) => {
        const hv = o.msg('header', HEADER_VALUE);
        return hv === null ? [] : [hv];
      }));
      return { kind: 'http', uri, timeoutMs: u.optDurationMs('timeout'), headers };
    }
    default:
      return null;
  }
}

function compileProvider(t: Msg): TracingProviderConfig | null {
  const p = t.msg('provider', TRACING_HTTP);
  if (p === null) return null;
  const name = p.requiredStr('name');
  if (!p.has('typed_config')) {
    if (name !== '' && name !== OPENTELEMETRY_TRACER) p.error('name', `tracer ${name} is not supported (only ${OPENTELEMETRY_TRACER})`);
    return { serviceName: null, target: null };
  }
  const o = openTyped(p.ctx, p.at('typed_config'), p.get('typed_config'), OPENTELEMETRY_CONFIG);
  if (o === null) return null;
  return { serviceName: o.optStr('service_name'), target: compileTarget(o) };
}

/** `h` is the opened HttpConnectionManager; null when it has no `tracing` (or after reporting errors). */
export function compileTracing(h: Msg): TracingConfig | null {
  const t = h.msg('tracing', HCM_TRACING);
  if (t === null) return null;
  const before = t.ctx.errors.length;
  const customTags: CustomTagConfig[] = [];
  for (const m of t.msgList('custom_tags', CUSTOM_TAG)) {
    const c = compileCustomTag(m);
    if (c !== null) customTags.push(c);
  }
  const config: TracingConfig = {
    randomSampling: percent(t, 'random_sampling'),
    clientSampling: percent(t, 'client_sampling') ?? 1,
    overallSampling: percent(t, 'overall_sampling') ?? 1,
    spawnUpstreamSpan: t.has('spawn_upstream_span') ? t.bool('spawn_upstream_span', false) : null,
    maxPathTagLength: t.uint('max_path_tag_length', 256, 1),
    customTags,
    provider: compileProvider(t),
  };
  return t.ctx.errors.length > before ? null : config;
}
