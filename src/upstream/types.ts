// Contracts of the upstream stage: hosts, load balancers, clusters and the pools that carry requests to a host.
import type { ClusterConfig, HashPolicy } from '../model/types.ts';
import type { Counter, Gauge } from '../observability/types.ts';
import type { UpstreamFailureKind } from './upstream-failure.ts';

/** One upstream endpoint as the load balancer sees it. Mutable counters; identity is `key`. */
export interface Host {
  /** "ip:port" (IPv6 as "[::1]:port"). Stable identity of the endpoint. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  /** Endpoint hostname (DNS name it was resolved from, or endpoint.hostname); used by auto_host_rewrite. */
  readonly hostname: string | null;
  readonly weight: number;
  /** Health as configured/learned; load balancers skip UNHEALTHY/DRAINING/TIMEOUT hosts unless all are unhealthy (panic). */
  health: 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';
  /** Envoy's FAILED_ACTIVE_HC: set by active health checking (and for new hosts until their first check passes). */
  failedActiveHc: boolean;
  /** Envoy's PENDING_ACTIVE_HC: no health check result yet; such hosts do not count for the panic threshold. */
  pendingActiveHc: boolean;
  /** Envoy's FAILED_OUTLIER_CHECK: ejected by outlier detection. */
  ejected: boolean;
  /** Requests currently in flight to this host (maintained by the router; read by LEAST_REQUEST and /clusters). */
  activeRequests: number;
  /** Totals for /clusters. */
  rqTotal: number;
  rqError: number;
  cxConnectFail: number;
}

/** What a load balancer needs from the request: a hash when the route has a hash_policy. */
export interface LbContext {
  /** 64-bit-ish hash (a non-negative integer < 2^53) from the route's hash policy, or null when none applied. */
  readonly hash: number | null;
  /** Hosts to avoid (retry_host_predicate previous_hosts); may be null. */
  readonly avoid: ReadonlySet<Host> | null;
  /** The downstream connection's local address when original_dst restored it (ORIGINAL_DST clusters connect there). */
  readonly originalDst?: OriginalDstSource | null;
  /** The request headers (ORIGINAL_DST with use_http_header reads the destination from one); absent for TCP. */
  readonly headers?: Readonly<Record<string, string | string[] | undefined>> | null;
}

/** Where an ORIGINAL_DST cluster reads a connection's original destination (a DownstreamConnectionInfo is one). */
export interface OriginalDstSource {
  readonly localAddress: string;
  readonly localPort: number;
  readonly localAddressRestored?: boolean;
}

export interface LoadBalancer {
  /** Picks a host, or null when the cluster has no hosts (or none healthy while panic mode is off). */
  choose(ctx: LbContext): Host | null;
}

/** A connection pool to one host; created by the cluster manager through a PoolFactory. */
export interface HostPool {
  /** Stop taking new requests; resolve once in-flight requests finished and connections closed. */
  close(): Promise<void>;
  /** Tear everything down now. */
  destroy(): void;
}

export type PoolFactory = (host: Host, cluster: ClusterConfig) => HostPool;

/** Runtime view of one cluster. */
export interface UpstreamCluster {
  readonly name: string;
  readonly config: ClusterConfig;
  /** Current hosts (all priorities flattened; health included). */
  hosts(): readonly Host[];
  chooseHost(ctx: LbContext): Host | null;
  /** The pool for a host of this cluster (created lazily with the PoolFactory, reused). */
  pool(host: Host): HostPool;
  /** Passive health checking: what an attempt on `host` ended with (no-op without outlier_detection). */
  reportOutcome?(host: Host, outcome: AttemptOutcome): void;
  /** Outlier detection's success rate (0..100) of the host's last interval, or -1 (for /clusters). */
  successRate?(host: Host): number;
}

/**
 * How an upstream attempt ended, for outlier detection: the response status, a failure kind, 'timeout' (the route
 * timeout, or tcp_proxy's connect timeout, fired first), or 'connect_success' (tcp_proxy: the connection is up).
 */
export type AttemptOutcome = number | UpstreamFailureKind | 'timeout' | 'connect_success';

/** Computes the LB hash of a request from a route's hash policies (Envoy semantics). */
export type RequestHashInput = {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly sourceIp: string;
  readonly path: string;
};
export type HashPolicies = readonly HashPolicy[];

/** Where cluster-level stats of the upstream stage go (outlier detection, health checks); the StatsRegistry is one. */
export interface UpstreamStatsSink {
  counter(name: string, labels?: Readonly<Record<string, string>>): Counter;
  gauge(name: string, labels?: Readonly<Record<string, string>>): Gauge;
}
