// One DeltaAggregatedResources (incremental) stream: subscribe/unsubscribe, initial versions, per-resource versions and removals.
import type * as grpc from '@grpc/grpc-js';
import { RESOURCE_TYPES, setVersion, typeOfUrl, TYPE_URLS, type Resource, type ResourceType } from '../translate/resource.ts';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from './ads-proto.ts';
import { StreamBase, type StreamHost } from './stream-base.ts';
import type { ConnectionStatus } from './sync-status.ts';

interface TypeState {
  explicit: boolean;
  wildcard: boolean;
  names: Set<string>;
  /** What the client holds: name -> version (our content hash, or what it told us in initial_resource_versions). */
  client: Map<string, string>;
  /** Subscribed names already reported as not existing. */
  reportedAbsent: Set<string>;
  /** Names that must be answered (resource or removal) even if nothing changed. */
  force: Set<string>;
  /** Mesh generation the last respond() looked at. */
  checkedGeneration: number;
}

export class DeltaStream extends StreamBase {
  private readonly call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
  private readonly types = new Map<ResourceType, TypeState>();

  constructor(host: StreamHost, status: ConnectionStatus, call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) {
    super(host, status);
    this.call = call;
    this.attach(call, (req: DeltaDiscoveryRequest) => this.onRequest(req), 'xds delta');
  }

  private onRequest(req: DeltaDiscoveryRequest): void {
    this.identify(req.node);
    const type = typeOfUrl(req.type_url);
    if (type === null) {
      this.host.logger.debug({ connection: this.status.id, typeUrl: req.type_url }, 'ignoring delta request for an unsupported type');
      return;
    }
    const subscribe = req.resource_names_subscribe ?? [];
    const unsubscribe = req.resource_names_unsubscribe ?? [];
    let st = this.types.get(type);
    const isNew = !st;
    if (!st) {
      st = { explicit: false, wildcard: false, names: new Set(), client: new Map(), reportedAbsent: new Set(), force: new Set(), checkedGeneration: -1 };
      this.types.set(type, st);
      for (const [n, v] of Object.entries(req.initial_resource_versions ?? {})) st.client.set(n, v);
      // Legacy wildcard: a first request naming nothing subscribes to "*".
      if (subscribe.length === 0 && unsubscribe.length === 0) st.wildcard = true;
    }
    const nonce = req.response_nonce ?? '';
    if (nonce !== '') {
      // The nonce pairs an ACK/NACK with a response; it never makes a subscription change stale (delta rules).
      if (req.error_detail) {
        const message = req.error_detail.message || `NACK (code ${req.error_detail.code})`;
        this.status.nack(type, nonce, message);
        this.host.logger.warn({ connection: this.status.id, node: this.node?.id, type, error: message }, 'config rejected (delta NACK)');
        this.emit('nack', { type, version: this.status.versionOf(nonce) ?? '', nonce, error: message });
      } else {
        const version = this.status.versionOf(nonce) ?? '';
        this.status.ack(type, nonce, version);
        this.emit('ack', { type, version, nonce });
      }
    }
    for (const n of subscribe) {
      st.explicit = true;
      if (n === '*') {
        st.wildcard = true;
        continue;
      }
      st.names.add(n);
      st.reportedAbsent.delete(n);
      // A (re)subscribed name must be answered even if the client seems to have it, except when reconnecting with initial versions.
      if (!isNew) st.client.delete(n);
    }
    for (const n of unsubscribe) {
      if (n === '*') {
        st.wildcard = false;
        continue;
      }
      st.names.delete(n);
      st.reportedAbsent.delete(n);
      if (st.client.delete(n) && st.wildcard) st.force.add(n);
    }
    this.status.subscription(type, st.wildcard, st.names);
    this.respond(type, st, true);
  }

  private respond(type: ResourceType, st: TypeState, fresh: boolean): void {
    if (this.closed) return;
    const prevGen = st.checkedGeneration;
    st.checkedGeneration = this.host.state.generation;
    if (!fresh && !st.wildcard && st.force.size === 0) {
      const changed = this.host.state.changedSince(prevGen, type);
      if (changed && ![...changed].some((n) => st.names.has(n))) return;
    }
    const snap = this.snapshot();
    const wanted = new Map<string, Resource>();
    if (st.wildcard) for (const [n, r] of snap.wildcard(type)) wanted.set(n, r);
    const absent: string[] = [];
    for (const n of st.names) {
      const r = snap.get(type, n);
      if (r) wanted.set(n, r);
      else if (!st.reportedAbsent.has(n)) absent.push(n);
    }
    const send = [...wanted.values()].filter((r) => st.client.get(r.name) !== r.hash);
    const removed = new Set<string>(absent);
    for (const n of st.client.keys()) if (!wanted.has(n)) removed.add(n);
    for (const n of st.force) if (!wanted.has(n)) removed.add(n);
    st.force.clear();
    if (send.length === 0 && removed.size === 0) return;
    for (const n of removed) {
      st.client.delete(n);
      if (st.names.has(n)) st.reportedAbsent.add(n);
    }
    for (const r of send) {
      st.client.set(r.name, r.hash);
      st.reportedAbsent.delete(r.name);
    }
    const version = setVersion(wanted.values());
    const nonce = this.nextNonce();
    const resp: DeltaDiscoveryResponse = {
      system_version_info: version,
      resources: send.map((r) => ({ name: r.name, version: r.hash, resource: this.host.anys.get(r) })),
      type_url: TYPE_URLS[type],
      removed_resources: [...removed].sort(),
      nonce,
    };
    this.call.write(resp);
    this.status.sent(type, version, nonce, send.length);
    this.emit('sent', { type, version, nonce });
    this.host.logger.debug({ connection: this.status.id, type, version, nonce, resources: send.length, removed: removed.size }, 'xds delta response sent');
  }

  push(): void {
    if (!this.node) return;
    for (const t of RESOURCE_TYPES) {
      const st = this.types.get(t);
      if (st) this.respond(t, st, false);
    }
  }
}
