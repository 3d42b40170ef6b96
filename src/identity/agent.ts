// The sidecar's identity agent: key in memory, CSR to the CA, chain and trust bundle served as SDS secrets, renewal at half life.
import { createPublicKey, X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../upstream/clock.ts';
import { certificateInfo, chainInfo, type CertificateInfo } from '../secrets/cert-info.ts';
import { ROOT_SECRET, WORKLOAD_SECRET, type SecretStore } from '../secrets/secret-store.ts';
import type { CertificateAuthority } from './ca-client.ts';
import { buildCsr, generateWorkloadKey, type WorkloadKey } from './csr.ts';

export const DEFAULT_VALIDITY_SECONDS = 86_400;

export interface RetryPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  /** ± share of the delay. */
  readonly jitter: number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialMs: 1000, maxMs: 60_000, multiplier: 2, jitter: 0.2 };

export interface IdentityAgentOptions {
  readonly spiffeId: string;
  readonly trustDomain: string;
  readonly ca: CertificateAuthority;
  /** Where the certificate ("default") and the trust bundle ("ROOTCA") go. */
  readonly store: SecretStore;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Requested lifetime (the CA may shorten it); default 24 h. */
  readonly validitySeconds?: number;
  /** Wall clock (epoch ms) and timers; real ones by default. */
  readonly clock?: Clock;
  readonly retry?: RetryPolicy;
  readonly random?: () => number;
  readonly keyBits?: number;
}

/** What /certs and /config_dump show of the agent. */
export interface IdentityState {
  readonly spiffeId: string;
  readonly status: 'pending' | 'ready' | 'retrying' | 'stopped';
  readonly certificate: CertificateInfo | null;
  readonly chain: readonly CertificateInfo[];
  readonly trustBundle: readonly CertificateInfo[];
  /** Epoch ms of the next renewal or retry. */
  readonly nextAttemptAt: number | null;
  readonly issued: number;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
}

const wallClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

export class IdentityAgent {
  readonly #o: IdentityAgentOptions;
  readonly #clock: Clock;
  readonly #retry: RetryPolicy;
  #status: IdentityState['status'] = 'pending';
  #certificate: CertificateInfo | null = null;
  #chain: CertificateInfo[] = [];
  #bundle: CertificateInfo[] = [];
  #nextAttemptAt: number | null = null;
  #issued = 0;
  #failures = 0;
  #lastError: string | null = null;
  #cancel: (() => void) | null = null;
  #cancelExpiry: (() => void) | null = null;
  #resolveReady!: () => void;
  /** Resolves once the first certificate is in the store. */
  readonly ready: Promise<void>;

