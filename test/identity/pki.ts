// A throwaway PKI for identity tests, made with node-forge at test time: roots, SPIFFE leaves, expired, not-yet-valid and self-signed certificates.
import forge from 'node-forge';

export interface KeyPairPem {
  readonly privateKey: forge.pki.rsa.PrivateKey;
  readonly publicKey: forge.pki.rsa.PublicKey;
  readonly keyPem: string;
}

export interface Issuer extends KeyPairPem {
  readonly cert: forge.pki.Certificate;
  readonly certPem: string;
}

export interface Leaf extends KeyPairPem {
  readonly certPem: string;
  /** Leaf then issuer (what a client presents). */
  readonly chainPem: string;
}

/** RSA 2048 through Node's native generator (forge uses it when present). */
export function newKey(): KeyPairPem {
  const k = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  return { privateKey: k.privateKey, publicKey: k.publicKey, keyPem: forge.pki.privateKeyToPem(k.privateKey) };
}

let serial = 1;
function nextSerial(): string {
  serial += 1;
  return `0${(Date.now() * 1000 + serial).toString(16)}`;
}

/** A self-signed root CA. */
export function makeRoot(commonName = 'test root', trustDomain = 'cluster.local'): Issuer {
  const key = newKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  cert.serialNumber = nextSerial();
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 24 * 3600_000);
  const subject = [{ name: 'organizationName', value: trustDomain }, { name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key.privateKey, forge.md.sha256.create());
  return { ...key, cert, certPem: forge.pki.certificateToPem(cert) };
}

export interface LeafOptions {
  /** URI SAN (SPIFFE ID). */
  readonly uri?: string;
  readonly dns?: readonly string[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Sign with this issuer; absent: self-signed. */
  readonly issuer?: Issuer;
  /** Use this public key (a CSR's) instead of a new key pair. */
  readonly publicKey?: forge.pki.rsa.PublicKey;
}

/** Signs a leaf certificate (client and server auth) with `o.issuer`, or self-signs it. */
export function signLeaf(o: LeafOptions): { cert: forge.pki.Certificate; certPem: string; key: KeyPairPem | null } {
  const key = o.publicKey ? null : newKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = o.publicKey ?? key!.publicKey;
  cert.serialNumber = nextSerial();
  cert.validity.notBefore = o.notBefore ?? new Date(Date.now() - 60_000);
  cert.validity.notAfter = o.notAfter ?? new Date(Date.now() + 3600_000);
  cert.setSubject([{ name: 'organizationName', value: 'cluster.local' }]);
  cert.setIssuer(o.issuer ? o.issuer.cert.subject.attributes : [{ name: 'organizationName', value: 'cluster.local' }]);
  const altNames: { type: number; value: string }[] = [];
  if (o.uri) altNames.push({ type: 6, value: o.uri });
  for (const d of o.dns ?? []) altNames.push({ type: 2, value: d });
  // A self-signed certificate looks like `openssl req -x509` makes it: its own CA (so OpenSSL calls it self-signed).
  const self = !o.issuer;
  cert.setExtensions([
    { name: 'basicConstraints', cA: self },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: self, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames, critical: true }] : []),
  ]);
  cert.sign(o.issuer?.privateKey ?? key!.privateKey, forge.md.sha256.create());
  return { cert, certPem: forge.pki.certificateToPem(cert), key };
}

/** A leaf with its own new key, ready for a TLS client: key, certificate and chain PEMs. */
export function makeLeaf(o: Omit<LeafOptions, 'publicKey'>): Leaf {
  const r = signLeaf(o);
  const chainPem = r.certPem + (o.issuer ? o.issuer.certPem : '');
  return { ...r.key!, certPem: r.certPem, chainPem };
}
