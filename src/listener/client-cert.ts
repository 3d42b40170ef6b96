// Checks a downstream client certificate once the TLS handshake is done, and says in words why one was refused.
import { createHash, type X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { SubjectAltNameMatcher } from '../model/types.ts';
import { sanMismatch, sansOfType } from '../secrets/san-check.ts';

/** The verified client certificate of a connection, as XFCC and the access log read it. */
export interface PeerCertificateInfo {
  /** SHA-256 of the DER certificate, lower-case hex (Envoy's XFCC Hash). */
  readonly sha256: string;
  /** Subject in RFC 2253 order ("CN=a,O=b"). */
  readonly subject: string;
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
  /** PEM of the leaf certificate. */
  pem(): string;
  /** PEM of the chain the client sent (leaf first). */
  chainPem(): string;
}

const VERIFY_REASONS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: 'has expired',
  CERT_NOT_YET_VALID: 'is not yet valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'chains to an untrusted root (unknown CA)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'is signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT: 'is signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'is signed by an unknown CA',
  CERT_SIGNATURE_FAILURE: 'has a bad signature (unknown CA)',
  CERT_REVOKED: 'is revoked',
  INVALID_CA: 'is issued by a certificate that is not a CA',
  INVALID_PURPOSE: 'may not be used for client authentication',
};

/** OpenSSL's verification result for the peer (Node checks it only in tls.Server; a standalone TLSSocket must ask). */
function verifyErrorCode(socket: TLSSocket): string | null {
  const handle = (socket as unknown as { _handle?: { verifyError?: () => unknown } | null })._handle;
  if (!handle || typeof handle.verifyError !== 'function') return 'UNVERIFIABLE';
  const e = handle.verifyError();
  if (e === undefined || e === null || e === '') return null;
  if (typeof e === 'string') return e;
  return String((e as { code?: unknown }).code ?? (e as Error).message ?? e);
}

/**
 * Why the client certificate of a finished handshake is refused, or null when it is acceptable: verified against
 * the trusted CAs (expiry, issuer, self-signed) and matched against the SAN matchers.
 */
export function refuseClientCertificate(socket: TLSSocket, required: boolean, sans: readonly SubjectAltNameMatcher[]): string | null {
  const cert = socket.getPeerX509Certificate();
  if (!cert) return required ? 'no client certificate (require_client_certificate)' : null;
  const code = verifyErrorCode(socket);
  if (code !== null) return `client certificate ${VERIFY_REASONS[code] ?? 'failed verification'} (${code})`;
  const mismatch = sanMismatch(sans, { subjectaltname: cert.subjectAltName });
  return mismatch === null ? null : `client certificate ${mismatch}`;
}

/** Plain words for a handshake that failed in OpenSSL (plaintext, no certificate, protocol mismatch). */
export function describeHandshakeError(err: Error & { code?: string }): string {
  const code = err.code ?? '';
  if (code === 'ERR_SSL_HTTP_REQUEST' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /http request|wrong version number|packet length too long/i.test(err.message)) {
    return `plaintext (not TLS) on a TLS-only filter chain (${code || err.message})`;
  }
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' || /peer did not return a certificate/i.test(err.message)) {
    return 'no client certificate (require_client_certificate)';
  }
  return `TLS handshake failed: ${code ? `${code}: ` : ''}${err.message}`;
}

function pemOf(raw: Buffer): string {
  const b64 = raw.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

/** The peer certificate's facts (computed once per connection; PEMs on demand). */
export function peerCertificateInfo(socket: TLSSocket, cert: X509Certificate): PeerCertificateInfo {
  return {
    sha256: createHash('sha256').update(cert.raw).digest('hex'),
    subject: (cert.subject ?? '').split('\n').reverse().join(','), // undefined for an empty subject (the mesh CA's leaves)
    uriSans: sansOfType(cert.subjectAltName, 'URI:'),
    dnsSans: sansOfType(cert.subjectAltName, 'DNS:'),
    pem: () => pemOf(cert.raw),
    chainPem: () => {
      const out: string[] = [];
      const seen = new Set<unknown>();
      let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (c && c.raw && !seen.has(c)) {
        seen.add(c);
        out.push(pemOf(c.raw));
        c = c.issuerCertificate === c ? undefined : c.issuerCertificate;
      }
      return out.join('') || pemOf(cert.raw);
    },
  };
}
