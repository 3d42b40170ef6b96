// The envoy.filters.http.fault filter: injects delays (DI) and aborts (FI) per HTTPFault and keeps http.<prefix>.fault.* stats.
import type { Counter, Gauge } from '../../observability/types.ts';
import { faultAbort, faultDelayMs, faultTargets, type AbortDecision, type FaultSettings } from '../../policy/fault.ts';
import { mathRandomInt, type RandomInt } from '../../policy/fractional-percent.ts';
import * as replies from '../error-response.ts';
import type { StatsSink } from '../hcm-stats.ts';
import { compileFault, HTTP_FAULT } from './fault-config.ts';
import { filterLocalReply, type FilterRequest, type FilterResult, type FilterStatus, type HttpFilter, type HttpFilterFactory } from './http-filter.ts';

export const FAULT_FILTER_NAME = 'envoy.filters.http.fault';

interface FaultStats {
  readonly delays: Counter;
  readonly aborts: Counter;
  readonly overflow: Counter;
  readonly active: Gauge;
}

/** Envoy's http.<stat_prefix>.fault.* (Prometheus: envoy_http_fault_*{envoy_http_conn_manager_prefix}). */
function faultStats(sink: StatsSink, statPrefix: string): FaultStats {
  const l = { envoy_http_conn_manager_prefix: statPrefix };
  return {
    delays: sink.counter('envoy_http_fault_delays_injected', l),
    aborts: sink.counter('envoy_http_fault_aborts_injected', l),
    overflow: sink.counter('envoy_http_fault_faults_overflow', l),
    active: sink.gauge('envoy_http_fault_active_faults', l),
  };
}

/** The cluster a route sends to, as the fault's upstream_cluster sees it (weighted clusters are picked later: no match). */
function routeCluster(r: FilterRequest): string | null {
  const action = r.match?.route.action;
  if (action === undefined || action.kind !== 'route') return null;
  if (action.cluster !== null) return action.cluster;
  if (action.clusterHeader !== null) {
    const v = r.req.ex.head.headers[action.clusterHeader];
    return typeof v === 'string' ? v : null;
  }
  return null;
}

export class FaultFilter implements HttpFilter<FaultSettings> {
  readonly #settings: FaultSettings;
  readonly #stats: FaultStats;
  readonly #random: RandomInt;
  /** Requests with a fault in progress (one per request, however many faults it gets). */
  #active = 0;

  constructor(settings: FaultSettings, stats: FaultStats, random: RandomInt = mathRandomInt) {
    this.#settings = settings;
    this.#stats = stats;
    this.#random = random;
  }

  perRoute(config: unknown): FaultSettings {
    return config as FaultSettings;
  }

  onRequest(r: FilterRequest, perRoute: FaultSettings | null): FilterResult {
    const s = perRoute ?? this.#settings;
    if (s.delay === null && s.abort === null) return 'continue';
    const head = r.req.ex.head;
    if (!faultTargets(s, head, routeCluster(r))) return 'continue';
    const delay = faultDelayMs(s, head, this.#random);
    if (delay !== null && this.#activate(s)) return this.#delay(r, s, delay);
    const abort = faultAbort(s, head, this.#random);
    if (abort !== null && this.#activate(s)) return this.#abort(r, abort);
    return 'continue';
  }

  /** max_active_faults: a fuzzy limit, as in Envoy; over it the fault is skipped and faults_overflow counted. */
  #activate(s: FaultSettings): boolean {
    if (s.maxActiveFaults !== null && this.#active >= s.maxActiveFaults) {
      this.#stats.overflow.inc();
      return false;
    }
    this.#active++;
    this.#stats.active.inc();
    return true;
  }

  #deactivate(): void {
    this.#active--;
    this.#stats.active.dec();
  }

  #abort(r: FilterRequest, a: AbortDecision): FilterStatus {
    this.#stats.aborts.inc();
    filterLocalReply(r, replies.faultAbort(a.status, a.grpcStatus));
    this.#deactivate();
    return 'stop';
  }

  /** Holds the request (a timer, nothing read from the client meanwhile), then maybe aborts it; the client may leave first. */
  #delay(r: FilterRequest, s: FaultSettings, ms: number): Promise<FilterStatus> {
    this.#stats.delays.inc();
    r.req.addFlag('DI');
    return new Promise<FilterStatus>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        // Delays can be followed by aborts (the abort percentage is rolled now).
        const abort = faultAbort(s, r.req.ex.head, this.#random);
        if (abort !== null) { resolve(this.#abort(r, abort)); return; }
        this.#deactivate();
        resolve('continue');
      }, ms);
      r.req.ex.onAbort(() => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#deactivate();
        r.req.addFlag('DC');
        r.req.finish();
        resolve('stop');
      });
    });
  }
}

export const FAULT_FILTER: HttpFilterFactory<FaultSettings> = {
  message: HTTP_FAULT.message,
  names: [FAULT_FILTER_NAME, 'envoy.fault'],
  table: HTTP_FAULT,
  terminal: false,
  compile: (m) => compileFault(m),
  create: (settings, ctx) => new FaultFilter(settings, faultStats(ctx.stats, ctx.hcm.statPrefix)),
};
