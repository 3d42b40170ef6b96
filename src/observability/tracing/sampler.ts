// The sampler: parent-based (a caller's sampled flag is obeyed), with Envoy's random/client/overall ratios for new traces.
import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace';
import { A } from './attributes.ts';

export interface SamplingRatios {
  /** For new traces (random_sampling × overall_sampling). */
  readonly random: number;
  /** For new traces of requests carrying x-client-trace-id (client_sampling × overall_sampling). */
  readonly client: number;
}

/** Root decision: TraceIdRatioBased on the trace id, with the client ratio when x-client-trace-id came in. */
class MeshRootSampler implements Sampler {
  readonly #random: TraceIdRatioBasedSampler;
  readonly #client: TraceIdRatioBasedSampler;
  readonly #ratios: SamplingRatios;

  constructor(r: SamplingRatios) {
    this.#ratios = r;
    this.#random = new TraceIdRatioBasedSampler(r.random);
    this.#client = new TraceIdRatioBasedSampler(r.client);
  }

  shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const s = attributes[A.clientTraceId] !== undefined ? this.#client : this.#random;
    return s.shouldSample(context, traceId);
  }

  toString(): string {
    return `MeshRootSampler{random=${this.#ratios.random}, client=${this.#ratios.client}}`;
  }
}

/** ParentBased(MeshRoot): remote and local parents decide for their children; only new traces roll the ratio. */
export function meshSampler(r: SamplingRatios): Sampler {
  return new ParentBasedSampler({ root: new MeshRootSampler(r) });
}

/** OTEL_TRACES_SAMPLER_ARG when OTEL_TRACES_SAMPLER is a ratio sampler (the default ratio when random_sampling is unset). */
export function envSamplerRatio(env: NodeJS.ProcessEnv): number | null {
  const kind = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase();
  if (kind === 'always_off' || kind === 'parentbased_always_off') return 0;
  if (kind === 'always_on' || kind === 'parentbased_always_on') return 1;
  if (kind !== 'traceidratio' && kind !== 'parentbased_traceidratio') return null;
  const v = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
  return Number.isFinite(v) && v >= 0 && v <= 1 ? v : 1;
}
