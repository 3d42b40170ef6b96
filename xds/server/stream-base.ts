// What SotW and delta ADS streams share: node identity from the first request, endpoint announcement, per-generation snapshot, status and events.
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { announcementOf } from '../translate/mesh-view.ts';
import { readNodeIdentity, structToJson, type NodeIdentity } from '../translate/node.ts';
import type { ResourceType } from '../translate/resource.ts';
import type { NodeSnapshot } from '../translate/snapshot.ts';
import type { NodeMsg } from './ads-proto.ts';
import type { AnyCache } from './any-cache.ts';
import type { MeshState } from './mesh-state.ts';
import { ConnectionStatus } from './sync-status.ts';

/** Services the server gives each stream. */
export interface StreamHost {
  readonly state: MeshState;
  readonly anys: AnyCache;
  readonly logger: Logger;
  /** Emits 'sent' | 'ack' | 'nack' with ({connection, nodeId, type, version, nonce, error?}). */
  readonly events: EventEmitter;
  unregister(stream: StreamBase): void;
}

export interface SyncEvent {
  readonly connection: string;
  readonly nodeId: string;
  readonly type: ResourceType;
  readonly version: string;
  readonly nonce: string;
  readonly error?: string;
}

/** The part of a grpc-js ServerDuplexStream that attach() uses. */
interface StreamCall<Req> {
  on(event: 'data', cb: (req: Req) => void): unknown;
  on(event: 'error', cb: (err: Error) => void): unknown;
  on(event: 'end' | 'cancelled' | 'close', cb: () => void): unknown;
  end(): void;
}

export abstract class StreamBase {
  readonly host: StreamHost;
  readonly status: ConnectionStatus;
  protected node: NodeIdentity | null = null;
  private snap: { gen: number; snapshot: NodeSnapshot } | null = null;
  private nonceSeq = 0;
  protected closed = false;

  constructor(host: StreamHost, status: ConnectionStatus) {
    this.host = host;
    this.status = status;
  }

  /** Wires a gRPC duplex call to this stream: each request goes to `onRequest`; every way the call ends finishes it. */
  protected attach<Req>(call: StreamCall<Req>, onRequest: (req: Req) => void, what: string): void {
    call.on('data', (req: Req) => {
      try {
        onRequest(req);
      } catch (err) {
        this.host.logger.error({ err, connection: this.status.id }, `${what} request failed`);
      }
    });
    call.on('end', () => {
      this.finish('client closed the stream');
      call.end();
    });
    call.on('error', (err: Error) => this.finish(`stream error: ${err.message}`));
    call.on('cancelled', () => this.finish('cancelled'));
    call.on('close', () => this.finish('closed'));
  }

  /** Reads the node from the first request that carries one; later ones are ignored (the protocol says they must be identical). */
  protected identify(n: NodeMsg | null): NodeIdentity {
    if (this.node) return this.node;
    const metadata = structToJson(n?.metadata);
    this.node = readNodeIdentity(n?.id ?? '', n?.cluster ?? '', metadata, n?.user_agent_name ?? '');
    this.status.node = this.node;
    this.host.logger.info({ connection: this.status.id, node: this.node.id, service: this.node.service, gateway: this.node.gateway, protocol: this.status.protocol }, 'xds stream opened');
    for (const p of this.node.problems) this.host.logger.warn({ node: this.node.id, problem: p }, 'bad node metadata');
    const a = announcementOf(this.node);
    if (a) this.host.state.announce(this.status.id, a);
    return this.node;
  }

  protected snapshot(): NodeSnapshot {
    const st = this.host.state;
    if (!this.snap || this.snap.gen !== st.generation) this.snap = { gen: st.generation, snapshot: st.translator.snapshot(this.node!) };
    return this.snap.snapshot;
  }

  protected nextNonce(): string {
    this.nonceSeq += 1;
    return String(this.nonceSeq);
  }

  protected emit(kind: 'sent' | 'ack' | 'nack', e: Omit<SyncEvent, 'connection' | 'nodeId'>): void {
    this.host.events.emit(kind, { connection: this.status.id, nodeId: this.node?.id ?? '', ...e });
  }

  /** Sends whatever changed for the node since the last response of each type (called after a mesh rebuild). */
  abstract push(): void;

  /** Stream ended or failed: withdraw the announcement and forget the stream. */
  protected finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.host.state.announce(this.status.id, null);
    this.host.unregister(this);
    this.host.logger.info({ connection: this.status.id, node: this.node?.id ?? null, reason }, 'xds stream closed');
  }
}
