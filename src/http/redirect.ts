// Builds and sends the response of a route's `redirect` action (Envoy RedirectAction semantics).
import type { RedirectAction } from '../model/types.ts';
import { regexReplaceAll } from '../model/re2.ts';
import type { ActiveRequest } from './active-request.ts';
import type { HeaderRecord } from './exchange.ts';

export function redirectLocation(req: ActiveRequest, a: RedirectAction, matchedPrefixLength: number): string {
  const head = req.ex.head;
  const scheme = a.schemeRedirect ?? head.scheme;
  let host = head.authority;
  let port: string | null = null;
  const colon = host.lastIndexOf(':');
  if (colon > 0 && host.indexOf(']') < colon) { port = host.slice(colon + 1); host = host.slice(0, colon); }
  if (a.hostRedirect !== null) host = a.hostRedirect;
  if (a.portRedirect !== null) port = String(a.portRedirect);
  else if (a.schemeRedirect !== null && a.schemeRedirect !== head.scheme) port = null; // scheme change drops the old port
  if ((scheme === 'https' && port === '443') || (scheme === 'http' && port === '80')) port = null;
  const q = head.path.indexOf('?');
  let path = q === -1 ? head.path : head.path.slice(0, q);
  let query = q === -1 ? '' : head.path.slice(q);
  if (a.pathRedirect !== null) {
    const pq = a.pathRedirect.indexOf('?');
    if (pq !== -1) { path = a.pathRedirect.slice(0, pq); query = a.pathRedirect.slice(pq); } else path = a.pathRedirect;
  } else if (a.prefixRewrite !== null) {
    path = a.prefixRewrite + path.slice(matchedPrefixLength);
  } else if (a.regexRewrite !== null) {
    path = regexReplaceAll(path, a.regexRewrite.pattern, a.regexRewrite.substitution);
  }
  if (a.stripQuery) query = '';
  return `${scheme}://${host}${port === null ? '' : ':' + port}${path}${query}`;
}

export function sendRedirect(req: ActiveRequest, a: RedirectAction, headers: HeaderRecord, matchedPrefixLength = 0): void {
  headers.location = redirectLocation(req, a, matchedPrefixLength);
  headers['content-length'] = '0';
  req.responseCode = a.responseCode;
  req.responseHeaders = headers;
  req.details = 'direct_response';
  req.ex.sendHeaders(a.responseCode, headers, true);
}
