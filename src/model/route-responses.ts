// Compiles the non-forwarding route actions: `redirect` and `direct_response`.
import { readDataSource } from './data-source.ts';
import { DIRECT_RESPONSE_ACTION, REDIRECT_ACTION } from './fields-route.ts';
import type { Msg } from './proto-message.ts';
import { compileRegexRewrite } from './regex-rewrite.ts';
import type { RouteCompileOptions } from './route-options.ts';
import type { DirectResponseAction, RedirectAction } from './types.ts';

const REDIRECT_CODES = ['MOVED_PERMANENTLY', 'FOUND', 'SEE_OTHER', 'TEMPORARY_REDIRECT', 'PERMANENT_REDIRECT'] as const;
const REDIRECT_STATUS = { MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308 } as const;

export function compileRedirect(r: Msg): RedirectAction | null {
  const m = r.msg('redirect', REDIRECT_ACTION);
  if (!m) return null;
  const before = m.ctx.errors.length;
  let schemeRedirect: string | null = null;
  const scheme = m.oneOf(['https_redirect', 'scheme_redirect'], false);
  if (scheme === 'https_redirect') schemeRedirect = m.bool('https_redirect', false) ? 'https' : null;
  else if (scheme === 'scheme_redirect') schemeRedirect = m.optStr('scheme_redirect')?.toLowerCase() ?? null;
  m.oneOf(['path_redirect', 'prefix_rewrite', 'regex_rewrite'], false);
  const port = m.uint('port_redirect', 0, 0, 65535);
  const action: RedirectAction = {
    kind: 'redirect',
    schemeRedirect,
    hostRedirect: m.optStr('host_redirect'),
    portRedirect: port === 0 ? null : port,
    pathRedirect: m.has('path_redirect') ? m.str('path_redirect') : null,
    prefixRewrite: m.has('prefix_rewrite') ? m.str('prefix_rewrite') : null,
    regexRewrite: compileRegexRewrite(m, 'regex_rewrite'),
    responseCode: REDIRECT_STATUS[m.enumOf('response_code', REDIRECT_CODES, 'MOVED_PERMANENTLY')],
    stripQuery: m.bool('strip_query', false),
  };
  return m.ctx.errors.length > before ? null : action;
}

export function compileDirectResponse(r: Msg, opts: RouteCompileOptions): DirectResponseAction | null {
  const m = r.msg('direct_response', DIRECT_RESPONSE_ACTION);
  if (!m) return null;
  const before = m.ctx.errors.length;
  if (!m.has('status')) m.error('status', 'is required');
  // Envoy validates 200 <= status < 600.
  const status = m.uint('status', 200, 200, 599);
  const body = readDataSource(m.ctx, m.at('body'), m.get('body'));
  if (body !== null && Buffer.byteLength(body) > opts.maxDirectResponseBodyBytes) {
    m.error('body', `is ${Buffer.byteLength(body)} bytes, above max_direct_response_body_size_bytes (${opts.maxDirectResponseBodyBytes})`);
  }
  return m.ctx.errors.length > before ? null : { kind: 'direct_response', status, body };
}
