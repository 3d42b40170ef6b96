// IPC messages between the primary process and its proxy workers (--concurrency > 1).
import type { ClusterStatus } from '../admin/admin-view.ts';
import type { ProxyOptions } from '../cli/proxy-args.ts';
import type { StatsJSON } from '../observability/stats.ts';
import type { BoundListener } from './types.ts';

export type QueryKind = 'stats' | 'listeners' | 'clusters' | 'stopListening' | 'xdsDump';

/** primary → worker */
export type ToWorker =
  | { readonly pf: 'start'; readonly doc: unknown; readonly options: ProxyOptions; readonly engineModule?: string; readonly modelModule?: string }
  | { readonly pf: 'query'; readonly id: number; readonly what: QueryKind }
  | { readonly pf: 'drainListeners'; readonly graceful: boolean; readonly inboundOnly: boolean }
  | { readonly pf: 'drain'; readonly timeoutMs: number }
  | { readonly pf: 'logLevel'; readonly level: string };

/** worker → primary */
export type FromWorker =
  | { readonly pf: 'hello' }
  /** Serving (the static part at least); `xds` when the worker also runs an xDS source, which reports 'xdsReady' later. */
  | { readonly pf: 'ready'; readonly xds: boolean }
  /** The worker's xDS source has its first complete config (or its initial fetch timed out). */
  | { readonly pf: 'xdsReady' }
  | { readonly pf: 'fatal'; readonly message: string }
  /** data of an 'xdsDump' query: the dynamic /config_dump sections (xdsConfigDump). */
  | { readonly pf: 'reply'; readonly id: number; readonly data: StatsJSON | readonly BoundListener[] | readonly ClusterStatus[] | readonly object[] | null };

function hasTag(m: unknown): boolean {
  return typeof m === 'object' && m !== null && typeof (m as { pf?: unknown }).pf === 'string';
}

export function isFromWorker(m: unknown): m is FromWorker {
  return hasTag(m);
}

export function isToWorker(m: unknown): m is ToWorker {
  return hasTag(m);
}
