// The control plane's certificate authority: loads or creates its root (or uses the operator's CA), signs workload CSRs, and rotates roots.
import { X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { CaError } from './ca-error.ts';
import { parseCsr } from './csr.ts';
import { IssuedRegistry, type IssuedRecord } from './issued.ts';
import { generateRoot, loadCaKeyPair, ROOT_KEY_BITS, type CaKeyPair } from './keypair.ts';
import { issueLeaf } from './leaf.ts';
import { loadExtraRoots, loadOperatorCa } from './operator-ca.ts';
import { RootStore } from './root-store.ts';
import { DEFAULT_TRUST_DOMAIN, formatSpiffeId, trustDomainError, type WorkloadIdentity } from './spiffe.ts';

export const DEFAULT_CA_DIR = path.join(os.homedir(), '.pilotfish', 'ca');
export const DEFAULT_MAX_TTL_SECONDS = 24 * 3600;

export interface AuthorityOptions {
  readonly trustDomain?: string;
  /** State directory of the self-generated root (default ~/.pilotfish/ca); unused with caCertFile. */
  readonly dir?: string;
  /** Operator-supplied CA: certificate (optionally followed by its chain) and RSA key, PEM files. */
  readonly caCertFile?: string;
  readonly caKeyFile?: string;
  /** More roots to trust, e.g. the previous root while an operator-supplied CA is being replaced. */
  readonly extraRootFiles?: readonly string[];
  /** The longest leaf lifetime, in seconds (default 24 h). */
  readonly maxTtlSeconds?: number;
  /** RSA size of a generated root: 2048 (default) or 3072. */
  readonly rootKeyBits?: number;
  readonly logger?: Logger;
}

export interface SignRequest {
  readonly csr: unknown;
  /** Requested lifetime in seconds; 0 or absent means the maximum. */
  readonly validitySeconds?: number;
  /** The identity the caller's credential grants; the CSR must ask for exactly it. */
  readonly expect?: WorkloadIdentity;
  readonly peer?: string;
}

export interface SignedCertificate {
  readonly record: IssuedRecord;
  /** Leaf first, then intermediates, then the root. */
  readonly chain: string[];
  readonly trustBundle: string[];
}

/** active: signs now; staged: trusted, signs after activation; previous: an earlier root kept trusted; chain/extra: operator-supplied. */
export type RootState = 'active' | 'staged' | 'previous' | 'chain' | 'extra';

export interface RootInfo {
  readonly fingerprint: string;
  readonly subject: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly state: RootState;
}

function rootInfo(x: X509Certificate, state: RootState): RootInfo {
  return { fingerprint: x.fingerprint256, subject: x.subject.replace(/\n/g, ', '), notBefore: x.validFromDate.toISOString(), notAfter: x.validToDate.toISOString(), state };
}

/** When the first certificate of a chain expires (ms since the epoch). */
function chainNotAfter(chain: readonly string[]): number {
  return Math.min(...chain.map((p) => new X509Certificate(p).validToDate.getTime()));
}

function sameFingerprint(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/:/g, '').toUpperCase();
  return norm(a) === norm(b);
}

export class CertificateAuthority {
  readonly trustDomain: string;
  readonly mode: 'self-signed' | 'operator';
  readonly maxTtlSeconds: number;
  readonly issued = new IssuedRegistry();
  /** 'roots' after the trust bundle or the signing root changed (rotate, activate, remove): the secure xDS port and the root ConfigMaps follow it. */
  readonly events = new EventEmitter();
  private readonly logger: Logger;
  private readonly store: RootStore | null;
  private readonly rootKeyBits: number;
  private signer: CaKeyPair;
  private signerChain: readonly string[];
  /** When the first certificate of signerChain expires (ms): no leaf outlives it. */
  private signerNotAfter: number;
  private staged: CaKeyPair | null = null;
  private previous: string[] = [];
  private chainRoot: string | null = null;
  private readonly extra: string[];
  private rotating = false;

  private constructor(o: { trustDomain: string; maxTtl: number; bits: number; logger: Logger; store: RootStore | null; signer: CaKeyPair; chain: readonly string[]; extra: string[] }) {
    this.trustDomain = o.trustDomain;
    this.mode = o.store ? 'self-signed' : 'operator';
    this.maxTtlSeconds = o.maxTtl;
    this.rootKeyBits = o.bits;
    this.logger = o.logger;
    this.store = o.store;
    this.signer = o.signer;
    this.signerChain = o.chain;
    this.signerNotAfter = chainNotAfter(o.chain);
    this.extra = o.extra;
  }

