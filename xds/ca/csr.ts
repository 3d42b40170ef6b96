// Reads a workload's PKCS#10 CSR: checks its self-signature and key, and extracts the one SPIFFE ID (URI SAN) it asks for.
import forge from 'node-forge';
import { CaError } from './ca-error.ts';
import { pemBlocks } from './keypair.ts';
import { parseSpiffeId, type SpiffeId } from './spiffe.ts';

export const MAX_CSR_BYTES = 64 * 1024;
export const MIN_RSA_BITS = 2048;

export interface ParsedCsr {
  readonly publicKey: forge.pki.rsa.PublicKey;
  readonly id: SpiffeId;
}

interface AltName {
  type: number;
  value?: string;
}

function invalid(reason: string): CaError {
  return new CaError('INVALID_ARGUMENT', reason);
}

/** Parses and checks `pem`; throws CaError INVALID_ARGUMENT saying what is wrong. */
export function parseCsr(pem: unknown, trustDomain: string): ParsedCsr {
  if (typeof pem !== 'string' || pem.trim() === '') throw invalid('csr is empty');
  if (pem.length > MAX_CSR_BYTES) throw invalid(`csr is larger than ${MAX_CSR_BYTES} bytes`);
  const blocks = pemBlocks(pem).filter((b) => b.type === 'CERTIFICATE REQUEST' || b.type === 'NEW CERTIFICATE REQUEST');
  if (blocks.length !== 1) throw invalid(blocks.length === 0 ? 'csr is not a PEM "CERTIFICATE REQUEST"' : 'csr holds more than one certificate request');
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(blocks[0].pem);
  } catch (err) {
    const msg = (err as Error).message;
    if (/not RSA/i.test(msg)) throw invalid('the CSR\'s public key is not RSA; this CA signs RSA keys only');
    throw invalid(`the CSR cannot be parsed: ${msg}`);
  }
  let verified = false;
  try {
    verified = csr.verify();
  } catch (err) {
    throw invalid(`the CSR's self-signature does not verify (${(err as Error).message})`);
  }
  if (!verified) throw invalid('the CSR\'s self-signature does not verify');
  const publicKey = csr.publicKey as forge.pki.rsa.PublicKey;
  const bits = publicKey.n.bitLength();
  if (bits < MIN_RSA_BITS) throw invalid(`the CSR's RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required`);

  const attr = csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: { name?: string; altNames?: AltName[] }[] } | null;
  const san = attr?.extensions?.find((e) => e.name === 'subjectAltName');
  const names = san?.altNames ?? [];
  const uris = names.filter((n) => n.type === 6);
  if (uris.length !== 1) throw invalid(`the CSR must carry exactly one URI SAN (the SPIFFE ID); it has ${uris.length}`);
  if (names.length !== 1) throw invalid('the CSR may carry only the SPIFFE ID URI SAN (no DNS, IP or e-mail SANs)');
  const parsed = parseSpiffeId(String(uris[0].value));
  if (!parsed.ok) throw invalid(`the CSR's URI SAN is not a workload SPIFFE ID: ${parsed.error}`);
  if (parsed.id.trustDomain !== trustDomain) throw invalid(`the CSR's SPIFFE ID ${parsed.id.uri} is outside this CA's trust domain "${trustDomain}"`);
  return { publicKey, id: parsed.id };
}
