// The control plane's input from a cluster (--kubernetes): reflectors per kind, compiled by the file path's compiler, invalid objects skipped.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { InputResult } from '../input/compile-inputs.ts';
import type { RawDoc } from '../input/load-files.ts';
import { writeAuthnSecrets } from '../input/authn-secrets.ts';
import { compileMesh, formatInputError } from '../input/mesh.ts';
import type { InputError, MeshModel } from '../input/types.ts';
import { contentHash } from '../translate/resource.ts';
import type { KubeApi } from './api-client.ts';
import { sliceService, toDocument } from './documents.ts';
import { WATCHED_KINDS, kindLabel, type WatchedKind } from './kinds.ts';
import { PodIndex, type PodReport } from './pods.ts';
import { Reflector, type ReflectorOptions } from './reflector.ts';

export interface KubeSourceOptions extends ReflectorOptions {
  readonly api: KubeApi;
  readonly logger: Logger;
  readonly kinds?: readonly WatchedKind[];
  /** Changes within this window are compiled and pushed once (file mode uses the same 100 ms). */
  readonly debounceMs?: number;
}

/** One object left out of the mesh, with every error the compiler reported for it. */
export interface RejectedObject {
  readonly kind: string;
  readonly name: string;
  readonly path: string;
  readonly errors: readonly { readonly field: string; readonly message: string; readonly text: string }[];
}

/** Emitted as 'snapshot' after every compile: what the control plane was handed. */
export interface KubeSnapshot {
  readonly version: string;
  readonly model: MeshModel;
  readonly rejected: readonly RejectedObject[];
}

const MAX_ROUNDS = 32;

export class KubeSource {
  /** 'snapshot' (KubeSnapshot) after each compile; 'bookmark' ({kind, resourceVersion}); 'held' (kinds still listing) when a change waits for a re-list. */
  readonly events = new EventEmitter();
  readonly reflectors: Reflector[];
  private readonly opts: KubeSourceOptions;
  private readonly logger: Logger;
  private listener: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly firstSync: Promise<void>;
  private resolveFirstSync!: () => void;
  private started = false;
  private rejected: RejectedObject[] = [];
  private skipped: string[] = [];
  /** The pod report for /debug/config, built on demand: null after the Pods or the model changed. */
  private pods: PodReport | null = null;
  private model: MeshModel | null = null;
  /** A compile was held because some kind was (re)listing; the end of that list releases it. */
  private held = false;
  private compiledAt = '';
  private secretProblems = new Set<string>();

  constructor(opts: KubeSourceOptions) {
    this.opts = opts;
    this.logger = opts.logger;
    this.firstSync = new Promise((resolve) => { this.resolveFirstSync = resolve; });
    const onBookmark = (kind: string, resourceVersion: string) => this.events.emit('bookmark', { kind, resourceVersion });
    // Kinds that are not compiled (Pods) only feed the status report: their changes do not recompile the mesh.
    const onChange = (k: WatchedKind) => (k.compiled ? () => this.changed() : () => this.indexChanged());
    this.reflectors = (opts.kinds ?? WATCHED_KINDS).map((k) => new Reflector(k, opts.api, opts.logger, onChange(k), { ...opts, onBookmark }));
  }

  /** True when every kind has completed its (re)list: only then is a change handed on. */
  allSynced(): boolean {
    return this.reflectors.every((r) => r.synced);
  }

