// The workload's key pair (RSA 2048, generated in memory by node-forge through Node's native keygen) and its CSR.
import forge from 'node-forge';

export interface WorkloadKey {
  readonly privateKey: forge.pki.rsa.PrivateKey;
  readonly publicKey: forge.pki.rsa.PublicKey;
  /** PKCS#1 PEM, kept in memory only (handed to TLS contexts, never written anywhere). */
  readonly privateKeyPem: string;
}

/** A new RSA key pair; node-forge uses Node's asynchronous native generator, so the event loop keeps running. */
export function generateWorkloadKey(bits = 2048): Promise<WorkloadKey> {
  return new Promise((resolve, reject) => {
    forge.pki.rsa.generateKeyPair({ bits, e: 0x10001 }, (err, keys) => {
      if (err) { reject(err); return; }
      resolve({ privateKey: keys.privateKey, publicKey: keys.publicKey, privateKeyPem: forge.pki.privateKeyToPem(keys.privateKey) });
    });
  });
}

/** A PKCS#10 request for `spiffeId` (the only SAN, a URI, critical as SPIFFE asks), signed with SHA-256. */
export function buildCsr(key: WorkloadKey, spiffeId: string, trustDomain: string): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = key.publicKey;
  csr.setSubject([{ name: 'organizationName', value: trustDomain }]);
  csr.setAttributes([{
    name: 'extensionRequest',
    extensions: [{ name: 'subjectAltName', critical: true, altNames: [{ type: 6, value: spiffeId }] }],
  }]);
  csr.sign(key.privateKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}
