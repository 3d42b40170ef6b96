// Envoy's HCM path normalization (path_with_escaped_slashes_action, normalize_path, merge_slashes) applied before routing.
import type { HttpConnectionManagerConfig } from '../model/types.ts';

/** The HCM settings normalization reads. */
export type PathNormalizationConfig = Pick<HttpConnectionManagerConfig, 'normalizePath' | 'mergeSlashes' | 'pathWithEscapedSlashesAction'>;

/** What the connection manager does with the request after normalization. */
export type PathOutcome = 'continue' | 'reject' | 'redirect';

/** Result of the slow path; `path` is the normalized path with the query (unchanged) appended. */
export interface NormalizedPath { outcome: PathOutcome; path: string }

/** Anything normalization could change: '%', '\', '#', a "/." (dot segment) or "//". Query characters may match: harmless. */
const MAY_CHANGE = /[%\\#]|\/\.|\/\//;

/** True when the configuration normalizes anything at all (checked once per connection manager). */
export function normalizationEnabled(cfg: PathNormalizationConfig): boolean {
  const esc = cfg.pathWithEscapedSlashesAction ?? 'KEEP_UNCHANGED';
  return cfg.normalizePath || cfg.mergeSlashes || esc !== 'KEEP_UNCHANGED';
}

/**
 * Fast test: false when `path` cannot change under any setting, so the request pays one regex test and no allocation.
 */
export function pathMayChange(path: string): boolean {
  return MAY_CHANGE.test(path);
}

const ESCAPED_SLASH = /%2f|%5c/gi;
const MULTI_SLASH = /\/{2,}/g;

/**
 * Envoy's order: the fragment is dropped; escaped slashes (%2F, %5C) are handled per the action; then the path is
 * canonicalized (RFC 3986 dot segments, unreserved percent-escapes decoded, '\' as '/'); then slashes are merged.
 * Only the part before '?' changes. Paths not starting with '/' ('*', authority-form) are left alone.
 */
export function normalizePath(full: string, cfg: PathNormalizationConfig): NormalizedPath {
  let outcome: PathOutcome = 'continue';
  const hash = full.indexOf('#');
  if (hash !== -1) full = full.slice(0, hash);
  const q = full.indexOf('?');
  let path = q === -1 ? full : full.slice(0, q);
  const query = q === -1 ? '' : full.slice(q);
  if (path.charCodeAt(0) !== 0x2f) return { outcome, path: full };
  const esc = cfg.pathWithEscapedSlashesAction ?? 'KEEP_UNCHANGED';
  if (esc !== 'KEEP_UNCHANGED' && path.includes('%')) {
    const unescaped = path.replace(ESCAPED_SLASH, (m) => (m[2] === 'f' || m[2] === 'F' ? '/' : '\\'));
    if (unescaped !== path) {
      if (esc === 'REJECT_REQUEST') return { outcome: 'reject', path: full };
      if (esc === 'UNESCAPE_AND_REDIRECT') outcome = 'redirect';
      path = unescaped;
    }
  }
  if (cfg.normalizePath) {
    const canonical = canonicalPath(path);
    if (canonical === null) return { outcome: 'reject', path: full };
    path = canonical;
  }
  if (cfg.mergeSlashes) path = path.replace(MULTI_SLASH, '/');
  return { outcome, path: path + query };
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function unreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

/**
 * Decodes percent-escapes of unreserved characters (so "%2e%2e" is a ".." segment), turns '\' into '/', then removes
 * dot segments (RFC 3986 §5.2.4; ".." at the root stays at the root). Null for an invalid escape or a control character.
 */
function canonicalPath(path: string): string | null {
  let decoded = '';
  let from = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return null;
    if (c === 0x5c) { decoded += path.slice(from, i) + '/'; from = i + 1; continue; }
    if (c !== 0x25) continue;
    const hi = i + 2 < path.length ? hexValue(path.charCodeAt(i + 1)) : -1;
    const lo = hi === -1 ? -1 : hexValue(path.charCodeAt(i + 2));
    if (lo === -1) return null;
    const byte = hi * 16 + lo;
    if (unreserved(byte)) { decoded += path.slice(from, i) + String.fromCharCode(byte); from = i + 3; }
    i += 2;
  }
  decoded += path.slice(from);
  if (!decoded.includes('/.')) return decoded;
  const segments = decoded.split('/');
  const out: string[] = [];
  // segments[0] is '' (the path starts with '/').
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..' && out.length > 0) out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  return '/' + out.join('/');
}
