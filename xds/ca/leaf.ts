// Builds a workload (leaf) certificate with node-forge and signs it natively: SPIFFE URI SAN, serverAuth+clientAuth, random 128-bit serial.
import { constants, privateEncrypt, type KeyObject } from 'node:crypto';
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
  readonly spiffeId: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A PEM leaf signed by `signer`: empty subject with a critical URI SAN (as Istio issues them), CA:false. */
export function issueLeaf(signer: CaKeyPair, req: LeafRequest): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = req.publicKey;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = req.notBefore;
  cert.validity.notAfter = req.notAfter;
  cert.setSubject([]);
  cert.setIssuer(signer.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', critical: true, altNames: [{ type: 6, value: req.spiffeId }] },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: signer.keyId },
  ]);
  cert.sign(nativeKey(signer.key), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
