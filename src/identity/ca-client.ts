// gRPC client of the control plane's CertificateService (xds/ca/ca.proto): CreateCertificate with the workload's bearer token.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { explainTlsFailure } from '../xds/ads-transport.ts';

export const CA_PROTO = fileURLToPath(new URL('../../xds/ca/ca.proto', import.meta.url));

export interface IssuedCertificate {
  /** PEM certificates, leaf first. */
  readonly certChain: readonly string[];
  /** Every root to trust now (several during a root rotation). */
  readonly trustBundle: readonly string[];
}

/** What the identity agent needs of a CA (a fake in unit tests). */
export interface CertificateAuthority {
  createCertificate(csrPem: string, validitySeconds: number): Promise<IssuedCertificate>;
  close(): void;
}

export interface CaClientOptions {
  /** host:port of the CA (the control plane's gRPC address). */
  readonly address: string;
  /** PEM roots to verify the CA's server certificate; null: plaintext, allowed on loopback only. */
  readonly rootCertPem: string | null;
  /** The file rootCertPem came from: read again before each request, and a changed root (a rotated ConfigMap) gets a new channel. */
  readonly rootCertFile?: string | null;
  /** File holding the bearer token (re-read for every call: projected tokens rotate); null: no credential. */
  readonly tokenFile: string | null;
  readonly timeoutMs?: number;
}

type ServiceClient = grpc.Client & {
  CreateCertificate(req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { cert_chain?: string[]; trust_bundle?: string[] }) => void): void;
};

let serviceCtor: grpc.ServiceClientConstructor | null = null;

/** The client constructor of pilotfish.ca.v1.CertificateService. */
export function certificateServiceDefinition(): grpc.ServiceClientConstructor {
  if (!serviceCtor) {
    const def = protoLoader.loadSync(CA_PROTO, { keepCase: true, longs: Number, enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { pilotfish: { ca: { v1: { CertificateService: grpc.ServiceClientConstructor } } } };
    serviceCtor = pkg.pilotfish.ca.v1.CertificateService;
  }
  return serviceCtor;
}

/** True for 127.0.0.0/8, ::1, localhost and unix sockets: the only places a token may travel in plaintext. */
export function isLoopbackAddress(address: string): boolean {
  if (address.startsWith('unix:')) return true;
  const host = address.replace(/^dns:(\/\/\/)?/, '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export class CaClient implements CertificateAuthority {
  #client: ServiceClient;
  #rootPem: string | null;
  readonly #o: CaClientOptions;

  constructor(o: CaClientOptions) {
    if (o.rootCertPem === null && !isLoopbackAddress(o.address)) {
      throw new Error(`CA address ${o.address} is not on loopback: give its root certificate (--ca-root-cert) so the token travels over TLS`);
    }
    this.#o = o;
    this.#rootPem = o.rootCertPem;
    this.#client = this.#connect();
  }

  #connect(): ServiceClient {
    const creds = this.#rootPem === null ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(Buffer.from(this.#rootPem));
    const Ctor = certificateServiceDefinition();
    return new Ctor(this.#o.address, creds, { 'grpc.initial_reconnect_backoff_ms': 200 }) as unknown as ServiceClient;
  }

  /** Picks up a changed root file (kept as is when it cannot be read or is empty: the next call tries again). */
  #refreshRoot(): void {
    const file = this.#o.rootCertFile;
    if (!file || this.#rootPem === null) return;
    let pem: string;
    try { pem = readFileSync(file, 'utf8'); } catch { return; }
    if (pem.trim() === '' || pem === this.#rootPem) return;
    this.#rootPem = pem;
    this.#client.close();
    this.#client = this.#connect();
  }

  createCertificate(csrPem: string, validitySeconds: number): Promise<IssuedCertificate> {
    this.#refreshRoot();
    const md = new grpc.Metadata();
    if (this.#o.tokenFile !== null) {
      let token: string;
      try { token = readFileSync(this.#o.tokenFile, 'utf8').trim(); } catch (err) {
        return Promise.reject(new Error(`cannot read the identity token ${this.#o.tokenFile}: ${(err as Error).message}`));
      }
      md.set('authorization', `Bearer ${token}`);
    }
    const deadline = new Date(Date.now() + (this.#o.timeoutMs ?? 10_000));
    return new Promise((resolve, reject) => {
      this.#client.CreateCertificate({ csr: csrPem, validity_duration: validitySeconds }, md, { deadline }, (err, res) => {
        if (err) {
          const details = err.details || err.message;
          const hint = this.#rootPem !== null ? explainTlsFailure(details, this.#o.rootCertFile ?? 'the given root certificate') : null;
          reject(new Error(`CA ${this.#o.address}: ${grpc.status[err.code] ?? err.code}: ${hint ?? details}`));
          return;
        }
        const certChain = res?.cert_chain ?? [];
        if (certChain.length === 0) { reject(new Error(`CA ${this.#o.address}: the response has no certificate`)); return; }
        resolve({ certChain, trustBundle: res?.trust_bundle ?? [] });
      });
    });
  }

  close(): void {
    this.#client.close();
  }
}
