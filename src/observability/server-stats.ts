// Refreshes the server.* gauges (live, state, uptime, concurrency, memory) right before stats are rendered.
import type { ServerState } from '../admin/admin-view.ts';
import type { StatsRegistry } from './stats.ts';

const STATE_NUMBER: Readonly<Record<ServerState, number>> = { LIVE: 0, DRAINING: 1, PRE_INITIALIZING: 2 };

/** Process-level facts (uptime, state) — set by whoever runs the admin server. */
export function updateServerStats(reg: StatsRegistry, o: { state: ServerState; startTimeMs: number; concurrency: number }): void {
  reg.gauge('envoy_server_live').set(o.state === 'LIVE' ? 1 : 0);
  reg.gauge('envoy_server_state').set(STATE_NUMBER[o.state]);
  reg.gauge('envoy_server_uptime').set(Math.floor((Date.now() - o.startTimeMs) / 1000));
  reg.gauge('envoy_server_concurrency').set(o.concurrency);
}

/** Per-process memory gauges (summed over workers by the primary). */
export function updateMemoryStats(reg: StatsRegistry): void {
  const m = process.memoryUsage();
  reg.gauge('envoy_server_memory_allocated').set(m.heapUsed);
  reg.gauge('envoy_server_memory_heap_size').set(m.heapTotal);
}
