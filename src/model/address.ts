// Compiles envoy.config.core.v3.Address / SocketAddress and CidrRange into model socket addresses and CIDR ranges.
import { isIP } from 'node:net';
import type { CompileContext } from './compile-context.ts';
import { ADDRESS, CIDR_RANGE, SOCKET_ADDRESS } from './fields-common.ts';
import { Msg } from './proto-message.ts';
import type { CidrRange, SocketAddress } from './types.ts';

export interface AddressRules {
  /** Reject hostnames (listeners, STATIC and EDS endpoints). */
  readonly requireIp: boolean;
  /** Port 0 is allowed (listeners: pick an ephemeral port). */
  readonly allowPortZero: boolean;
}

/** Compiles an Address message at `path`; null after reporting errors. */
export function compileAddress(ctx: CompileContext, path: string, value: unknown, rules: AddressRules): SocketAddress | null {
  const a = Msg.open(ctx, path, value, ADDRESS);
  if (!a) return null;
  if (!a.has('socket_address')) {
    a.error('socket_address', 'is required');
    return null;
  }
  const s = a.msg('socket_address', SOCKET_ADDRESS);
  if (!s) return null;
  const host = s.requiredStr('address');
  const port = s.uint('port_value', 0, 0, 65535);
  let ok = host !== '';
  if (ok && rules.requireIp && isIP(host) === 0) {
    s.error('address', `${JSON.stringify(host)} is not an IP address (a hostname needs a STRICT_DNS or LOGICAL_DNS cluster)`);
    ok = false;
  }
  if (port === 0 && !rules.allowPortZero) {
    s.error('port_value', s.has('port_value') ? 'must be between 1 and 65535' : 'is required');
    ok = false;
  }
  return ok ? { host, port } : null;
}

export function compileCidrRanges(m: Msg, name: string): CidrRange[] {
  const out: CidrRange[] = [];
  for (const r of m.msgList(name, CIDR_RANGE)) {
    const addressPrefix = r.requiredStr('address_prefix');
    const family = isIP(addressPrefix);
    if (addressPrefix !== '' && family === 0) {
      r.error('address_prefix', `${JSON.stringify(addressPrefix)} is not an IP address`);
      continue;
    }
    const maxLen = family === 6 ? 128 : 32;
    const prefixLen = r.uint('prefix_len', 0, 0, maxLen);
    if (addressPrefix !== '') out.push({ addressPrefix, prefixLen });
  }
  return out;
}

/** "host:port", bracketing IPv6 literals. */
export function formatAddress(a: SocketAddress): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
