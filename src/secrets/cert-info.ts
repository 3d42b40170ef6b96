// Reads PEM certificates: serial, SANs, SPIFFE identity and validity, for renewal timing, /certs and /config_dump.
import { X509Certificate } from 'node:crypto';
import { sansOfType } from './san-check.ts';

export interface CertificateInfo {
  /** Lower-case hex, as Envoy's /certs shows it. */
  readonly serialNumber: string;
  readonly subject: string;
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
  /** The first spiffe:// URI SAN, or null. */
  readonly spiffeId: string | null;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly pem: string;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle, in order. */
export function splitPem(pem: string): string[] {
  return (pem.match(PEM_BLOCK) ?? []).map((b) => `${b}\n`);
}

export function certificateInfo(pem: string): CertificateInfo {
  const x = new X509Certificate(pem);
  const uriSans = sansOfType(x.subjectAltName, 'URI:');
  return {
    serialNumber: x.serialNumber.toLowerCase(),
    subject: (x.subject ?? '').split('\n').reverse().join(','), // undefined for an empty subject (the mesh CA's leaves)
    uriSans,
    dnsSans: sansOfType(x.subjectAltName, 'DNS:'),
    spiffeId: uriSans.find((u) => u.startsWith('spiffe://')) ?? null,
    notBefore: new Date(x.validFrom).getTime(),
    notAfter: new Date(x.validTo).getTime(),
    pem: x.toString(),
  };
}

/** Every certificate of a PEM bundle that parses; the rest are skipped. */
export function chainInfo(pem: string): CertificateInfo[] {
  const out: CertificateInfo[] = [];
  for (const block of splitPem(pem)) {
    try { out.push(certificateInfo(block)); } catch { /* not a certificate we can read */ }
  }
  return out;
}
