// Turns a cluster's UpstreamTlsConfig into tls.connect options (SNI, CA, client cert, ALPN, SAN matching).
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import type { UpstreamTlsConfig } from '../model/types.ts';
import { matchString } from '../matching/string-matcher.ts';
import type { Host } from './types.ts';

/** SAN values of a peer certificate ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4" → ["a", "spiffe://x", "1.2.3.4"]). */
export function subjectAltNames(cert: PeerCertificate): string[] {
  if (!cert.subjectaltname) return [];
  return cert.subjectaltname.split(', ').map((entry) => entry.slice(entry.indexOf(':') + 1));
}

/**
 * Connection options for a TLS connection to `host`. Like Envoy, the server certificate is verified only when a
 * trusted CA is configured, and its name only through match_subject_alt_names.
 */
export function upstreamTlsOptions(tls: UpstreamTlsConfig, host: Host, defaultAlpn: readonly string[] = []): ConnectionOptions {
  const opts: ConnectionOptions = {
    host: host.address,
    port: host.port,
    rejectUnauthorized: tls.trustedCa !== null,
    checkServerIdentity: (hostname, cert) => {
      if (tls.matchSubjectAltNames.length === 0) return undefined;
      const sans = subjectAltNames(cert);
      if (tls.matchSubjectAltNames.some((m) => sans.some((san) => matchString(m, san)))) return undefined;
      const err = new Error(`certificate SANs [${sans.join(', ')}] of ${hostname} match none of match_subject_alt_names`);
      (err as NodeJS.ErrnoException).code = 'UPSTREAM_SAN_MISMATCH';
      return err;
    },
  };
  if (tls.sni !== null) opts.servername = tls.sni;
  if (tls.trustedCa !== null) opts.ca = tls.trustedCa;
  if (tls.certificate !== null) {
    opts.cert = tls.certificate.certificateChain;
    opts.key = tls.certificate.privateKey;
  }
  if (tls.alpnProtocols.length > 0) opts.ALPNProtocols = [...tls.alpnProtocols];
  else if (defaultAlpn.length > 0) opts.ALPNProtocols = [...defaultAlpn];
  if (tls.minVersion !== null) opts.minVersion = tls.minVersion;
  if (tls.maxVersion !== null) opts.maxVersion = tls.maxVersion;
  return opts;
}
