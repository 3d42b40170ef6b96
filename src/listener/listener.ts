// One listener: accepts connections, picks the filter chain, terminates TLS, and hands the connection to its network filter.
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { AccessLogConfig, FilterChain, ListenerConfig } from '../model/types.ts';
import type { MeshTelemetry } from '../observability/mesh-telemetry.ts';
import type { TcpMeshMetrics } from '../observability/mesh-metrics.ts';
import type { AccessLogger } from '../observability/types.ts';
import type { ClusterStatsCache } from '../http/cluster-stats.ts';
import { HttpConnectionManager } from '../http/connection-manager.ts';
import type { DownstreamConnectionInfo } from '../http/exchange.ts';
import type { StatsSink } from '../http/hcm-stats.ts';
import type { ClusterLookup } from '../http/router.ts';
import type { RouteTable } from '../http/route-table.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import { missingClientHelloBytes, parseClientHello } from './client-hello.ts';
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
}

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
  /** How long the first bytes may take: the shortest TLS handshake timeout of the chains, else 15 s. */
  readonly peekTimeoutMs: number;

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
    this.peek = chainSelectionNeedsPeek(config) || autoPlainHttp;
    this.anyTls = [...this.runtimes.values()].some((r) => r.tls !== null);
    this.peekTimeoutMs = Math.min(15_000, ...[...this.runtimes.values()].map((r) => r.tls?.handshakeTimeoutMs ?? 15_000));
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
  get address(): { host: string; port: number } | null { return this.#bound; }

  listen(): Promise<{ host: string; port: number }> {
    const { host, port } = this.config.address;
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

  #onConnection(socket: net.Socket): void {
    this.#connections.add(socket);
    socket.once('close', () => this.#connections.delete(socket));
    socket.on('error', () => { /* reported by the layer that owns the socket */ });
    const gen = this.#generation;
    gen.connections++;
    socket.once('close', () => {
      // A retired generation is dropped (and its codecs closed) with its last connection.
      if (--gen.connections === 0 && this.#retired.delete(gen)) gen.close();
    });
    if (!gen.peek) { this.#dispatch(gen, socket, null); return; }
    this.#peek(socket, gen.peekTimeoutMs, (first) => this.#dispatch(gen, socket, first));
  }

  #peek(socket: net.Socket, timeoutMs: number, then: (first: Buffer) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      socket.off('data', onData);
      if (size > 0) { then(Buffer.concat(chunks, size)); return; }
      this.#deps.log.debug({ listener: this.name, remote: socket.remoteAddress, timeoutMs }, 'no bytes from the client in time; closing connection');
      socket.destroy();
    }, timeoutMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
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
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      then(buf);
    };
    socket.on('data', onData);
  }

  #dispatch(gen: ListenerGeneration, socket: net.Socket, first: Buffer | null): void {
    const isTls = first !== null ? first[0] === 0x16 : gen.anyTls;
    const hello = first !== null && isTls ? parseClientHello(first) : null;
    const chain = selectFilterChain(gen.config, {
      destinationPort: socket.localPort ?? 0,
      destinationIp: socket.localAddress ?? '',
      sourceIp: socket.remoteAddress ?? '',
      transportProtocol: isTls ? 'tls' : 'raw_buffer',
      serverName: hello?.serverName ?? null,
      alpn: hello?.alpn ?? [],
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
      localAddress: (socket.localAddress ?? '').replace(/^::ffff:/, ''),
      localPort: socket.localPort ?? 0,
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
    });
  }
}
