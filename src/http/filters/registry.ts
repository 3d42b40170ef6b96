// The one list of HTTP filters Pilotfish implements (by typed_config message, router included) and their config validation.
import { CompileContext } from '../../model/compile-context.ts';
import { isPlainObject, Msg, type MessageTable } from '../../model/proto-message.ts';
import { messageNameOf, typeUrlOf } from '../../model/typed-config.ts';
import { FAULT_FILTER } from './fault-filter.ts';
import type { FilterConfigIssue, HttpFilterFactory } from './http-filter.ts';
import { JWT_AUTHN_FILTER } from './jwt-authn-filter.ts';
import { LOCAL_RATE_LIMIT_FILTER } from './local-rate-limit-filter.ts';
import { OAUTH2_FILTER } from './oauth2-filter.ts';
import { RBAC_FILTER } from './rbac-filter.ts';
import { ROUTER_FILTER } from './router-filter.ts';

/** Add a filter here (and nowhere else): the model accepts its typed_config and the connection manager runs it. */
export const HTTP_FILTER_FACTORIES: readonly HttpFilterFactory[] = [
  FAULT_FILTER as HttpFilterFactory,
  JWT_AUTHN_FILTER as HttpFilterFactory,
  LOCAL_RATE_LIMIT_FILTER as HttpFilterFactory,
  OAUTH2_FILTER as HttpFilterFactory,
  RBAC_FILTER as HttpFilterFactory,
  ROUTER_FILTER as HttpFilterFactory,
];

/** The per-route wrapper message: `{config, disabled, is_optional}` in typed_per_filter_config. */
export const FILTER_CONFIG_MESSAGE = 'envoy.config.route.v3.FilterConfig';

/** The factory for a type URL (its typed_config or per-route message), or (no typed_config) for a well-known filter name. */
export function findHttpFilterFactory(name: string, typeUrl: string | null): HttpFilterFactory | undefined {
  if (typeUrl !== null) {
    const message = messageNameOf(typeUrl);
    return HTTP_FILTER_FACTORIES.find((f) => f.message === message || f.perRouteTable?.message === message);
  }
  return HTTP_FILTER_FACTORIES.find((f) => f.names.includes(name));
}

/** The table a config opens with: the factory's per-route message when a per-route config names it by "@type". */
function tableFor(factory: HttpFilterFactory, value: unknown, perRoute: boolean): MessageTable {
  const url = perRoute && factory.perRouteTable !== undefined ? typeUrlOf(value) : null;
  return url !== null && messageNameOf(url) === factory.perRouteTable!.message ? factory.perRouteTable! : factory.table;
}

/** Validates a typed_config given at `path`, reporting errors and warnings on `ctx` (the model's compile context). */
export function checkHttpFilterConfig(ctx: CompileContext, path: string, factory: HttpFilterFactory, value: unknown, perRoute: boolean): void {
  const m = Msg.open(ctx, path, value, tableFor(factory, value, perRoute));
  if (m) factory.compile(m, perRoute);
}

export interface FilterConfigCheck {
  /** False when no registered filter has this type URL (nothing was checked). */
  readonly known: boolean;
  readonly errors: readonly FilterConfigIssue[];
  readonly warnings: readonly FilterConfigIssue[];
}

/**
 * Validates a filter's typed_config on its own: `config` is the message's fields ("@type" allowed), each issue names
 * its field relative to the typed_config (e.g. "abort.percentage.denominator").
 */
export function validateHttpFilterConfig(typeUrl: string, config: unknown, perRoute = false): FilterConfigCheck {
  const factory = findHttpFilterFactory('', typeUrl);
  if (factory === undefined) return { known: false, errors: [], warnings: [] };
  const ctx = new CompileContext('http filter', null);
  // The type URL asked for is the message validated (RBAC vs RBACPerRoute), "@type" in `config` or not.
  const value = isPlainObject(config) && typeUrlOf(config) === null ? { '@type': typeUrl, ...config } : config;
  checkHttpFilterConfig(ctx, '', factory, value, perRoute);
  const issue = (e: { field: string; message: string }): FilterConfigIssue => ({ field: e.field, message: e.message });
  return { known: true, errors: ctx.errors.map(issue), warnings: ctx.warnings.map(issue) };
}

/** Compiles a config the model already validated (the runtime side); null if it is invalid after all. */
export function compileHttpFilterConfig<C>(factory: HttpFilterFactory<C>, raw: unknown, perRoute: boolean): C | null {
  const ctx = new CompileContext('http filter', null);
  const m = Msg.open(ctx, '', raw, tableFor(factory, raw, perRoute));
  const compiled = m === null ? null : factory.compile(m, perRoute);
  return ctx.errors.length > 0 ? null : compiled;
}
