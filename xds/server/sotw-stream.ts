// One StreamAggregatedResources (state-of-the-world) stream: subscriptions, nonces, ACK/NACK and minimal pushes per resource type.
import type * as grpc from '@grpc/grpc-js';
import { RESOURCE_TYPES, setVersion, typeOfUrl, TYPE_URLS, type Resource, type ResourceType } from '../translate/resource.ts';
import type { DiscoveryRequest, DiscoveryResponse } from './ads-proto.ts';
import { StreamBase, type StreamHost } from './stream-base.ts';
import type { ConnectionStatus } from './sync-status.ts';

interface TypeState {
  /** Set once a request named any resource: from then on an empty list means "nothing", not wildcard. */
  explicit: boolean;
  wildcard: boolean;
  names: Set<string>;
  /** name -> hash of what the last responses carried (for LDS/CDS: exactly the last full set). */
  sent: Map<string, string> | null;
  lastNonce: string | null;
  /** Mesh generation the last respond() looked at (nothing can have changed for an unchanged subscription since). */
  checkedGeneration: number;
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
    call.on('data', (req: DiscoveryRequest) => {
      try {
        this.onRequest(req);
      } catch (err) {
        host.logger.error({ err, connection: status.id }, 'xds request failed');
      }
    });
    call.on('end', () => {
      this.finish('client closed the stream');
      call.end();
    });
    call.on('error', (err) => this.finish(`stream error: ${err.message}`));
    call.on('cancelled', () => this.finish('cancelled'));
    call.on('close', () => this.finish('closed'));
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
      st = { explicit: false, wildcard: false, names: new Set(), sent: null, lastNonce: null, checkedGeneration: -1 };
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
      this.status.subscription(type, st.wildcard, st.names);
    }
    const added = new Set<string>();
    if (!unchanged) for (const n of st.names) if (!before.has(n)) added.add(n);
    this.respond(type, st, added, st.wildcard && !wasWildcard);
  }

  /** Sends a response for `type` if the client lacks anything it subscribes to. */
  private respond(type: ResourceType, st: TypeState, added: ReadonlySet<string>, wildcardAdded: boolean): void {
    if (this.closed) return;
    st.checkedGeneration = this.host.state.generation;
    if (!st.wildcard && st.names.size === 0) {
      // Unsubscribed from everything: nothing to send; a later subscription starts from scratch.
      if (st.sent !== null) st.sent = new Map();
      return;
    }
    const snap = this.snapshot();
    const wanted = new Map<string, Resource>();
    if (st.wildcard) for (const [n, r] of snap.wildcard(type)) wanted.set(n, r);
    for (const n of st.names) {
      const r = snap.get(type, n);
      if (r) wanted.set(n, r);
    }
    let send: Resource[];
    if (fullState(type)) {
      const same = st.sent !== null && st.sent.size === wanted.size && [...wanted].every(([n, r]) => st.sent!.get(n) === r.hash);
      if (same && added.size === 0 && !wildcardAdded) return;
      send = [...wanted.values()];
      st.sent = new Map(send.map((r) => [r.name, r.hash]));
    } else {
      const prev = st.sent ?? new Map<string, string>();
      send = [...wanted.values()].filter((r) => added.has(r.name) || wildcardAdded || prev.get(r.name) !== r.hash);
      if (send.length === 0) return;
      const next = new Map<string, string>();
      for (const [n, h] of prev) if (wanted.has(n)) next.set(n, h);
      for (const r of send) next.set(r.name, r.hash);
      st.sent = next;
    }
    const version = setVersion(wanted.values());
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
