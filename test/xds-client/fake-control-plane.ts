// A real gRPC ADS server (SotW and delta) for tests: records every request and sends the responses a test scripts.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { aggregatedDiscoveryService } from '../../src/xds/ads-transport.ts';
import { encodeAny, xdsProtoRoot } from '../../src/xds/protos.ts';
import { withTimeout } from '../helpers/wait.ts';

type Json = Record<string, unknown>;
type Call = grpc.ServerDuplexStream<Json, Json>;

/** One request as the server received it (proto-loader shape, defaults filled in). */
export interface SeenRequest {
  /** 1 for the first stream the server saw, 2 for the next, ... (counts across restarts). */
  readonly stream: number;
  readonly delta: boolean;
  readonly typeUrl: string;
  readonly msg: Json;
}

export interface DeltaResource {
  readonly name: string;
  readonly version: string;
  /** proto3 JSON of the resource; absent for a TTL refresh. */
  readonly resource?: Json;
}

export class FakeControlPlane {
  readonly requests: SeenRequest[] = [];
  readonly events = new EventEmitter();
  #server: grpc.Server | null = null;
  #port = 0;
  #streams = new Map<number, { call: Call; delta: boolean }>();
  #streamCount = 0;
  #nonce = 0;

  get port(): number { return this.#port; }
  get address(): string { return `127.0.0.1:${this.#port}`; }
  /** Streams opened so far. */
  get streamCount(): number { return this.#streamCount; }
  /** Id of the newest open stream (0 if none). */
  get currentStream(): number { return Math.max(0, ...this.#streams.keys()); }

  /** Starts listening (port 0 the first time, the same port after stop()). */
  async start(): Promise<void> {
    const server = new grpc.Server();
    server.addService(aggregatedDiscoveryService().service, {
      StreamAggregatedResources: (call: Call) => this.#accept(call, false),
      DeltaAggregatedResources: (call: Call) => this.#accept(call, true),
    });
    this.#port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${this.#port}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
    });
    this.#server = server;
  }

  /** Kills every stream and stops listening (the client sees the control plane go away). */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const { call } of this.#streams.values()) call.destroy(new Error('control plane stopped'));
    this.#streams.clear();
    server?.forceShutdown();
  }

  /** Ends a stream cleanly (status OK) while the server keeps listening. */
  endStream(stream?: number): void {
    const id = stream ?? this.currentStream;
    const call = this.#call(id);
    this.#streams.delete(id);
    call.end();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  #accept(call: Call, delta: boolean): void {
    const id = ++this.#streamCount;
    this.#streams.set(id, { call, delta });
    this.events.emit('stream', id);
    call.on('data', (msg: Json) => {
      const req: SeenRequest = { stream: id, delta, typeUrl: String(msg.type_url ?? ''), msg };
      this.requests.push(req);
      this.events.emit('request', req);
    });
    const gone = (): void => { this.#streams.delete(id); };
    call.on('end', () => { gone(); call.end(); });
    call.on('error', gone);
    call.on('cancelled', gone);
  }

  /** The first request (from index `from` on, including future ones) matching `pred`. */
  waitForRequest(pred: (r: SeenRequest) => boolean, opts: { from?: number; timeoutMs?: number; what?: string } = {}): Promise<SeenRequest> {
    const from = opts.from ?? 0;
    const hit = this.requests.slice(from).find(pred);
    if (hit) return Promise.resolve(hit);
    return withTimeout(new Promise<SeenRequest>((resolve) => {
      const on = (r: SeenRequest): void => {
        if (this.requests.indexOf(r) >= from && pred(r)) { this.events.off('request', on); resolve(r); }
      };
      this.events.on('request', on);
    }), opts.timeoutMs ?? 10_000, opts.what ?? 'an xDS request');
  }

  /** Waits until at least `n` streams were opened. */
  waitForStream(n: number, timeoutMs = 10_000): Promise<void> {
    if (this.#streamCount >= n) return Promise.resolve();
    return withTimeout(new Promise<void>((resolve) => {
      const on = (): void => { if (this.#streamCount >= n) { this.events.off('stream', on); resolve(); } };
      this.events.on('stream', on);
    }), timeoutMs, `stream #${n}`);
  }

  #call(stream?: number): Call {
    const id = stream ?? this.currentStream;
    const s = this.#streams.get(id);
    if (!s) throw new Error(`no open stream ${id}`);
    return s.call;
  }

  /** Sends a SotW DiscoveryResponse; returns its nonce. Resources may be proto3 JSON or already encoded Anys. */
  async sendSotw(typeUrl: string, version: string, resources: readonly Json[], opts: { stream?: number; rawResources?: readonly Json[] } = {}): Promise<string> {
    const root = await xdsProtoRoot();
    const nonce = `n${++this.#nonce}`;
    const anys = [...resources.map((r) => encodeAny(root, typeUrl, r)), ...(opts.rawResources ?? [])];
    this.#call(opts.stream).write({ version_info: version, resources: anys, type_url: typeUrl, nonce });
    return nonce;
  }

  /** Sends a DeltaDiscoveryResponse; returns its nonce. */
  async sendDelta(typeUrl: string, resources: readonly DeltaResource[], removed: readonly string[] = [], opts: { stream?: number; systemVersion?: string } = {}): Promise<string> {
    const root = await xdsProtoRoot();
    const nonce = `d${++this.#nonce}`;
    this.#call(opts.stream).write({
      system_version_info: opts.systemVersion ?? '',
      type_url: typeUrl,
      nonce,
      removed_resources: removed,
      resources: resources.map((r) => ({ name: r.name, version: r.version, ...(r.resource ? { resource: encodeAny(root, typeUrl, r.resource) } : {}) })),
    });
    return nonce;
  }

  /** The request answering `nonce` (an ACK or a NACK). */
  reply(nonce: string, what = `the reply to ${nonce}`): Promise<SeenRequest> {
    return this.waitForRequest((r) => r.msg.response_nonce === nonce, { what });
  }
}

export async function startControlPlane(): Promise<FakeControlPlane> {
  const cp = new FakeControlPlane();
  await cp.start();
  return cp;
}
