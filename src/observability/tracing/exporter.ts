// Builds the span exporter: OTLP over gRPC (:4317) or HTTP/protobuf (:4318) from the provider config, else from the OTEL_* environment.
import { Metadata } from '@grpc/grpc-js';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ConsoleSpanExporter, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import type { OtlpTarget } from '../../model/tracing.ts';
import type { UpstreamCluster } from '../../upstream/types.ts';

export interface ClusterLookup { get(name: string): UpstreamCluster | undefined }

function grpcMetadata(headers: readonly (readonly [string, string])[]): Metadata | undefined {
  if (headers.length === 0) return undefined;
  const md = new Metadata();
  for (const [k, v] of headers) md.add(k, v);
  return md;
}

function grpcExporter(url: string, target: Extract<OtlpTarget, { kind: 'grpc' }>): SpanExporter {
  return new GrpcExporter({ url, metadata: grpcMetadata(target.headers), ...(target.timeoutMs ? { timeoutMillis: target.timeoutMs } : {}) });
}

/** envoy_grpc: each export goes to a host the cluster picks now (hosts may come from DNS or EDS and change). */
class ClusterGrpcExporter implements SpanExporter {
  readonly #target: Extract<OtlpTarget, { kind: 'grpc' }>;
  readonly #clusters: ClusterLookup;
  readonly #byUrl = new Map<string, SpanExporter>();

  constructor(target: Extract<OtlpTarget, { kind: 'grpc' }>, clusters: ClusterLookup) {
    this.#target = target;
    this.#clusters = clusters;
  }

  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    const name = this.#target.cluster ?? '';
    const host = this.#clusters.get(name)?.chooseHost({ hash: null, avoid: null }) ?? null;
    if (host === null) { done({ code: ExportResultCode.FAILED, error: new Error(`tracing cluster "${name}" has no healthy host`) }); return; }
    const url = `http://${host.address.includes(':') ? `[${host.address}]` : host.address}:${host.port}`;
    let e = this.#byUrl.get(url);
    if (e === undefined) { e = grpcExporter(url, this.#target); this.#byUrl.set(url, e); }
    e.export(spans, done);
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.#byUrl.values()].map((e) => e.shutdown()));
  }
}

/** OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL; the OTLP exporters read endpoint, headers and timeout themselves. */
function exporterFromEnv(env: NodeJS.ProcessEnv): SpanExporter | null {
  const kinds = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((s) => s.trim().toLowerCase());
  if (kinds.includes('none')) return null;
  if (kinds.includes('console') && !kinds.includes('otlp')) return new ConsoleSpanExporter();
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim().toLowerCase();
  if (protocol === 'grpc') return new GrpcExporter();
  if (protocol === 'http/json') return new JsonExporter();
  return new ProtoExporter();
}

/** The exporter for one provider target (null: from env); null when the environment turns exporting off. */
export function createSpanExporter(target: OtlpTarget | null, clusters: ClusterLookup, env: NodeJS.ProcessEnv = process.env): SpanExporter | null {
  if (target === null) return exporterFromEnv(env);
  if (target.kind === 'http') {
    return new ProtoExporter({
      url: target.uri,
      ...(target.headers.length > 0 ? { headers: Object.fromEntries(target.headers) } : {}),
      ...(target.timeoutMs ? { timeoutMillis: target.timeoutMs } : {}),
    });
  }
  if (target.cluster !== null) return new ClusterGrpcExporter(target, clusters);
  const uri = target.targetUri ?? '';
  return grpcExporter(/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) ? uri : `http://${uri}`, target);
}
