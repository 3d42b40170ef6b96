// Computes a request's load-balancing hash from a route's hash_policy list with Envoy's semantics.
import type { HashPolicy } from '../model/types.ts';
import { combineHash, hash53 } from './hash.ts';
import type { HashPolicies, RequestHashInput } from './types.ts';

type Headers = RequestHashInput['headers'];

function headerValues(headers: Headers, name: string): string[] {
  let v = headers[name];
  if (v === undefined && name === ':authority') v = headers.host;
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** The value of cookie `name` from every Cookie header, or null. */
export function cookieValue(headers: Headers, name: string): string | null {
  for (const line of headerValues(headers, 'cookie')) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      if (part.slice(0, eq).trim() !== name) continue;
      let value = part.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
  }
  return null;
}

/** The first raw (not decoded) value of query parameter `name` in `path`, or null. */
export function queryParameterValue(path: string, name: string): string | null {
  const q = path.indexOf('?');
  if (q < 0) return null;
  const hashAt = path.indexOf('#', q);
  const query = path.slice(q + 1, hashAt < 0 ? undefined : hashAt);
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return null;
}

function policyHash(policy: HashPolicy, input: RequestHashInput): number | null {
  switch (policy.kind) {
    case 'header': {
      const values = headerValues(input.headers, policy.name);
      if (values.length === 0) return null;
      // Envoy sorts multiple values so that their order does not change the hash.
      return hash53(values.length === 1 ? values[0] : [...values].sort().join('\0'));
    }
    case 'cookie': {
      // TODO: with ttl set Envoy generates the cookie when absent; that needs a response hook.
      const value = cookieValue(input.headers, policy.name);
      return value === null ? null : hash53(value);
    }
    case 'source_ip':
      return input.sourceIp ? hash53(input.sourceIp) : null;
    case 'query_parameter': {
      const value = queryParameterValue(input.path, policy.name);
      return value === null ? null : hash53(value);
    }
  }
}

/**
 * Evaluates the policies in order; each produced hash is folded in (rotate left 1, XOR); a terminal policy
 * that produced a hash stops evaluation. Returns null when no policy produced a hash.
 */
export function computeRequestHash(policies: HashPolicies, input: RequestHashInput): number | null {
  let hash: number | null = null;
  for (const policy of policies) {
    const h = policyHash(policy, input);
    if (h === null) continue;
    hash = combineHash(hash, h);
    if (policy.terminal) break;
  }
  return hash;
}

/** The hash the source_ip policy gives an address (tcp_proxy uses it for hash-based clusters). */
export function sourceIpHash(ip: string): number {
  return hash53(ip);
}
