// Renders Envoy's /clusters and /listeners admin pages (text "a::b::c" lines and ?format=json) from plain statuses.
import type { BoundListener } from '../server/types.ts';
import type { ClusterStatus, HostStatus } from './admin-view.ts';

const EDS_FLAGS: Readonly<Record<HostStatus['health'], string>> = {
  UNKNOWN: '',
  HEALTHY: '',
  UNHEALTHY: '/failed_eds_health',
  TIMEOUT: '/failed_eds_health',
  DRAINING: '/eds_status_draining',
  DEGRADED: '/degraded_eds_health',
};

/** Envoy's health_flags string: "healthy", or the set flags in Envoy's order ("/failed_active_hc/failed_outlier_check"). */
export function healthFlags(h: HostStatus): string {
  const eds = EDS_FLAGS[h.health] ?? '';
  const flags = `${h.failedActiveHc ? '/failed_active_hc' : ''}${h.ejected ? '/failed_outlier_check' : ''}${eds === '/eds_status_draining' ? '' : eds}${h.pendingActiveHc ? '/pending_active_hc' : ''}${eds === '/eds_status_draining' ? eds : ''}`;
  return flags === '' ? 'healthy' : flags;
}

const rqSuccess = (h: HostStatus): number => Math.max(0, h.rqTotal - h.rqError - h.rqActive);

/** "host:port" with IPv6 bracketed, as Envoy's Address::asString(). */
export function addressString(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function renderClustersText(clusters: readonly ClusterStatus[]): string {
  const lines: string[] = [];
  for (const c of clusters) {
    const n = c.name;
    const cb = c.circuitBreakers;
    lines.push(`${n}::observability_name::${n}`);
    for (const prio of ['default_priority', 'high_priority']) {
      lines.push(`${n}::${prio}::max_connections::${cb.maxConnections}`);
      lines.push(`${n}::${prio}::max_pending_requests::${cb.maxPendingRequests}`);
      lines.push(`${n}::${prio}::max_requests::${cb.maxRequests}`);
      lines.push(`${n}::${prio}::max_retries::${cb.maxRetries}`);
    }
    lines.push(`${n}::added_via_api::${c.addedViaApi}`);
    for (const h of c.hosts) {
      const p = `${n}::${h.key}`;
      lines.push(
        `${p}::cx_active::0`,
        `${p}::cx_connect_fail::${h.cxConnectFail}`,
        `${p}::cx_total::0`,
        `${p}::rq_active::${h.rqActive}`,
        `${p}::rq_error::${h.rqError}`,
        `${p}::rq_success::${rqSuccess(h)}`,
        `${p}::rq_timeout::0`,
        `${p}::rq_total::${h.rqTotal}`,
        `${p}::hostname::${h.hostname ?? ''}`,
        `${p}::health_flags::${healthFlags(h)}`,
        `${p}::weight::${h.weight}`,
        `${p}::region::`,
        `${p}::zone::`,
        `${p}::sub_zone::`,
        `${p}::canary::false`,
        `${p}::priority::0`,
        `${p}::success_rate::${h.successRate ?? -1}`,
        `${p}::local_origin_success_rate::-1`,
      );
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** proto3 JSON of a uint64 stat: string value, omitted when zero (as Envoy prints it). */
function stat(name: string, value: number, gauge = false): Record<string, string> {
  const s: Record<string, string> = gauge ? { type: 'GAUGE', name } : { name };
  if (value) s.value = String(value);
  return s;
}

export function renderClustersJson(clusters: readonly ClusterStatus[]): unknown {
  return {
    cluster_statuses: clusters.map((c) => {
      const cb = c.circuitBreakers;
      const t = { max_connections: cb.maxConnections, max_pending_requests: cb.maxPendingRequests, max_requests: cb.maxRequests, max_retries: cb.maxRetries };
      return {
        name: c.name,
        ...(c.addedViaApi ? { added_via_api: true } : {}),
        observability_name: c.name,
        circuit_breakers: { thresholds: [t, { priority: 'HIGH', ...t }] },
        host_statuses: c.hosts.map((h) => ({
          address: { socket_address: { address: h.address, port_value: h.port } },
          stats: [
            stat('cx_connect_fail', h.cxConnectFail),
            stat('cx_total', 0),
            stat('rq_error', h.rqError),
            stat('rq_success', rqSuccess(h)),
            stat('rq_timeout', 0),
            stat('rq_total', h.rqTotal),
            stat('cx_active', 0, true),
            stat('rq_active', h.rqActive, true),
          ],
          health_status: {
            eds_health_status: h.health,
            ...(h.failedActiveHc ? { failed_active_health_check: true } : {}),
            ...(h.ejected ? { failed_outlier_check: true } : {}),
            ...(h.pendingActiveHc ? { pending_active_hc: true } : {}),
          },
          ...(h.successRate !== undefined && h.successRate >= 0 ? { success_rate: { value: h.successRate } } : {}),
          weight: h.weight,
          ...(h.hostname ? { hostname: h.hostname } : {}),
          locality: {},
        })),
      };
    }),
  };
}

export function renderListenersText(listeners: readonly BoundListener[]): string {
  return listeners.map((l) => `${l.name}::${addressString(l.host, l.port)}\n`).join('');
}

export function renderListenersJson(listeners: readonly BoundListener[]): unknown {
  return {
    listener_statuses: listeners.map((l) => ({
      name: l.name,
      local_address: { socket_address: { address: l.host, port_value: l.port } },
    })),
  };
}
