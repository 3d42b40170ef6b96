// One listener: accepts connections, picks the filter chain, terminates TLS, and hands the connection to its network filter.
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { predicateMatches } from '../model/listener.ts';
import type { AccessLogConfig, FilterChain, ListenerConfig } from '../model/types.ts';
import type { MeshTelemetry } from '../observability/mesh-telemetry.ts';
import type { TcpMeshMetrics } from '../observability/mesh-metrics.ts';
import type { AccessLogger, Counter } from '../observability/types.ts';
import type { ClusterStatsCache } from '../http/cluster-stats.ts';
import { HttpConnectionManager } from '../http/connection-manager.ts';
import type { DownstreamConnectionInfo } from '../http/exchange.ts';
import type { StatsSink } from '../http/hcm-stats.ts';
import type { ClusterLookup } from '../http/router.ts';
import type { RouteTable } from '../http/route-table.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import { missingClientHelloBytes, parseClientHello } from './client-hello.ts';
import { detectHttp, MAX_INSPECT_BYTES, type HttpProtocolGuess } from './http-inspector.ts';
import { originalDestination, originalDstUnavailable, type OriginalDestination } from './original-destination.ts';
import { DownstreamTls, type TlsPeer } from './downstream-tls.ts';
import { chainSelectionNeedsPeek, filterChainIndex, type FilterChainIndex } from './filter-chain-match.ts';
import { replaySocket } from './replay-socket.ts';
import { proxyTcpConnection } from './tcp-proxy.ts';

export interface ListenerDeps {
  readonly clusters: ClusterLookup;
  readonly stats: StatsSink;
  readonly clusterStats: ClusterStatsCache;
  readonly routes: { get(name: string): RouteTable | undefined };
  readonly accessLoggers: (configs: readonly AccessLogConfig[]) => AccessLogger[];
  readonly onActive: (delta: number) => void;
  readonly log: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
  /** Secrets for SDS-configured TLS (absent: only inline/file certificates work). */
  readonly secrets?: SecretStore;
  /** Tracing and mesh metrics (absent: none). */
  readonly telemetry?: MeshTelemetry;
  /**
   * use_original_dst: the listener whose address is exactly ip:port, else the wildcard listener (0.0.0.0 / ::) on
   * that port, bound or not (absent: no handoff).
   */
  readonly listenerFor?: (ip: string, port: number) => ListenerRuntime | undefined;
}

const TLS_INSPECTOR = 'envoy.filters.listener.tls_inspector';
const HTTP_INSPECTOR = 'envoy.filters.listener.http_inspector';
const ORIGINAL_DST = 'envoy.filters.listener.original_dst';
const NO_ALPN: readonly string[] = [];
/** The most bytes read while waiting for a whole ClientHello; past it the inspectors decide on what they have. */
const MAX_PEEK_BYTES = 16_384;
/** Envoy's default listener_filters_timeout. */
const DEFAULT_LISTENER_FILTERS_TIMEOUT_MS = 15_000;
/** Logged once per process when SO_ORIGINAL_DST cannot be used. */
let originalDstWarned = false;

/** A connection's destination as restored by original_dst (null where the listener does not restore it). */
type Destination = OriginalDestination;

const EMPTY = Buffer.alloc(0);
function ignoreError(): void { /* reported by the layer that owns the socket */ }

/** Application protocols as http_inspector reports them (shared arrays: nothing allocated per connection). */
const INSPECTED_ALPN: Readonly<Record<HttpProtocolGuess, readonly string[]>> = { 'http/1.0': ['http/1.0'], 'http/1.1': ['http/1.1'], h2c: ['h2c'] };

const PEEK = Symbol('pilotfish.peek');
/** A connection's listener-filter state while its first bytes are read. */
interface Peek {
  readonly runtime: ListenerRuntime;
  readonly gen: ListenerGeneration;
  readonly dst: Destination | null;
  /** http_inspector runs for this connection (configured, and not filter_disabled for its destination port). */
  readonly inspectHttp: boolean;
  /** The first chunk (or all chunks concatenated); `tail`: later chunks not yet concatenated. */
  head: Buffer | null;
  tail: Buffer[] | null;
  size: number;
  /** Bytes needed before the inspectors look again. */
  need: number;
  timer: NodeJS.Timeout | null;
}
type PeekingSocket = net.Socket & { [PEEK]?: Peek | null };

