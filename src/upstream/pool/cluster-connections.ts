// Open upstream connections per cluster name, kept by the host pools and read by the circuit breaker's gauges.

export interface ConnectionCount {
  /** Connections open right now across every host pool of the cluster (this process). */
  open: number;
  /** Called after every change (the circuit breaker refreshes its gauges). */
  onChange: (() => void) | null;
}

const counts = new Map<string, ConnectionCount>();

export function clusterConnections(cluster: string): ConnectionCount {
  let c = counts.get(cluster);
  if (c === undefined) { c = { open: 0, onChange: null }; counts.set(cluster, c); }
  return c;
}

export function connectionOpened(c: ConnectionCount): void {
  c.open++;
  c.onChange?.();
}

export function connectionClosed(c: ConnectionCount): void {
  if (c.open > 0) c.open--;
  c.onChange?.();
}