  /** Opens the CA: the operator's CA when caCertFile/caKeyFile are given, else the root in `dir` (created on first start). */
  static async open(opts: AuthorityOptions = {}): Promise<CertificateAuthority> {
    const trustDomain = opts.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    const tdErr = trustDomainError(trustDomain);
    if (tdErr) throw new Error(`invalid trust domain: ${tdErr}`);
    const maxTtl = opts.maxTtlSeconds ?? DEFAULT_MAX_TTL_SECONDS;
    if (!(maxTtl > 0)) throw new Error(`the maximum certificate lifetime must be positive, got ${maxTtl}`);
    const bits = opts.rootKeyBits ?? ROOT_KEY_BITS;
    if (bits !== 2048 && bits !== 3072) throw new Error(`root key size must be 2048 or 3072 bits, got ${bits}`);
    const logger = opts.logger ?? pino({ level: 'info' });
    const extra = loadExtraRoots(opts.extraRootFiles ?? []);
    const base = { trustDomain, maxTtl, bits, logger, extra };
    if (opts.caCertFile || opts.caKeyFile) {
      if (!opts.caCertFile || !opts.caKeyFile) throw new Error('an operator-supplied CA needs both --ca-cert and --ca-key');
      const op = loadOperatorCa(opts.caCertFile, opts.caKeyFile);
      if (!op.root && extra.length === 0) throw new Error(`--ca-cert ${opts.caCertFile} does not end with a self-signed root; append the root or pass it with --ca-extra-root`);
      const ca = new CertificateAuthority({ ...base, store: null, signer: op.signer, chain: op.chain });
      ca.chainRoot = op.root;
      logger.info({ fingerprint: op.signer.fingerprint, subject: op.signer.x509.subject.replace(/\n/g, ', '), notAfter: op.signer.x509.validToDate.toISOString() }, 'CA: using the operator-supplied CA');
      return ca;
    }
    const store = RootStore.open(opts.dir ?? DEFAULT_CA_DIR);
    const { pair, created } = await store.loadOrCreateActive(trustDomain, bits);
    const ca = new CertificateAuthority({ ...base, store, signer: pair, chain: [pair.certPem] });
    ca.staged = store.loadStaged();
    ca.previous = store.loadPrevious();
    store.writeBundle(ca.trustBundle());
    logger.info({ dir: store.dir, fingerprint: pair.fingerprint, notAfter: pair.x509.validToDate.toISOString(), roots: ca.trustBundle().length },
      created ? 'CA: generated a new self-signed root' : 'CA: loaded the root');
    return ca;
  }

  /** Every root a workload should trust now (unexpired, each once): signing root first. */
  trustBundle(): string[] {
    return this.rootEntries().map((r) => r.pem);
  }

  roots(): RootInfo[] {
    return this.rootEntries().map(({ x, state }) => rootInfo(x, state));
  }

  private rootEntries(): { pem: string; x: X509Certificate; state: RootState }[] {
    const candidates: [string | null, RootState][] = [
      [this.mode === 'self-signed' ? this.signer.certPem : this.chainRoot, this.mode === 'self-signed' ? 'active' : 'chain'],
      [this.staged?.certPem ?? null, 'staged'],
      ...this.previous.map((p): [string, RootState] => [p, 'previous']),
      ...this.extra.map((p): [string, RootState] => [p, 'extra']),
    ];
    const seen = new Set<string>();
    const out: { pem: string; x: X509Certificate; state: RootState }[] = [];
    const now = Date.now();
    for (const [pem, state] of candidates) {
      if (!pem) continue;
      const x = new X509Certificate(pem);
      if (seen.has(x.fingerprint256) || x.validToDate.getTime() <= now) continue;
      seen.add(x.fingerprint256);
      out.push({ pem: x.toString(), x, state });
    }
    return out;
  }

  /** Checks the CSR (and that it asks for `expect`), then issues a leaf; throws CaError with the reason. */
  sign(req: SignRequest): SignedCertificate {
    const csr = parseCsr(req.csr, this.trustDomain);
    if (req.expect && (csr.id.namespace !== req.expect.namespace || csr.id.serviceAccount !== req.expect.serviceAccount)) {
      throw new CaError('PERMISSION_DENIED', `the CSR asks for ${csr.id.uri} but the credential grants ${formatSpiffeId(this.trustDomain, req.expect)}`);
    }
    const requested = req.validitySeconds ?? 0;
    if (!Number.isFinite(requested) || requested < 0) throw new CaError('INVALID_ARGUMENT', `validity_duration must be 0 (default) or a positive number of seconds, got ${requested}`);
    const now = Date.now();
    const ttl = requested > 0 ? Math.min(requested, this.maxTtlSeconds) : this.maxTtlSeconds;
    const { notBefore, notAfter } = this.leafValidity(ttl, now);
    const pem = issueLeaf(this.signer, { publicKey: csr.publicKey, subject: { spiffeId: csr.id.uri }, notBefore, notAfter });
    const leaf = new X509Certificate(pem);
    const record: IssuedRecord = {
      serial: leaf.serialNumber,
      identity: csr.id.uri,
      notBefore: leaf.validFromDate.toISOString(),
      notAfter: leaf.validToDate.toISOString(),
      issuedAt: new Date(now).toISOString(),
      root: this.signer.fingerprint,
      peer: req.peer ?? null,
    };
    this.issued.add(record);
    return { record, chain: [leaf.toString(), ...this.signerChain], trustBundle: this.trustBundle() };
  }

