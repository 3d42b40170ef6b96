// CA key pairs: generating a self-signed root with node-forge, and loading and validating a PEM CA certificate with its RSA key.
import { createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

/** A CA certificate with its private key, in both node:crypto and node-forge form. */
export interface CaKeyPair {
  readonly certPem: string;
  readonly keyPem: string;
  readonly x509: X509Certificate;
  readonly cert: forge.pki.Certificate;
  /** The private key for native (node:crypto) signing. */
  readonly key: KeyObject;
  /** SHA-256 of the DER, "AB:CD:…" as node:crypto prints it. */
  readonly fingerprint: string;
  /** The certificate's subject key identifier (binary string), used as the leaves' authority key identifier. */
  readonly keyId: string;
}

export const ROOT_VALIDITY_YEARS = 10;
export const ROOT_KEY_BITS = 2048;

export type PemBlock = { readonly type: string; readonly pem: string };

/** Every PEM block in `text`, in order. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g)) out.push({ type: m[1], pem: `${m[0]}\n` });
  return out;
}

/** A random positive serial number of 128 bits as hex (DER-minimal: no leading zero byte, a 00 prefix when the top bit is set). */
export function randomSerialHex(): string {
  const b = randomBytes(16);
  if (b[0] === 0) b[0] = 1;
  return (b[0] & 0x80 ? '00' : '') + b.toString('hex');
}

/** Generates a self-signed root (RSA via Node's native keygen, which forge uses when it can): CA:true, keyCertSign, 10 years. */
export async function generateRoot(trustDomain: string, bits = ROOT_KEY_BITS): Promise<{ certPem: string; keyPem: string }> {
  const keys = await new Promise<forge.pki.rsa.KeyPair>((resolve, reject) => {
    forge.pki.rsa.generateKeyPair({ bits, e: 0x10001 }, (err, kp) => (err ? reject(err) : resolve(kp)));
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerialHex();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now);
  cert.validity.notAfter.setUTCFullYear(cert.validity.notAfter.getUTCFullYear() + ROOT_VALIDITY_YEARS);
  const name = [
    { name: 'organizationName', value: trustDomain },
    { name: 'commonName', value: `Pilotfish root CA ${new Date(now).toISOString()}` },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const keyPem = forge.pki.privateKeyInfoToPem(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(keys.privateKey)));
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** Validates and loads a CA certificate and its key; throws an Error naming `what` and the problem. */
export function loadCaKeyPair(certPem: string, keyPem: string, what: string): CaKeyPair {
  let keyObj: KeyObject;
  try {
    keyObj = createPrivateKey(keyPem);
  } catch (err) {
    throw new Error(`${what}: the private key cannot be read (${(err as Error).message})`);
  }
  if (keyObj.asymmetricKeyType !== 'rsa') throw new Error(`${what}: the private key is ${keyObj.asymmetricKeyType}; only RSA CA keys are supported`);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch (err) {
    throw new Error(`${what}: the certificate cannot be read (${(err as Error).message})`);
  }
  if (!x509.ca) throw new Error(`${what}: the certificate is not a CA (basicConstraints CA:true is missing)`);
  if (!x509.checkPrivateKey(keyObj)) throw new Error(`${what}: the private key does not match the certificate`);
  if (x509.validToDate.getTime() <= Date.now()) throw new Error(`${what}: the certificate expired at ${x509.validToDate.toISOString()}`);
  const cert = forge.pki.certificateFromPem(certPem);
  const ku = cert.getExtension('keyUsage') as { keyCertSign?: boolean } | undefined;
  if (ku && !ku.keyCertSign) throw new Error(`${what}: the certificate's keyUsage lacks keyCertSign`);
  const ski = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  const pkcs8 = keyObj.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    certPem: x509.toString(),
    keyPem: pkcs8,
    x509,
    cert,
    key: keyObj,
    fingerprint: x509.fingerprint256,
    keyId: ski?.subjectKeyIdentifier ? forge.util.hexToBytes(ski.subjectKeyIdentifier) : cert.generateSubjectKeyIdentifier().getBytes(),
  };
}
