// The control plane's TLS xDS port (Istio's 15012): ADS and the CertificateService behind a serving certificate from its own CA, renewed and swapped in without dropping streams.
import { X509Certificate } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CertificateAuthority } from '../ca/authority.ts';
import { issueServingCert } from '../webhook/serving-cert.ts';

export const DEFAULT_SECURE_XDS_DNS_NAMES: readonly string[] = ['pilotfish-control-plane.pilotfish-system.svc', 'localhost'];
/** Always in the serving certificate, so loopback clients can verify it by address. */
export const LOOPBACK_IP = '127.0.0.1';

export interface SecureXdsOptions {
  /** host:port of the TLS port, e.g. 0.0.0.0:15012 (port 0 picks one). */
  readonly address: string;
  /** DNS names in the serving certificate (127.0.0.1 is always added); default DEFAULT_SECURE_XDS_DNS_NAMES. */
  readonly dnsNames?: readonly string[];
  /** Lifetime of the serving certificate in seconds (default the CA's maximum, 24 h); renewed at half life. */
  readonly certTtlSeconds?: number;
}

/**
 * grpc-js server credentials whose secure context can be replaced: grpc-js calls setSecureContext() on its
 * http2 server for every update, so new handshakes get the new certificate while open connections and their
 * ADS streams live on.
 */
export class SwappableServerCredentials extends grpc.ServerCredentials {
  constructor(initial: SecureContextOptions) {
    super({ requestCert: false }, initial);
  }

  swap(options: SecureContextOptions): void {
    this.updateSecureContextOptions(options);
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

export interface ServingCertState {
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly issuer: string;
  readonly names: readonly string[];
  /** How many certificates were issued since start (1 = the first). */
  readonly issued: number;
}

/** Issues and renews the TLS port's certificate; `credentials` is what the gRPC server binds with. */
export class ServingCertManager {
  readonly credentials: SwappableServerCredentials;
  readonly names: readonly string[];
  private readonly ca: CertificateAuthority;
  private readonly ttlSeconds: number;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | null = null;
  private current: X509Certificate;
  private count = 1;
  private readonly onRoots = () => this.onRootsChanged();
  private closed = false;

  constructor(ca: CertificateAuthority, o: SecureXdsOptions, logger: Logger) {
    this.ca = ca;
    this.logger = logger;
    const dns = o.dnsNames ?? DEFAULT_SECURE_XDS_DNS_NAMES;
    this.names = [...new Set([...dns, LOOPBACK_IP])];
    this.ttlSeconds = Math.min(o.certTtlSeconds ?? ca.maxTtlSeconds, ca.maxTtlSeconds);
    if (!(this.ttlSeconds > 0)) throw new Error(`the secure xDS certificate lifetime must be positive, got ${o.certTtlSeconds}`);
    const first = this.issue();
    this.current = first.x509;
    this.credentials = new SwappableServerCredentials(first.options);
    ca.events.on('roots', this.onRoots);
    this.schedule();
  }

  state(): ServingCertState {
    const x = this.current;
    return {
      serial: x.serialNumber, notBefore: x.validFromDate.toISOString(), notAfter: x.validToDate.toISOString(),
      issuer: x.issuer.replace(/\n/g, ', '), names: this.names, issued: this.count,
    };
  }

  /** Issues a new certificate now and swaps it in (renewal, or the CA's signing root changed). */
  renew(reason: string): void {
    if (this.closed) return;
    try {
      const next = this.issue();
      this.current = next.x509;
      this.count++;
      this.credentials.swap(next.options);
      this.logger.info({ serial: next.x509.serialNumber, notAfter: next.x509.validToDate.toISOString(), reason }, 'secure xDS: serving certificate renewed');
    } catch (err) {
      this.logger.error({ err: (err as Error).message, reason }, 'secure xDS: renewing the serving certificate failed; retrying in 30 s, the current one keeps serving');
      this.schedule(30_000);
      return;
    }
    this.schedule();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.ca.events.off('roots', this.onRoots);
  }

  private issue(): { x509: X509Certificate; options: SecureContextOptions } {
    const cert = issueServingCert(this.ca, this.names, this.ttlSeconds);
    return { x509: new X509Certificate(cert.certPem), options: { cert: cert.certPem, key: cert.keyPem } };
  }

  /** Renews at half the remaining life (or after `ms`); long timers are chained because setTimeout caps at ~24.8 days. */
  private schedule(ms?: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    const x = this.current;
    const half = (x.validToDate.getTime() - Math.max(Date.now(), x.validFromDate.getTime())) / 2;
    const due = ms ?? Math.max(0, half);
    const step = Math.min(due, 2 ** 31 - 1);
    this.timer = setTimeout(() => (step < due ? this.schedule(due - step) : this.renew('half of its lifetime passed')), step);
    this.timer.unref();
  }

  /** A new signing root: re-issue at once so the certificate chains to the root the CA now signs with. */
  private onRootsChanged(): void {
    const signer = this.ca.signingCa().signer.x509;
    if (this.current.checkIssued(signer) && this.current.verify(signer.publicKey)) return;
    this.renew('the CA signs with a new root');
  }
}
