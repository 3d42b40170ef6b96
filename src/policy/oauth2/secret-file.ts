// Generic secrets (token_secret, hmac_secret) from Envoy's file-based SDS: a Secret resource file named by sds_config.path_config_source.
import fs from 'node:fs';
import { parseConfigText } from '../../model/parse-config-text.ts';
import type { SecretStore } from '../../secrets/secret-store.ts';

/**
 * A compiled SdsSecretConfig: the secret's name and the SDS file that holds it, or `path: null` for a static secret
 * (no sds_config: a generic_secret in static_resources.secrets, read from the process's SecretStore).
 */
export interface SecretRef {
  readonly name: string;
  readonly path: string | null;
}

/** Where the OAuth2 filter reads one of its secrets: `value()` is null while unavailable, `error` says why. */
export interface GenericSecretSource {
  readonly ref: SecretRef;
  readonly error: string | null;
  value(): string | null;
}

/** A generic secret from static_resources.secrets (the store is filled from the bootstrap on every apply). */
class StoreSecret implements GenericSecretSource {
  readonly ref: SecretRef;
  readonly #store: SecretStore;
  #error: string | null = null;
  readonly #onError: (message: string) => void;

  constructor(ref: SecretRef, store: SecretStore, onError: (message: string) => void) {
    this.ref = ref;
    this.#store = store;
    this.#onError = onError;
  }

  get error(): string | null { return this.#error; }

  value(): string | null {
    const v = this.#store.get(this.ref.name)?.genericSecret ?? null;
    const error = v === null || v === '' ? `static secret "${this.ref.name}": static_resources.secrets has no generic_secret of that name` : null;
    if (error !== null && error !== this.#error) this.#onError(error);
    this.#error = error;
    return error === null ? v : null;
  }
}

/** The source for a compiled SecretRef: its SDS file, or the process's SecretStore for a static secret. */
export function genericSecretSource(ref: SecretRef, store: SecretStore, onError: (message: string) => void): GenericSecretSource {
  return ref.path === null ? new StoreSecret(ref, store, onError) : new FileSecret({ name: ref.name, path: ref.path }, onError);
}

const SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Reads an Envoy DataSource of a generic secret (inline_string, inline_bytes, filename, environment_variable). */
function dataSourceValue(ds: unknown, where: string): string {
  if (!isObject(ds)) throw new Error(`${where}: expected a DataSource object`);
  if (typeof ds.inline_string === 'string') return ds.inline_string;
  if (typeof ds.inline_bytes === 'string') return Buffer.from(ds.inline_bytes, 'base64').toString('utf8');
  if (typeof ds.filename === 'string') return fs.readFileSync(ds.filename, 'utf8').replace(/\r?\n$/, '');
  if (typeof ds.environment_variable === 'string') {
    const v = process.env[ds.environment_variable];
    if (v === undefined) throw new Error(`${where}.environment_variable: ${ds.environment_variable} is not set`);
    return v;
  }
  throw new Error(`${where}: one of inline_string, inline_bytes, filename, environment_variable is required`);
}

/**
 * The secret `name` from an SDS file's text: a DiscoveryResponse-like `{resources: [Secret...]}` (YAML or JSON), each
 * Secret with `name` and `generic_secret.secret`. Throws an Error naming the file, the field and the problem.
 */
export function secretFromText(text: string, file: string, name: string): string {
  const parsed = parseConfigText(text, file);
  if (!parsed.ok) throw new Error(parsed.error);
  const doc = parsed.value;
  const resources = isObject(doc) ? doc.resources : undefined;
  if (!Array.isArray(resources)) throw new Error(`${file}: expected {resources: [...]} with Secret resources`);
  for (const [i, r] of resources.entries()) {
    if (!isObject(r) || r.name !== name) continue;
    const where = `${file}: resources[${i}]`;
    if (r['@type'] !== undefined && r['@type'] !== SECRET_TYPE) throw new Error(`${where}.@type: expected ${SECRET_TYPE}`);
    const generic = r.generic_secret ?? r.genericSecret;
    if (!isObject(generic)) throw new Error(`${where}: secret "${name}" has no generic_secret`);
    const value = dataSourceValue(generic.secret, `${where}.generic_secret.secret`);
    if (value === '') throw new Error(`${where}.generic_secret.secret: secret "${name}" is empty`);
    return value;
  }
  throw new Error(`${file}: no Secret named "${name}"`);
}

/** How often the file is looked at again for a rotated secret (Envoy watches it; here the first use after this re-reads it). */
const RECHECK_MS = 2000;

/**
 * One secret read from its SDS file: loaded at creation, re-read (asynchronously, off the request path) when the file
 * changed. `value()` is null while the secret is unavailable; `error` says why.
 */
class FileSecret implements GenericSecretSource {
  readonly ref: SecretRef & { readonly path: string };
  #value: string | null = null;
  #error: string | null = null;
  #mtimeMs = -1;
  #checkedAt = 0;
  #checking = false;
  readonly #onError: (message: string) => void;

  constructor(ref: SecretRef & { readonly path: string }, onError: (message: string) => void) {
    this.ref = ref;
    this.#onError = onError;
    this.#loadSync();
  }

  get error(): string | null { return this.#error; }

  value(): string | null {
    if (Date.now() - this.#checkedAt >= RECHECK_MS) void this.#recheck();
    return this.#value;
  }

  #set(text: string, mtimeMs: number): void {
    try {
      this.#value = secretFromText(text, this.ref.path, this.ref.name);
      this.#error = null;
      this.#mtimeMs = mtimeMs;
    } catch (err) {
      this.#fail(err);
    }
  }

  #fail(err: unknown): void {
    const message = `secret "${this.ref.name}" from ${this.ref.path}: ${err instanceof Error ? err.message : String(err)}`;
    if (message !== this.#error) this.#onError(message);
    this.#error = message;
  }

  #loadSync(): void {
    this.#checkedAt = Date.now();
    try {
      const st = fs.statSync(this.ref.path);
      this.#set(fs.readFileSync(this.ref.path, 'utf8'), st.mtimeMs);
    } catch (err) {
      this.#fail(err);
    }
  }

  async #recheck(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    this.#checkedAt = Date.now();
    try {
      const st = await fs.promises.stat(this.ref.path);
      if (st.mtimeMs !== this.#mtimeMs || this.#value === null) this.#set(await fs.promises.readFile(this.ref.path, 'utf8'), st.mtimeMs);
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#checking = false;
    }
  }
}
