// The registry of certificates the CA has issued (serial, identity, validity, signing root, caller), pruned as they expire, for /debug/certs.

export interface IssuedRecord {
  /** Upper-case hex, as node:crypto's X509Certificate.serialNumber prints it. */
  readonly serial: string;
  /** The SPIFFE ID in the URI SAN. */
  readonly identity: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly issuedAt: string;
  /** SHA-256 fingerprint of the root that signed it. */
  readonly root: string;
  /** The gRPC peer that asked for it, when known. */
  readonly peer: string | null;
}

export const MAX_RECORDS = 10_000;

export class IssuedRegistry {
  private readonly records = new Map<string, IssuedRecord>();
  private readonly max: number;

  constructor(max = MAX_RECORDS) {
    this.max = max;
  }

  add(r: IssuedRecord): void {
    this.records.set(r.serial, r);
    while (this.records.size > this.max) this.records.delete(this.records.keys().next().value as string);
  }

  /** Unexpired certificates, by identity, newest first within one identity. */
  list(now = Date.now()): IssuedRecord[] {
    for (const [serial, r] of this.records) if (Date.parse(r.notAfter) <= now) this.records.delete(serial);
    return [...this.records.values()].sort((a, b) => a.identity.localeCompare(b.identity) || b.issuedAt.localeCompare(a.issuedAt));
  }

  /** The newest unexpired certificate of each identity: what each workload is presenting now. */
  latest(now = Date.now()): IssuedRecord[] {
    const seen = new Set<string>();
    return this.list(now).filter((r) => {
      if (seen.has(r.identity)) return false;
      seen.add(r.identity);
      return true;
    });
  }
}
