// Applies forward_client_cert_details to a request's x-forwarded-client-cert header, formatted the way Envoy writes it.
import type { ForwardClientCertConfig } from '../model/types.ts';
import type { DownstreamConnectionInfo, HeaderRecord } from './exchange.ts';

const XFCC = 'x-forwarded-client-cert';
type Details = ForwardClientCertConfig['details'];
const NONE: readonly never[] = [];

/** Each connection's element (its client certificate does not change), for the details list it was built with. */
const elements = new WeakMap<DownstreamConnectionInfo, { readonly details: Details; readonly element: string }>();

/** The element of a connection with a client certificate, built on its first request (a Cert PEM costs microseconds). */
function connectionElement(conn: DownstreamConnectionInfo, details: Details): string | null {
  const peer = conn.peerCertificate;
  if (!conn.tls || !peer) return null;
  const cached = elements.get(conn);
  if (cached !== undefined && cached.details === details) return cached.element;
  const element = xfccElement(peer, conn.localUriSans ?? NONE, details);
  elements.set(conn, { details, element });
  return element;
}

/** The element this proxy adds for the connection's client: By=<our URI SAN>;Hash=<sha256>;… */
function xfccElement(peer: NonNullable<DownstreamConnectionInfo['peerCertificate']>, localUriSans: readonly string[], details: Details): string {
  const parts: string[] = [];
  for (const uri of localUriSans) parts.push(`By=${uri}`);
  parts.push(`Hash=${peer.sha256}`);
  for (const d of details) {
    switch (d) {
      case 'Subject': parts.push(`Subject="${peer.subject}"`); break;
      case 'URI':
        if (peer.uriSans.length === 0) parts.push('URI=');
        else for (const uri of peer.uriSans) parts.push(`URI=${uri}`);
        break;
      case 'Cert': parts.push(`Cert="${encodeURIComponent(peer.pem())}"`); break;
      case 'Chain': parts.push(`Chain="${encodeURIComponent(peer.chainPem())}"`); break;
      case 'DNS': for (const dns of peer.dnsSans) parts.push(`DNS=${dns}`); break;
    }
  }
  return parts.join(';');
}

/**
 * Envoy's mutateXfccRequestHeader: ALWAYS_FORWARD_ONLY passes the header on; SANITIZE (the default) and any
 * connection without a client certificate remove it; FORWARD_ONLY passes it on; APPEND_FORWARD appends our element;
 * SANITIZE_SET replaces the header with it.
 */
export function applyXfcc(headers: HeaderRecord, conn: DownstreamConnectionInfo, cfg: ForwardClientCertConfig | undefined): void {
  const mode = cfg?.mode ?? 'SANITIZE';
  if (mode === 'ALWAYS_FORWARD_ONLY') return;
  const element = mode === 'SANITIZE' ? null : connectionElement(conn, cfg?.details ?? NONE);
  if (element === null) { delete headers[XFCC]; return; }
  if (mode === 'FORWARD_ONLY') return;
  const existing = headers[XFCC];
  const previous = Array.isArray(existing) ? existing.join(',') : existing;
  headers[XFCC] = mode === 'APPEND_FORWARD' && previous ? `${previous},${element}` : element;
}