/** Per-chain runtime objects, built once per listener config. */
interface ChainRuntime {
  readonly chain: FilterChain;
  readonly tls: DownstreamTls | null;
  readonly hcm: HttpConnectionManager | null;
  readonly tcpLoggers: readonly AccessLogger[];
  readonly tcpMetrics: TcpMeshMetrics | null;
}

/** The compiled form of one ListenerConfig; a listener swaps these atomically on update. */
class ListenerGeneration {
  readonly config: ListenerConfig;
  readonly runtimes = new Map<FilterChain, ChainRuntime>();
  readonly peek: boolean;
  /** Some chain terminates TLS (decides TLS-or-not for listeners that do not read first bytes). */
  readonly anyTls: boolean;
  /** Connections accepted under this generation and still open. */
  connections = 0;
  /** How long the first bytes may take (0: no limit). */
  readonly peekTimeoutMs: number;
  /** The peek timer is listener_filters_timeout (not a TLS handshake timeout): continue or close per config. */
  readonly peekTimeoutIsFilters: boolean;
  /** original_dst (or use_original_dst): the local address is the connection's original destination. */
  readonly restoreDst: boolean;
  readonly inspectHttp: boolean;
  /** The inspectors configured (tls_inspector, http_inspector), for filter_disabled. */
  readonly inspectors: readonly string[];
  /** http_inspector's stats (http10_found, http11_found, http2_found, http_not_found), when it runs. */
  readonly httpFound: Readonly<Record<HttpProtocolGuess | 'none', Counter>> | null;
  /** listener.downstream_pre_cx_timeout: connections whose listener filters timed out. */
  readonly preCxTimeout: Counter;
  /** listener.downstream_listener_filter_remote_close: clients that closed (FIN) while the listener filters read first bytes and nothing could be served. */
  readonly filterRemoteClose: Counter;
  /** listener.downstream_listener_filter_error: read errors (e.g. a reset) while the listener filters read first bytes. */
  readonly filterError: Counter;
  /** filter_chain_match compiled once for this generation. */
  readonly chains: FilterChainIndex;

  constructor(config: ListenerConfig, deps: ListenerDeps) {
    this.config = config;
    const chains = config.defaultFilterChain ? [...config.filterChains, config.defaultFilterChain] : config.filterChains;
    let autoPlainHttp = false;
    for (const chain of chains) {
      const network = chain.network;
      const hcm = network.kind === 'http' ? new HttpConnectionManager(network, {
        clusters: deps.clusters, stats: deps.stats, clusterStats: deps.clusterStats,
        accessLoggers: deps.accessLoggers(network.accessLog), onActive: deps.onActive, routes: deps.routes,
        telemetry: deps.telemetry, trafficDirection: config.trafficDirection ?? 'UNSPECIFIED',
      }) : null;
      if (network.kind === 'http' && chain.tls === null && network.codecType === 'AUTO') autoPlainHttp = true;
      const alpn = network.kind === 'http' ? (network.codecType === 'HTTP1' ? ['http/1.1'] : network.codecType === 'HTTP2' ? ['h2'] : ['h2', 'http/1.1']) : [];
      this.runtimes.set(chain, {
        chain,
        tls: chain.tls === null ? null : new DownstreamTls(chain.tls, alpn, deps.secrets ?? null),
        hcm,
        tcpLoggers: network.kind === 'tcp' ? deps.accessLoggers(network.accessLog) : [],
        tcpMetrics: network.kind === 'tcp' ? deps.telemetry?.tcp(config.trafficDirection ?? 'UNSPECIFIED') ?? null : null,
      });
    }
    const filters = config.listenerFilters;
    this.inspectHttp = filters.includes(HTTP_INSPECTOR);
    const c = (name: string): Counter => deps.stats.counter(`envoy_http_inspector_${name}`);
    this.httpFound = this.inspectHttp
      ? { 'http/1.0': c('http10_found'), 'http/1.1': c('http11_found'), h2c: c('http2_found'), none: c('http_not_found') }
      : null;
    const listenerLabel = { envoy_listener_address: `${config.address.host}_${config.address.port}` };
    this.preCxTimeout = deps.stats.counter('envoy_listener_downstream_pre_cx_timeout', listenerLabel);
    this.filterRemoteClose = deps.stats.counter('envoy_listener_downstream_listener_filter_remote_close', listenerLabel);
    this.filterError = deps.stats.counter('envoy_listener_downstream_listener_filter_error', listenerLabel);
    this.chains = filterChainIndex(config);
    this.inspectors = [TLS_INSPECTOR, HTTP_INSPECTOR].filter((n) => filters.includes(n));
    const inspecting = this.inspectors.length > 0;
    this.restoreDst = config.useOriginalDst === true || filters.includes(ORIGINAL_DST);
    this.peek = chainSelectionNeedsPeek(config) || autoPlainHttp || inspecting;
    this.anyTls = [...this.runtimes.values()].some((r) => r.tls !== null);
    const tlsMs = Math.min(Infinity, ...[...this.runtimes.values()].map((r) => r.tls?.handshakeTimeoutMs ?? Infinity));
    if (inspecting) {
      // Envoy: listener_filters_timeout bounds the inspectors (0 disables it); a TLS chain's handshake timeout still applies.
      const filtersMs = config.listenerFiltersTimeoutMs ?? DEFAULT_LISTENER_FILTERS_TIMEOUT_MS;
      const ms = Math.min(filtersMs > 0 ? filtersMs : Infinity, tlsMs);
      this.peekTimeoutIsFilters = filtersMs > 0 && filtersMs <= tlsMs;
      this.peekTimeoutMs = ms === Infinity ? 0 : ms;
    } else {
      // Built-in peeking (chain selection or HTTP/2 detection without listener filters): the first bytes within 15 s.
      this.peekTimeoutIsFilters = false;
      this.peekTimeoutMs = Math.min(15_000, tlsMs);
    }
  }

