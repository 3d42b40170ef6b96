// Compiles RouteAction.hash_policy entries (header, cookie, source IP, query parameter) for ring-hash load balancing.
import {
  HASH_POLICY,
  HASH_POLICY_CONNECTION_PROPERTIES,
  HASH_POLICY_COOKIE,
  HASH_POLICY_HEADER,
  HASH_POLICY_QUERY_PARAMETER,
} from './fields-route.ts';
import type { Msg } from './proto-message.ts';
import type { HashPolicy } from './types.ts';

function compileOne(p: Msg): HashPolicy | null {
  const terminal = p.bool('terminal', false);
  switch (p.oneOf(['header', 'cookie', 'connection_properties', 'query_parameter', 'filter_state'], true)) {
    case 'header': {
      const h = p.msg('header', HASH_POLICY_HEADER);
      const name = h?.requiredStr('header_name').toLowerCase() ?? '';
      return name ? { kind: 'header', name, terminal } : null;
    }
    case 'cookie': {
      const c = p.msg('cookie', HASH_POLICY_COOKIE);
      const name = c?.requiredStr('name') ?? '';
      if (!c || !name) return null;
      const ttlMs = c.optDurationMs('ttl');
      return { kind: 'cookie', name, ttlSeconds: ttlMs === null ? null : Math.floor(ttlMs / 1000), path: c.optStr('path'), terminal };
    }
    case 'connection_properties': {
      const c = p.msg('connection_properties', HASH_POLICY_CONNECTION_PROPERTIES);
      if (!c?.bool('source_ip', false)) return null; // source_ip: false hashes nothing
      return { kind: 'source_ip', terminal };
    }
    case 'query_parameter': {
      const q = p.msg('query_parameter', HASH_POLICY_QUERY_PARAMETER);
      const name = q?.requiredStr('name') ?? '';
      return name ? { kind: 'query_parameter', name, terminal } : null;
    }
    default:
      return null;
  }
}

export function compileHashPolicies(action: Msg): HashPolicy[] {
  const out: HashPolicy[] = [];
  for (const p of action.msgList('hash_policy', HASH_POLICY)) {
    const c = compileOne(p);
    if (c) out.push(c);
  }
  return out;
}
