// Incremental ADS client (DeltaAggregatedResources): subscribe/unsubscribe deltas, removed_resources, initial_resource_versions.
import { AdsStream, INVALID_ARGUMENT, type Message } from './ads-stream.ts';
import { KIND_SERVICE, KIND_TYPE_URL, KINDS, isWildcardKind, kindOfTypeUrl, type XdsKind } from './resource-types.ts';

export class DeltaAdsClient extends AdsStream {
  protected readonly method = 'DeltaAggregatedResources' as const;
  /** Names subscribed on this stream per non-wildcard type. */
  #subscribed = new Map<XdsKind, Set<string>>();

  #wanted(kind: XdsKind): Set<string> {
    return new Set(this.o.state.interest(kind).names);
  }

  protected onStreamStart(): void {
    this.#subscribed = new Map();
    for (const kind of KINDS) {
      if (!this.o.state.enabled(kind)) continue;
      const wildcard = isWildcardKind(kind);
      const names = wildcard ? new Set<string>() : this.#wanted(kind);
      if (!wildcard && names.size === 0) continue;
      if (!wildcard) this.#subscribed.set(kind, names);
      // Resources already held are announced so the server sends only what changed meanwhile.
      const held = this.o.state.store(kind).versions();
      if (!wildcard) for (const n of Object.keys(held)) if (!names.has(n)) delete held[n];
      this.send({
        type_url: KIND_TYPE_URL[kind],
        resource_names_subscribe: [...names].sort(), // empty for LDS/CDS: the legacy wildcard subscription
        resource_names_unsubscribe: [],
        initial_resource_versions: held,
        response_nonce: '',
      });
    }
  }

  protected async onResponse(msg: Message): Promise<void> {
    const generation = this.generation;
    const typeUrl = String(msg.type_url ?? '');
    const kind = kindOfTypeUrl(typeUrl);
    if (kind === null || !this.o.state.enabled(kind)) {
      this.o.logger.warn({ typeUrl }, 'xDS: ignoring a delta response of a type not subscribed to');
      return;
    }
    const nonce = String(msg.nonce ?? '');
    const versionInfo = String(msg.system_version_info ?? '');
    const items = ((msg.resources as Message[] | undefined) ?? [])
      .filter((r) => r.resource !== null && r.resource !== undefined) // a Resource without a body only refreshes a TTL
      .map((r) => ({ any: r.resource as Message, name: String(r.name ?? ''), version: String(r.version ?? '') }));
    const removed = ((msg.removed_resources as string[] | undefined) ?? []).map(String);
    const decoded = this.decode(kind, typeUrl, items);
    const outcome = decoded.ok
      ? await this.o.state.handle({ kind, resources: decoded.resources, removed, complete: false, versionInfo, nonce, perResourceVersions: true })
      : this.o.state.reject(kind, versionInfo, nonce, decoded.errors.join('\n'), decoded.failed);
    const ack: Message = { type_url: typeUrl, response_nonce: nonce, resource_names_subscribe: [], resource_names_unsubscribe: [], initial_resource_versions: {} };
    if (!outcome.ok) {
      ack.error_detail = { code: INVALID_ARGUMENT, message: outcome.message, details: [] };
      this.o.logger.warn({ type: KIND_SERVICE[kind], nonce }, 'xDS: delta NACK sent');
    }
    this.send(ack, generation);
    if (generation === this.generation) this.syncSubscriptions();
  }

  protected syncSubscriptions(): void {
    for (const kind of KINDS) {
      if (isWildcardKind(kind) || !this.o.state.enabled(kind)) continue;
      const wanted = this.#wanted(kind);
      const had = this.#subscribed.get(kind) ?? new Set<string>();
      const subscribe = [...wanted].filter((n) => !had.has(n)).sort();
      const unsubscribe = [...had].filter((n) => !wanted.has(n)).sort();
      if (subscribe.length === 0 && unsubscribe.length === 0) continue;
      this.#subscribed.set(kind, wanted);
      this.send({
        type_url: KIND_TYPE_URL[kind],
        resource_names_subscribe: subscribe,
        resource_names_unsubscribe: unsubscribe,
        initial_resource_versions: {},
        response_nonce: '',
      });
    }
  }
}
