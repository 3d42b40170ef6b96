// The router's registry entry: its config table; the connection manager itself runs routeRequest after the chain.
import { ROUTER } from '../../model/fields-hcm.ts';
import type { HttpFilterFactory } from './http-filter.ts';

export const ROUTER_FILTER_NAME = 'envoy.filters.http.router';

export const ROUTER_FILTER: HttpFilterFactory<null> = {
  message: ROUTER.message,
  names: [ROUTER_FILTER_NAME, 'envoy.router'],
  table: ROUTER,
  terminal: true,
  compile: (m, perRoute) => {
    if (perRoute) m.ctx.error(m.path, `${ROUTER_FILTER_NAME} has no per-route configuration`);
    return null;
  },
  create: () => null,
};
