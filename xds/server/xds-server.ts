// The gRPC ADS server: accepts SotW and delta streams, tracks them, and pushes to every stream after each mesh rebuild.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type protobuf from 'protobufjs';
import { adsService, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type DiscoveryRequest, type DiscoveryResponse } from './ads-proto.ts';
import { AnyCache } from './any-cache.ts';
import { DeltaStream } from './delta-stream.ts';
import type { MeshState } from './mesh-state.ts';
import { SotwStream } from './sotw-stream.ts';
import type { StreamBase, StreamHost } from './stream-base.ts';
import { ConnectionStatus } from './sync-status.ts';

export class XdsServer implements StreamHost {
  readonly state: MeshState;
  readonly logger: Logger;
  readonly anys: AnyCache;
  readonly events = new EventEmitter();
  private readonly streams = new Set<StreamBase>();
  private readonly server: grpc.Server;
  /** The TLS port's server (listenSecure), a separate grpc.Server so its services know how calls arrived. */
  private secureServer: grpc.Server | null = null;
  private seq = 0;
  private readonly onChange = () => this.pushAll();

  constructor(state: MeshState, root: protobuf.Root, logger: Logger) {
    this.state = state;
    this.logger = logger;
    this.anys = new AnyCache(root);
    this.events.setMaxListeners(0);
    this.server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
    state.on('change', this.onChange);
  }

  /** Mounts another gRPC service (the certificate authority) on this server; call before listen(). */
  addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    this.server.addService(service, implementation);
  }

  private adsHandlers(): grpc.UntypedServiceImplementation {
    return {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
        this.track(new SotwStream(this, this.newStatus('sotw', call.getPeer()), call));
      },
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) => {
        this.track(new DeltaStream(this, this.newStatus('delta', call.getPeer()), call));
      },
    };
  }

  /** Binds "host:port" (port 0 picks one) and returns the bound port. */
  async listen(address: string): Promise<number> {
    const svc = await adsService();
    this.server.addService(svc.service, this.adsHandlers());
    return new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
    });
  }

  /**
   * Serves ADS and `services` (the certificate authority's TLS handlers) on a second, TLS port (Istio's 15012) with
   * `credentials`, whose secure context may be swapped later without dropping streams. Returns the bound port.
   */
  async listenSecure(address: string, credentials: grpc.ServerCredentials, services: readonly [grpc.ServiceDefinition, grpc.UntypedServiceImplementation][]): Promise<number> {
    if (this.secureServer) throw new Error('the secure xDS port is already listening');
    const svc = await adsService();
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
    server.addService(svc.service, this.adsHandlers());
    for (const [def, impl] of services) server.addService(def, impl);
    this.secureServer = server;
    return new Promise<number>((resolve, reject) => {
      server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
    });
  }

  private newStatus(protocol: 'sotw' | 'delta', peer: string): ConnectionStatus {
    this.seq += 1;
    return new ConnectionStatus(`${protocol}-${this.seq}`, protocol, peer);
  }

  private track(s: StreamBase): void {
    this.streams.add(s);
  }

  unregister(stream: StreamBase): void {
    this.streams.delete(stream);
  }

  /** Recomputes every connected node's resources and sends only what changed. */
  private pushAll(): void {
    this.anys.nextGeneration();
    const started = performance.now();
    for (const s of this.streams) {
      try {
        s.push();
      } catch (err) {
        this.logger.error({ err, connection: s.status.id }, 'xds push failed');
      }
    }
    const ms = Math.round(performance.now() - started);
    this.logger.debug({ generation: this.state.generation, streams: this.streams.size, ms }, 'pushed new generation');
    this.events.emit('pushed', { generation: this.state.generation, streams: this.streams.size, ms });
  }

  connections(): ConnectionStatus[] {
    return [...this.streams].map((s) => s.status).sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
  }

  async close(): Promise<void> {
    this.state.off('change', this.onChange);
    this.server.forceShutdown();
    this.secureServer?.forceShutdown();
    this.streams.clear();
  }
}
