// The ADS stream lifecycle shared by SotW and delta: connect, process responses one at a time, reconnect with backoff.
import type { Logger } from 'pino';
import type protobuf from 'protobufjs';
import type { UpstreamTlsConfig } from '../model/types.ts';
import { Backoff, explainTlsFailure, nodeMessage, openAdsChannel, type AdsCall, type AdsChannel, type BackoffOptions } from './ads-transport.ts';
import type { XdsBootstrap } from './bootstrap-dynamic.ts';
import { decodeAny } from './protos.ts';
import type { FailedResource, IncomingResource } from './resource-store.ts';
import { label, resourceName, type XdsKind } from './resource-types.ts';
import type { XdsState } from './xds-state.ts';

export interface AdsStreamOptions {
  readonly xds: XdsBootstrap;
  readonly state: XdsState;
  readonly root: protobuf.Root;
  readonly logger: Logger;
  readonly backoff: BackoffOptions;
  /** Upstream TLS of the static xDS cluster, if it has any. */
  readonly tls: UpstreamTlsConfig | null;
}

export type Message = Record<string, unknown>;

/** google.rpc.Code INVALID_ARGUMENT, the code Envoy NACKs with. */
export const INVALID_ARGUMENT = 3;

export abstract class AdsStream {
  protected readonly o: AdsStreamOptions;
  readonly #backoff: Backoff;
  readonly #node: Message;
  #channel: AdsChannel | null = null;
  #call: AdsCall | null = null;
  #generation = 0;
  #nodeSent = false;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #processing: Promise<void> = Promise.resolve();
  #closed = false;
  #responded = false;
  /** Streams opened so far (1 after the first connect). */
  attempts = 0;

  constructor(opts: AdsStreamOptions) {
    this.o = opts;
    this.#backoff = new Backoff(opts.backoff);
    this.#node = nodeMessage(opts.root, opts.xds.node, (m) => opts.logger.warn(m));
    opts.state.onInterestChange = () => this.#serially(() => this.syncSubscriptions());
  }

  protected abstract readonly method: 'StreamAggregatedResources' | 'DeltaAggregatedResources';
  /** A new stream is open: forget per-stream state and send the initial requests (resubscribing). */
  protected abstract onStreamStart(): void;
  protected abstract onResponse(msg: Message): Promise<void>;
  /** Sends requests for RDS/EDS names that changed since the last request of their type. */
  protected abstract syncSubscriptions(): void;

  start(): void {
    this.#connect();
  }

  /** Identifies the current stream; pass it to send() so a reply computed for an old stream is dropped. */
  protected get generation(): number {
    return this.#generation;
  }

  /** True while a stream is open and the control plane has answered on it. */
  connected(): boolean {
    return this.#call !== null && this.#responded;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#teardown();
    await this.#processing;
  }

  /** Writes a request on the current stream; the node goes on the first one (or on all, unless set_node_on_first_message_only). */
  protected send(req: Message, generation = this.#generation): void {
    if (!this.#call || generation !== this.#generation) return;
    if (!this.#nodeSent || !this.o.xds.nodeOnFirstMessageOnly) req = { ...req, node: this.#node };
    this.#nodeSent = true;
    this.#call.write(req);
  }

  /** Decodes the Any resources of a response; errors name the resource (or its index). */
  protected decode(kind: XdsKind, typeUrl: string, items: readonly { any: Message; name?: string; version: string }[]):
    { ok: true; resources: IncomingResource[] } | { ok: false; errors: string[]; failed: FailedResource[] } {
    const resources: IncomingResource[] = [];
    const errors: string[] = [];
    const failed: FailedResource[] = [];
    items.forEach((it, i) => {
      const url = String(it.any.type_url ?? '');
      const where = it.name ? label(kind, it.name) : `${kind} [${i}]`;
      if (url !== typeUrl) {
        errors.push(`${where}: @type: resource type ${JSON.stringify(url)} in a ${typeUrl} response`);
        failed.push({ name: it.name ?? '', json: null, details: errors[errors.length - 1] });
        return;
      }
      try {
        const json = decodeAny(this.o.root, url, it.any.value as Uint8Array);
        const name = resourceName(kind, json);
        if (it.name !== undefined && it.name !== name) {
          errors.push(`${label(kind, it.name)}: name: the resource is named ${JSON.stringify(name)}`);
          failed.push({ name: it.name, json, details: errors[errors.length - 1] });
          return;
        }
        resources.push({ name, version: it.version, json });
      } catch (err) {
        errors.push(`${where}: cannot decode: ${(err as Error).message}`);
        failed.push({ name: it.name ?? '', json: null, details: errors[errors.length - 1] });
      }
    });
    return errors.length > 0 ? { ok: false, errors, failed } : { ok: true, resources };
  }

  #serially(fn: () => void | Promise<void>): void {
    this.#processing = this.#processing.then(fn).catch((err: unknown) => this.o.logger.error({ err }, 'xDS: processing failed'));
  }

  #connect(): void {
    if (this.#closed) return;
    this.#reconnectTimer = null;
    this.attempts++;
    const generation = ++this.#generation;
    try {
      this.#channel = openAdsChannel(this.o.xds, this.o.tls);
    } catch (err) {
      // A credentials file that cannot be read now (e.g. a root ConfigMap being updated): retry with backoff.
      const delay = this.#backoff.next();
      this.o.logger.warn({ target: this.o.xds.target, reason: (err as Error).message, retryInMs: Math.round(delay) }, 'xDS stream cannot open; keeping the last good config');
      this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
      this.#reconnectTimer.unref();
      return;
    }
    const call = this.#channel.open(this.method);
    this.#call = call;
    this.#nodeSent = false;
    this.#responded = false;
    let ended = false;
    const onEnd = (why: string): void => {
      if (ended) return;
      ended = true;
      if (generation !== this.#generation || this.#closed) return;
      this.#teardown();
      const delay = this.#backoff.next();
      this.o.logger.warn({ target: this.o.xds.target, reason: why, retryInMs: Math.round(delay) }, 'xDS stream lost; keeping the last good config');
      this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
      this.#reconnectTimer.unref();
    };
    call.on('data', (msg: Message) => {
      if (generation !== this.#generation) return;
      this.#backoff.reset();
      this.#responded = true;
      this.#serially(async () => {
        if (generation === this.#generation) await this.onResponse(msg);
      });
    });
    call.on('error', (err: Error) => {
      const roots = this.o.xds.sslCredentials?.rootCerts;
      const hint = roots ? explainTlsFailure(err.message, 'filename' in roots ? roots.filename : 'the inline root_certs') : null;
      onEnd(hint ?? err.message);
    });
    call.on('status', (s: { code: number; details: string }) => onEnd(`status ${s.code}${s.details ? `: ${s.details}` : ''}`));
    call.on('end', () => onEnd('stream ended'));
    this.o.logger.info({ target: this.o.xds.target, method: this.method, attempt: this.attempts }, 'xDS stream opening');
    this.#serially(() => {
      if (generation === this.#generation) this.onStreamStart();
    });
  }

  #teardown(): void {
    this.#generation++;
    const call = this.#call;
    const channel = this.#channel;
    this.#call = null;
    this.#channel = null;
    if (call) { call.removeAllListeners('data'); call.on('error', () => {}); call.cancel(); }
    channel?.client.close();
  }
}