  /** Whether listener filter `name` is configured and not filter_disabled for a connection to `port`. */
  runs(name: string, port: number): boolean {
    if (!this.inspectors.includes(name)) return false;
    const p = this.config.listenerFilterDisabled?.[name];
    return p === undefined || !predicateMatches(p, port);
  }

  drain(closeIdle: boolean): void {
    for (const rt of this.runtimes.values()) rt.hcm?.drain(closeIdle);
  }

  /** Frees what the generation holds (codec servers and their timers) once no connection uses it. */
  close(): void {
    for (const rt of this.runtimes.values()) rt.hcm?.close();
  }
}

export class ListenerRuntime {
  readonly name: string;
  readonly #deps: ListenerDeps;
  readonly #server: net.Server;
  readonly #connections = new Set<net.Socket>();
  #generation: ListenerGeneration;
  readonly #retired = new Set<ListenerGeneration>();
  #bound: { host: string; port: number } | null = null;

  constructor(config: ListenerConfig, deps: ListenerDeps) {
    this.name = config.name;
    this.#deps = deps;
    this.#generation = new ListenerGeneration(config, deps);
    this.#server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: false }, (s) => this.#onConnection(s));
  }

  get config(): ListenerConfig { return this.#generation.config; }
  /** The bound address, or for bind_to_port: false the configured one (never bound). Null before listen(). */
  get address(): { host: string; port: number } | null { return this.#bound; }
  /** False for bind_to_port: false listeners (reachable only by a use_original_dst handoff). */
  get bindsToPort(): boolean { return this.config.bindToPort !== false; }

  listen(): Promise<{ host: string; port: number }> {
    const { host, port } = this.config.address;
    if (!this.bindsToPort) {
      this.#bound = { host, port };
      return Promise.resolve(this.#bound);
    }
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(new Error(`listener "${this.name}": cannot listen on ${host}:${port}: ${err.message}`));
      this.#server.once('error', onError);
      this.#server.listen({ host, port, exclusive: false }, () => {
        this.#server.off('error', onError);
        const a = this.#server.address() as net.AddressInfo;
        this.#bound = { host: a.address, port: a.port };
        resolve(this.#bound);
      });
    });
  }

  /** New connections use `config`; connections already open keep the chain they were given. */
  update(config: ListenerConfig): void {
    const old = this.#generation;
    this.#generation = new ListenerGeneration(config, this.#deps);
    old.drain(false);
    if (old.connections === 0) old.close();
    else this.#retired.add(old);
  }

