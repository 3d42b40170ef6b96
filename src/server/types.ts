// Contract between the process shell (CLI, workers, admin) and the proxy engine that serves a snapshot.
import type { Snapshot } from '../model/types.ts';
import type { UpstreamCluster } from '../upstream/types.ts';

/** Address a listener actually bound (port 0 resolved). */
export interface BoundListener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/**
 * The proxy engine of one process: owns listeners, the cluster manager and the stats of this process.
 * Created with `createProxyEngine(options)` from src/server/proxy-engine.ts.
 */
export interface ProxyEngine {
  /** Applies a new snapshot atomically (listeners added/removed/updated, clusters reconciled). In-flight requests finish on the old one. */
  apply(snapshot: Snapshot): Promise<void>;
  /** The snapshot in force. */
  current(): Snapshot | null;
  /** Listeners bound right now with their real ports. */
  listeners(): readonly BoundListener[];
  clusters(): readonly UpstreamCluster[];
  /** Stop accepting on every listener (admin /drain_listeners, SIGTERM); existing connections go on until drained. */
  stopListening(): Promise<void>;
  /**
   * Admin /drain_listeners: stop accepting on the listeners chosen (INBOUND ones only with `inboundOnly`, by
   * traffic_direction); `graceful` also asks their clients to go away (Connection: close / GOAWAY, idle connections
   * closed). Unlike drain(), clusters stay up: the other listeners keep serving and the process does not exit.
   */
  drainListeners(opts: { readonly inboundOnly: boolean; readonly graceful: boolean }): Promise<void>;
  /** Drain: stop accepting, ask clients to go away (Connection: close / GOAWAY), wait for in-flight work up to timeoutMs, then close all. */
  drain(timeoutMs: number): Promise<void>;
  /** Number of downstream requests + TCP connections in flight. */
  inflight(): number;
}
