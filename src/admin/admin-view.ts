// What the admin server reads and controls: backed by one in-process engine or by a primary aggregating its workers.
import type { CircuitBreakerThresholds, Snapshot } from '../model/types.ts';
import type { SecretEntry } from '../secrets/secret-store.ts';
import type { BoundListener } from '../server/types.ts';
import type { Host, UpstreamCluster } from '../upstream/types.ts';

/** Envoy's server states as /ready and /server_info report them. */
export type ServerState = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING';

/** Plain-data view of one upstream host (serializable, so workers can send it over IPC). */
export interface HostStatus {
  /** "ip:port" ("[::1]:port" for IPv6). */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly hostname: string | null;
  readonly weight: number;
  readonly health: Host['health'];
  readonly rqActive: number;
  readonly rqTotal: number;
  readonly rqError: number;
  readonly cxConnectFail: number;
  /** Active health checking says unhealthy (Envoy's /failed_active_hc); absent = false. */
  readonly failedActiveHc?: boolean;
  /** No health check result yet (/pending_active_hc). */
  readonly pendingActiveHc?: boolean;
  /** Ejected by outlier detection (/failed_outlier_check). */
  readonly ejected?: boolean;
  /** Outlier detection's success rate of the last interval (0..100), or -1. */
  readonly successRate?: number;
}

export interface ClusterStatus {
  readonly name: string;
  readonly addedViaApi: boolean;
  readonly circuitBreakers: CircuitBreakerThresholds;
  readonly hosts: readonly HostStatus[];
}

export interface ServerInfo {
  /** Envoy-style version string, e.g. "pilotfish/0.1.0/Clean/RELEASE/Node.js-v24". */
  readonly version: string;
  /** Epoch ms when this process started. */
  readonly startTimeMs: number;
  /** Envoy's command_line_options (concurrency, config_path, log_level, drain_time, mode, ...). */
  readonly commandLineOptions: Readonly<Record<string, unknown>>;
}

export interface AdminView {
  /** The snapshot in force (null before the first one applied). */
  current(): Snapshot | null;
  /** Epoch ms when current() was applied (for config_dump last_updated). */
  lastUpdated(): number | null;
  /** Process state before admin overrides (the admin server reports DRAINING while /healthcheck/fail is in effect). */
  state(): ServerState;
  listeners(): readonly BoundListener[] | Promise<readonly BoundListener[]>;
  clusters(): readonly ClusterStatus[] | Promise<readonly ClusterStatus[]>;
  serverInfo(): ServerInfo;
  /** POST /drain_listeners: graceful → drain (drain time) without exiting; otherwise stop listening now. */
  drainListeners(opts: { readonly graceful: boolean; readonly inboundOnly: boolean }): void | Promise<void>;
  /** POST /quitquitquit: begin process shutdown (called after the response is sent). */
  quit(): void;
  /** POST /healthcheck/fail|ok: optional hook so health_check filters can fail too. */
  setHealthCheckFailed?(failed: boolean): void;
  /** POST /logging?level=X: change the process log level; false when unknown. */
  setLogLevel?(level: string): boolean;
  /**
   * With an xDS source: the dynamic /config_dump sections (xdsConfigDump of src/xds/xds-dump.ts), which then replace
   * what current() says about dynamic resources. Absent, or null, without xDS.
   */
  xdsDump?(): readonly object[] | null | Promise<readonly object[] | null>;
  /** The process's secrets (identity agent, static, SDS) for /config_dump's SecretsConfigDump and /certs; absent: none. */
  secretEntries?(): readonly SecretEntry[];
}

/** Names of the clusters and listeners declared in bootstrap static_resources (the rest came from xDS). */
export function staticResourceNames(bootstrap: unknown): { listeners: Set<string>; clusters: Set<string> } {
  const sr = (bootstrap as { static_resources?: { listeners?: { name?: string }[]; clusters?: { name?: string }[] } } | null)?.static_resources;
  const names = (xs: { name?: string }[] | undefined): Set<string> => new Set((Array.isArray(xs) ? xs : []).map((x) => String(x?.name ?? '')));
  return { listeners: names(sr?.listeners), clusters: names(sr?.clusters) };
}

/** Converts an engine's live clusters to plain statuses. */
export function clusterStatuses(clusters: readonly UpstreamCluster[], snapshot: Snapshot | null): ClusterStatus[] {
  const statics = staticResourceNames(snapshot?.source.bootstrap).clusters;
  return clusters.map((c) => ({
    name: c.name,
    addedViaApi: !statics.has(c.name),
    circuitBreakers: c.config.circuitBreakers,
    hosts: c.hosts().map((h) => ({
      key: h.key, address: h.address, port: h.port, hostname: h.hostname, weight: h.weight, health: h.health,
      rqActive: h.activeRequests, rqTotal: h.rqTotal, rqError: h.rqError, cxConnectFail: h.cxConnectFail,
      failedActiveHc: h.failedActiveHc, pendingActiveHc: h.pendingActiveHc, ejected: h.ejected, successRate: c.successRate?.(h) ?? -1,
    })),
  }));
}

/** Sums per-host counters of the same clusters reported by several workers (order of the first report kept). */
export function mergeClusterStatuses(reports: readonly (readonly ClusterStatus[])[]): ClusterStatus[] {
  const byName = new Map<string, { c: ClusterStatus; hosts: Map<string, HostStatus> }>();
  for (const report of reports) {
    for (const c of report) {
      let m = byName.get(c.name);
      if (!m) { m = { c, hosts: new Map() }; byName.set(c.name, m); }
      for (const h of c.hosts) {
        const prev = m.hosts.get(h.key);
        m.hosts.set(h.key, prev ? {
          ...prev,
          rqActive: prev.rqActive + h.rqActive, rqTotal: prev.rqTotal + h.rqTotal,
          rqError: prev.rqError + h.rqError, cxConnectFail: prev.cxConnectFail + h.cxConnectFail,
        } : h);
      }
    }
  }
  return [...byName.values()].map(({ c, hosts }) => ({ ...c, hosts: [...hosts.values()] }));
}
