// The process's secrets by name (workload certificate, trust bundle, static and SDS secrets), versioned, read at handshake time.
import type { SecretValidationContext, SnapshotSecret, TlsCertificate } from '../model/types.ts';

/** Who put a secret in the store: the identity agent, static_resources.secrets, or SDS over ADS. */
export type SecretSource = 'identity' | 'static' | 'sds';

export interface SecretValue {
  readonly tlsCertificate: TlsCertificate | null;
  readonly validationContext: SecretValidationContext | null;
  /** A generic_secret's value (OAuth2 token_secret / hmac_secret); absent or null for TLS secrets. */
  readonly genericSecret?: string | null;
}

export interface SecretEntry extends SecretValue {
  readonly name: string;
  readonly source: SecretSource;
  /** Version as its source names it (SDS version_info, the identity agent's issue counter, "" for static). */
  readonly versionInfo: string;
  /** Epoch ms of the last change. */
  readonly lastUpdated: number;
  /** Process-unique number that changes with every change of this secret (caches key on it). */
  readonly generation: number;
}

/** Envoy's / Istio's names for the workload certificate and the trust bundle served by the identity agent. */
export const WORKLOAD_SECRET = 'default';
export const ROOT_SECRET = 'ROOTCA';

let nextGeneration = 1;

function sameValue(a: SecretValue, b: SecretValue): boolean {
  const c1 = a.tlsCertificate;
  const c2 = b.tlsCertificate;
  const v1 = a.validationContext;
  const v2 = b.validationContext;
  const certsEqual = c1 === c2 || (c1 !== null && c2 !== null && c1.certificateChain === c2.certificateChain && c1.privateKey === c2.privateKey);
  const vcEqual = v1 === v2 || (v1 !== null && v2 !== null && v1.trustedCa === v2.trustedCa &&
    JSON.stringify(v1.subjectAltNameMatchers) === JSON.stringify(v2.subjectAltNameMatchers));
  return certsEqual && vcEqual && (a.genericSecret ?? null) === (b.genericSecret ?? null);
}

export class SecretStore {
  readonly #entries = new Map<string, SecretEntry>();
  readonly #listeners = new Set<(name: string, entry: SecretEntry | undefined) => void>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  get(name: string): SecretEntry | undefined {
    return this.#entries.get(name);
  }

  entries(): SecretEntry[] {
    return [...this.#entries.values()];
  }

  /** Sets a secret; returns false (and notifies nobody) when the content and source are unchanged. */
  set(name: string, value: SecretValue, source: SecretSource, versionInfo = ''): boolean {
    const old = this.#entries.get(name);
    if (old && old.source === source && sameValue(old, value)) {
      if (old.versionInfo !== versionInfo) this.#entries.set(name, Object.freeze({ ...old, versionInfo }));
      return false;
    }
    const entry: SecretEntry = Object.freeze({
      name,
      tlsCertificate: value.tlsCertificate,
      validationContext: value.validationContext,
      genericSecret: value.genericSecret ?? null,
      source,
      versionInfo,
      lastUpdated: this.#now(),
      generation: nextGeneration++,
    });
    this.#entries.set(name, entry);
    this.#notify(name, entry);
    return true;
  }

  delete(name: string): void {
    if (!this.#entries.delete(name)) return;
    this.#notify(name, undefined);
  }

  /**
   * Makes the snapshot's secrets of `source` ("static" or "sds") the ones in the store: changed ones are replaced, ones
   * no longer there are removed. Secrets of other sources (the identity agent's) are left alone.
   */
  sync(secrets: ReadonlyMap<string, SnapshotSecret> | undefined): void {
    const wanted = secrets ?? new Map<string, SnapshotSecret>();
    for (const [name, s] of wanted) {
      const old = this.#entries.get(name);
      if (old?.source === 'identity') continue; // the identity agent's own secrets win over config
      this.set(name, s.config, s.source, s.version);
    }
    for (const e of [...this.#entries.values()]) {
      if ((e.source === 'static' || e.source === 'sds') && !wanted.has(e.name)) this.delete(e.name);
    }
  }

  /** Calls `fn` after every change (set with new content, delete); returns the unsubscribe function. */
  subscribe(fn: (name: string, entry: SecretEntry | undefined) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #notify(name: string, entry: SecretEntry | undefined): void {
    for (const fn of this.#listeners) fn(name, entry);
  }
}
