// Finds JWTs in a request (headers after a value prefix, query parameters, cookies) and removes them after verification.
import type { RequestHead } from '../../http/exchange.ts';
import { cookieValue } from '../../upstream/request-hash.ts';
import type { TokenLocation } from './provider.ts';

/** A token found in the request and the location it came from. */
export interface FoundToken {
  readonly token: string;
  readonly location: TokenLocation;
}

/** Same location in two providers → one key (tokens are extracted once per location). */
export function locationKey(l: TokenLocation): string {
  return l.kind === 'header' ? `h:${l.name}:${l.prefix}` : `${l.kind === 'param' ? 'p' : 'c'}:${l.name}`;
}

const TOKEN_CHARS = /[A-Za-z0-9\-_.=+/]+/;

/** Envoy's extractJWT: the first run of base64url characters and dots after the prefix. */
function tokenAfter(value: string, prefix: string): string | null {
  let rest = value;
  if (prefix !== '') {
    const at = value.toLowerCase().indexOf(prefix.toLowerCase());
    if (at === -1) return null;
    rest = value.slice(at + prefix.length);
  }
  const m = TOKEN_CHARS.exec(rest);
  return m === null ? null : m[0];
}

function queryParam(path: string, name: string): string | null {
  const q = path.indexOf('?');
  if (q === -1) return null;
  const h = path.indexOf('#', q);
  try {
    return new URLSearchParams(path.slice(q + 1, h === -1 ? undefined : h)).get(name);
  } catch {
    return null;
  }
}

/** The tokens present at `locations`, in location order (one per location; a header with several lines gives its first token). */
export function extractTokens(head: RequestHead, locations: readonly TokenLocation[]): FoundToken[] {
  const out: FoundToken[] = [];
  for (const location of locations) {
    let token: string | null = null;
    switch (location.kind) {
      case 'header': {
        const v = head.headers[location.name];
        for (const line of v === undefined ? [] : Array.isArray(v) ? v : [v]) {
          token = tokenAfter(line, location.prefix);
          if (token !== null) break;
        }
        break;
      }
      case 'param': token = queryParam(head.path, location.name); break;
      case 'cookie': token = cookieValue(head.headers, location.name); break;
    }
    if (token !== null && token !== '') out.push({ token, location });
  }
  return out;
}

/** forward: false removes the token's header (Envoy removes header tokens only; parameters and cookies stay). */
export function removeToken(head: RequestHead, t: FoundToken): void {
  if (t.location.kind === 'header') delete head.headers[t.location.name];
}
