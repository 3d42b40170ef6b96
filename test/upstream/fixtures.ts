// Hand-built ClusterConfig / Host objects for upstream and tcp_proxy tests (independent of the config compiler).
import type { ClusterConfig, EndpointConfig, LoadAssignment } from '../../src/model/types.ts';
import { createHost } from '../../src/upstream/host-set.ts';
import type { Host, HostPool, PoolFactory } from '../../src/upstream/types.ts';

export interface EndpointSpec {
  host: string;
  port: number;
  weight?: number;
  priority?: number;
  health?: EndpointConfig['healthStatus'];
}

export function assignment(name: string, endpoints: EndpointSpec[]): LoadAssignment {
  const priorities = [...new Set(endpoints.map((e) => e.priority ?? 0))];
  return {
    clusterName: name,
    endpoints: priorities.map((priority) => ({
      locality: null,
      priority,
      loadBalancingWeight: null,
      lbEndpoints: endpoints
        .filter((e) => (e.priority ?? 0) === priority)
        .map((e) => ({
          address: { host: e.host, port: e.port },
          hostname: null,
          weight: e.weight ?? 1,
          healthStatus: e.health ?? 'UNKNOWN',
        })),
    })),
  };
}

export function clusterConfig(name: string, endpoints: EndpointSpec[] | null, overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name,
    type: 'STATIC',
    connectTimeoutMs: 5000,
    lbPolicy: 'ROUND_ROBIN',
    leastRequestChoiceCount: 2,
    ringHash: { minimumRingSize: 1024, maximumRingSize: 8388608 },
    protocol: 'http1',
    http2: { maxConcurrentStreams: 2147483647, initialStreamWindowSize: 268435456, initialConnectionWindowSize: 268435456 },
    idleTimeoutMs: 3600000,
    maxRequestsPerConnection: 0,
    dnsRefreshRateMs: 5000,
    dnsLookupFamily: 'AUTO',
    respectDnsTtl: false,
    loadAssignment: endpoints === null ? null : assignment(name, endpoints),
    edsServiceName: null,
    tls: null,
    circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
    perConnectionBufferLimitBytes: 1048576,
    outlierDetection: null,
    healthChecks: [],
    healthyPanicThreshold: 50,
    ...overrides,
  };
}

export function hosts(n: number, weights?: number[]): Host[] {
  return Array.from({ length: n }, (_, i) =>
    createHost({ address: `10.0.0.${i + 1}`, port: 80, hostname: null, weight: weights?.[i] ?? 1, health: 'HEALTHY', priority: 0 }),
  );
}

/** Counts picks per host key over `n` choices. */
export function tally(choose: () => Host | null, n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = choose();
    const k = h ? h.key : 'null';
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

export interface FakePool extends HostPool {
  readonly host: Host;
  closed: number;
  destroyed: number;
}

/** A PoolFactory recording every pool it creates and every close/destroy call. */
export function fakePoolFactory(): { factory: PoolFactory; pools: FakePool[] } {
  const pools: FakePool[] = [];
  const factory: PoolFactory = (host) => {
    const pool: FakePool = {
      host,
      closed: 0,
      destroyed: 0,
      close: async () => {
        pool.closed++;
      },
      destroy: () => {
        pool.destroyed++;
      },
    };
    pools.push(pool);
    return pool;
  };
  return { factory, pools };
}
