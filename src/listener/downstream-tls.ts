// Terminates downstream TLS for a filter chain (DownstreamTlsContext): secure context per secret version, ALPN, client certs, handshake timeout.
import { createHash } from 'node:crypto';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { DownstreamTlsConfig } from '../model/types.ts';
import { certificateInfo } from '../secrets/cert-info.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import { resolveTlsMaterial, type TlsMaterial } from '../secrets/tls-material.ts';
import { describeHandshakeError, peerCertificateInfo, refuseClientCertificate, type PeerCertificateInfo } from './client-cert.ts';

export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** What a finished handshake tells the connection: the verified peer and our own identity. */
export interface TlsPeer {
  /** URI SANs (SPIFFE IDs) of the verified client certificate; [] without one. */
  readonly peerUriSans: readonly string[];
  readonly peerCertificate: PeerCertificateInfo | null;
  /** URI SANs of the certificate we presented (XFCC By). */
  readonly localUriSans: readonly string[];
}

interface ContextVersion {
  readonly key: string;
  readonly context: tls.SecureContext;
  readonly material: TlsMaterial;
  readonly localUriSans: readonly string[];
}

export class DownstreamTls {
  readonly #config: DownstreamTlsConfig;
  readonly #alpn: string[];
  readonly #secrets: SecretStore | null;
  #current: ContextVersion | null = null;
  readonly handshakeTimeoutMs: number;

  constructor(config: DownstreamTlsConfig, defaultAlpn: readonly string[], secrets: SecretStore | null = null) {
    this.#config = config;
    this.#secrets = secrets;
    this.#alpn = (config.alpnProtocols.length > 0 ? config.alpnProtocols : defaultAlpn).slice();
    this.handshakeTimeoutMs = config.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    // Without SDS the context is built now, so a bad certificate fails the config apply as before.
    if (!config.sds) this.#context();
  }

  /** The context for a new handshake: rebuilt when a secret it uses changed (connections already open keep theirs). */
  #context(): ContextVersion | string {
    const c = this.#config;
    // Inline/file certificates never change for this config: no per-handshake resolution once built.
    if (!c.sds && this.#current !== null) return this.#current;
    const r = resolveTlsMaterial({
      certificate: c.certificates[0] ?? null, trustedCa: c.trustedCa, sans: c.subjectAltNameMatchers ?? [], sds: c.sds,
    }, this.#secrets);
    if (!r.ok) return r.reason;
    if (this.#current?.key === r.material.key) return this.#current;
    const m = r.material;
    const context = tls.createSecureContext({
      cert: m.certificate?.certificateChain,
      key: m.certificate?.privateKey,
      ca: m.trustedCa ?? undefined,
      minVersion: c.minVersion ?? 'TLSv1.2',
      maxVersion: c.maxVersion ?? 'TLSv1.3',
      // Without it OpenSSL refuses to resume a session on a server that asks for client certificates
      // (ERR_SSL_SESSION_ID_CONTEXT_UNINITIALIZED): every reconnect of a pooled mTLS client would fail. One id per
      // certificate + trust material, so sessions never cross to a context with other trust.
      sessionIdContext: createHash('sha256').update(m.key).update(m.trustedCa ?? '').update(m.certificate?.certificateChain ?? '').digest('hex').slice(0, 32),
    });
    let localUriSans: readonly string[] = [];
    try { if (m.certificate) localUriSans = certificateInfo(m.certificate.certificateChain).uriSans; } catch { /* unreadable: no By */ }
    this.#current = { key: m.key, context, material: m, localUriSans };
    return this.#current;
  }

  /**
   * Starts the handshake on `raw`; calls `onSecure` with the TLS socket once the client is accepted, or destroys the
   * connection and calls `onFailure` with the reason (`benign` for a client that simply went away).
   */
  terminate(raw: Duplex, onSecure: (socket: tls.TLSSocket, peer: TlsPeer) => void, onFailure: (reason: string, benign: boolean) => void): void {
    let version: ContextVersion | string;
    try { version = this.#context(); } catch (err) { version = `cannot build the TLS context: ${(err as Error).message}`; }
    if (typeof version === 'string') { onFailure(version, false); raw.destroy(); return; }
    const { context, material, localUriSans } = version;
    const required = this.#config.requireClientCertificate;
    const verify = material.trustedCa !== null || required;
    const socket = new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: context,
      ALPNProtocols: this.#alpn,
      requestCert: verify,
      rejectUnauthorized: required,
    });
    let settled = false;
    const fail = (reason: string, benign = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      onFailure(reason, benign);
      socket.destroy();
      raw.destroy();
    };
    const timer = setTimeout(() => fail(`TLS handshake timeout after ${this.handshakeTimeoutMs} ms`), this.handshakeTimeoutMs);
    timer.unref();
    socket.once('secure', () => {
      if (settled) return;
      const refusal = verify ? refuseClientCertificate(socket, required, material.sans) : null;
      if (refusal !== null) { fail(refusal); return; }
      settled = true;
      clearTimeout(timer);
      const x509 = verify ? socket.getPeerX509Certificate() : undefined;
      const peerCertificate = x509 ? peerCertificateInfo(socket, x509) : null;
      if (peerCertificate) socket.authorized = true;
      // A server-side TLSSocket made outside tls.Server still says secureConnecting; http2 would wait for it forever.
      (socket as unknown as { secureConnecting: boolean }).secureConnecting = false;
      onSecure(socket, { peerUriSans: peerCertificate?.uriSans ?? [], peerCertificate, localUriSans });
    });
    socket.on('error', (err) => {
      if (!settled) fail(describeHandshakeError(err), (err as NodeJS.ErrnoException).code === 'ECONNRESET');
      socket.destroy();
      raw.destroy();
    });
    socket.once('close', () => fail('connection closed during the TLS handshake', true));
  }
}
