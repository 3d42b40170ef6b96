// Parses and normalises the port and CIDR lists given to `pilotfish iptables` (the form iptables-save prints).
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  readonly family: 4 | 6;
  /** Network address with host bits cleared and the prefix length, e.g. "10.0.0.0/8", "fd00::/64". */
  readonly text: string;
}

/** A port number 1-65535, or an error message naming the source (flag or env var) and the value. */
export function parsePort(source: string, value: string): number | string {
  const v = value.trim();
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) return `${source}: "${value}" is not a port (1-65535)`;
  return Number(v);
}

/** A comma-separated port list ("" = none); duplicates are dropped, order kept. */
export function parsePortList(source: string, value: string): number[] | string {
  const out: number[] = [];
  for (const part of splitList(value)) {
    const p = parsePort(source, part);
    if (typeof p === 'string') return p;
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** A comma-separated CIDR list ("" = none); a bare address means a single host (/32, /128). */
export function parseCidrList(source: string, value: string): Cidr[] | string {
  const out: Cidr[] = [];
  for (const part of splitList(value)) {
    const c = parseCidr(part);
    if (c === null) return `${source}: "${part}" is not an IPv4 or IPv6 CIDR (e.g. 10.0.0.0/8, fd00::/64)`;
    if (!out.some((o) => o.text === c.text)) out.push(c);
  }
  return out;
}

/** A numeric user or group id (0 .. 2^32-2). */
export function parseId(source: string, value: string): number | string {
  const v = value.trim();
  if (!/^\d{1,10}$/.test(v) || Number(v) > 4294967294) return `${source}: "${value}" is not a numeric id`;
  return Number(v);
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? null : text.slice(slash + 1);
  if (isIPv4(addr)) {
    const len = prefixLength(lenText, 32);
    if (len === null) return null;
    const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    const net = (n & mask) >>> 0;
    return { family: 4, text: `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${len}` };
  }
  if (isIPv6(addr) && !addr.includes('%')) {
    const len = prefixLength(lenText, 128);
    if (len === null) return null;
    const groups = expandIpv6(addr);
    for (let i = 0; i < 8; i++) {
      const keep = Math.max(0, Math.min(16, len - i * 16));
      groups[i] &= keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    }
    return { family: 6, text: `${compressIpv6(groups)}/${len}` };
  }
  return null;
}

function prefixLength(text: string | null, max: number): number | null {
  if (text === null) return max;
  if (!/^\d{1,3}$/.test(text) || Number(text) > max) return null;
  return Number(text);
}

/** Eight 16-bit groups of a valid IPv6 address (an embedded IPv4 tail is converted). */
function expandIpv6(addr: string): number[] {
  let a = addr.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const o = v4[1].split('.').map(Number);
    a = a.slice(0, v4.index) + `${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const [head, tail] = a.includes('::') ? a.split('::') : [a, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === null ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}

/** RFC 5952 text: lowercase, leading zeros dropped, the longest run (>= 2) of zero groups as "::". */
function compressIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
