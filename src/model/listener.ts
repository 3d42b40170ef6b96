// Compiles an Envoy Listener: address, listener filters, filter chains (match, TLS, terminal network filter), access logs.
import { compileAccessLogs } from './access-log.ts';
import { compileAddress, compileCidrRanges } from './address.ts';
import type { CompileContext } from './compile-context.ts';
import {
  EMPTY_CONFIG, FILTER_CHAIN, FILTER_CHAIN_MATCH, INT32_RANGE, LISTENER, LISTENER_FILTER, LISTENER_FILTER_PREDICATE, LISTENER_FILTER_PREDICATE_SET,
  NETWORK_FILTER, TCP_PROXY,
} from './fields-listener.ts';
import { HTTP_CONNECTION_MANAGER } from './fields-hcm.ts';
import { alpnForCodec, compileHcm } from './hcm.ts';
import { Msg, type MessageTable } from './proto-message.ts';
import { compileTcpProxy } from './tcp-proxy.ts';
import { compileDownstreamTls } from './tls.ts';
import { messageNameOf, openTyped, typeUrlOf } from './typed-config.ts';
import type { FilterChain, FilterChainMatch, ListenerConfig, ListenerFilterPredicate } from './types.ts';

/** Whether `p` matches a connection to `port`. */
export function predicateMatches(p: ListenerFilterPredicate, port: number): boolean {
  switch (p.kind) {
    case 'any': return true;
    case 'port': return port >= p.start && port < p.end;
    case 'or': return p.rules.some((r) => predicateMatches(r, port));
    case 'and': return p.rules.every((r) => predicateMatches(r, port));
    case 'not': return !predicateMatches(p.rule, port);
  }
}


const DEFAULT_BUFFER_LIMIT = 1024 * 1024;
const TRAFFIC_DIRECTIONS = ['UNSPECIFIED', 'INBOUND', 'OUTBOUND'] as const;

interface KnownListenerFilter {
  readonly name: string;
  readonly table: MessageTable;
}

const TLS_INSPECTOR = 'envoy.filters.listener.tls_inspector';
const HTTP_INSPECTOR = 'envoy.filters.listener.http_inspector';
const ORIGINAL_DST_NAME = 'envoy.filters.listener.original_dst';

/** Listener filters we accept, by typed_config message. */
const LISTENER_FILTERS: Readonly<Record<string, KnownListenerFilter>> = {
  'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector': {
    name: TLS_INSPECTOR,
    table: {
      message: 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
      fields: { enable_ja3_fingerprinting: 'ignore', enable_ja4_fingerprinting: 'ignore', initial_read_buffer_size: 'ignore' },
    },
  },
  'envoy.extensions.filters.listener.http_inspector.v3.HttpInspector': {
    name: HTTP_INSPECTOR,
    table: { message: 'envoy.extensions.filters.listener.http_inspector.v3.HttpInspector', fields: {} },
  },
  'envoy.extensions.filters.listener.original_dst.v3.OriginalDst': {
    name: ORIGINAL_DST_NAME,
    table: { message: 'envoy.extensions.filters.listener.original_dst.v3.OriginalDst', fields: { traffic_direction: 'ignore' } },
  },
};

function compilePredicate(m: Msg): ListenerFilterPredicate | null {
  switch (m.oneOf(['or_match', 'and_match', 'not_match', 'any_match', 'destination_port_range'], true)) {
    case 'any_match':
      if (!m.bool('any_match', false)) m.error('any_match', 'must be true');
      return { kind: 'any' };
    case 'destination_port_range': {
      const r = m.msg('destination_port_range', INT32_RANGE);
      if (r === null) return null;
      const start = r.int('start', 0);
      const end = r.int('end', 0);
      if (end <= start) { r.error('end', `must be greater than start (${start}); the range is [start, end)`); return null; }
      return { kind: 'port', start, end };
    }
    case 'not_match': {
      const n = m.msg('not_match', LISTENER_FILTER_PREDICATE);
      const rule = n === null ? null : compilePredicate(n);
      return rule === null ? null : { kind: 'not', rule };
    }
    case 'or_match':
    case 'and_match': {
      const name = m.has('or_match') ? 'or_match' : 'and_match';
      const set = m.msg(name, LISTENER_FILTER_PREDICATE_SET);
      if (set === null) return null;
      const rules = set.compiledList('rules', LISTENER_FILTER_PREDICATE, 2, compilePredicate);
      return rules === null ? null : { kind: name === 'or_match' ? 'or' : 'and', rules };
    }
    default:
      return null;
  }
}

