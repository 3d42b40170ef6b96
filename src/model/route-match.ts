// Compiles an Envoy RouteMatch (path specifier, headers, query parameters, grpc).
import { GRPC_ROUTE_MATCH_OPTIONS, ROUTE_MATCH } from './fields-route.ts';
import { compileHeaderMatchers, compileQueryParameterMatchers, compileRegexMatcher } from './matchers.ts';
import type { Msg } from './proto-message.ts';
import type { RouteMatch } from './types.ts';

const PATH_SPECIFIERS = ['prefix', 'path', 'safe_regex', 'path_separated_prefix'] as const;

/** The route's `match`; null after reporting errors. */
export function compileRouteMatch(route: Msg): RouteMatch | null {
  if (!route.has('match')) {
    route.error('match', 'is required');
    return null;
  }
  const m = route.msg('match', ROUTE_MATCH);
  if (!m) return null;
  const before = m.ctx.errors.length;
  const which = m.oneOf(PATH_SPECIFIERS, true, 'prefix, path, safe_regex, path_separated_prefix');
  let pathKind: RouteMatch['pathKind'] = 'prefix';
  let pathValue = '';
  let pathRegex: RegExp | null = null;
  switch (which) {
    case 'prefix':
    case 'path':
      pathKind = which;
      pathValue = m.str(which);
      break;
    case 'path_separated_prefix':
      pathKind = 'path_separated_prefix';
      pathValue = m.str(which);
      if (!pathValue.startsWith('/') || (pathValue.length > 1 && pathValue.endsWith('/')) || /[?#]/.test(pathValue)) {
        m.error(which, 'must start with "/", must not end with "/" and must not contain "?" or "#"');
      }
      break;
    case 'safe_regex':
      pathKind = 'regex';
    {
      const r = compileRegexMatcher(m, 'safe_regex');
      pathRegex = r?.regex ?? null;
      pathValue = r?.source ?? '';
      break;
    }
  }
  if (m.has('grpc')) m.msg('grpc', GRPC_ROUTE_MATCH_OPTIONS);
  const match: RouteMatch = {
    pathKind,
    pathValue,
    pathRegex,
    caseSensitive: m.bool('case_sensitive', true),
    headers: compileHeaderMatchers(m, 'headers'),
    queryParameters: compileQueryParameterMatchers(m, 'query_parameters'),
    grpc: m.has('grpc'),
  };
  return m.ctx.errors.length > before ? null : match;
}
