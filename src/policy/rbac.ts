// Role-based access control as Envoy's RBAC engine evaluates it: policies of permissions and principals, matched per request.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { matchHeader, matchString } from '../matching/string-matcher.ts';
import type { HeaderMatcher, StringMatcher } from '../model/types.ts';
import type { DownstreamConnectionInfo, RequestHead } from '../http/exchange.ts';
import { headerValue } from '../http/route-table.ts';
import { metadataMatches, type DynamicMetadata, type MetadataMatcher } from './metadata-matcher.ts';

export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';

/** A CIDR block compiled once (envoy.config.core.v3.CidrRange). */
export interface IpRange {
  /** As configured ("10.0.0.0/8"), for messages and tests. */
  readonly cidr: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly list: BlockList;
}

/**
 * One Permission or Principal rule. Both are predicates on the request and its connection, so they share one
 * evaluator; the compiler only allows each kind where Envoy allows it.
 */
export type RbacRule =
  | { readonly kind: 'any' }
  | { readonly kind: 'and'; readonly rules: readonly RbacRule[] }
  | { readonly kind: 'or'; readonly rules: readonly RbacRule[] }
  | { readonly kind: 'not'; readonly rule: RbacRule }
  /** A request header or pseudo-header (":method", ":path" with its query, ":authority", ":scheme"). */
  | { readonly kind: 'header'; readonly matcher: HeaderMatcher }
  /** The path without query and fragment. */
  | { readonly kind: 'url_path'; readonly matcher: StringMatcher }
  | { readonly kind: 'destination_port'; readonly port: number }
  /** [start, end). */
  | { readonly kind: 'destination_port_range'; readonly start: number; readonly end: number }
  | { readonly kind: 'destination_ip'; readonly range: IpRange }
  | { readonly kind: 'requested_server_name'; readonly matcher: StringMatcher }
  /** The TLS peer: any TLS connection when `principalName` is null, else a URI SAN, a DNS SAN or the subject matches. */
  | { readonly kind: 'authenticated'; readonly principalName: StringMatcher | null }
  /** The physical peer address (source_ip and direct_remote_ip). */
  | { readonly kind: 'direct_remote_ip'; readonly range: IpRange }
  /** The downstream remote address, which x-forwarded-for may set (remote_ip). */
  | { readonly kind: 'remote_ip'; readonly range: IpRange }
  /** Dynamic metadata set by earlier filters (metadata, sourced_metadata DYNAMIC): e.g. a JWT payload from jwt_authn. */
  | { readonly kind: 'metadata'; readonly matcher: MetadataMatcher };

export interface RbacPolicy {
  readonly name: string;
  /** Any of them must match (OR). */
  readonly permissions: readonly RbacRule[];
  /** Any of them must match (OR). */
  readonly principals: readonly RbacRule[];
}

/** config.rbac.v3.RBAC compiled: policies sorted by name, the order Envoy evaluates them in. */
export interface RbacEngine {
  readonly action: RbacAction;
  readonly policies: readonly RbacPolicy[];
}

/** What the rules look at. `remoteIp()` is computed on first use (it may parse x-forwarded-for). */
export interface RbacRequest {
  readonly head: RequestHead;
  readonly connection: DownstreamConnectionInfo;
  remoteIp(): string;
  /** The request's dynamic metadata so far (filter namespace → fields); absent means none. */
  readonly dynamicMetadata?: DynamicMetadata | null;
}

export interface RbacDecision {
  readonly allowed: boolean;
  /** The first policy (by name) that matched, or null. */
  readonly policy: string | null;
}

/** Compiles a CIDR block; null with a reason when the address is not an IP or the length is out of range. */
export function ipRange(addressPrefix: string, prefixLen: number): IpRange | string {
  const family = isIPv4(addressPrefix) ? 'ipv4' : isIPv6(addressPrefix) ? 'ipv6' : null;
  if (family === null) return `${JSON.stringify(addressPrefix)} is not an IP address`;
  const max = family === 'ipv4' ? 32 : 128;
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max) return `prefix length ${prefixLen} is out of range for ${family} (0..${max})`;
  const list = new BlockList();
  list.addSubnet(addressPrefix, prefixLen, family);
  return { cidr: `${addressPrefix}/${prefixLen}`, family, list };
}

/** Is `ip` inside the block? IPv4-mapped IPv6 addresses ("::ffff:10.0.0.1", as Node reports them on dual-stack sockets) count as IPv4. */
export function inRange(r: IpRange, ip: string): boolean {
  let addr = ip;
  let family: 'ipv4' | 'ipv6' = isIPv4(ip) ? 'ipv4' : 'ipv6';
  if (family === 'ipv6' && ip.length > 7 && ip.slice(0, 7).toLowerCase() === '::ffff:' && isIPv4(ip.slice(7))) {
    addr = ip.slice(7);
    family = 'ipv4';
  }
  if (family !== r.family) return false;
  try { return r.list.check(addr, family); } catch { return false; }
}