function compileListenerFilters(l: Msg, disabled: Record<string, ListenerFilterPredicate>): string[] {
  const out: string[] = [];
  for (const f of l.msgList('listener_filters', LISTENER_FILTER)) {
    const name = f.str('name');
    const typed = f.get('typed_config');
    const url = typeUrlOf(typed);
    const known =
      url !== null
        ? Object.values(LISTENER_FILTERS).find((k) => k.table.message === messageNameOf(url))
        : Object.values(LISTENER_FILTERS).find((k) => k.name === name);
    if (!known) {
      f.ctx.error(f.path, `unsupported listener filter ${name || '(unnamed)'}${url ? ` (${url})` : ''}; supported: ${Object.values(LISTENER_FILTERS).map((k) => k.name).join(', ')}`);
      continue;
    }
    if (typed !== undefined) Msg.open(f.ctx, f.at('typed_config'), typed, url === null ? EMPTY_CONFIG : known.table);
    const pm = f.msg('filter_disabled', LISTENER_FILTER_PREDICATE);
    if (pm !== null) {
      const predicate = compilePredicate(pm);
      // original_dst decides the port the predicate looks at: it always runs (a disabled one is refused, not ignored).
      if (known.name === ORIGINAL_DST_NAME) f.error('filter_disabled', 'is not supported for original_dst');
      else if (predicate !== null) disabled[known.name] = predicate;
    }
    if (!out.includes(known.name)) out.push(known.name);
  }
  return out;
}

const ANY_MATCH: FilterChainMatch = {
  destinationPort: null,
  serverNames: [],
  transportProtocol: null,
  applicationProtocols: [],
  prefixRanges: [],
  sourcePrefixRanges: [],
};

function compileFilterChainMatch(fc: Msg): FilterChainMatch {
  const m = fc.msg('filter_chain_match', FILTER_CHAIN_MATCH);
  if (!m) return ANY_MATCH;
  return {
    destinationPort: m.optUint('destination_port', 1, 65535),
    serverNames: m.strList('server_names').map((s) => s.toLowerCase()),
    transportProtocol: m.optStr('transport_protocol'),
    applicationProtocols: m.strList('application_protocols'),
    prefixRanges: compileCidrRanges(m, 'prefix_ranges'),
    sourcePrefixRanges: compileCidrRanges(m, 'source_prefix_ranges'),
  };
}

/** The chain's single terminal network filter (HCM or tcp_proxy). */
function compileNetworkFilter(fc: Msg): FilterChain['network'] | null {
  const before = fc.ctx.errors.length;
  const filters = fc.msgList('filters', NETWORK_FILTER);
  if (filters.length === 0) {
    if (fc.ctx.errors.length === before) {
      fc.error('filters', 'a filter chain needs a network filter (http_connection_manager or tcp_proxy)');
    }
    return null;
  }
  let network: FilterChain['network'] | null = null;
  filters.forEach((f, i) => {
    const name = f.str('name');
    const typed = f.get('typed_config');
    const url = typeUrlOf(typed);
    const message = url === null ? null : messageNameOf(url);
    if (message !== HTTP_CONNECTION_MANAGER.message && message !== TCP_PROXY.message) {
      if (url === null) f.error('typed_config', `is required for network filter ${name || '(unnamed)'}`);
      else f.error('typed_config.@type', `unsupported network filter ${name || '(unnamed)'} (${url})`);
      return;
    }
    if (i !== filters.length - 1) {
      f.ctx.error(f.path, `${name || message} is a terminal filter and must be the last network filter`);
      return;
    }
    const isHttp = message === HTTP_CONNECTION_MANAGER.message;
    const t = openTyped(f.ctx, f.at('typed_config'), typed, isHttp ? HTTP_CONNECTION_MANAGER : TCP_PROXY);
    if (t) network = isHttp ? compileHcm(t) : compileTcpProxy(t);
  });
  return network;
}

