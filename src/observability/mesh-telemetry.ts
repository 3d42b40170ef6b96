// Telemetry of one proxy process: mesh metrics always, and the tracing runtime loaded only once a connection manager asks for tracing.
import type { Logger } from 'pino';
import type { HttpConnectionManagerConfig, Snapshot } from '../model/types.ts';
import { meshIdentity } from './mesh-identity.ts';
import { MeshMetrics, type Direction, type HcmMeshMetrics, type MetricsSink, type TcpMeshMetrics } from './mesh-metrics.ts';
import type { ClusterLookup } from './tracing/exporter.ts';
import type { HcmTracer } from './tracing/hcm-tracer.ts';
import type { TracingRuntime } from './tracing/runtime.ts';

export interface MeshTelemetryOptions {
  readonly stats: MetricsSink;
  readonly clusters: ClusterLookup;
  readonly log: Logger;
  readonly env?: NodeJS.ProcessEnv;
}

function wantsTracing(snapshot: Snapshot): boolean {
  for (const l of snapshot.listeners) {
    for (const fc of l.defaultFilterChain === null ? l.filterChains : [...l.filterChains, l.defaultFilterChain]) {
      if (fc.network.kind === 'http' && (fc.network.tracing ?? null) !== null) return true;
    }
  }
  return false;
}

export class MeshTelemetry {
  readonly #opts: MeshTelemetryOptions;
  readonly metrics: MeshMetrics;
  #tracing: TracingRuntime | null = null;

  constructor(opts: MeshTelemetryOptions) {
    this.#opts = opts;
    this.metrics = new MeshMetrics(opts.stats, meshIdentity(null, opts.env));
  }

  /** Call before building the listeners of `snapshot`: takes the node's identity, loads tracing when some HCM traces. */
  async prepare(snapshot: Snapshot): Promise<void> {
    const identity = meshIdentity(snapshot.node, this.#opts.env);
    this.metrics.identity = identity;
    if (this.#tracing === null && wantsTracing(snapshot)) {
      const { TracingRuntime } = await import('./tracing/runtime.ts');
      this.#tracing = new TracingRuntime({ identity, clusters: this.#opts.clusters, stats: this.#opts.stats, log: this.#opts.log, env: this.#opts.env });
    }
  }

  /** The tracer of a connection manager, or null (no `tracing`, or tracing disabled by the environment). */
  tracer(hcm: HttpConnectionManagerConfig, direction: Direction): HcmTracer | null {
    const cfg = hcm.tracing ?? null;
    return cfg === null || this.#tracing === null ? null : this.#tracing.hcmTracer(cfg, direction);
  }

  http(direction: Direction): HcmMeshMetrics { return this.metrics.http(direction); }
  tcp(direction: Direction): TcpMeshMetrics { return this.metrics.tcp(direction); }

  /** Sends queued spans (bounded by `timeoutMs`) and stops exporting. */
  async shutdown(timeoutMs: number): Promise<void> {
    const t = this.#tracing;
    this.#tracing = null;
    if (t !== null) await t.shutdown(timeoutMs);
  }
}