  /** Starts every reflector and resolves once each kind has been listed (a missing CRD counts as listed, empty). */
  start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.logger.info({ server: this.opts.api.server, kinds: this.reflectors.map((r) => kindLabel(r.kind)) }, 'watching the Kubernetes API');
      for (const r of this.reflectors) r.start();
    }
    return this.firstSync;
  }

  private changed(): void {
    if (this.allSynced()) this.resolveFirstSync();
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      // While a kind re-lists, its store still holds its last full list; nothing is pushed until the list completes
      // (which calls changed() again).
      if (this.allSynced()) {
        this.held = false;
        this.listener?.();
      } else {
        this.held = true;
        this.events.emit('held', this.reflectors.filter((r) => !r.synced).map((r) => kindLabel(r.kind)));
      }
    }, this.opts.debounceMs ?? 100);
  }

  /** A change of an indexed-only kind (Pods): the report is rebuilt when asked for; a compile held for its list goes now. */
  private indexChanged(): void {
    this.pods = null;
    if (this.held && this.allSynced()) this.changed();
    else if (this.allSynced()) this.resolveFirstSync();
  }

  /** The control plane's change hook (InputSource.watch). */
  watch(onChange: () => void): { close(): void } {
    this.listener = onChange;
    return { close: () => { this.listener = null; } };
  }

  /** Compiles the current stores; objects the compiler rejects are left out (with everything that depends on them). */
  async compile(): Promise<InputResult> {
    await this.start();
    // This compile reads every change made so far: a pending notification would only recompile the same stores.
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    let docs: RawDoc[] = [];
    const skipped: string[] = [];
    const services = new Set<string>();
    // Services first: an EndpointSlice whose Service is absent or left out is skipped, not an error (the endpoint
    // controller creates slices after their Service and deletes them after it).
    const order = [...this.reflectors].sort((a, b) => Number(b.kind.kind === 'Service') - Number(a.kind.kind === 'Service'));
    for (const r of order) {
      if (!r.kind.compiled) continue;
      const keys = [...r.objects.keys()].sort();
      for (const k of keys) {
        const obj = r.objects.get(k)!;
        if (r.kind.kind === 'EndpointSlice') {
          const svc = sliceService(obj);
          if (svc !== null && !services.has(svc)) {
            skipped.push(`EndpointSlice ${k}: no Service ${svc} in the mesh`);
            continue;
          }
        }
        const c = toDocument(r.kind, obj);
        if ('skip' in c) {
          skipped.push(`${r.kind.kind} ${k}: ${c.skip}`);
          continue;
        }
        docs.push(c.doc);
        if (r.kind.kind === 'Service') services.add(k);
      }
    }
    const rejected = new Map<string, RejectedObject>();
    for (let round = 0; ; round++) {
      const result = compileMesh(docs);
      if (result.ok) {
        const version = contentHash(JSON.stringify(docs.map((d) => d.value)));
        const before = new Set(this.rejected.flatMap((r) => r.errors.map((e) => e.text)));
        this.rejected = [...rejected.values()];
        this.skipped = skipped;
        this.model = result.model;
        this.pods = null;
        this.compiledAt = new Date().toISOString();
        // Each problem is logged once, when it appears (a bad object would otherwise repeat on every change).
        const now = new Set<string>();
        for (const r of this.rejected) {
          for (const e of r.errors) {
            now.add(e.text);
            if (!before.has(e.text)) this.logger.error({ kind: r.kind, name: r.name, field: e.field }, `object skipped: ${e.text}`);
          }
        }
        for (const t of before) if (!now.has(t)) this.logger.info(`resolved: ${t}`);
        // As in file mode (compileInputs): the oauth2 filters read the OIDC client secrets (from Secrets) and HMAC keys
        // from SDS files, written before the config that names them is served.
        const secretProblems = writeAuthnSecrets(result.model);
        for (const p of secretProblems) if (!this.secretProblems.has(p)) this.logger.warn(p);
        this.secretProblems = new Set(secretProblems);
        this.events.emit('snapshot', { version, model: result.model, rejected: this.rejected } satisfies KubeSnapshot);
        return { ok: true, model: result.model, version, files: [], ignored: [...result.ignored, ...skipped, ...secretProblems] };
      }
      const bad = new Set<string>();
      for (const e of result.errors) this.reject(rejected, e, bad);
      const next = docs.filter((d) => !bad.has(d.src.file));
      if (next.length === docs.length || round >= MAX_ROUNDS) return { ok: false, errors: result.errors, files: [] };
      docs = next;
    }
  }

  private reject(into: Map<string, RejectedObject>, e: InputError, bad: Set<string>): void {
    bad.add(e.file);
    const prev = into.get(e.file);
    const entry = { field: e.field, message: e.message, text: formatInputError(e) };
    into.set(e.file, { kind: e.kind, name: e.name, path: e.file, errors: [...(prev?.errors ?? []), entry] });
  }

  /** For /debug/config: per kind its state and resourceVersion, the objects left out and why, and the pods behind each Service. */
  status(): Record<string, unknown> {
    return {
      server: this.opts.api.server,
      synced: this.allSynced(),
      compiledAt: this.compiledAt,
      kinds: Object.fromEntries(this.reflectors.map((r) => [kindLabel(r.kind), {
        state: r.absent ? 'NOT_INSTALLED' : r.stale ? 'STALE' : r.synced ? 'SYNCED' : 'LISTING',
        objects: r.objects.size,
        resourceVersion: r.resourceVersion,
        ...r.stats,
        ...(r.lastError ? { lastError: r.lastError } : {}),
      }])),
      rejected: this.rejected,
      skipped: this.skipped,
      pods: this.podReport(),
    };
  }

  /** Which pods (and identities) back each Service of the last compiled model; null before the first compile. */
  private podReport(): PodReport | null {
    if (this.pods === null && this.model !== null) {
      const pods = this.reflectors.filter((r) => r.kind.kind === 'Pod').flatMap((r) => [...r.objects.values()]);
      this.pods = new PodIndex(pods).report(this.model);
    }
    return this.pods;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.listener = null;
    for (const r of this.reflectors) r.stop();
  }
}
