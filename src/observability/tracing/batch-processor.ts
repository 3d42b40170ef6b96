// A span processor with a bounded queue: ended spans are queued in O(1) and exported in batches off the request path; overflow is dropped and counted.
import { TraceFlags, type Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Counter } from '../types.ts';

export interface BatchOptions {
  /** OTEL_BSP_MAX_QUEUE_SIZE (2048). */
  readonly maxQueueSize: number;
  /** OTEL_BSP_MAX_EXPORT_BATCH_SIZE (512). */
  readonly maxBatchSize: number;
  /** OTEL_BSP_SCHEDULE_DELAY (5000 ms). */
  readonly scheduledDelayMs: number;
  /** OTEL_BSP_EXPORT_TIMEOUT (30000 ms): an export not answered by then counts as failed and frees its slot. */
  readonly exportTimeoutMs: number;
  /** Exports in flight at once (2). */
  readonly maxConcurrentExports: number;
}

export interface ExportCounters {
  readonly sent: Counter;
  readonly dropped: Counter;
  readonly failed: Counter;
  readonly timerFlushed: Counter;
}

function envInt(env: NodeJS.ProcessEnv, name: string, def: number): number {
  const v = Number(env[name]);
  return env[name] !== undefined && Number.isInteger(v) && v > 0 ? v : def;
}

export function batchOptionsFromEnv(env: NodeJS.ProcessEnv): BatchOptions {
  const maxQueueSize = envInt(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048);
  return {
    maxQueueSize,
    maxBatchSize: Math.min(envInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512), maxQueueSize),
    scheduledDelayMs: envInt(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000),
    exportTimeoutMs: envInt(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30_000),
    maxConcurrentExports: 2,
  };
}

export class BoundedBatchProcessor implements SpanProcessor {
  readonly #exporter: SpanExporter;
  readonly #opts: BatchOptions;
  readonly #stats: ExportCounters;
  readonly #onFailure: (err: Error | undefined) => void;
  #queue: ReadableSpan[] = [];
  #timer: NodeJS.Timeout | null = null;
  #kickScheduled = false;
  #inFlight = 0;
  #idle: (() => void)[] = [];
  /** forceFlush calls in progress: while > 0 every freed slot sends whatever is queued. */
  #flushing = 0;
  #shutdown = false;

  constructor(exporter: SpanExporter, opts: BatchOptions, stats: ExportCounters, onFailure: (err: Error | undefined) => void) {
    this.#exporter = exporter;
    this.#opts = opts;
    this.#stats = stats;
    this.#onFailure = onFailure;
  }

  onStart(_span: Span, _parent: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#shutdown || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#queue.length >= this.#opts.maxQueueSize) { this.#stats.dropped.inc(); return; }
    this.#queue.push(span);
    if (this.#queue.length >= this.#opts.maxBatchSize) this.#scheduleKick();
    else this.#arm();
  }

  /** Starts the schedule timer unless it runs already: whatever is queued goes out within scheduledDelayMs. */
  #arm(): void {
    if (this.#timer !== null || this.#queue.length === 0) return;
    this.#timer = setTimeout(() => { this.#timer = null; this.#stats.timerFlushed.inc(); this.#drain(true); }, this.#opts.scheduledDelayMs);
    this.#timer.unref();
  }

  /** Export from a fresh macrotask, never from inside the request that ended the span. */
  #scheduleKick(): void {
    if (this.#kickScheduled) return;
    this.#kickScheduled = true;
    setImmediate(() => { this.#kickScheduled = false; this.#drain(false); });
  }

  /** Sends full batches (and, when `all`, the remainder) while export slots are free. */
  #drain(all: boolean): void {
    while (this.#inFlight < this.#opts.maxConcurrentExports && this.#queue.length > 0
      && (all || this.#queue.length >= this.#opts.maxBatchSize)) {
      const batch = this.#queue.length <= this.#opts.maxBatchSize ? this.#queue : this.#queue.slice(0, this.#opts.maxBatchSize);
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(this.#opts.maxBatchSize);
      this.#export(batch);
    }
    this.#arm();
  }

  #export(batch: ReadableSpan[]): void {
    this.#inFlight++;
    let settled = false;
    const done = (result: ExportResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      this.#inFlight--;
      if (result.code === ExportResultCode.SUCCESS) this.#stats.sent.inc(batch.length);
      else { this.#stats.failed.inc(batch.length); this.#onFailure(result.error); }
      if (this.#flushing > 0 || this.#queue.length >= this.#opts.maxBatchSize) this.#drain(this.#flushing > 0);
      else this.#arm();
      if (this.#inFlight === 0 && this.#queue.length === 0) for (const w of this.#idle.splice(0)) w();
    };
    const deadline = setTimeout(() => done({ code: ExportResultCode.FAILED, error: new Error(`export timed out after ${this.#opts.exportTimeoutMs} ms`) }), this.#opts.exportTimeoutMs);
    deadline.unref();
    try {
      this.#exporter.export(batch, done);
    } catch (err) {
      done({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  /** Spans waiting to be exported (for tests and /stats). */
  get queued(): number { return this.#queue.length; }

  /** Sends everything queued (as export slots free up) and resolves once nothing is queued or in flight. */
  async forceFlush(): Promise<void> {
    if (this.#timer !== null) { clearTimeout(this.#timer); this.#timer = null; }
    const idle = new Promise<void>((resolve) => {
      if (this.#inFlight === 0 && this.#queue.length === 0) resolve();
      else this.#idle.push(resolve);
    });
    this.#flushing++;
    try {
      this.#drain(true);
      await idle;
    } finally {
      this.#flushing--;
    }
  }

  async shutdown(): Promise<void> {
    if (this.#shutdown) return;
    await this.forceFlush();
    this.#shutdown = true;
    await this.#exporter.shutdown();
  }
}
