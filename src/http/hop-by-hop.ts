// Connection-specific (hop-by-hop) headers, which a proxy must not forward in either direction.
import type { HeaderRecord } from '../upstream/pool/http-pool.ts';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'http2-settings']);

export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

/**
 * Copies `src` without hop-by-hop headers and without the headers the Connection header names.
 * `te: trailers` is kept (gRPC needs it end to end).
 */
export function withoutHopByHop(src: HeaderRecord, skip?: string): HeaderRecord {
  const out: HeaderRecord = {};
  const connection = src.connection;
  let named: string[] | null = null;
  // The usual values name no other header: skip parsing them (most HTTP/1.1 messages carry one).
  if (connection !== undefined && !(typeof connection === 'string' && /^(?:keep-alive|close)$/i.test(connection))) {
    named = (Array.isArray(connection) ? connection.join(',') : connection).toLowerCase().split(',').map((s) => s.trim()).filter(Boolean);
  }
  for (const name in src) {
    const v = src[name];
    if (v === undefined || name === skip) continue;
    if (HOP_BY_HOP.has(name)) {
      if (name === 'te' && typeof v === 'string' && v.toLowerCase().includes('trailers')) out.te = 'trailers';
      continue;
    }
    if (named !== null && named.includes(name)) continue;
    out[name] = v;
  }
  return out;
}