  /** Stops accepting at once. (net.Server.close's callback waits for every connection to end; draining handles those.) */
  stopListening(): Promise<void> {
    if (this.#server.listening) this.#server.close();
    return Promise.resolve();
  }

  /** `closeIdle`: shutdown closes idle keep-alive connections at once; a removed listener lets them finish. */
  drain(closeIdle: boolean): void {
    this.#generation.drain(closeIdle);
    for (const g of this.#retired) g.drain(closeIdle);
  }

  /** Destroys every connection still open (end of the drain period). */
  destroyConnections(): void {
    for (const s of this.#connections) s.destroy();
  }

  connectionCount(): number { return this.#connections.size; }

  /** A connection handed off by a use_original_dst listener; `dst` is its original destination. */
  acceptHandoff(socket: net.Socket, dst: OriginalDestination): void {
    this.#accept(socket, dst);
  }

  #onConnection(socket: net.Socket): void {
    const gen = this.#generation;
    if (!gen.restoreDst) { this.#accept(socket, null); return; }
    const dst = this.#originalDestination(socket);
    if (gen.config.useOriginalDst === true) {
      const target = this.#deps.listenerFor?.(dst.address, dst.port);
      if (target !== undefined && target !== this) { target.acceptHandoff(socket, dst); return; }
    }
    this.#accept(socket, dst);
  }

  /** original_dst: SO_ORIGINAL_DST, or the local address when the kernel has no NAT entry or the call is unavailable. */
  #originalDestination(socket: net.Socket): Destination {
    const od = originalDestination(socket);
    if (od !== null) return od;
    if (!originalDstWarned) {
      const why = originalDstUnavailable();
      if (why !== null) {
        originalDstWarned = true;
        this.#deps.log.warn({ listener: this.name, reason: why }, 'original destination unavailable; using the local address');
      }
    }
    return { address: (socket.localAddress ?? '').replace(/^::ffff:/, ''), port: socket.localPort ?? 0 };
  }

  #accept(socket: net.Socket, dst: Destination | null): void {
    const gen = this.#generation;
    this.#connections.add(socket);
    gen.connections++;
    socket.on('error', ignoreError);
    socket.once('close', () => {
      this.#connections.delete(socket);
      // A retired generation is dropped (and its codecs closed) with its last connection.
      if (--gen.connections === 0 && this.#retired.delete(gen)) gen.close();
    });
    if (!gen.peek) { this.#dispatch(gen, socket, dst, null, null, false); return; }
    let inspectHttp = gen.inspectHttp;
    if (gen.config.listenerFilterDisabled !== undefined) {
      // filter_disabled (Istio: server-first ports): with every inspector off for this port nothing reads first bytes;
      // the connection is raw_buffer without ALPN, as in Envoy, and goes to its chain at once.
      const port = dst !== null ? dst.port : socket.localPort ?? 0;
      inspectHttp = gen.runs(HTTP_INSPECTOR, port);
      if (!inspectHttp && !gen.runs(TLS_INSPECTOR, port)) { this.#dispatch(gen, socket, dst, null, null, false, true); return; }
    }
    this.#peek(socket as PeekingSocket, gen, dst, inspectHttp);
  }

  /**
   * Reads the first bytes until the inspectors can tell what they are (a whole ClientHello; with http_inspector an
   * HTTP/1 request line or the HTTP/2 preface). On timeout: listener_filters_timeout continues with what was seen
   * (continue_on_listener_filters_timeout) or closes; a TLS handshake timeout closes unless bytes arrived.
   * A half-close ends detection at once: the bytes seen so far go to the chosen chain with the end of stream (no bytes:
   * the connection closes, as Envoy's peek reads end of file). A read error (reset) closes and frees the connection.
   * The state is one object on the socket; the event handlers are shared by all connections.
   */
  #peek(socket: PeekingSocket, gen: ListenerGeneration, dst: Destination | null, inspectHttp: boolean): void {
    const p: Peek = { runtime: this, gen, dst, inspectHttp, head: null, tail: null, size: 0, need: 1, timer: null };
    socket[PEEK] = p;
    if (gen.peekTimeoutMs > 0) {
      p.timer = setTimeout(ListenerRuntime.#onPeekTimeout, gen.peekTimeoutMs, socket);
      p.timer.unref();
    }
    socket.on('data', ListenerRuntime.#onPeekData);
    socket.on('end', ListenerRuntime.#onPeekEnd);
    socket.on('error', ListenerRuntime.#onPeekError);
    socket.on('close', ListenerRuntime.#onPeekClose);
  }

  /** Ends detection: timer cleared, handlers removed, state dropped; returns the state (null if already stopped). */
  static #stopPeek(socket: PeekingSocket): Peek | null {
    const p = socket[PEEK];
    if (p === undefined || p === null) return null;
    socket[PEEK] = null;
    if (p.timer !== null) clearTimeout(p.timer);
    socket.off('data', ListenerRuntime.#onPeekData);
    socket.off('end', ListenerRuntime.#onPeekEnd);
    socket.off('error', ListenerRuntime.#onPeekError);
    socket.off('close', ListenerRuntime.#onPeekClose);
    return p;
  }

  static #onPeekClose(this: PeekingSocket): void {
    ListenerRuntime.#stopPeek(this);
  }

  /** The bytes seen so far, as one buffer. */
  static #seen(p: Peek): Buffer {
    if (p.head === null) return EMPTY;
    if (p.tail !== null) {
      p.head = Buffer.concat([p.head, ...p.tail], p.size);
      p.tail = null;
    }
    return p.head;
  }

  static #onPeekData(this: PeekingSocket, chunk: Buffer): void {
    const p = this[PEEK];
    if (p === undefined || p === null) return;
    if (p.head === null) p.head = chunk;
    else (p.tail ??= []).push(chunk);
    p.size += chunk.length;
    // Concatenate only when enough bytes arrived to answer the question (a trickled ClientHello stays linear).
    if (p.size < p.need && p.size < MAX_PEEK_BYTES) return;
    const buf = ListenerRuntime.#seen(p);
    const gen = p.gen;
    const missing = missingClientHelloBytes(buf);
    if (missing > 0 && p.size < MAX_PEEK_BYTES) { p.need = p.size + missing; return; }
    let http: HttpProtocolGuess | null = null;
    if (missing < 0 && p.inspectHttp) {
      const guess = detectHttp(buf);
      if (guess === undefined && p.size < MAX_INSPECT_BYTES) { p.need = p.size + 1; return; }
      http = guess ?? null;
    }
    ListenerRuntime.#stopPeek(this);
    this.pause();
    if (gen.httpFound !== null && p.inspectHttp && missing < 0) gen.httpFound[http ?? 'none'].inc();
    p.runtime.#dispatch(gen, this, p.dst, buf, http, false);
  }

  static #onPeekEnd(this: PeekingSocket): void {
    const p = ListenerRuntime.#stopPeek(this);
    if (p === null) return;
    const gen = p.gen;
    if (p.size === 0) {
      gen.filterRemoteClose.inc();
      p.runtime.#deps.log.debug({ listener: p.runtime.name, remote: this.remoteAddress }, 'client closed before sending any bytes; closing connection');
      this.destroy();
      return;
    }
    // What arrived is all there will be: decide on it (an unfinished request line is not HTTP).
    const buf = ListenerRuntime.#seen(p);
    const notTls = missingClientHelloBytes(buf) < 0;
    const http = notTls && p.inspectHttp ? detectHttp(buf) ?? null : null;
    if (gen.httpFound !== null && p.inspectHttp && notTls) gen.httpFound[http ?? 'none'].inc();
    p.runtime.#dispatch(gen, this, p.dst, buf, http, true);
  }

  static #onPeekError(this: PeekingSocket, err: NodeJS.ErrnoException): void {
    const p = ListenerRuntime.#stopPeek(this);
    if (p === null) return;
    p.gen.filterError.inc();
    p.runtime.#deps.log.debug({ listener: p.runtime.name, remote: this.remoteAddress, error: err.code ?? err.message },
      'read error (reset) while listener filters read first bytes; connection closed');
    this.destroy();
  }

  static #onPeekTimeout(socket: PeekingSocket): void {
    const p = ListenerRuntime.#stopPeek(socket);
    if (p === null) return;
    const { gen, runtime } = p;
    const timeoutMs = gen.peekTimeoutMs;
    if (gen.peekTimeoutIsFilters) {
      gen.preCxTimeout.inc();
      if (gen.config.continueOnListenerFiltersTimeout === true) {
        socket.pause();
        const buf = ListenerRuntime.#seen(p);
        runtime.#dispatch(gen, socket, p.dst, buf, p.inspectHttp ? detectHttp(buf) ?? null : null, false);
        return;
      }
      runtime.#deps.log.debug({ listener: runtime.name, remote: socket.remoteAddress, timeoutMs }, 'listener filters timed out; closing connection');
      socket.destroy();
      return;
    }
    if (p.size > 0) { socket.pause(); runtime.#dispatch(gen, socket, p.dst, ListenerRuntime.#seen(p), null, false); return; }
    runtime.#deps.log.debug({ listener: runtime.name, remote: socket.remoteAddress, timeoutMs }, 'no bytes from the client in time; closing connection');
    socket.destroy();
  }

  /**
   * `ended`: the client half-closed during detection; the chain's filter gets `peeked` followed by end of stream.
   * `rawBuffer`: no inspector ran (filter_disabled): the connection is raw_buffer, whatever the chains terminate.
   */
  #dispatch(gen: ListenerGeneration, socket: net.Socket, dst: Destination | null, peeked: Buffer | null, http: HttpProtocolGuess | null, ended: boolean, rawBuffer = false): void {
    const isTls = peeked !== null ? peeked[0] === 0x16 : !rawBuffer && gen.anyTls;
    const hello = peeked !== null && isTls ? parseClientHello(peeked) : null;
    const first = peeked !== null && peeked.length > 0 ? peeked : null;
    const localAddress = dst !== null ? dst.address : (socket.localAddress ?? '').replace(/^::ffff:/, '');
    const localPort = dst !== null ? dst.port : socket.localPort ?? 0;
    const chain = gen.chains.select({
      destinationPort: localPort,
      destinationIp: localAddress,
      sourceIp: socket.remoteAddress ?? '',
      transportProtocol: isTls ? 'tls' : 'raw_buffer',
      serverName: hello?.serverName ?? null,
      alpn: hello !== null ? hello.alpn : http !== null ? INSPECTED_ALPN[http] : NO_ALPN,
    });
    if (chain === null) {
      this.#deps.log.debug({ listener: this.name, remote: socket.remoteAddress }, 'no filter chain matched; closing connection');
      socket.destroy();
      return;
    }
    const rt = gen.runtimes.get(chain)!;
    const base = {
      remoteAddress: (socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
      remotePort: socket.remotePort ?? 0,
      localAddress,
      localPort,
      localAddressRestored: dst !== null,
    };
    if (rt.tls !== null) {
      if (!isTls) {
        this.#deps.log.warn({ listener: this.name, remote: base.remoteAddress, reason: 'plaintext (not TLS) on a TLS-only filter chain' }, 'connection refused');
        socket.destroy();
        return;
      }
      if (ended) {
        // The client can no longer answer the server's handshake messages: nothing can come of this connection.
        gen.filterRemoteClose.inc();
        this.#deps.log.debug({ listener: this.name, remote: base.remoteAddress }, 'client closed before the TLS handshake could finish; closing connection');
        socket.destroy();
        return;
      }
      const raw: Duplex = first === null ? socket : replaySocket(socket, first);
      rt.tls.terminate(raw, (t: TLSSocket, peer: TlsPeer) => {
        const info: DownstreamConnectionInfo = {
          ...base, tls: true, serverName: typeof t.servername === 'string' ? t.servername : null, ...peer,
        };
        const alpn = typeof t.alpnProtocol === 'string' ? t.alpnProtocol : null;
        this.#serve(rt, t, info, alpn, null);
      }, (reason, benign) => {
        const fields = { listener: this.name, remote: base.remoteAddress, remotePort: base.remotePort, reason };
        if (benign) this.#deps.log.debug(fields, 'TLS handshake failed');
        else this.#deps.log.warn(fields, 'TLS handshake refused');
      });
      return;
    }
    const info: DownstreamConnectionInfo = { ...base, tls: false, serverName: null, peerUriSans: [] };
    // A half-closed socket has emitted 'end' already: the codec reads the peeked bytes, then end of stream, from a
    // wrapper (tcp_proxy's pipe() forwards an end that was emitted before it started).
    this.#serve(rt, ended && rt.hcm !== null ? replaySocket(socket, null, true) : socket, info, null, first);
  }

  #serve(rt: ChainRuntime, socket: Duplex, info: DownstreamConnectionInfo, alpn: string | null, first: Buffer | null): void {
    if (rt.hcm !== null) { rt.hcm.handleConnection(socket, info, alpn, first); return; }
    const network = rt.chain.network;
    if (network.kind !== 'tcp') return;
    this.#deps.onActive(1);
    proxyTcpConnection(socket as net.Socket, network, this.#deps.clusters, {
      initialData: first,
      accessLoggers: rt.tcpLoggers.slice(),
      onDone: () => this.#deps.onActive(-1),
      mesh: rt.tcpMetrics,
      local: info,
    });
  }
}
