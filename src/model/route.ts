// Compiles one Envoy Route: its match, exactly one action (route / redirect / direct_response) and header mutations.
import { compileHeaderMutations } from './header-mutations.ts';
import { validateTypedPerFilterConfig } from './http-filters.ts';
import type { Msg } from './proto-message.ts';
import { compileRouteAction } from './route-action.ts';
import { compileRouteMatch } from './route-match.ts';
import type { RouteCompileOptions } from './route-options.ts';
import { compileDirectResponse, compileRedirect } from './route-responses.ts';
import type { Route } from './types.ts';

const ACTIONS = ['route', 'redirect', 'direct_response', 'filter_action', 'non_forwarding_action'] as const;

/** typed_per_filter_config kept raw (filter name → Any as given); configs of filters we implement are validated here. */
export function compileTypedPerFilterConfig(m: Msg): Record<string, unknown> {
  validateTypedPerFilterConfig(m);
  return structuredClone(m.map('typed_per_filter_config'));
}

/** One Route message (opened with the ROUTE table); null after reporting errors. */
export function compileRoute(r: Msg, opts: RouteCompileOptions): Route | null {
  const before = r.ctx.errors.length;
  const match = compileRouteMatch(r);
  let action: Route['action'] | null = null;
  switch (r.oneOf(ACTIONS, true, 'route, redirect, direct_response')) {
    case 'route':
      action = compileRouteAction(r, opts);
      break;
    case 'redirect':
      action = compileRedirect(r);
      break;
    case 'direct_response':
      action = compileDirectResponse(r, opts);
      break;
  }
  const route: Route | null =
    match && action
      ? { name: r.str('name'), match, action, headers: compileHeaderMutations(r), typedPerFilterConfig: compileTypedPerFilterConfig(r) }
      : null;
  return r.ctx.errors.length > before ? null : route;
}
