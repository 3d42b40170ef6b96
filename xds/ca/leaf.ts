// Builds leaf certificates with node-forge and signs them natively: workload identities (SPIFFE URI SAN) and the control plane's serving certificates (DNS/IP SANs).
import { constants, privateEncrypt, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import { randomSerialHex, type CaKeyPair } from './keypair.ts';

/** DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256; the 32-byte digest follows. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** A forge-shaped signing key backed by node:crypto: RSASSA-PKCS1-v1_5 over forge's SHA-256 digest, ~30x faster than forge's JS RSA. */
function nativeKey(key: KeyObject): forge.pki.rsa.PrivateKey {
  const sign = (md: forge.md.MessageDigest): string => {
    const digestInfo = Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(md.digest().getBytes(), 'binary')]);
    return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
  };
  return { sign } as unknown as forge.pki.rsa.PrivateKey;
}

export interface LeafRequest {
  readonly publicKey: forge.pki.rsa.PublicKey;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /**
   * A workload identity (`spiffeId`: empty subject with a critical URI SAN, as Istio issues them; serverAuth and
   * clientAuth) or a server (`serverNames`: CN = the first name, DNS or IP SANs; serverAuth only).
   */
  readonly subject: { readonly spiffeId: string } | { readonly serverNames: readonly string[] };
}

/** A PEM leaf signed by `signer`, CA:false, with a random 128-bit serial. */
export function issueLeaf(signer: CaKeyPair, req: LeafRequest): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = req.publicKey;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = req.notBefore;
  cert.validity.notAfter = req.notAfter;
  const id = req.subject;
  const workload = 'spiffeId' in id;
  cert.setSubject(workload ? [] : [{ name: 'commonName', value: id.serverNames[0] }]);
  cert.setIssuer(signer.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, ...(workload ? { clientAuth: true } : {}) },
    workload
      ? { name: 'subjectAltName', critical: true, altNames: [{ type: 6, value: id.spiffeId }] }
      : { name: 'subjectAltName', altNames: id.serverNames.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: signer.keyId },
  ]);
  cert.sign(nativeKey(signer.key), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
