// The injection webhook's TLS certificate: read from files, or issued by the control plane's CA for the webhook Service's DNS names.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import forge from 'node-forge';
import type { CertificateAuthority } from '../ca/authority.ts';
import { issueLeaf } from '../ca/leaf.ts';

export interface ServingCert {
  readonly certPem: string;
  readonly keyPem: string;
  /** PEM of the CA that the MutatingWebhookConfiguration's caBundle must hold (null when the files carry no CA). */
  readonly caBundle: string | null;
  readonly notAfter: string;
}

const VALIDITY_DAYS = 365;

/** Reads --webhook-cert / --webhook-key; the chain's last certificate, if self-signed, is reported as the caBundle. */
export function servingCertFromFiles(certFile: string, keyFile: string): ServingCert {
  const read = (f: string, what: string): string => {
    try {
      return readFileSync(f, 'utf8');
    } catch (err) {
      throw new Error(`webhook ${what} ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const certPem = read(certFile, 'certificate');
  const keyPem = read(keyFile, 'key');
  const blocks = [...certPem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => `${m[0]}\n`);
  if (blocks.length === 0) throw new Error(`webhook certificate ${certFile}: no PEM certificate in it`);
  const leaf = new X509Certificate(blocks[0]);
  const last = new X509Certificate(blocks[blocks.length - 1]);
  const caBundle = blocks.length > 1 && last.issuer === last.subject ? blocks[blocks.length - 1] : null;
  return { certPem, keyPem, caBundle, notAfter: leaf.validToDate.toISOString() };
}

/** A serving certificate for `names` (DNS names or IP addresses) signed by the control plane's CA; the chain goes with it. */
export function issueServingCert(ca: CertificateAuthority, names: readonly string[], validitySeconds = VALIDITY_DAYS * 86400): ServingCert {
  if (names.length === 0) throw new Error('the webhook certificate needs at least one DNS name (--webhook-dns-name)');
  const { signer, chain } = ca.signingCa();
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { notBefore, notAfter } = ca.leafValidity(validitySeconds);
  const leafPem = issueLeaf(signer, {
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()) as forge.pki.rsa.PublicKey,
    subject: { serverNames: names }, notBefore, notAfter,
  });
  return {
    certPem: [leafPem, ...chain.slice(0, -1)].join(''),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    caBundle: chain[chain.length - 1],
    notAfter: notAfter.toISOString(),
  };
}