  constructor(o: IdentityAgentOptions) {
    this.#o = o;
    this.#clock = o.clock ?? wallClock;
    this.#retry = o.retry ?? DEFAULT_RETRY;
    this.ready = new Promise((r) => { this.#resolveReady = r; });
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#status = 'stopped';
    this.#cancel?.();
    this.#cancelExpiry?.();
    this.#cancel = null;
    this.#o.ca.close();
  }

  state(): IdentityState {
    return {
      spiffeId: this.#o.spiffeId, status: this.#status, certificate: this.#certificate, chain: this.#chain, trustBundle: this.#bundle,
      nextAttemptAt: this.#nextAttemptAt, issued: this.#issued, consecutiveFailures: this.#failures, lastError: this.#lastError,
    };
  }

  #schedule(ms: number): void {
    if (this.#status === 'stopped') return;
    this.#cancel?.();
    this.#nextAttemptAt = this.#clock.now() + ms;
    this.#cancel = this.#clock.after(ms, () => { void this.#attempt(); });
  }

  async #attempt(): Promise<void> {
    this.#cancel = null;
    try {
      const key = await generateWorkloadKey(this.#o.keyBits ?? 2048);
      const csr = buildCsr(key, this.#o.spiffeId, this.#o.trustDomain);
      const issued = await this.#o.ca.createCertificate(csr, this.#o.validitySeconds ?? DEFAULT_VALIDITY_SECONDS);
      if (this.#status === 'stopped') return;
      this.#install(key, issued.certChain, issued.trustBundle);
    } catch (err) {
      if (this.#status === 'stopped') return;
      this.#failed((err as Error).message);
    }
  }

  /** Checks what the CA returned, puts it in the store and schedules the renewal at half the remaining life. */
  #install(key: WorkloadKey, certChain: readonly string[], trustBundle: readonly string[]): void {
    const leaf = certificateInfo(certChain[0]);
    if (leaf.spiffeId !== this.#o.spiffeId) throw new Error(`the CA issued a certificate for ${leaf.spiffeId ?? 'no SPIFFE ID'}, not ${this.#o.spiffeId}`);
    const ours = createPublicKey(key.privateKeyPem).export({ type: 'spki', format: 'der' });
    const theirs = new X509Certificate(certChain[0]).publicKey.export({ type: 'spki', format: 'der' });
    if (!ours.equals(theirs)) throw new Error('the CA returned a certificate for another key');
    const now = this.#clock.now();
    if (leaf.notAfter <= now) throw new Error(`the CA returned a certificate that expired at ${new Date(leaf.notAfter).toISOString()}`);
    const roots = trustBundle.length > 0 ? trustBundle : certChain.slice(-1);
    const version = new Date(now).toISOString();
    this.#o.store.set(WORKLOAD_SECRET, { tlsCertificate: { certificateChain: certChain.join(''), privateKey: key.privateKeyPem }, validationContext: null }, 'identity', version);
    this.#o.store.set(ROOT_SECRET, { tlsCertificate: null, validationContext: { trustedCa: roots.join(''), subjectAltNameMatchers: [] } }, 'identity', version);
    this.#certificate = leaf;
    this.#chain = chainInfo(certChain.join(''));
    this.#bundle = chainInfo(roots.join(''));
    this.#issued++;
    this.#failures = 0;
    this.#lastError = null;
    this.#status = 'ready';
    const renewIn = Math.max(0, (leaf.notAfter - now) / 2);
    this.#schedule(renewIn);
    this.#watchExpiry(leaf);
    this.#o.logger.info({
      spiffeId: leaf.spiffeId, serial: leaf.serialNumber, notAfter: new Date(leaf.notAfter).toISOString(), roots: this.#bundle.length,
      renewInMs: Math.round(renewIn),
    }, 'workload certificate issued');
    this.#resolveReady();
  }

  #failed(message: string): void {
    this.#failures++;
    this.#lastError = message;
    this.#status = 'retrying';
    const r = this.#retry;
    const base = Math.min(r.maxMs, r.initialMs * r.multiplier ** (this.#failures - 1));
    const delay = Math.max(0, base * (1 + r.jitter * ((this.#o.random ?? Math.random)() * 2 - 1)));
    this.#schedule(delay);
    const serving = this.#certificate && this.#certificate.notAfter > this.#clock.now() ? this.#certificate.serialNumber : null;
    this.#o.logger.warn({ spiffeId: this.#o.spiffeId, error: message, attempt: this.#failures, retryInMs: Math.round(delay), serving },
      serving ? 'workload certificate renewal failed; still serving the current certificate' : 'workload certificate request failed');
  }

  /** Logs once when the certificate in use runs out without a renewal (it keeps being served: peers will refuse it). */
  #watchExpiry(leaf: CertificateInfo): void {
    this.#cancelExpiry?.();
    this.#cancelExpiry = this.#clock.after(Math.max(0, leaf.notAfter - this.#clock.now()), () => {
      if (this.#certificate === leaf && this.#status !== 'stopped') {
        this.#o.logger.error({ spiffeId: this.#o.spiffeId, serial: leaf.serialNumber, lastError: this.#lastError }, 'workload certificate expired and was not renewed');
      }
    });
  }
}
