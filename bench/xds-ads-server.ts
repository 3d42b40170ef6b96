// A minimal state-of-the-world gRPC ADS server for the xDS scale bench: serves pre-encoded resources and timestamps every response and ACK.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_INCLUDE_DIRS } from '../src/xds/protos.ts';

type Json = Record<string, unknown>;
type Call = grpc.ServerDuplexStream<Json, Json>;

/** A resource already encoded with encodeAny (encoding is kept out of the timed part). */
export interface EncodedAny { readonly type_url: string; readonly value: Uint8Array }

/** What the server last sent the stream for one type, and when the sidecar answered it (performance.now() ms). */
export interface Sent {
  readonly version: string;
  readonly nonce: string;
  readonly names: readonly string[];
  readonly count: number;
  readonly sentAt: number;
  ackedAt: number | null;
  nack: string | null;
}

function adsService(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
    keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [...PROTO_INCLUDE_DIRS],
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { envoy: { service: { discovery: { v3: { AggregatedDiscoveryService: grpc.ServiceClientConstructor } } } } };
  return pkg.envoy.service.discovery.v3.AggregatedDiscoveryService.service;
}

export class BenchAdsServer {
  /** Emits 'ack' and 'nack' (typeUrl) whenever the sidecar answers a response. */
  readonly events = new EventEmitter();
  /** The newest response per type on the current stream. */
  readonly sent = new Map<string, Sent>();
  /** performance.now() of the first response sent on any stream (null before). */
  firstSentAt: number | null = null;
  port = 0;
  #server = new grpc.Server({ 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });
  #state = new Map<string, { version: string; resources: Map<string, EncodedAny> }>();
  #requested = new Map<string, string[]>();
  #call: Call | null = null;
  #nonce = 0;

  async start(): Promise<void> {
    this.#server.addService(adsService(), {
      StreamAggregatedResources: (call: Call) => this.#accept(call),
      DeltaAggregatedResources: (call: Call) => call.destroy(new Error('delta not served by the bench')),
    });
    this.port = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
    });
  }

  stop(): void {
    this.#call?.destroy();
    this.#server.forceShutdown();
  }

  /** Sets a type's resources; pushes them at once if the sidecar already subscribed to the type. */
  set(typeUrl: string, version: string, resources: Map<string, EncodedAny>): void {
    this.#state.set(typeUrl, { version, resources });
    const names = this.#requested.get(typeUrl);
    if (this.#call && names) this.#send(typeUrl, names);
  }

  /** Resolves once `done()` holds, re-checked on every ACK; rejects on a NACK or after timeoutMs. */
  waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.events.off('ack', check);
        this.events.off('nack', nack);
        if (err) reject(err); else resolve();
      };
      const check = () => { if (done()) finish(); };
      const nack = (typeUrl: string) => finish(new Error(`NACK for ${typeUrl}: ${this.sent.get(typeUrl)?.nack}`));
      const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      this.events.on('ack', check);
      this.events.on('nack', nack);
      check();
    });
  }

  #accept(call: Call): void {
    this.#call?.destroy();
    this.#call = call;
    this.sent.clear();
    this.#requested.clear();
    call.on('data', (msg: Json) => this.#onRequest(msg));
    call.on('error', () => {});
    call.on('end', () => call.end());
  }

  #onRequest(msg: Json): void {
    const typeUrl = String(msg.type_url ?? '');
    const names = (msg.resource_names as string[] | undefined) ?? [];
    const nonce = String(msg.response_nonce ?? '');
    const last = this.sent.get(typeUrl);
    this.#requested.set(typeUrl, names);
    if (last && nonce === last.nonce) {
      const error = msg.error_detail as { message?: string } | null;
      if (error) {
        last.nack = error.message ?? 'NACK';
        this.events.emit('nack', typeUrl);
        return;
      }
      if (last.ackedAt === null) {
        last.ackedAt = performance.now();
        this.events.emit('ack', typeUrl);
      }
      if (sameNames(names, last.names)) return;
    } else if (last && nonce !== '') {
      return; // answers an older response; a newer one is in flight
    }
    this.#send(typeUrl, names);
  }

  #send(typeUrl: string, names: readonly string[]): void {
    const state = this.#state.get(typeUrl);
    if (!state || !this.#call) return;
    const anys = names.length === 0 ? [...state.resources.values()] : names.flatMap((n) => state.resources.get(n) ?? []);
    const nonce = `n${++this.#nonce}`;
    const sentAt = performance.now();
    this.firstSentAt ??= sentAt;
    this.sent.set(typeUrl, { version: state.version, nonce, names: [...names], count: anys.length, sentAt, ackedAt: null, nack: null });
    this.#call.write({ version_info: state.version, resources: anys, type_url: typeUrl, nonce });
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(b);
  return a.every((n) => set.has(n));
}
