// Our own request/response types: what the connection manager, filters and router see of a downstream request.
import type { Duplex, Readable } from 'node:stream';
import type { PeerCertificateInfo } from '../listener/client-cert.ts';
import type { HeaderRecord } from '../upstream/pool/http-pool.ts';

export type { HeaderRecord };
export type HttpProtocol = 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2';

/** Facts about the downstream connection a request arrived on. */
export interface DownstreamConnectionInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** True when original_dst restored localAddress/localPort to the original destination (ORIGINAL_DST clusters use it). */
  readonly localAddressRestored?: boolean;
  readonly tls: boolean;
  /** SNI the client asked for, when TLS. */
  readonly serverName: string | null;
  /** Peer certificate URI SANs (SPIFFE IDs) when mTLS. */
  readonly peerUriSans: readonly string[];
  /** The verified client certificate (mTLS), for x-forwarded-client-cert; absent or null without one. */
  readonly peerCertificate?: PeerCertificateInfo | null;
  /** URI SANs of the certificate this proxy presented on the connection (XFCC By). */
  readonly localUriSans?: readonly string[];
}

export interface RequestHead {
  method: string;
  scheme: 'http' | 'https';
  /** Host header / :authority, as sent. */
  authority: string;
  /** Path with query, as sent (rewrites produce a new value on the upstream request, not here). */
  path: string;
  /** Lower-case names; no pseudo headers; hop-by-hop headers already removed. */
  headers: HeaderRecord;
  protocol: HttpProtocol;
}

/** One request/response exchange with a downstream client, independent of the codec. */
export interface DownstreamExchange {
  readonly head: RequestHead;
  /** Request body stream, or null when the request has no body. */
  readonly body: Readable | null;
  readonly connection: DownstreamConnectionInfo;
  /** Set when the request asks for a protocol upgrade (HTTP/1.1 Upgrade: websocket). */
  readonly upgrade: { readonly type: string; readonly socket: Duplex; readonly head: Buffer } | null;
  /** True once response headers were sent (a failure after that can only reset the stream). */
  readonly headersSent: boolean;
  sendHeaders(status: number, headers: HeaderRecord, endStream: boolean): void;
  /** Returns false when the client is slow; wait for onDrain. */
  write(chunk: Buffer): boolean;
  onDrain(cb: () => void): void;
  end(trailers: HeaderRecord | null): void;
  /** Abort the response (HTTP/1: close the connection; HTTP/2: RST_STREAM). */
  reset(): void;
  /** Called once if the client goes away before the response ended. */
  onAbort(cb: () => void): void;
  /** Bytes of response body sent so far (request body bytes are counted where the body is consumed). */
  bytesSent(): number;
}