/** Envoy's PathMatcher input: the path without "?query" and "#fragment". */
function pathWithoutQuery(path: string): string {
  let end = path.length;
  const q = path.indexOf('?');
  if (q !== -1) end = q;
  const h = path.indexOf('#');
  if (h !== -1 && h < end) end = h;
  return end === path.length ? path : path.slice(0, end);
}

/** The peer certificate's identities in Envoy's order: URI SANs, then DNS SANs, then the subject (RFC 2253). */
function authenticatedMatches(conn: DownstreamConnectionInfo, name: StringMatcher | null): boolean {
  if (!conn.tls) return false;
  if (name === null) return true;
  const cert = conn.peerCertificate ?? null;
  const uris = cert?.uriSans ?? conn.peerUriSans;
  for (const u of uris) if (matchString(name, u)) return true;
  if (cert !== null) for (const d of cert.dnsSans) if (matchString(name, d)) return true;
  return matchString(name, cert?.subject ?? '');
}

export function ruleMatches(rule: RbacRule, r: RbacRequest): boolean {
  switch (rule.kind) {
    case 'any': return true;
    case 'and':
      for (const x of rule.rules) if (!ruleMatches(x, r)) return false;
      return true;
    case 'or':
      for (const x of rule.rules) if (ruleMatches(x, r)) return true;
      return false;
    case 'not': return !ruleMatches(rule.rule, r);
    case 'header': return matchHeader(rule.matcher, headerValue(r.head, rule.matcher.name));
    case 'url_path': return matchString(rule.matcher, pathWithoutQuery(r.head.path));
    case 'destination_port': return r.connection.localPort === rule.port;
    case 'destination_port_range': return r.connection.localPort >= rule.start && r.connection.localPort < rule.end;
    case 'destination_ip': return inRange(rule.range, r.connection.localAddress);
    case 'requested_server_name': return matchString(rule.matcher, r.connection.serverName ?? '');
    case 'authenticated': return authenticatedMatches(r.connection, rule.principalName);
    case 'direct_remote_ip': return inRange(rule.range, r.connection.remoteAddress);
    case 'remote_ip': return inRange(rule.range, r.remoteIp());
    case 'metadata': return metadataMatches(rule.matcher, r.dynamicMetadata);
  }
}

function anyMatches(rules: readonly RbacRule[], r: RbacRequest): boolean {
  for (const x of rules) if (ruleMatches(x, r)) return true;
  return false;
}

/** The first policy, in name order, whose permissions and principals both match; null when none does. */
export function matchedPolicy(engine: RbacEngine, r: RbacRequest): string | null {
  for (const p of engine.policies) {
    if (anyMatches(p.permissions, r) && anyMatches(p.principals, r)) return p.name;
  }
  return null;
}

/** ALLOW: allowed iff a policy matched; DENY: allowed iff none matched; LOG: always allowed. */
export function decide(engine: RbacEngine, r: RbacRequest): RbacDecision {
  const policy = matchedPolicy(engine, r);
  switch (engine.action) {
    case 'ALLOW': return { allowed: policy !== null, policy };
    case 'DENY': return { allowed: policy === null, policy };
    case 'LOG': return { allowed: true, policy };
  }
}

/** Splits x-forwarded-for into its addresses, trimmed (several header lines count as one list). */
function xffAddresses(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  const joined = Array.isArray(v) ? v.join(',') : v;
  return joined.split(',').map((s) => s.trim());
}

/** Envoy's getLastAddressFromXFF: the address `skip` entries from the right, when it is an IP. */
function xffAddress(headers: RequestHead['headers'], skip: number): string | null {
  const list = xffAddresses(headers['x-forwarded-for']);
  if (skip >= list.length) return null;
  const a = list[list.length - 1 - skip];
  return isIPv4(a) || isIPv6(a) ? a : null;
}

/**
 * Envoy's downstream remote address, as the connection manager derives it: with use_remote_address, the peer (or,
 * with xff_num_trusted_hops N > 0, the Nth x-forwarded-for address from the right); without it, the last
 * x-forwarded-for address after skipping N trusted hops. The peer whenever x-forwarded-for has no usable address.
 */
export function downstreamRemoteIp(head: RequestHead, conn: DownstreamConnectionInfo, useRemoteAddress: boolean, xffNumTrustedHops: number): string {
  let ip: string | null;
  if (useRemoteAddress) ip = xffNumTrustedHops > 0 ? xffAddress(head.headers, xffNumTrustedHops - 1) : null;
  else ip = xffAddress(head.headers, xffNumTrustedHops);
  return ip ?? conn.remoteAddress;
}
