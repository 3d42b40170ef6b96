// Test builders for mesh mTLS: Istio-shaped SDS TLS contexts, sidecar identity flags, and a TLS client that reports its local port.
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { DOWNSTREAM_TLS_TYPE } from '../helpers/bootstrap.ts';
import type { TestCa } from './ca-server.ts';
import { makeLeaf, type Issuer, type Leaf } from './pki.ts';

export const UPSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

/** Istio's sds_config: the local agent (here: the identity agent in the sidecar process). */
export const SDS_LOCAL = {
  api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] },
  resource_api_version: 'V3',
};

export function spiffe(sa: string, ns = 'default', td = 'cluster.local'): string {
  return `spiffe://${td}/ns/${ns}/sa/${sa}`;
}

/** CommonTlsContext with the workload certificate "default" and trust bundle "ROOTCA" from SDS, plus SAN matchers. */
export function meshTlsContext(sanMatchers: object[] = [], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: SDS_LOCAL }],
    combined_validation_context: {
      default_validation_context: sanMatchers.length > 0 ? { match_typed_subject_alt_names: sanMatchers } : {},
      validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: SDS_LOCAL },
    },
    ...extra,
  };
}

export function uriMatcher(m: Record<string, string>): object {
  return { san_type: 'URI', matcher: m };
}

/** Filter-chain fields of a STRICT inbound listener: mTLS required, peers from the trust domain, a handshake timeout. */
export function strictInbound(handshakeTimeout = '10s', trustDomain = 'cluster.local'): Record<string, unknown> {
  return {
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': DOWNSTREAM_TLS_TYPE,
        require_client_certificate: true,
        common_tls_context: meshTlsContext([uriMatcher({ prefix: `spiffe://${trustDomain}/` })]),
      },
    },
    transport_socket_connect_timeout: handshakeTimeout,
  };
}

/** A cluster transport_socket originating mTLS that accepts only these SPIFFE IDs. */
export function meshUpstream(allowed: readonly string[]): Record<string, unknown> {
  return {
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: { '@type': UPSTREAM_TLS_TYPE, common_tls_context: meshTlsContext(allowed.map((exact) => uriMatcher({ exact }))) },
    },
  };
}

/** Node block naming the workload (node metadata pilotfish.{namespace, serviceAccount}). */
export function meshNode(sa: string, ns = 'default'): object {
  return { id: `${sa}-sidecar`, cluster: sa, metadata: { pilotfish: { namespace: ns, serviceAccount: sa } } };
}

/** A token file for `sa` and the sidecar flags that point the identity agent at the test CA. */
export function identityArgs(ca: TestCa, token: string, validitySeconds = 3600): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-token-'));
  const file = path.join(dir, 'token');
  fs.writeFileSync(file, token);
  return ['--ca-address', ca.address, '--identity-token-file', file, '--cert-validity-s', String(validitySeconds)];
}

export interface ClientCert {
  readonly cert: string;
  readonly key: string;
}

export type TlsGetResult =
  | { readonly ok: true; readonly status: number; readonly body: string; readonly localPort: number }
  | { readonly ok: false; readonly error: string; readonly localPort: number };

/** One HTTPS GET over mTLS (no hostname check: mesh certificates carry SPIFFE IDs); never rejects. */
export function tlsGet(port: number, o: { ca: string; client?: ClientCert; path?: string; headers?: Record<string, string> }): Promise<TlsGetResult> {
  return new Promise((resolve) => {
    let localPort = 0;
    const req = https.request({
      host: '127.0.0.1', port, path: o.path ?? '/', agent: false, ca: o.ca, cert: o.client?.cert, key: o.client?.key,
      headers: o.headers, checkServerIdentity: () => undefined, timeout: 15_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), localPort }));
      res.on('error', (err) => resolve({ ok: false, error: err.message, localPort }));
    });
    req.on('socket', (s: net.Socket) => s.once('connect', () => { localPort = s.localPort ?? 0; }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ ok: false, error: `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim(), localPort }));
    req.end();
  });
}

/**
 * A TLS client that sends its ClientHello and then goes silent (its next flight is dropped): resolves with the local
 * port once connected, and `closed` once the server closes the connection.
 */
export function stallingClient(port: number): Promise<{ localPort: number; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const raw = net.connect(port, '127.0.0.1');
    let writes = 0;
    const wire = new Duplex({
      read() { raw.resume(); },
      write(chunk: Buffer, _enc, cb) { if (writes++ === 0) raw.write(chunk, cb); else cb(); },
      final(cb) { cb(); },
    });
    raw.on('data', (d: Buffer) => { if (!wire.push(d)) raw.pause(); });
    raw.on('end', () => wire.push(null));
    const closed = new Promise<void>((r) => raw.once('close', () => r()));
    raw.on('error', () => undefined);
    raw.once('connect', () => {
      const t = tls.connect({ socket: wire, rejectUnauthorized: false, servername: 'stall.test' });
      t.on('error', () => undefined);
      resolve({ localPort: raw.localPort ?? 0, closed });
    });
    raw.once('error', reject);
  });
}

/** One of a sidecar's JSON log lines (stderr), parsed; null when the line is not JSON. */
export function logLine(line: string): Record<string, unknown> | null {
  try { return JSON.parse(line) as Record<string, unknown>; } catch { return null; }
}

/** Client certificates for refusal tests: one valid mesh certificate and one of each bad kind. */
export function makeClientCerts(signer: Issuer, otherRoot: Issuer): Record<'valid' | 'expired' | 'notYetValid' | 'wrongCa' | 'selfSigned' | 'wrongTrustDomain', ClientCert> {
  const hour = 3600_000;
  const now = Date.now();
  const id = spiffe('frontend');
  const pair = (l: Leaf): ClientCert => ({ cert: l.chainPem, key: l.keyPem });
  return {
    valid: pair(makeLeaf({ uri: id, issuer: signer })),
    expired: pair(makeLeaf({ uri: id, issuer: signer, notBefore: new Date(now - 2 * hour), notAfter: new Date(now - hour) })),
    notYetValid: pair(makeLeaf({ uri: id, issuer: signer, notBefore: new Date(now + hour), notAfter: new Date(now + 2 * hour) })),
    wrongCa: pair(makeLeaf({ uri: id, issuer: otherRoot })),
    selfSigned: pair(makeLeaf({ uri: id })),
    wrongTrustDomain: pair(makeLeaf({ uri: 'spiffe://evil.local/ns/default/sa/frontend', issuer: signer })),
  };
}
