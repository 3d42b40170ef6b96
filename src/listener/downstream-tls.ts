// Terminates downstream TLS for a filter chain (DownstreamTlsContext): secure context, ALPN, client certs, handshake timeout.
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { DownstreamTlsConfig } from '../model/types.ts';

export const HANDSHAKE_TIMEOUT_MS = 10_000;

export class DownstreamTls {
  readonly #config: DownstreamTlsConfig;
  readonly #context: tls.SecureContext;
  readonly #alpn: string[];

  constructor(config: DownstreamTlsConfig, defaultAlpn: readonly string[]) {
    this.#config = config;
    const first = config.certificates[0];
    this.#context = tls.createSecureContext({
      cert: first?.certificateChain,
      key: first?.privateKey,
      ca: config.trustedCa ?? undefined,
      minVersion: config.minVersion ?? 'TLSv1.2',
      maxVersion: config.maxVersion ?? 'TLSv1.3',
    });
    this.#alpn = (config.alpnProtocols.length > 0 ? config.alpnProtocols : defaultAlpn).slice();
  }

  /** Starts the handshake on `raw`; calls `onSecure` with the TLS socket, or destroys `raw` on failure/timeout. */
  terminate(raw: Duplex, onSecure: (socket: tls.TLSSocket) => void, onFailure: (reason: string) => void): void {
    const requestCert = this.#config.trustedCa !== null || this.#config.requireClientCertificate;
    const socket = new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: this.#context,
      ALPNProtocols: this.#alpn,
      requestCert,
      rejectUnauthorized: this.#config.requireClientCertificate,
    });
    const timer = setTimeout(() => { onFailure('handshake timeout'); socket.destroy(); raw.destroy(); }, HANDSHAKE_TIMEOUT_MS);
    timer.unref();
    socket.once('secure', () => {
      clearTimeout(timer);
      // A server-side TLSSocket made outside tls.Server still says secureConnecting; http2 would wait for it forever.
      (socket as unknown as { secureConnecting: boolean }).secureConnecting = false;
      onSecure(socket);
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (!socket.encrypted || socket.alpnProtocol === undefined) onFailure(err.message);
      socket.destroy();
      raw.destroy();
    });
  }
}

/** URI SANs (e.g. SPIFFE IDs) of the verified peer certificate. */
export function peerUriSans(socket: tls.TLSSocket): string[] {
  if (!socket.authorized) return [];
  const san = socket.getPeerCertificate()?.subjectaltname;
  if (!san) return [];
  return san.split(/,\s*/).filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
}
