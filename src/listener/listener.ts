// One listener: accepts connections, picks the filter chain, terminates TLS, and hands the connection to its network filter.
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
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
import { chainSelectionNeedsPeek, selectFilterChain } from './filter-chain-match.ts';
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
/** Envoy's default listener_filters_timeout. */
const DEFAULT_LISTENER_FILTERS_TIMEOUT_MS = 15_000;
/** Logged once per process when SO_ORIGINAL_DST cannot be used. */
let originalDstWarned = false;

/** A connection's destination as restored by original_dst (null where the listener does not restore it). */
type Destination = OriginalDestination;

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
  /** http_inspector's stats (http10_found, http11_found, http2_found, http_not_found), when it runs. */
  readonly httpFound: Readonly<Record<HttpProtocolGuess | 'none', Counter>> | null;
  /** listener.downstream_pre_cx_timeout: connections whose listener filters timed out. */
  readonly preCxTimeout: Counter;

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
    this.preCxTimeout = deps.stats.counter('envoy_listener_downstream_pre_cx_timeout', { envoy_listener_address: `${config.address.host}_${config.address.port}` });
    const inspecting = this.inspectHttp || filters.includes(TLS_INSPECTOR);
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
    this.#connections.add(socket);
    socket.once('close', () => this.#connections.delete(socket));
    socket.on('error', () => { /* reported by the layer that owns the socket */ });
    const gen = this.#generation;
    gen.connections++;
    socket.once('close', () => {
      // A retired generation is dropped (and its codecs closed) with its last connection.
      if (--gen.connections === 0 && this.#retired.delete(gen)) gen.close();
    });
    if (!gen.peek) { this.#dispatch(gen, socket, dst, null, null); return; }
    this.#peek(socket, gen, (first, http) => this.#dispatch(gen, socket, dst, first, http));
  }

  /**
   * Reads the first bytes until the inspectors can tell what they are (a whole ClientHello; with http_inspector an
   * HTTP/1 request line or the HTTP/2 preface). On timeout: listener_filters_timeout continues with what was seen
   * (continue_on_listener_filters_timeout) or closes; a TLS handshake timeout closes unless bytes arrived.
   */
  #peek(socket: net.Socket, gen: ListenerGeneration, then: (first: Buffer, http: HttpProtocolGuess | null) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | null = null;
    if (gen.peekTimeoutMs > 0) {
      const timeoutMs = gen.peekTimeoutMs;
      timer = setTimeout(() => {
        socket.off('data', onData);
        const seen = chunks.length === 0 ? Buffer.alloc(0) : Buffer.concat(chunks, size);
        if (gen.peekTimeoutIsFilters) {
          gen.preCxTimeout.inc();
          if (gen.config.continueOnListenerFiltersTimeout === true) {
            socket.pause();
            then(seen, gen.inspectHttp ? detectHttp(seen) ?? null : null);
            return;
          }
          this.#deps.log.debug({ listener: this.name, remote: socket.remoteAddress, timeoutMs }, 'listener filters timed out; closing connection');
          socket.destroy();
          return;
        }
        if (size > 0) { socket.pause(); then(seen, null); return; }
        this.#deps.log.debug({ listener: this.name, remote: socket.remoteAddress, timeoutMs }, 'no bytes from the client in time; closing connection');
        socket.destroy();
      }, timeoutMs);
      timer.unref();
      socket.once('close', () => { if (timer !== null) clearTimeout(timer); });
    }
    let need = 1;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      // Concatenate only when enough bytes arrived to answer the question (a trickled ClientHello stays linear).
      if (size < need && size < 16_384) return;
      const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      chunks.length = 0;
      chunks.push(buf);
      const missing = missingClientHelloBytes(buf);
      if (missing > 0 && size < 16_384) { need = size + missing; return; }
      let http: HttpProtocolGuess | null = null;
      if (missing < 0 && gen.inspectHttp) {
        const guess = detectHttp(buf);
        if (guess === undefined && size < MAX_INSPECT_BYTES) { need = size + 1; return; }
        http = guess ?? null;
      }
      if (timer !== null) clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      if (gen.httpFound !== null && missing < 0) gen.httpFound[http ?? 'none'].inc();
      then(buf, http);
    };
    socket.on('data', onData);
  }

  #dispatch(gen: ListenerGeneration, socket: net.Socket, dst: Destination | null, peeked: Buffer | null, http: HttpProtocolGuess | null): void {
    const isTls = peeked !== null ? peeked[0] === 0x16 : gen.anyTls;
    const hello = peeked !== null && isTls ? parseClientHello(peeked) : null;
    const first = peeked !== null && peeked.length > 0 ? peeked : null;
    const localAddress = dst !== null ? dst.address : (socket.localAddress ?? '').replace(/^::ffff:/, '');
    const localPort = dst !== null ? dst.port : socket.localPort ?? 0;
    const chain = selectFilterChain(gen.config, {
      destinationPort: localPort,
      destinationIp: localAddress,
      sourceIp: socket.remoteAddress ?? '',
      transportProtocol: isTls ? 'tls' : 'raw_buffer',
      serverName: hello?.serverName ?? null,
      alpn: hello !== null ? hello.alpn : http !== null ? [http] : NO_ALPN,
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
      ...(dst !== null ? { localAddressRestored: true } : {}),
    };
    if (rt.tls !== null) {
      if (!isTls) {
        this.#deps.log.warn({ listener: this.name, remote: base.remoteAddress, reason: 'plaintext (not TLS) on a TLS-only filter chain' }, 'connection refused');
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
    this.#serve(rt, socket, info, null, first);
  }

  #serve(rt: ChainRuntime, socket: Duplex, info: DownstreamConnectionInfo, alpn: string | null, first: Buffer | null): void {
    if (rt.hcm !== null) { rt.hcm.handleConnection(socket, info, alpn, first); return; }
    const network = rt.chain.network;
    if (network.kind !== 'tcp') return;
    if (first !== null) socket.unshift(first);
    this.#deps.onActive(1);
    proxyTcpConnection(socket as net.Socket, network, this.#deps.clusters, {
      accessLoggers: rt.tcpLoggers.slice(),
      onDone: () => this.#deps.onActive(-1),
      mesh: rt.tcpMetrics,
      local: info,
    });
  }
}
