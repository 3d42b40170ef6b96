// Runs a connection manager's HTTP filters in order before the router, with per-route configs and Envoy's disabled-filter rules.
import { isPlainObject } from '../../model/proto-message.ts';
import { messageNameOf, typeUrlOf } from '../../model/typed-config.ts';
import type { HttpConnectionManagerConfig, Route } from '../../model/types.ts';
import type { ActiveRequest } from '../active-request.ts';
import { isGrpcRequest } from '../error-response.ts';
import type { StatsSink } from '../hcm-stats.ts';
import type { RouteMatchResult } from '../route-table.ts';
import { NO_CLUSTER_FETCH, type ClusterFetch } from './cluster-fetch.ts';
import type { FilterRequest, FilterStatus, HttpFilter, HttpFilterFactory } from './http-filter.ts';
import { compileHttpFilterConfig, FILTER_CONFIG_MESSAGE, findHttpFilterFactory } from './registry.ts';

interface Entry {
  readonly name: string;
  readonly factory: HttpFilterFactory;
  readonly filter: HttpFilter;
  /** HttpFilter.disabled: skipped unless a route or virtual host enables it. */
  readonly disabled: boolean;
  /** Runtime state per typed_per_filter_config object (shared by every route that inherits it from its virtual host). */
  readonly perRoute: WeakMap<object, unknown>;
}

interface Step {
  readonly filter: HttpFilter;
  readonly perRoute: unknown;
}

/** One level's typed_per_filter_config entry for a filter: a FilterConfig wrapper or the filter's own per-route message. */
interface LevelConfig {
  readonly disabled: boolean;
  readonly config: object | undefined;
}

function levelConfig(perFilter: Readonly<Record<string, unknown>>, name: string): LevelConfig | null {
  const v = perFilter[name];
  if (!isPlainObject(v)) return null;
  const url = typeUrlOf(v);
  if (url !== null && messageNameOf(url) === FILTER_CONFIG_MESSAGE) {
    const disabled = v.disabled === true || (isPlainObject(v.disabled) && v.disabled.value === true);
    return { disabled, config: isPlainObject(v.config) ? v.config : undefined };
  }
  return { disabled: false, config: v };
}

export class HttpFilterChain {
  readonly #entries: readonly Entry[];
  readonly #defaultPlan: readonly Step[];
  readonly #plans = new WeakMap<Route, readonly Step[]>();

  private constructor(entries: readonly Entry[]) {
    this.#entries = entries;
    this.#defaultPlan = entries.filter((e) => !e.disabled).map((e) => ({ filter: e.filter, perRoute: null }));
  }

  /** Compiles the non-terminal filters of an HCM once; null when there are none (the router runs directly). */
  static create(hcm: HttpConnectionManagerConfig, stats: StatsSink, fetch: ClusterFetch = NO_CLUSTER_FETCH): HttpFilterChain | null {
    const entries: Entry[] = [];
    for (const f of hcm.httpFilters) {
      const factory = findHttpFilterFactory(f.name, f.typeUrl);
      if (factory === undefined || factory.terminal) continue;
      const config = compileHttpFilterConfig(factory, f.config, false);
      if (config === null) throw new Error(`HTTP filter ${f.name}: invalid typed_config (the model should have rejected it)`);
      const filter = factory.create(config, { hcm, stats, name: f.name, fetch });
      if (filter !== null) entries.push({ name: f.name, factory, filter, disabled: f.disabled, perRoute: new WeakMap() });
    }
    return entries.length === 0 ? null : new HttpFilterChain(entries);
  }

  /** Runs the chain; `next` (the router) is called when every filter continued. */
  run(req: ActiveRequest, match: RouteMatchResult | null, next: () => void): void {
    const plan = match === null ? this.#defaultPlan : this.#planFor(match);
    if (plan.length === 0) { next(); return; }
    const r: FilterRequest = { req, match, grpc: isGrpcRequest(req.ex.head.headers) };
    this.#runFrom(plan, 0, r, next);
  }

  #runFrom(plan: readonly Step[], from: number, r: FilterRequest, next: () => void): void {
    for (let i = from; i < plan.length; i++) {
      const step = plan[i];
      const res = step.filter.onRequest(r, step.perRoute);
      if (res === 'continue') continue;
      if (res === 'stop') return;
      res.then(
        (status: FilterStatus) => { if (status === 'continue' && !r.req.finished) this.#runFrom(plan, i + 1, r, next); },
        () => { if (!r.req.finished) { r.req.ex.reset(); r.req.finish(); } },
      );
      return;
    }
    next();
  }

  /** The steps for one route, computed on its first request: route config over virtual host config over the HCM's. */
  #planFor(m: RouteMatchResult): readonly Step[] {
    let plan = this.#plans.get(m.route);
    if (plan !== undefined) return plan;
    const steps: Step[] = [];
    for (const e of this.#entries) {
      const route = levelConfig(m.route.typedPerFilterConfig, e.name);
      const vhost = levelConfig(m.virtualHost.typedPerFilterConfig, e.name);
      if (route?.disabled ?? vhost?.disabled ?? e.disabled) {
        if (e.filter.onDisabled !== undefined) steps.push({ filter: disabledStep(e.filter), perRoute: null });
        continue;
      }
      steps.push({ filter: e.filter, perRoute: this.#perRouteState(e, route?.config ?? vhost?.config) });
    }
    plan = steps;
    this.#plans.set(m.route, plan);
    return plan;
  }

  #perRouteState(e: Entry, raw: object | undefined): unknown {
    if (raw === undefined || e.filter.perRoute === undefined) return null;
    const url = typeUrlOf(raw);
    const message = url === null ? null : messageNameOf(url);
    if (message !== e.factory.message && message !== e.factory.perRouteTable?.message) return null; // another filter's message: not ours
    if (e.perRoute.has(raw)) return e.perRoute.get(raw);
    const config = compileHttpFilterConfig(e.factory, raw, true);
    const state = config === null ? null : e.filter.perRoute(config);
    e.perRoute.set(raw, state);
    return state;
  }
}

/** The step of a filter disabled on a route: only its onDisabled hook runs. */
function disabledStep(f: HttpFilter): HttpFilter {
  return { onRequest: (r) => { f.onDisabled!(r); return 'continue'; } };
}
