// A small real gRPC CertificateService (xds/ca/ca.proto) for tests: checks the bearer token, signs CSRs with node-forge, rotates roots.
import * as grpc from '@grpc/grpc-js';
import forge from 'node-forge';
import { certificateServiceDefinition } from '../../src/identity/ca-client.ts';
import { makeLeaf, makeRoot, signLeaf, type Issuer } from './pki.ts';

export interface TestCaOptions {
  /** Bearer token → the SPIFFE ID it may ask for. */
  readonly tokens: Readonly<Record<string, string>>;
  /** Longest lifetime it grants, seconds (default 86400). */
  readonly maxValiditySeconds?: number;
  /** Serve gRPC over TLS with a certificate for "localhost" from this issuer (address becomes localhost:port). */
  readonly tlsIssuer?: Issuer;
}

export interface TestCa {
  readonly address: string;
  /** Roots in the trust bundle, oldest first. */
  readonly bundle: Issuer[];
  /** The root signing new certificates. */
  signer: Issuer;
  /** Requests answered with a certificate, and refused. */
  issued: number;
  refused: number;
  /** While > 0, requests fail with UNAVAILABLE (and this counts down). */
  failNext: number;
  /** Fail every request with UNAVAILABLE until set back to false. */
  down: boolean;
  /** Lifetimes granted, seconds (for assertions). */
  readonly lifetimes: number[];
  /** Certificates issued per SPIFFE ID. */
  readonly issuedFor: Map<string, number>;
  /** Resolves once `pred` holds after an issuance (checked after each one). */
  waitFor(pred: () => boolean, timeoutMs?: number): Promise<void>;
  /** Root rotation, phase 1: a new root joins the trust bundle (still signing with the old one). Returns it. */
  addRoot(): Issuer;
  /** Phase 2: sign with `root`. */
  signWith(root: Issuer): void;
  /** Phase 3: drop `root` from the trust bundle. */
  dropRoot(root: Issuer): void;
  close(): Promise<void>;
}

interface CsrInfo {
  readonly publicKey: forge.pki.rsa.PublicKey;
  readonly uris: string[];
}

function readCsr(pem: string): CsrInfo {
  const csr = forge.pki.certificationRequestFromPem(pem);
  if (!csr.verify()) throw new Error('CSR signature does not verify');
  const ext = csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: { name: string; altNames?: { type: number; value: string }[] }[] } | null;
  const san = ext?.extensions?.find((e) => e.name === 'subjectAltName');
  const uris = (san?.altNames ?? []).filter((a) => a.type === 6).map((a) => a.value);
  return { publicKey: csr.publicKey as forge.pki.rsa.PublicKey, uris };
}

function fail(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

export async function startTestCa(o: TestCaOptions): Promise<TestCa> {
  const first = makeRoot('test root 1');
  const waiters = new Set<() => void>();
  let rootCount = 1;
  const ca: TestCa = {
    address: '',
    bundle: [first],
    signer: first,
    issued: 0,
    refused: 0,
    failNext: 0,
    down: false,
    lifetimes: [],
    issuedFor: new Map(),
    waitFor(pred, timeoutMs = 30_000) {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`test CA: condition not met within ${timeoutMs} ms (issued ${ca.issued})`)); }, timeoutMs);
        const check = (): void => { if (pred()) { clearTimeout(timer); waiters.delete(check); resolve(); } };
        waiters.add(check);
      });
    },
    addRoot() { rootCount += 1; const r = makeRoot(`test root ${rootCount}`); ca.bundle.push(r); return r; },
    signWith(root) { ca.signer = root; },
    dropRoot(root) { const i = ca.bundle.indexOf(root); if (i >= 0) ca.bundle.splice(i, 1); },
    close: async () => undefined,
  };
  const server = new grpc.Server();
  server.addService(certificateServiceDefinition().service, {
    CreateCertificate(call: grpc.ServerUnaryCall<{ csr: string; validity_duration: number }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const refuse = (code: grpc.status, details: string): void => { ca.refused++; cb(fail(code, details)); };
      if (ca.down || ca.failNext > 0) { if (ca.failNext > 0) ca.failNext--; refuse(grpc.status.UNAVAILABLE, 'test CA is down'); return; }
      const auth = String(call.metadata.get('authorization')[0] ?? '');
      const m = /^Bearer (\S+)$/.exec(auth);
      const allowed = m ? o.tokens[m[1]] : undefined;
      if (!allowed) { refuse(grpc.status.UNAUTHENTICATED, m ? 'unknown token' : 'no bearer token'); return; }
      let csr: CsrInfo;
      try { csr = readCsr(call.request.csr); } catch (err) { refuse(grpc.status.INVALID_ARGUMENT, (err as Error).message); return; }
      if (csr.uris.length !== 1 || csr.uris[0] !== allowed) { refuse(grpc.status.PERMISSION_DENIED, `token grants ${allowed}, CSR asks for ${csr.uris.join(', ')}`); return; }
      const seconds = Math.min(Number(call.request.validity_duration) || 86_400, o.maxValiditySeconds ?? 86_400);
      ca.lifetimes.push(seconds);
      const now = Date.now();
      const leaf = signLeaf({ uri: allowed, issuer: ca.signer, publicKey: csr.publicKey, notBefore: new Date(now), notAfter: new Date(now + seconds * 1000) });
      ca.issued++;
      ca.issuedFor.set(allowed, (ca.issuedFor.get(allowed) ?? 0) + 1);
      cb(null, { cert_chain: [leaf.certPem, ca.signer.certPem], trust_bundle: ca.bundle.map((r) => r.certPem) });
      for (const w of [...waiters]) w();
    },
  });
  const serving = o.tlsIssuer ? makeLeaf({ dns: ['localhost'], issuer: o.tlsIssuer }) : null;
  const creds = serving
    ? grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(serving.keyPem), cert_chain: Buffer.from(serving.chainPem) }])
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p)));
  });
  (ca as { address: string }).address = `${serving ? 'localhost' : '127.0.0.1'}:${port}`;
  ca.close = () => new Promise<void>((resolve) => { server.tryShutdown(() => resolve()); setTimeout(() => { server.forceShutdown(); resolve(); }, 1000).unref(); });
  return ca;
}