function compileFilterChain(fc: Msg): FilterChain | null {
  const before = fc.ctx.errors.length;
  const match = compileFilterChainMatch(fc);
  const network = compileNetworkFilter(fc);
  const alpn = network?.kind === 'http' ? alpnForCodec(network.codecType) : [];
  const tls = compileDownstreamTls(fc, alpn);
  if (fc.ctx.errors.length > before || network === null || tls === undefined) return null;
  return { name: fc.str('name'), match, tls, network };
}

function warnMissingInspectors(l: Msg, chains: readonly { chain: FilterChain; path: string }[], filters: readonly string[]): void {
  for (const { chain, path } of chains) {
    const m = chain.match;
    const needsTls = m.serverNames.length > 0 || m.transportProtocol === 'tls' || (m.applicationProtocols.length > 0 && chain.tls !== null);
    if (needsTls && !filters.includes(TLS_INSPECTOR)) {
      const message = `matching on server_names/transport_protocol/ALPN needs the ${TLS_INSPECTOR} listener filter`;
      l.ctx.warn(`${path}.filter_chain_match`, message);
    }
  }
}

/** A Listener message; `fallbackName` is used when it has no name. Null after reporting errors. */
export function compileListenerValue(ctx: CompileContext, value: unknown, fallbackName: string): ListenerConfig | null {
  const l = Msg.open(ctx, '', value, LISTENER);
  if (!l) return null;
  const before = ctx.errors.length;
  if (!l.has('address')) l.error('address', 'is required');
  const rules = { requireIp: true, allowPortZero: true };
  const address = l.has('address') ? compileAddress(ctx, l.at('address'), l.get('address'), rules) : null;
  const listenerFilterDisabled: Record<string, ListenerFilterPredicate> = {};
  const listenerFilters = compileListenerFilters(l, listenerFilterDisabled);
  const chains: { chain: FilterChain; path: string }[] = [];
  const seenMatches = new Map<string, string>();
  for (const fc of l.msgList('filter_chains', FILTER_CHAIN)) {
    const chain = compileFilterChain(fc);
    if (!chain) continue;
    const key = JSON.stringify(chain.match);
    const previous = seenMatches.get(key);
    if (previous !== undefined) fc.ctx.error(fc.at('filter_chain_match'), `has the same matching rules as ${previous}`);
    seenMatches.set(key, fc.path);
    chains.push({ chain, path: fc.path });
  }
  const dfc = l.msg('default_filter_chain', FILTER_CHAIN);
  const defaultFilterChain = dfc ? compileFilterChain(dfc) : null;
  if (!l.has('filter_chains') && !dfc) l.error('filter_chains', 'at least one filter chain (or default_filter_chain) is required');
  warnMissingInspectors(l, chains, listenerFilters);
  const perConnectionBufferLimitBytes = l.uint('per_connection_buffer_limit_bytes', DEFAULT_BUFFER_LIMIT);
  const accessLog = compileAccessLogs(l);
  const trafficDirection = l.enumOf('traffic_direction', TRAFFIC_DIRECTIONS, 'UNSPECIFIED');
  const name = l.str('name') || fallbackName;
  const useOriginalDst = l.bool('use_original_dst', false);
  const bindToPort = l.bool('bind_to_port', true);
  const filtersTimeoutMs = l.optDurationMs('listener_filters_timeout');
  const continueOnTimeout = l.bool('continue_on_listener_filters_timeout', false);
  if (ctx.errors.length > before || address === null) return null;
  return {
    name,
    address,
    filterChains: chains.map((c) => c.chain),
    defaultFilterChain,
    listenerFilters,
    ...(Object.keys(listenerFilterDisabled).length > 0 ? { listenerFilterDisabled } : {}),
    perConnectionBufferLimitBytes,
    accessLog,
    ...(trafficDirection === 'UNSPECIFIED' ? {} : { trafficDirection }),
    ...(useOriginalDst ? { useOriginalDst } : {}),
    ...(bindToPort ? {} : { bindToPort }),
    ...(filtersTimeoutMs === null ? {} : { listenerFiltersTimeoutMs: filtersTimeoutMs }),
    ...(continueOnTimeout ? { continueOnListenerFiltersTimeout: true } : {}),
  };
}
