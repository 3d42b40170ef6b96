// State-of-the-world ADS client (StreamAggregatedResources): wildcard LDS/CDS, RDS/EDS by name, ACK/NACK per response.
import { AdsStream, INVALID_ARGUMENT, type Message } from './ads-stream.ts';
import { KIND_SERVICE, KIND_TYPE_URL, KINDS, isWildcardKind, kindOfTypeUrl, type XdsKind } from './resource-types.ts';

interface TypeStream {
  /** resource_names of the last request of this type on this stream (null: none sent yet). */
  sent: readonly string[] | null;
  /** Nonce of the last response of this type on this stream. */
  nonce: string;
}

function sameNames(a: readonly string[] | null, b: readonly string[]): boolean {
  return a !== null && a.length === b.length && a.every((n, i) => n === b[i]);
}

export class SotwAdsClient extends AdsStream {
  protected readonly method = 'StreamAggregatedResources' as const;
  #types = new Map<XdsKind, TypeStream>();

  #type(kind: XdsKind): TypeStream {
    let t = this.#types.get(kind);
    if (!t) { t = { sent: null, nonce: '' }; this.#types.set(kind, t); }
    return t;
  }

  /** Names to request: [] for wildcard types (legacy wildcard), otherwise the sorted names the config references. */
  #names(kind: XdsKind): string[] {
    const i = this.o.state.interest(kind);
    return i.wildcard ? [] : [...i.names].sort();
  }

  #request(kind: XdsKind, names: readonly string[], extra: Message = {}, generation?: number): void {
    const t = this.#type(kind);
    t.sent = names;
    this.send({
      version_info: this.o.state.store(kind).version,
      resource_names: names,
      type_url: KIND_TYPE_URL[kind],
      response_nonce: t.nonce,
      ...extra,
    }, generation);
  }

  protected onStreamStart(): void {
    this.#types = new Map();
    // Resubscribe in Envoy's order (CDS, EDS, LDS, RDS), with the versions last accepted and no nonce.
    for (const kind of KINDS) {
      if (!this.o.state.enabled(kind)) continue;
      const names = this.#names(kind);
      if (isWildcardKind(kind) || names.length > 0) this.#request(kind, names);
    }
  }

  protected async onResponse(msg: Message): Promise<void> {
    const generation = this.generation;
    const typeUrl = String(msg.type_url ?? '');
    const kind = kindOfTypeUrl(typeUrl);
    if (kind === null || !this.o.state.enabled(kind)) {
      this.o.logger.warn({ typeUrl }, 'xDS: ignoring a response of a type not subscribed to');
      return;
    }
    const nonce = String(msg.nonce ?? '');
    const versionInfo = String(msg.version_info ?? '');
    this.#type(kind).nonce = nonce;
    const items = ((msg.resources as Message[] | undefined) ?? []).map((any) => ({ any, version: versionInfo }));
    const decoded = this.decode(kind, typeUrl, items);
    const outcome = decoded.ok
      ? await this.o.state.handle({
        kind,
        resources: decoded.resources,
        removed: [],
        complete: isWildcardKind(kind),
        versionInfo,
        nonce,
        perResourceVersions: false,
      })
      : this.o.state.reject(kind, versionInfo, nonce, decoded.errors.join('\n'), decoded.failed);
    // ACK carries the new version; NACK the previous one plus error_detail. Both echo the response's nonce.
    const t = this.#type(kind);
    const names = t.sent ?? this.#names(kind);
    if (outcome.ok) {
      this.#request(kind, names, {}, generation);
    } else {
      this.#request(kind, names, { error_detail: { code: INVALID_ARGUMENT, message: outcome.message, details: [] } }, generation);
      this.o.logger.warn({ type: KIND_SERVICE[kind], version: versionInfo, nonce }, 'xDS: NACK sent');
    }
    if (generation === this.generation) this.syncSubscriptions();
  }

  protected syncSubscriptions(): void {
    for (const kind of KINDS) {
      if (isWildcardKind(kind) || !this.o.state.enabled(kind)) continue;
      const names = this.#names(kind);
      const t = this.#type(kind);
      if (sameNames(t.sent, names) || (t.sent === null && names.length === 0)) continue;
      this.#request(kind, names);
    }
  }
}
