// A minimal ADS client over @grpc/grpc-js (SotW and delta) used by the control-plane tests and the scale bench.
import * as grpc from '@grpc/grpc-js';
import {
  adsService, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type DiscoveryRequest, type DiscoveryResponse,
} from '../server/ads-proto.ts';
import { TYPE_URLS, type ResourceType } from '../translate/resource.ts';

export interface ClientNode {
  id: string;
  cluster?: string;
  metadata?: Record<string, unknown>;
}

/** Plain JSON to google.protobuf.Struct in proto-loader's object form. */
export function jsonToStruct(o: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = jsonToValue(v);
  return { fields };
}

function jsonToValue(v: unknown): Record<string, unknown> {
  // protobufjs's built-in google.protobuf.Value uses camelCase field names even with keepCase.
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonToValue) } };
  return { structValue: jsonToStruct(v as Record<string, unknown>) };
}

type Waiter<T> = { match: (r: T) => boolean; resolve: (r: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

/** Queues responses and hands them to whoever waits, in order. */
class Inbox<T extends { type_url: string }> {
  private readonly queue: T[] = [];
  private readonly waiters: Waiter<T>[] = [];
  private failure: Error | null = null;

  push(r: T): void {
    const i = this.waiters.findIndex((w) => w.match(r));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(r);
    } else this.queue.push(r);
  }

  fail(e: Error): void {
    this.failure = e;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(e);
    }
  }

  next(type: ResourceType | null, timeoutMs: number): Promise<T> {
    const match = (r: T) => type === null || r.type_url === TYPE_URLS[type];
    const i = this.queue.findIndex(match);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const w: Waiter<T> = {
        match, resolve, reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for a ${type ?? 'any'} response`));
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** Responses received and not yet taken. */
  pending(type: ResourceType): number {
    return this.queue.filter((r) => r.type_url === TYPE_URLS[type]).length;
  }
}

/** Each client gets its own connection (like separate sidecars would), and may receive large responses. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': 64 * 1024 * 1024 };

async function adsClient(address: string): Promise<grpc.Client & Record<string, (...a: unknown[]) => unknown>> {
  const Svc = await adsService();
  return new Svc(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
}

export class SotwClient {
  readonly inbox = new Inbox<DiscoveryResponse>();
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  private readonly node: ClientNode;
  private sentNode = false;
  /** Last ACKed version per type. */
  readonly acked = new Map<ResourceType, string>();

  private constructor(client: grpc.Client, call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>, node: ClientNode) {
    this.client = client;
    this.call = call;
    this.node = node;
    call.on('data', (r: DiscoveryResponse) => this.inbox.push(r));
    call.on('error', (e: Error) => this.inbox.fail(e));
  }

  static async connect(address: string, node: ClientNode): Promise<SotwClient> {
    const c = await adsClient(address);
    const call = c.StreamAggregatedResources() as grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
    return new SotwClient(c, call, node);
  }

  private nodeMsg(): DiscoveryRequest['node'] {
    if (this.sentNode) return null;
    this.sentNode = true;
    return { id: this.node.id, cluster: this.node.cluster ?? '', metadata: jsonToStruct(this.node.metadata ?? {}) };
  }

  /** Sends a request (a subscription change when `nonce` is empty). */
  send(type: ResourceType, names: string[], opts: { version?: string; nonce?: string; error?: string } = {}): void {
    this.call.write({
      version_info: opts.version ?? this.acked.get(type) ?? '',
      node: this.nodeMsg(),
      resource_names: names,
      type_url: TYPE_URLS[type],
      response_nonce: opts.nonce ?? '',
      error_detail: opts.error === undefined ? null : { code: 3, message: opts.error },
    });
  }

  ack(type: ResourceType, resp: DiscoveryResponse, names: string[]): void {
    this.acked.set(type, resp.version_info);
    this.send(type, names, { version: resp.version_info, nonce: resp.nonce });
  }

  nack(type: ResourceType, resp: DiscoveryResponse, names: string[], error: string): void {
    this.send(type, names, { nonce: resp.nonce, error });
  }

  next(type: ResourceType | null, timeoutMs = 5000): Promise<DiscoveryResponse> {
    return this.inbox.next(type, timeoutMs);
  }

  close(): void {
    this.call.end();
    this.call.cancel();
    this.client.close();
  }
}

export class DeltaClient {
  readonly inbox = new Inbox<DeltaDiscoveryResponse>();
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
  private readonly node: ClientNode;
  private sentNode = false;

  private constructor(client: grpc.Client, call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>, node: ClientNode) {
    this.client = client;
    this.call = call;
    this.node = node;
    call.on('data', (r: DeltaDiscoveryResponse) => this.inbox.push(r));
    call.on('error', (e: Error) => this.inbox.fail(e));
  }

  static async connect(address: string, node: ClientNode): Promise<DeltaClient> {
    const c = await adsClient(address);
    const call = c.DeltaAggregatedResources() as grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
    return new DeltaClient(c, call, node);
  }

  send(type: ResourceType, opts: { subscribe?: string[]; unsubscribe?: string[]; initial?: Record<string, string>; nonce?: string; error?: string } = {}): void {
    const node = this.sentNode ? null : { id: this.node.id, cluster: this.node.cluster ?? '', metadata: jsonToStruct(this.node.metadata ?? {}) };
    this.sentNode = true;
    this.call.write({
      node,
      type_url: TYPE_URLS[type],
      resource_names_subscribe: opts.subscribe ?? [],
      resource_names_unsubscribe: opts.unsubscribe ?? [],
      initial_resource_versions: opts.initial ?? {},
      response_nonce: opts.nonce ?? '',
      error_detail: opts.error === undefined ? null : { code: 3, message: opts.error },
    });
  }

  ack(type: ResourceType, resp: DeltaDiscoveryResponse): void {
    this.send(type, { nonce: resp.nonce });
  }

  next(type: ResourceType | null, timeoutMs = 5000): Promise<DeltaDiscoveryResponse> {
    return this.inbox.next(type, timeoutMs);
  }

  close(): void {
    this.call.end();
    this.call.cancel();
    this.client.close();
  }
}
