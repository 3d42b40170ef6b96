// Shared helpers for the certificate-authority tests: temp dirs, workload CSRs, operator CA files, and a logger that keeps its lines.
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import forge from 'node-forge';
import pino, { type Logger } from 'pino';

const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory, removed when the process exits. */
export function tempDir(prefix = 'pilotfish-ca-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

let cachedKeys: forge.pki.rsa.KeyPair | null = null;

/** One RSA 2048 key pair for every workload CSR of the process (native keygen). */
export function workloadKeys(): forge.pki.rsa.KeyPair {
  cachedKeys ??= forge.pki.rsa.generateKeyPair({ bits: 2048 });
  return cachedKeys;
}

export interface CsrOptions {
  /** Extra SANs besides the URIs, e.g. [{ type: 2, value: 'example.com' }]. */
  readonly extraSans?: { type: number; value: string }[];
  readonly keys?: forge.pki.rsa.KeyPair;
}

/** A PEM PKCS#10 CSR asking for `uris` as URI SANs, signed by the workload key. */
export function makeCsr(uris: string | string[], opts: CsrOptions = {}): string {
  const keys = opts.keys ?? workloadKeys();
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = keys.publicKey;
  csr.setSubject([{ name: 'organizationName', value: 'ignored' }]);
  const altNames = [...(Array.isArray(uris) ? uris : [uris]).map((value) => ({ type: 6, value })), ...(opts.extraSans ?? [])];
  csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames }] }]);
  csr.sign(keys.privateKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

export interface CapturedLog {
  readonly logger: Logger;
  readonly lines: { level: number; msg: string; [k: string]: unknown }[];
  /** The first line whose msg matches `re`. */
  find(re: RegExp): { level: number; msg: string; [k: string]: unknown } | undefined;
}

/** A pino logger (debug) that keeps every line as parsed JSON. */
export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  return { logger, lines, find: (re) => lines.find((l) => re.test(l.msg)) };
}

export interface TestCa {
  readonly certFile: string;
  readonly keyFile: string;
  readonly rootPem: string;
  readonly certPem: string;
}

function caCert(subjectCn: string, publicKey: forge.pki.PublicKey, issuer: { cn: string; key: forge.pki.rsa.PrivateKey }, o: { ca?: boolean; notAfter?: Date }): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(8))}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = o.notAfter ?? new Date(Date.now() + 365 * 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: subjectCn }]);
  cert.setIssuer([{ name: 'commonName', value: issuer.cn }]);
  cert.setExtensions(o.ca === false
    ? [{ name: 'basicConstraints', cA: false }]
    : [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }, { name: 'subjectKeyIdentifier' }]);
  cert.sign(issuer.key, forge.md.sha256.create());
  return cert;
}

/**
 * Writes an operator CA into `dir`: a self-signed root (cert file = root), or with `intermediate` an intermediate
 * signed by a root (cert file = intermediate then root). `ca: false` makes the signing certificate a non-CA.
 */
export function writeOperatorCa(dir: string, o: { intermediate?: boolean; ca?: boolean; notAfter?: Date; wrongKey?: boolean; name?: string } = {}): TestCa {
  const name = o.name ?? 'operator';
  const rootKeys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const root = caCert(`${name} root`, rootKeys.publicKey, { cn: `${name} root`, key: rootKeys.privateKey }, o.intermediate ? {} : o);
  let signer = root;
  let signerKey = rootKeys.privateKey;
  if (o.intermediate) {
    const k = forge.pki.rsa.generateKeyPair({ bits: 2048 });
    signer = caCert(`${name} intermediate`, k.publicKey, { cn: `${name} root`, key: rootKeys.privateKey }, o);
    signerKey = k.privateKey;
  }
  if (o.wrongKey) signerKey = forge.pki.rsa.generateKeyPair({ bits: 2048 }).privateKey;
  const rootPem = forge.pki.certificateToPem(root);
  const certPem = o.intermediate ? forge.pki.certificateToPem(signer) + rootPem : rootPem;
  const certFile = path.join(dir, `${name}-ca-cert.pem`);
  const keyFile = path.join(dir, `${name}-ca-key.pem`);
  writeFileSync(certFile, certPem);
  writeFileSync(keyFile, forge.pki.privateKeyToPem(signerKey), { mode: 0o600 });
  return { certFile, keyFile, rootPem, certPem };
}

export interface Issued {
  readonly chain: readonly string[];
  readonly trustBundle: readonly string[];
}

export type Handshake = { ok: true; serverSaw: string; clientSaw: string } | { ok: false; error: string };

function peerSan(s: tls.TLSSocket): string {
  return String((s.getPeerCertificate() as { subjectaltname?: string }).subjectaltname);
}

/** A mutual-TLS handshake on loopback between two workloads (same key), each trusting only its own trust bundle. */
export async function mtlsHandshake(server: Issued, client: Issued): Promise<Handshake> {
  const key = forge.pki.privateKeyToPem(workloadKeys().privateKey);
  let serverError = '';
  const srv = tls.createServer({ key, cert: server.chain.join(''), ca: [...server.trustBundle], requestCert: true, rejectUnauthorized: true }, (s) => s.end(peerSan(s)));
  srv.on('tlsClientError', (e) => (serverError = `server: ${e.message}`));
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const sock = tls.connect({ port: (srv.address() as AddressInfo).port, host: '127.0.0.1', key, cert: client.chain.join(''), ca: [...client.trustBundle], checkServerIdentity: () => undefined });
  try {
    return await new Promise<Handshake>((resolve) => {
      let got = '';
      sock.on('data', (d: Buffer) => (got += d.toString()));
      // The server answers the client's SAN once it accepted the client; an end without it is a refusal.
      sock.on('end', () => resolve(got && sock.authorized ? { ok: true, serverSaw: got, clientSaw: peerSan(sock) } : { ok: false, error: serverError || 'server closed without answering' }));
      sock.on('error', (e) => resolve({ ok: false, error: serverError || `client: ${e.message}` }));
      sock.on('close', () => resolve({ ok: false, error: serverError || 'closed' }));
    });
  } finally {
    sock.destroy();
    srv.close();
  }
}
