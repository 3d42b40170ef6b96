// The tracing side of one proxy process: tracer providers per provider config and sampling, exporters, batching, export stats.
import type { Logger } from 'pino';
import { TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import type { TracingConfig, TracingProviderConfig } from '../../model/tracing.ts';
import type { MeshIdentity } from '../mesh-identity.ts';
import type { Counter } from '../types.ts';
import { BoundedBatchProcessor, batchOptionsFromEnv, type ExportCounters } from './batch-processor.ts';
import { createSpanExporter, type ClusterLookup } from './exporter.ts';
import { HcmTracer, type TrafficDirection } from './hcm-tracer.ts';
import { DEFAULT_FORMATS, FORMAT_B3_MULTI, FORMAT_B3_SINGLE, FORMAT_W3C } from './propagation.ts';
import { meshResource } from './resource.ts';
import { envSamplerRatio, meshSampler } from './sampler.ts';

export interface TracingRuntimeOptions {
  readonly identity: MeshIdentity;
  readonly clusters: ClusterLookup;
  readonly stats: { counter(name: string): Counter; describe?(name: string, help: string): void };
  readonly log: Logger;
  readonly env?: NodeJS.ProcessEnv;
}

export const TRACING_STATS = {
  sent: ['envoy_tracing_opentelemetry_spans_sent', 'Spans the OTLP exporter delivered.'],
  dropped: ['envoy_tracing_opentelemetry_spans_dropped', 'Spans dropped because the export queue was full.'],
  failed: ['envoy_tracing_opentelemetry_spans_failed', 'Spans in exports that failed or timed out.'],
  timerFlushed: ['envoy_tracing_opentelemetry_timer_flushed', 'Exports started by the schedule timer (not by a full batch).'],
} as const;

/** OTEL_PROPAGATORS → header formats written on every request (default W3C); formats that arrive are always read and written back. */
export function formatsFromEnv(env: NodeJS.ProcessEnv): number {
  const list = env.OTEL_PROPAGATORS;
  if (list === undefined || list.trim() === '') return DEFAULT_FORMATS;
  let f = 0;
  for (const p of list.split(',').map((s) => s.trim().toLowerCase())) {
    if (p === 'tracecontext') f |= FORMAT_W3C;
    else if (p === 'b3') f |= FORMAT_B3_SINGLE;
    else if (p === 'b3multi') f |= FORMAT_B3_MULTI;
  }
  return f;
}

interface Export { readonly processor: BoundedBatchProcessor | null; readonly providers: Map<string, TracerProvider> }

export class TracingRuntime {
  readonly #opts: TracingRuntimeOptions;
  readonly #env: NodeJS.ProcessEnv;
  readonly #counters: ExportCounters;
  readonly #exports = new Map<string, Export>();
  readonly #formats: number;
  #failures = 0;
  #lastFailureLog = 0;

  constructor(opts: TracingRuntimeOptions) {
    this.#opts = opts;
    this.#env = opts.env ?? process.env;
    this.#formats = formatsFromEnv(this.#env);
    const c = (k: keyof typeof TRACING_STATS): Counter => {
      const [name, help] = TRACING_STATS[k];
      const counter = opts.stats.counter(name);
      opts.stats.describe?.(name, help);
      return counter;
    };
    this.#counters = { sent: c('sent'), dropped: c('dropped'), failed: c('failed'), timerFlushed: c('timerFlushed') };
  }

  /** True when OTEL_SDK_DISABLED turns every tracer off. */
  get disabled(): boolean {
    return this.#env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  }

  /** The tracer of one connection manager, or null when tracing is off for it (SDK disabled, exporter "none"). */
  hcmTracer(cfg: TracingConfig, direction: TrafficDirection): HcmTracer | null {
    if (this.disabled) return null;
    const provider: TracingProviderConfig = cfg.provider ?? { serviceName: null, target: null };
    const exportKey = JSON.stringify(provider);
    let ex = this.#exports.get(exportKey);
    if (ex === undefined) {
      const exporter = createSpanExporter(provider.target, this.#opts.clusters, this.#env);
      ex = { processor: exporter === null ? null : this.#processor(exporter), providers: new Map() };
      this.#exports.set(exportKey, ex);
    }
    if (ex.processor === null) return null;
    const random = (cfg.randomSampling ?? envSamplerRatio(this.#env) ?? 1) * cfg.overallSampling;
    const client = cfg.clientSampling * cfg.overallSampling;
    const samplingKey = `${random}/${client}`;
    let tp = ex.providers.get(samplingKey);
    if (tp === undefined) {
      tp = new TracerProvider({
        resource: meshResource(this.#opts.identity, provider.serviceName, this.#env),
        sampler: meshSampler({ random, client }),
        spanProcessors: [ex.processor],
      });
      ex.providers.set(samplingKey, tp);
    }
    return new HcmTracer(tp.getTracer('pilotfish'), cfg, direction, this.#formats, this.#env);
  }

  #processor(exporter: SpanExporter): BoundedBatchProcessor {
    return new BoundedBatchProcessor(exporter, batchOptionsFromEnv(this.#env), this.#counters, (err) => this.#onExportFailure(err));
  }

  /** Export failures are logged once, then at most once a minute with the count since. */
  #onExportFailure(err: Error | undefined): void {
    this.#failures++;
    const now = Date.now();
    if (now - this.#lastFailureLog < 60_000) return;
    this.#opts.log.warn({ failures: this.#failures, err: err?.message }, 'span export failed');
    this.#lastFailureLog = now;
    this.#failures = 0;
  }

  /** Exports what is queued (bounded by `timeoutMs`) and stops the exporters. */
  async shutdown(timeoutMs: number): Promise<void> {
    const all = [...this.#exports.values()].flatMap((e) => (e.processor === null ? [] : [e.processor.shutdown()]));
    this.#exports.clear();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); timer.unref(); });
    await Promise.race([Promise.allSettled(all), deadline]);
    clearTimeout(timer);
  }
}
