// Turns a cluster's UpstreamTlsConfig into tls.connect options (SNI, CA, client cert, ALPN, SAN matching), SDS secrets resolved per connection.
import { createSecureContext, type ConnectionOptions, type PeerCertificate, type SecureContext } from 'node:tls';
import { buildConnector } from 'undici';
import type { SubjectAltNameMatcher, UpstreamTlsConfig } from '../model/types.ts';
import { processSecretStore } from '../secrets/process-secrets.ts';
import { sanMismatch } from '../secrets/san-check.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import { resolveTlsMaterial } from '../secrets/tls-material.ts';
import type { Host } from './types.ts';
import { UpstreamFailure } from './upstream-failure.ts';

/** SAN values of a peer certificate ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4" → ["a", "spiffe://x", "1.2.3.4"]). */
export function subjectAltNames(cert: PeerCertificate): string[] {
  if (!cert.subjectaltname) return [];
  return cert.subjectaltname.split(', ').map((entry) => entry.slice(entry.indexOf(':') + 1));
}

function typedMatchers(tls: UpstreamTlsConfig): readonly SubjectAltNameMatcher[] {
  return tls.subjectAltNameMatchers ?? tls.matchSubjectAltNames.map((matcher) => ({ sanType: 'ANY' as const, matcher }));
}

/** Secure contexts of SDS clusters, rebuilt when a secret they use changes. */
const sdsContexts = new WeakMap<UpstreamTlsConfig, { key: string; context: SecureContext }>();

/**
 * Connection options for a TLS connection to `host`, or why there are none (an SDS secret not available yet). Like
 * Envoy, the server certificate is verified only when a trusted CA is configured, and its name only through the SAN
 * matchers; a mismatch fails the connection with a "TLS error: SAN mismatch" UpstreamFailure.
 */
export function upstreamTlsConnection(
  tls: UpstreamTlsConfig, host: Host, defaultAlpn: readonly string[] = [], secrets: SecretStore | null = processSecretStore(),
): ConnectionOptions | UpstreamFailure {
  const r = resolveTlsMaterial({ certificate: tls.certificate, trustedCa: tls.trustedCa, sans: typedMatchers(tls), sds: tls.sds }, secrets);
  if (!r.ok) return new UpstreamFailure('connect_failure', `TLS error: ${r.reason}`);
  const m = r.material;
  const opts: ConnectionOptions = {
    host: host.address,
    port: host.port,
    rejectUnauthorized: m.trustedCa !== null,
    checkServerIdentity: (_hostname, cert) => {
      const why = sanMismatch(m.sans, cert);
      return why === null ? undefined : new UpstreamFailure('connect_failure', `TLS error: ${why}`);
    },
  };
  if (tls.sni !== null) opts.servername = tls.sni;
  if (tls.sds) {
    let cached = sdsContexts.get(tls);
    if (cached?.key !== m.key) {
      cached = {
        key: m.key,
        context: createSecureContext({
          ca: m.trustedCa ?? undefined, cert: m.certificate?.certificateChain, key: m.certificate?.privateKey,
          minVersion: tls.minVersion ?? undefined, maxVersion: tls.maxVersion ?? undefined,
        }),
      };
      sdsContexts.set(tls, cached);
    }
    opts.secureContext = cached.context;
  } else {
    if (m.trustedCa !== null) opts.ca = m.trustedCa;
    if (m.certificate !== null) {
      opts.cert = m.certificate.certificateChain;
      opts.key = m.certificate.privateKey;
    }
  }
  if (tls.alpnProtocols.length > 0) opts.ALPNProtocols = [...tls.alpnProtocols];
  else if (defaultAlpn.length > 0) opts.ALPNProtocols = [...defaultAlpn];
  if (tls.minVersion !== null) opts.minVersion = tls.minVersion;
  if (tls.maxVersion !== null) opts.maxVersion = tls.maxVersion;
  return opts;
}

/** upstreamTlsConnection that throws the UpstreamFailure (for callers inside a try that reports it). */
export function upstreamTlsOrThrow(tls: UpstreamTlsConfig, host: Host, defaultAlpn: readonly string[] = []): ConnectionOptions {
  const r = upstreamTlsConnection(tls, host, defaultAlpn);
  if (r instanceof UpstreamFailure) throw r;
  return r;
}

/**
 * Connection options that never throw: when an SDS secret is missing, the handshake is made to fail with that reason
 * (it needs the server to answer first; pools use upstreamTlsConnection to fail before connecting).
 */
export function upstreamTlsOptions(tls: UpstreamTlsConfig, host: Host, defaultAlpn: readonly string[] = []): ConnectionOptions {
  const r = upstreamTlsConnection(tls, host, defaultAlpn);
  if (!(r instanceof UpstreamFailure)) return r;
  return { host: host.address, port: host.port, rejectUnauthorized: true, checkServerIdentity: () => r };
}

/**
 * undici's `connect` option for an HTTP/1 pool: static options when the cluster has no SDS secrets; with SDS, a
 * connector rebuilt whenever a secret changes, so new connections use the new certificate and open ones live on.
 */
export function upstreamConnector(tls: UpstreamTlsConfig, host: Host, defaultAlpn: readonly string[], timeoutMs: number): buildConnector.BuildOptions | buildConnector.connector {
  if (!tls.sds) return { timeout: timeoutMs, ...upstreamTlsOptions(tls, host, defaultAlpn) } as buildConnector.BuildOptions;
  let current: { context: SecureContext | undefined; connect: buildConnector.connector } | null = null;
  return (options, callback) => {
    const r = upstreamTlsConnection(tls, host, defaultAlpn);
    if (r instanceof UpstreamFailure) { callback(r, null); return; }
    if (current === null || current.context !== r.secureContext) {
      current = { context: r.secureContext, connect: buildConnector({ timeout: timeoutMs, ...r } as buildConnector.BuildOptions) };
    }
    current.connect(options, callback);
  };
}
