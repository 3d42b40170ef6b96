// Reads a running sidecar's admin: one Prometheus sample by name and cluster, and a host's health_flags from /clusters.
import { send } from './http-client.ts';
import type { Sidecar } from './sidecar.ts';

/** The value of `name{envoy_cluster_name="<cluster>"}` in /stats/prometheus, or null when absent. */
export async function clusterStat(sc: Sidecar, name: string, cluster: string): Promise<number | null> {
  const res = await send(`${sc.admin}/stats/prometheus`, { timeoutMs: 5000 });
  const prefix = `${name}{envoy_cluster_name="${cluster}"} `;
  const line = res.text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? null : Number(line.slice(prefix.length));
}

/** health_flags of 127.0.0.1:<port> in `cluster` as GET /clusters prints it ("healthy", "/failed_active_hc", ...). */
export async function hostHealthFlags(sc: Sidecar, cluster: string, port: number): Promise<string | null> {
  const res = await send(`${sc.admin}/clusters`, { timeoutMs: 5000 });
  const prefix = `${cluster}::127.0.0.1:${port}::health_flags::`;
  const line = res.text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? null : line.slice(prefix.length);
}
