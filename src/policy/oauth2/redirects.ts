// URLs of the OAuth2 flow: the redirect_uri template (%REQ(...)% values), the original-URL check against open redirects, query parsing.
import type { RequestHead } from '../../http/exchange.ts';

/** A compiled redirect_uri: literal text and %REQ(name)% / %REQ(name?alternative)% lookups. */
export type UriTemplate = readonly (string | { readonly names: readonly string[] })[];

/** Compiles a redirect_uri; returns an error message for commands other than %REQ(...)%. */
export function compileUriTemplate(value: string): UriTemplate | string {
  const parts: (string | { names: string[] })[] = [];
  const re = /%%|%([A-Z_]+)(?:\(([^)]*)\))?%/g;
  let last = 0;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    if (m.index > last) parts.push(value.slice(last, m.index));
    last = re.lastIndex;
    if (m[0] === '%%') { parts.push('%'); continue; }
    if (m[1] !== 'REQ' || m[2] === undefined || m[2] === '') return `unsupported command %${m[1]}${m[2] === undefined ? '' : `(${m[2]})`}% (only %REQ(header)% is supported here)`;
    parts.push({ names: m[2].split('?').map((n) => n.trim().toLowerCase()) });
  }
  if (last < value.length) parts.push(value.slice(last));
  return parts;
}

function requestValue(head: RequestHead, name: string): string {
  switch (name) {
    case ':scheme': return head.scheme;
    case ':authority': case 'host': return head.authority;
    case ':path': return head.path;
    case ':method': return head.method;
  }
  const v = head.headers[name];
  return v === undefined ? '' : Array.isArray(v) ? (v[0] ?? '') : v;
}

/** The redirect_uri for this request: each %REQ(a?b)% takes the first non-empty header value. */
export function formatUri(t: UriTemplate, head: RequestHead): string {
  let out = '';
  for (const p of t) {
    if (typeof p === 'string') { out += p; continue; }
    let v = '';
    for (const n of p.names) { v = requestValue(head, n); if (v !== '') break; }
    out += v;
  }
  return out;
}

/** Envoy's PathMatcher input: the path without "?query" and "#fragment". */
export function pathOnly(path: string): string {
  const q = path.search(/[?#]/);
  return q === -1 ? path : path.slice(0, q);
}

/** The query parameters of a path (first value of each name); malformed escapes keep their raw text. */
export function queryParams(path: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = path.indexOf('?');
  if (q === -1) return out;
  const end = path.indexOf('#', q);
  for (const part of path.slice(q + 1, end === -1 ? undefined : end).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const decode = (s: string): string => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s; } };
    const k = decode(eq === -1 ? part : part.slice(0, eq));
    if (!out.has(k)) out.set(k, eq === -1 ? '' : decode(part.slice(eq + 1)));
  }
  return out;
}

/**
 * The host a session belongs to: lower case, without a default port (":80", ":443"), so "Shop.example.com:443" and
 * "shop.example.com" are the same session (browsers send the same cookies to both).
 */
export function sessionHost(authority: string): string {
  const a = authority.toLowerCase();
  return a.endsWith(':443') ? a.slice(0, -4) : a.endsWith(':80') ? a.slice(0, -3) : a;
}

export type ReturnUrl = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

/**
 * Where to send the browser after login: only a path on this same host. `url` is the original URL kept in the state
 * (absolute as Envoy writes it, or a path). Other hosts, scheme-relative "//host", backslashes, control characters and
 * non-HTTP schemes are refused (the caller falls back to "/").
 */
export function sameOriginPath(url: string, authority: string): ReturnUrl {
  // eslint-disable-next-line no-control-regex
  if (/[\\\x00-\x1f\x7f]/.test(url)) return { ok: false, reason: 'backslash or control character' };
  let path: string;
  if (url.startsWith('/')) {
    path = url;
  } else {
    let u: URL;
    try { u = new URL(url); } catch { return { ok: false, reason: 'not a URL or absolute path' }; }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, reason: `scheme ${u.protocol} is not http(s)` };
    if (u.username !== '' || u.password !== '') return { ok: false, reason: 'URL carries credentials' };
    if (sessionHost(u.host) !== sessionHost(authority)) return { ok: false, reason: `host ${u.host} is not this host (${authority})` };
    path = u.pathname + u.search;
  }
  if (path.startsWith('//') || path.startsWith('/\\')) return { ok: false, reason: 'scheme-relative URL' };
  // What a browser would resolve the path to must stay on this origin.
  const base = 'http://pilotfish.invalid';
  let resolved: URL;
  try { resolved = new URL(path, base); } catch { return { ok: false, reason: 'path does not parse' }; }
  if (resolved.origin !== base) return { ok: false, reason: 'path leaves this origin' };
  return { ok: true, path };
}
