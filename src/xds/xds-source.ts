// Entry point of the xDS client: reads dynamic_resources, serves the static config, runs ADS and publishes every update.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Snapshot } from '../model/types.ts';
import type { ProxyEngine } from '../server/types.ts';
import { SotwAdsClient } from './ads-client.ts';
import type { AdsStream } from './ads-stream.ts';
import { GRPC_BACKOFF, type BackoffOptions } from './ads-transport.ts';
import { parseDynamicResources, type XdsBootstrap } from './bootstrap-dynamic.ts';
import { DeltaAdsClient } from './delta-ads-client.ts';
import { xdsProtoRoot } from './protos.ts';
import type { XdsModelApi } from './resource-types.ts';
import type { XdsDump } from './xds-dump.ts';
import { XdsState } from './xds-state.ts';

export type { XdsDump } from './xds-dump.ts';
export { xdsConfigDump } from './xds-dump.ts';

export interface XdsSourceOptions {
  /** The bootstrap document as parsed (proto3 JSON), including dynamic_resources. */
  readonly bootstrap: unknown;
  /** compileBootstrap's result for the same document (static_resources). */
  readonly staticSnapshot: Snapshot;
  readonly engine: ProxyEngine;
  readonly logger: Logger;
  /** Reconnect backoff; gRPC's defaults (1 s, ×1.6, 120 s, jitter 0.2) when absent. */
  readonly backoff?: Partial<BackoffOptions>;
  /** Overrides the bootstrap's initial_fetch_timeout (ms; 0 waits forever). */
  readonly initialFetchTimeoutMs?: number;
  /** How long an RDS route configuration no listener references any more stays usable by draining connections (default 600 s). */
  readonly routeRetentionMs?: number;
  /** The model compilers; src/model/compile-bootstrap.ts when absent. */
  readonly model?: XdsModelApi;
  /** Reads DataSource files of xDS resources; the file system when absent. */
  readonly io?: { readFile(path: string): string };
}

export interface XdsSource {
  /** Resolves on the first complete config (LDS, CDS and everything they reference), or when the initial fetch timeout passes. */
  readonly ready: Promise<void>;
  isReady(): boolean;
  /** True while the ADS stream is up and the control plane has answered on it. */
  connected(): boolean;
  dump(): XdsDump;
  close(): Promise<void>;
}

/** Invalid dynamic_resources: every message names the field. */
export class XdsBootstrapError extends Error {
  readonly errors: readonly string[];
  constructor(errors: readonly string[]) {
    super(errors.join('\n'));
    this.name = 'XdsBootstrapError';
    this.errors = errors;
  }
}

/** Whether the bootstrap has dynamic_resources (so the CLI knows to start the xDS source). */
export function hasDynamicResources(bootstrap: unknown): boolean {
  return bootstrap !== null && typeof bootstrap === 'object' && 'dynamic_resources' in bootstrap;
}

/** Validates dynamic_resources without starting anything (for --mode validate). */
export function checkDynamicResources(bootstrap: unknown): { errors: readonly string[]; warnings: readonly string[] } {
  const r = parseDynamicResources(bootstrap);
  return { errors: r.ok ? [] : r.errors, warnings: r.warnings };
}

/**
 * Starts the xDS source: applies the static part of the bootstrap at once (it serves while the control plane is
 * unreachable), then opens the ADS stream (SotW, or delta for api_type DELTA_GRPC) and applies every accepted update.
 * Throws XdsBootstrapError when dynamic_resources is invalid or absent.
 */
export async function startXdsSource(opts: XdsSourceOptions): Promise<XdsSource> {
  const parsed = parseDynamicResources(opts.bootstrap);
  if (!parsed.ok) throw new XdsBootstrapError(parsed.errors);
  if (parsed.value === null) throw new XdsBootstrapError(['bootstrap: dynamic_resources: is required for xDS']);
  for (const w of parsed.warnings) opts.logger.warn(w);
  const xds: XdsBootstrap = parsed.value;
  const model = opts.model ?? ((await import('../model/compile-bootstrap.ts')) as XdsModelApi);
  const root = await xdsProtoRoot();
  const state = new XdsState({
    staticSnapshot: opts.staticSnapshot,
    engine: opts.engine,
    model,
    io: opts.io ?? { readFile: (p) => readFileSync(p, 'utf8') },
    logger: opts.logger,
    lds: xds.lds,
    cds: xds.cds,
    initialFetchTimeoutMs: opts.initialFetchTimeoutMs ?? xds.initialFetchTimeoutMs,
    routeRetentionMs: opts.routeRetentionMs,
  });
  await state.start();
  const tls = xds.clusterName ? (opts.staticSnapshot.clusters.get(xds.clusterName)?.tls ?? null) : null;
  const streamOpts = { xds, state, root, logger: opts.logger, backoff: { ...GRPC_BACKOFF, ...opts.backoff }, tls };
  const client: AdsStream = xds.apiType === 'DELTA_GRPC' ? new DeltaAdsClient(streamOpts) : new SotwAdsClient(streamOpts);
  client.start();
  opts.logger.info({ target: xds.target, apiType: xds.apiType }, 'xDS source started');
  return {
    ready: state.ready,
    isReady: () => state.isReady(),
    connected: () => client.connected(),
    dump: () => state.dump(),
    async close() {
      await client.close();
      state.close();
    },
  };
}
