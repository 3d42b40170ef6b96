// One StreamAggregatedResources (state-of-the-world) stream: subscriptions, nonces, ACK/NACK and minimal pushes per resource type.
import type * as grpc from '@grpc/grpc-js';
import { RESOURCE_TYPES, setVersion, typeOfUrl, TYPE_URLS, type Resource, type ResourceType } from '../translate/resource.ts';
import type { DiscoveryRequest, DiscoveryResponse } from './ads-proto.ts';
import { ResourceSet } from '../translate/resource-set.ts';
import { StreamBase, type StreamHost } from './stream-base.ts';
import type { ConnectionStatus } from './sync-status.ts';

interface TypeState {
  /** Set once a request named any resource: from then on an empty list means "nothing", not wildcard. */
  explicit: boolean;
  wildcard: boolean;
  names: Set<string>;
  /** RDS/EDS: name -> hash of what the client was last sent. */
  sent: Map<string, string> | null;
  /** Version of the state the client was last brought to ('' before the first response). */
  sentVersion: string;
  lastNonce: string | null;
  /** Mesh generation the last respond() looked at (nothing can have changed for an unchanged subscription since). */
  checkedGeneration: number;
}

/** Subscribed names: the wildcard set's, then explicit ones not in it. */
function* wantedNames(st: TypeState, wild: ResourceSet): Iterable<string> {
  if (st.wildcard) yield* wild.keys();
  for (const n of st.names) if (!st.wildcard || !wild.has(n)) yield n;
}

function intersects(small: ReadonlySet<string>, big: ReadonlySet<string>): boolean {
  for (const n of small) if (big.has(n)) return true;
  return false;
}

/** LDS and CDS responses must carry the complete set; RDS and EDS may carry only what changed. */
function fullState(t: ResourceType): boolean {
  return t === 'LDS' || t === 'CDS';
}

export class SotwStream extends StreamBase {
  private readonly call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  private readonly types = new Map<ResourceType, TypeState>();

  constructor(host: StreamHost, status: ConnectionStatus, call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) {
    super(host, status);
    this.call = call;
    this.attach(call, (req: DiscoveryRequest) => this.onRequest(req), 'xds');
  }

  private onRequest(req: DiscoveryRequest): void {
    this.identify(req.node);
    const type = typeOfUrl(req.type_url);
    if (type === null) {
      this.host.logger.debug({ connection: this.status.id, typeUrl: req.type_url }, 'ignoring request for an unsupported type');
      return;
    }
    let st = this.types.get(type);
    if (!st) {
      st = { explicit: false, wildcard: false, names: new Set(), sent: null, sentVersion: '', lastNonce: null, checkedGeneration: -1 };
      this.types.set(type, st);
    }
    const nonce = req.response_nonce ?? '';
    if (nonce !== '' && st.lastNonce !== null && nonce !== st.lastNonce) {
      // Stale: answers an older response; the client will answer the newest one too (xDS protocol, "stale nonce").
      this.host.logger.debug({ connection: this.status.id, type, nonce, latest: st.lastNonce }, 'ignoring request with stale nonce');
      return;
    }
    if (nonce !== '' && nonce === st.lastNonce) {
      if (req.error_detail) {
        const message = req.error_detail.message || `NACK (code ${req.error_detail.code})`;
        this.status.nack(type, nonce, message);
        this.host.logger.warn({ connection: this.status.id, node: this.node?.id, type, version: this.status.versionOf(nonce), error: message }, 'config rejected (NACK)');
        this.emit('nack', { type, version: this.status.versionOf(nonce) ?? '', nonce, error: message });
      } else {
        this.status.ack(type, nonce, req.version_info);
        this.emit('ack', { type, version: req.version_info, nonce });
      }
    }
    // Subscription (xDS protocol, "How the client specifies what resources to return").
    const names = req.resource_names ?? [];
    const wasWildcard = st.wildcard;
    const wildcard = names.length === 0 ? !st.explicit : names.includes('*');
    const unchanged = wildcard === wasWildcard && names.length - (names.includes('*') ? 1 : 0) === st.names.size && names.every((n) => n === '*' || st.names.has(n));
    if (unchanged && st.checkedGeneration === this.host.state.generation) return; // a plain ACK: nothing new to send
    const before = st.names;
    if (!unchanged) {
      if (names.length > 0) st.explicit = true;
      st.wildcard = wildcard;
      st.names = new Set(names.filter((n) => n !== '*'));
      if (st.sent) for (const n of st.sent.keys()) if (!st.names.has(n) && !st.wildcard) st.sent.delete(n);
      this.status.subscription(type, st.wildcard, st.names);
    }
    const added = new Set<string>();
    if (!unchanged) for (const n of st.names) if (!before.has(n)) added.add(n);
    this.respond(type, st, added, st.wildcard && !wasWildcard);
  }