  /** A leaf's validity for `ttlSeconds` from now: back-dated a minute (clock skew), never past the signing chain's expiry. */
  leafValidity(ttlSeconds: number, now = Date.now()): { notBefore: Date; notAfter: Date } {
    return { notBefore: new Date(now - 60_000), notAfter: new Date(Math.min(now + ttlSeconds * 1000, this.signerNotAfter)) };
  }

  /** The signing CA and its chain (signer first), for certificates that are not workload identities: the injection webhook's serving certificate. */
  signingCa(): { readonly signer: CaKeyPair; readonly chain: readonly string[] } {
    return { signer: this.signer, chain: this.signerChain };
  }

  /**
   * Generates a new root and trusts it alongside the current one. With `activate` (default) new leaves are signed by it at once;
   * without, it is only staged (trusted) until activateRoot(). Earlier roots stay trusted until removeRoot().
   */
  async rotateRoot(opts: { activate?: boolean } = {}): Promise<RootInfo> {
    const store = this.requireStore();
    if (this.staged) throw new CaError('FAILED_PRECONDITION', `root ${this.staged.fingerprint} is already staged; activate or remove it first`);
    if (this.rotating) throw new CaError('FAILED_PRECONDITION', 'a root rotation is already running');
    this.rotating = true;
    try {
      const { certPem, keyPem } = await generateRoot(this.trustDomain, this.rootKeyBits);
      const pair = loadCaKeyPair(certPem, keyPem, 'the new root');
      store.writeStaged(pair.certPem, pair.keyPem);
      this.staged = pair;
      this.logger.info({ fingerprint: pair.fingerprint, notAfter: pair.x509.validToDate.toISOString() }, 'CA: new root staged (trusted, not signing yet)');
      if (opts.activate !== false) return this.activateRoot();
      store.writeBundle(this.trustBundle());
      this.events.emit('roots');
      return this.info(pair.fingerprint);
    } finally {
      this.rotating = false;
    }
  }

  /** Makes the staged root the signing root; the old signing root stays trusted as "previous". */
  activateRoot(fingerprint?: string): RootInfo {
    const store = this.requireStore();
    const staged = this.staged;
    if (!staged) throw new CaError('FAILED_PRECONDITION', 'no root is staged; rotate first');
    if (fingerprint && !sameFingerprint(fingerprint, staged.fingerprint)) throw new CaError('FAILED_PRECONDITION', `the staged root is ${staged.fingerprint}, not ${fingerprint}`);
    const old = this.signer;
    const previous = [old.certPem, ...this.previous];
    store.activateStaged(previous);
    this.previous = previous;
    this.signer = staged;
    this.signerChain = [staged.certPem];
    this.signerNotAfter = chainNotAfter(this.signerChain);
    this.staged = null;
    store.writeBundle(this.trustBundle());
    this.events.emit('roots');
    this.logger.info({ fingerprint: staged.fingerprint, previous: old.fingerprint }, 'CA: new root is signing; the previous root stays trusted until removed');
    return this.info(staged.fingerprint);
  }

  /** Stops trusting a previous (or staged) root. The signing root and operator-supplied roots cannot be removed here. */
  removeRoot(fingerprint: string): RootInfo {
    const store = this.requireStore();
    if (sameFingerprint(fingerprint, this.signer.fingerprint)) throw new CaError('FAILED_PRECONDITION', 'the signing root cannot be removed; rotate first');
    let removed: RootInfo;
    if (this.staged && sameFingerprint(fingerprint, this.staged.fingerprint)) {
      removed = rootInfo(this.staged.x509, 'staged');
      store.removeStaged();
      this.staged = null;
    } else {
      const old = this.previous.map((p) => new X509Certificate(p)).find((x) => sameFingerprint(x.fingerprint256, fingerprint));
      if (!old) throw new CaError('INVALID_ARGUMENT', `no previous or staged root has fingerprint ${fingerprint}`);
      removed = rootInfo(old, 'previous');
      const keep = this.previous.filter((p) => new X509Certificate(p).fingerprint256 !== old.fingerprint256);
      store.writePrevious(keep);
      this.previous = keep;
    }
    store.writeBundle(this.trustBundle());
    this.events.emit('roots');
    this.logger.info({ fingerprint: removed.fingerprint, state: removed.state }, 'CA: root removed from the trust bundle');
    return removed;
  }

  /** What /debug/certs shows: roots, then each workload's current certificate, then every unexpired certificate issued. */
  status(): unknown {
    return {
      trustDomain: this.trustDomain,
      mode: this.mode,
      maxTtlSeconds: this.maxTtlSeconds,
      signingCa: this.signer.fingerprint,
      roots: this.roots(),
      workloads: this.issued.latest(),
      certificates: this.issued.list(),
    };
  }

  private info(fingerprint: string): RootInfo {
    const r = this.roots().find((x) => sameFingerprint(x.fingerprint, fingerprint));
    if (!r) throw new Error(`root ${fingerprint} is not in the bundle`);
    return r;
  }

  private requireStore(): RootStore {
    if (!this.store) throw new CaError('FAILED_PRECONDITION', 'the CA is operator-supplied: rotate by replacing --ca-cert/--ca-key and passing the old root with --ca-extra-root');
    return this.store;
  }
}
