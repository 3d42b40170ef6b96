// Recovers a redirected connection's original destination (iptables REDIRECT/DNAT) with getsockopt(SO_ORIGINAL_DST) through koffi.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/** The address a client connected to before NAT redirected it here. */
export interface OriginalDestination {
  readonly address: string;
  readonly port: number;
}

const SOL_IP = 0;
const SOL_IPV6 = 41;
/** SO_ORIGINAL_DST (linux/netfilter_ipv4.h) and IP6T_SO_ORIGINAL_DST (linux/netfilter_ipv6/ip6_tables.h) are both 80. */
const SO_ORIGINAL_DST = 80;
const AF_INET = 2;
const AF_INET6 = 10;

type GetSockOpt = (fd: number, level: number, name: number, buf: Uint8Array, len: Uint32Array) => number;

let getsockopt: GetSockOpt | null = null;
let unavailable: string | null = null;
/** One buffer and length cell reused by every call: the call is synchronous and the process single-threaded. */
const buf = new Uint8Array(28);
const len = new Uint32Array(1);

/** Loads koffi and libc once; afterwards returns the cached result. Null when available, else why not. */
export function originalDstUnavailable(): string | null {
  if (getsockopt !== null) return null;
  if (unavailable !== null) return unavailable;
  if (process.platform !== 'linux') {
    unavailable = `SO_ORIGINAL_DST needs Linux and the koffi package: this platform is ${process.platform}`;
    return unavailable;
  }
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as { load(name: string): { func(decl: string): GetSockOpt } };
    const libc = koffi.load('libc.so.6');
    getsockopt = libc.func('int getsockopt(int, int, int, _Out_ uint8_t *buf, _Inout_ uint32_t *len)');
    return null;
  } catch (err) {
    unavailable = `SO_ORIGINAL_DST needs Linux and the koffi package: ${(err as Error).message}`;
    return unavailable;
  }
}

function fdOf(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
  return typeof handle?.fd === 'number' ? handle.fd : -1;
}

function ipv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6(b: Uint8Array, at: number): string {
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is reported as plain IPv4, as Node reports peers.
  let mapped = b[at + 10] === 0xff && b[at + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (b[at + i] !== 0) mapped = false;
  if (mapped) return ipv4(b, at + 12);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[at + i] << 8) | b[at + i + 1]).toString(16));
  // Compress the longest run of zero groups (RFC 5952), as net.SocketAddress prints it.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  if (bestAt < 0) return groups.join(':');
  return `${groups.slice(0, bestAt).join(':')}::${groups.slice(bestAt + bestLen).join(':')}`;
}

/**
 * The original destination of an accepted connection, or null when the kernel has none for it (no NAT entry,
 * ENOENT), when the socket has no file descriptor, or when SO_ORIGINAL_DST is unavailable (see
 * originalDstUnavailable). One getsockopt call, no allocation beyond the returned object and address string.
 */
export function originalDestination(socket: Socket): OriginalDestination | null {
  if (getsockopt === null && originalDstUnavailable() !== null) return null;
  const fd = fdOf(socket);
  if (fd < 0) return null;
  const local = socket.localAddress ?? '';
  const v6 = local.includes(':') && !local.startsWith('::ffff:');
  len[0] = v6 ? 28 : 16;
  if (getsockopt!(fd, v6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST, buf, len) !== 0) return null;
  const family = buf[0] | (buf[1] << 8);
  const port = (buf[2] << 8) | buf[3];
  if (family === AF_INET && len[0] >= 8) return { address: ipv4(buf, 4), port };
  if (family === AF_INET6 && len[0] >= 24) return { address: ipv6(buf, 8), port };
  return null;
}