  /** Sends a response for `type` if the client lacks anything it subscribes to. */
  private respond(type: ResourceType, st: TypeState, added: ReadonlySet<string>, wildcardAdded: boolean): void {
    if (this.closed) return;
    const prevGen = st.checkedGeneration;
    st.checkedGeneration = this.host.state.generation;
    if (!st.wildcard && st.names.size === 0) {
      // Unsubscribed from everything: nothing to send; a later subscription starts from scratch.
      st.sent = null;
      st.sentVersion = '';
      return;
    }
    const fresh = added.size > 0 || wildcardAdded;
    if (!fresh && !st.wildcard && st.sentVersion !== '') {
      // Large named subscriptions (EDS for every cluster): only names changed since the last look can matter.
      const changed = this.host.state.changedSince(prevGen, type);
      if (changed && !intersects(changed, st.names)) return;
    }
    const snap = this.snapshot();
    const wild = snap.wildcard(type);
    let send: Resource[];
    let version: string;
    if (fullState(type)) {
      let wanted: ResourceSet | Map<string, Resource> = wild;
      if (!st.wildcard || st.names.size > 0) {
        wanted = new Map<string, Resource>();
        if (st.wildcard) for (const [n, r] of wild) wanted.set(n, r);
        for (const n of st.names) {
          const r = snap.get(type, n);
          if (r) wanted.set(n, r);
        }
      }
      version = wanted instanceof ResourceSet ? wanted.version : setVersion(wanted.values());
      if (!fresh && version === st.sentVersion) return;
      send = [...wanted.values()];
    } else {
      // Compare only what can differ: everything after a new wildcard or an unknown gap, else added and changed names.
      const sent = (st.sent ??= new Map<string, string>());
      const changed = this.host.state.changedSince(prevGen, type);
      const everything = wildcardAdded || changed === null || st.sentVersion === '';
      const candidates: Iterable<string> = everything ? wantedNames(st, wild) : new Set([...added, ...changed]);
      const lookup = (n: string): Resource | undefined => (st.names.has(n) ? snap.get(type, n) : st.wildcard ? wild.get(n) : undefined);
      send = [];
      for (const n of candidates) {
        const r = lookup(n);
        if (!r) {
          sent.delete(n);
          continue;
        }
        if (added.has(n) || wildcardAdded || sent.get(n) !== r.hash) {
          send.push(r);
          sent.set(n, r.hash);
        }
      }
      if (send.length === 0) {
        if (st.sentVersion === '') st.sentVersion = '0';
        return;
      }
      version = setVersion((function* () {
        for (const n of wantedNames(st, wild)) {
          const r = lookup(n);
          if (r) yield r;
        }
      })());
    }
    st.sentVersion = version;
    const nonce = this.nextNonce();
    st.lastNonce = nonce;
    const resp: DiscoveryResponse = {
      version_info: version,
      resources: send.map((r) => this.host.anys.get(r)),
      type_url: TYPE_URLS[type],
      nonce,
    };
    this.call.write(resp);
    this.status.sent(type, version, nonce, send.length);
    this.emit('sent', { type, version, nonce });
    this.host.logger.debug({ connection: this.status.id, type, version, nonce, resources: send.length }, 'xds response sent');
  }

  push(): void {
    if (!this.node) return;
    for (const t of RESOURCE_TYPES) {
      const st = this.types.get(t);
      if (st) this.respond(t, st, new Set(), false);
    }
  }
}
