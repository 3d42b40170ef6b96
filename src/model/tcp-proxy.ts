// Compiles the envoy.filters.network.tcp_proxy typed_config into TcpProxyConfig.
import { compileAccessLogs } from './access-log.ts';
import { TCP_CLUSTER_WEIGHT, TCP_WEIGHTED_CLUSTER } from './fields-listener.ts';
import type { Msg } from './proto-message.ts';
import type { TcpProxyConfig } from './types.ts';

/** `t` is the opened TcpProxy typed_config. Null after reporting errors. */
export function compileTcpProxy(t: Msg): TcpProxyConfig | null {
  const before = t.ctx.errors.length;
  const statPrefix = t.requiredStr('stat_prefix');
  let cluster: string | null = null;
  let weightedClusters: { name: string; weight: number }[] | null = null;
  switch (t.oneOf(['cluster', 'weighted_clusters'], true)) {
    case 'cluster':
      cluster = t.requiredStr('cluster');
      if (cluster !== '') t.ctx.refCluster(cluster, t.at('cluster'));
      break;
    case 'weighted_clusters': {
      const w = t.msg('weighted_clusters', TCP_WEIGHTED_CLUSTER);
      weightedClusters = [];
      for (const c of w?.msgList('clusters', TCP_CLUSTER_WEIGHT) ?? []) {
        const name = c.requiredStr('name');
        const weight = c.uint('weight', 0, 1);
        if (!c.has('weight')) c.error('weight', 'is required');
        if (name !== '') {
          t.ctx.refCluster(name, c.at('name'));
          weightedClusters.push({ name, weight });
        }
      }
      if (w && !w.has('clusters')) w.error('clusters', 'at least one cluster is required');
      break;
    }
  }
  const config: TcpProxyConfig = {
    kind: 'tcp',
    statPrefix,
    cluster,
    weightedClusters,
    totalWeight: weightedClusters?.reduce((s, c) => s + c.weight, 0) ?? 0,
    idleTimeoutMs: t.durationMs('idle_timeout', 3_600_000),
    maxConnectAttempts: t.uint('max_connect_attempts', 1, 1),
    accessLog: compileAccessLogs(t),
  };
  return t.ctx.errors.length > before ? null : config;
}
