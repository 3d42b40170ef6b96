// Per-connection sync bookkeeping for /debug/syncz: what was sent per type, what was ACKed or NACKed, and when.
import type { NodeIdentity } from '../translate/node.ts';
import type { ResourceType } from '../translate/resource.ts';

export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT_SENT';

export interface TypeSync {
  wildcard: boolean;
  subscribed: string[];
  sentVersion: string | null;
  sentNonce: string | null;
  sentAt: string | null;
  sentResources: number;
  ackedVersion: string | null;
  ackedNonce: string | null;
  ackedAt: string | null;
  nackedVersion: string | null;
  nackError: string | null;
  nackAt: string | null;
  state: SyncState;
}

const MAX_REMEMBERED_NONCES = 8;
const MAX_LISTED_NAMES = 50;

function emptySync(): TypeSync {
  return {
    wildcard: false, subscribed: [], sentVersion: null, sentNonce: null, sentAt: null, sentResources: 0,
    ackedVersion: null, ackedNonce: null, ackedAt: null, nackedVersion: null, nackError: null, nackAt: null, state: 'NOT_SENT',
  };
}

export class ConnectionStatus {
  readonly id: string;
  readonly protocol: 'sotw' | 'delta';
  readonly peer: string;
  readonly connectedAt = new Date().toISOString();
  node: NodeIdentity | null = null;
  readonly types = new Map<ResourceType, TypeSync>();
  private readonly nonces = new Map<string, string>();

  constructor(id: string, protocol: 'sotw' | 'delta', peer: string) {
    this.id = id;
    this.protocol = protocol;
    this.peer = peer;
  }

  type(t: ResourceType): TypeSync {
    let s = this.types.get(t);
    if (!s) {
      s = emptySync();
      this.types.set(t, s);
    }
    return s;
  }

  subscription(t: ResourceType, wildcard: boolean, names: Iterable<string>): void {
    const s = this.type(t);
    s.wildcard = wildcard;
    s.subscribed = [...names].sort();
  }

  sent(t: ResourceType, version: string, nonce: string, count: number): void {
    const s = this.type(t);
    s.sentVersion = version;
    s.sentNonce = nonce;
    s.sentAt = new Date().toISOString();
    s.sentResources = count;
    s.state = 'STALE';
    this.nonces.set(nonce, version);
    if (this.nonces.size > MAX_REMEMBERED_NONCES) this.nonces.delete(this.nonces.keys().next().value!);
  }

  /** The version sent with `nonce`, if it is one of the recent ones. */
  versionOf(nonce: string): string | undefined {
    return this.nonces.get(nonce);
  }

  ack(t: ResourceType, nonce: string, version: string): void {
    const s = this.type(t);
    s.ackedVersion = version;
    s.ackedNonce = nonce;
    s.ackedAt = new Date().toISOString();
    if (nonce === s.sentNonce) s.state = 'SYNCED';
  }

  nack(t: ResourceType, nonce: string, message: string): void {
    const s = this.type(t);
    s.nackedVersion = this.versionOf(nonce) ?? null;
    s.nackError = message;
    s.nackAt = new Date().toISOString();
    if (nonce === s.sentNonce) s.state = 'NACKED';
  }

  /** Status JSON; subscription lists longer than 50 names are cut unless `full`. */
  toJSON(full = false): Record<string, unknown> {
    const n = this.node;
    const types: Record<string, TypeSync & { subscribedCount: number }> = {};
    for (const t of ['LDS', 'RDS', 'CDS', 'EDS'] as const) {
      const s = this.types.get(t);
      if (s) types[t] = { ...s, subscribed: full ? s.subscribed : s.subscribed.slice(0, MAX_LISTED_NAMES), subscribedCount: s.subscribed.length };
    }
    return {
      connection: this.id,
      nodeId: n?.id ?? null,
      cluster: n?.cluster ?? null,
      service: n?.service ?? null,
      namespace: n?.namespace ?? null,
      gateway: n?.gateway ?? null,
      protocol: this.protocol,
      peer: this.peer,
      connectedAt: this.connectedAt,
      metadataProblems: n?.problems ?? [],
      types,
    };
  }
}
