// Per-type store of accepted xDS resources (name → json, version, last update, compiled value) and their validation.
import { deepFreeze } from '../model/deep-freeze.ts';
import { stableKey } from '../server/stable-key.ts';
import { compileResource, label, type CompiledByKind, type XdsKind, type XdsModelApi } from './resource-types.ts';

export type Json = Readonly<Record<string, unknown>>;

export interface StoredResource<T> {
  readonly name: string;
  /** The resource as delivered, proto3 JSON. */
  readonly json: Json;
  /** Version it was last changed at (SotW: the response's version_info; delta: Resource.version). */
  readonly version: string;
  /** Epoch ms of that change. */
  readonly lastUpdated: number;
  readonly compiled: T;
}

/** A decoded resource of a response, before validation. */
export interface IncomingResource {
  readonly name: string;
  readonly version: string;
  readonly json: Json;
}

/** A resource the last rejected response carried, with why it was rejected. */
export interface FailedResource {
  readonly name: string;
  readonly json: Json | null;
  readonly details: string;
}

export type ValidateResult<T> =
  | { readonly ok: true; readonly accepted: readonly StoredResource<T>[]; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[]; readonly failed: readonly FailedResource[]; readonly warnings: readonly string[] };

export interface ValidateOptions {
  readonly model: XdsModelApi;
  readonly io: { readFile(path: string): string };
  readonly now: number;
  /** Names no dynamic resource may take (listeners declared in static_resources). */
  readonly reserved?: ReadonlySet<string>;
  /** Delta: each resource carries its own version, kept even when the content did not change. */
  readonly perResourceVersions?: boolean;
}

/** stableKey of each stored resource's JSON, so an unchanged resource is neither recompiled nor re-versioned. */
const jsonKeys = new WeakMap<object, string>();

export class ResourceStore<K extends XdsKind> {
  readonly kind: K;
  #entries: ReadonlyMap<string, StoredResource<CompiledByKind[K]>> = new Map();
  /** Last accepted type-level version (SotW version_info; delta system_version_info). */
  version = '';
  /** True once a response of this type was accepted. */
  received = false;

  constructor(kind: K) {
    this.kind = kind;
  }

  entries(): ReadonlyMap<string, StoredResource<CompiledByKind[K]>> {
    return this.#entries;
  }

  /** Replaces the whole content (commit, or rollback to a map returned by entries()). */
  replace(entries: ReadonlyMap<string, StoredResource<CompiledByKind[K]>>): void {
    this.#entries = entries;
  }

  /** name → version of every resource held (delta initial_resource_versions). */
  versions(): Record<string, string> {
    return Object.fromEntries([...this.#entries].map(([n, r]) => [n, r.version]));
  }

  /**
   * Compiles the resources of one response. Unchanged ones (same JSON as stored) keep their entry, version and time.
   * Any error — a compile error, a duplicate or empty name, a reserved name — rejects the whole response.
   */
  validate(incoming: readonly IncomingResource[], opts: ValidateOptions): ValidateResult<CompiledByKind[K]> {
    const errors: string[] = [];
    const failed: FailedResource[] = [];
    const warnings: string[] = [];
    const accepted: StoredResource<CompiledByKind[K]>[] = [];
    const seen = new Set<string>();
    const fail = (r: IncomingResource, details: string[]): void => {
      errors.push(...details);
      failed.push({ name: r.name, json: r.json, details: details.join('\n') });
    };
    for (const r of incoming) {
      if (r.name === '') { fail(r, [`${label(this.kind, '')}: name: a resource must have a name`]); continue; }
      if (seen.has(r.name)) { fail(r, [`${label(this.kind, r.name)}: name: duplicate resource name in one response`]); continue; }
      seen.add(r.name);
      if (opts.reserved?.has(r.name)) { fail(r, [`${label(this.kind, r.name)}: name: a static ${this.kind} has this name and cannot be updated`]); continue; }
      const key = stableKey(r.json);
      const old = this.#entries.get(r.name);
      if (old && jsonKeys.get(old) === key) {
        // Unchanged: SotW keeps the version it changed at; delta tracks the server's per-resource version.
        const same = !opts.perResourceVersions || old.version === r.version ? old : Object.freeze({ ...old, version: r.version });
        jsonKeys.set(same, key);
        accepted.push(same);
        continue;
      }
      const c = compileResource(opts.model, opts.io, this.kind, r.json);
      warnings.push(...c.warnings.map((w) => opts.model.formatConfigError(w)));
      if (!c.ok) { fail(r, c.errors.map((e) => opts.model.formatConfigError(e))); continue; }
      const stored = deepFreeze({ name: r.name, json: r.json, version: r.version, lastUpdated: opts.now, compiled: c.value });
      jsonKeys.set(stored, key);
      accepted.push(stored);
    }
    return errors.length > 0 ? { ok: false, errors, failed, warnings } : { ok: true, accepted, warnings };
  }

  /**
   * The entries after a response: `complete` (SotW LDS/CDS) replaces everything, otherwise accepted resources are
   * upserted and `removed` ones dropped. Not committed: pass the result to replace().
   */
  next(accepted: readonly StoredResource<CompiledByKind[K]>[], removed: readonly string[], complete: boolean): Map<string, StoredResource<CompiledByKind[K]>> {
    const out = complete ? new Map<string, StoredResource<CompiledByKind[K]>>() : new Map(this.#entries);
    for (const name of removed) out.delete(name);
    for (const r of accepted) out.set(r.name, r);
    return out;
  }
}
