// The gRPC pilotfish.ca.v1.CertificateService (ca.proto): authenticates the caller, signs its CSR, and logs every refusal with its reason.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Logger } from 'pino';
import type { CertificateAuthority } from './authority.ts';
import { CaError } from './ca-error.ts';
import { bearerToken, type Authenticator } from './credentials.ts';
import { formatSpiffeId, type WorkloadIdentity } from './spiffe.ts';

export const CA_PROTO_PATH = path.join(import.meta.dirname, 'ca.proto');
export const CA_SERVICE_NAME = 'pilotfish.ca.v1.CertificateService';

export interface CreateCertificateRequest {
  csr: string;
  validity_duration: number;
}

export interface CreateCertificateResponse {
  cert_chain: string[];
  trust_bundle: string[];
}

/** Loads ca.proto (keepCase, int64 as JS numbers) and returns the service definition for grpc.Server.addService. */
export async function certificateServiceDefinition(): Promise<grpc.ServiceDefinition> {
  const def = await protoLoader.load(CA_PROTO_PATH, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { pilotfish: { ca: { v1: { CertificateService: grpc.ServiceClientConstructor } } } };
  return pkg.pilotfish.ca.v1.CertificateService.service;
}

/** The CreateCertificate handler: UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT, UNAVAILABLE or a chain + trust bundle. */
/** True when a gRPC peer ("127.0.0.1:5000", "[::1]:5000", "[::ffff:127.0.0.1]:5000", "unix:…") is this host's loopback. */
export function isLoopbackPeer(peer: string): boolean {
  if (peer.startsWith('unix:')) return true;
  const host = peer.replace(/^ipv[46]:/, '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
  return host === '::1' || host === 'localhost' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The CreateCertificate handler: UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT, UNAVAILABLE or a chain + trust bundle.
 * `transport` says how the call arrived: on the plaintext port a token is only accepted from loopback (it would
 * otherwise have crossed the network in clear); the TLS port (--secure-xds-address) accepts it from anywhere.
 */
export function certificateServiceHandlers(
  ca: CertificateAuthority, auth: Authenticator, logger: Logger, transport: 'plaintext' | 'tls' = 'plaintext',
): grpc.UntypedServiceImplementation {
  const handle = async (call: grpc.ServerUnaryCall<CreateCertificateRequest, CreateCertificateResponse>, callback: grpc.sendUnaryData<CreateCertificateResponse>) => {
    const peer = call.getPeer();
    let granted: WorkloadIdentity | null = null;
    try {
      if (transport === 'plaintext' && !isLoopbackPeer(peer)) {
        throw new CaError('UNAUTHENTICATED', 'certificate requests over plaintext are accepted from loopback only; use the control plane\'s TLS port (--secure-xds-address, 15012 in a cluster) with its root certificate');
      }
      granted = await auth.authenticate(bearerToken(call.metadata.get('authorization')));
      const r = ca.sign({ csr: call.request.csr, validitySeconds: Number(call.request.validity_duration ?? 0), expect: granted, peer });
      logger.info({ peer, identity: r.record.identity, serial: r.record.serial, notAfter: r.record.notAfter, root: r.record.root }, 'CA: certificate issued');
      callback(null, { cert_chain: r.chain, trust_bundle: r.trustBundle });
    } catch (err) {
      if (err instanceof CaError) {
        const credential = granted ? formatSpiffeId(ca.trustDomain, granted) : null;
        logger.warn({ peer, code: err.code, credential, auth: auth.kind }, `CA: certificate refused (${err.code}): ${err.message}`);
        callback({ code: grpc.status[err.code], details: err.message });
      } else {
        logger.error({ peer, err }, 'CA: signing failed');
        callback({ code: grpc.status.INTERNAL, details: 'the certificate authority failed; see its log' });
      }
    }
  };
  return { CreateCertificate: (call: grpc.ServerUnaryCall<CreateCertificateRequest, CreateCertificateResponse>, cb: grpc.sendUnaryData<CreateCertificateResponse>) => void handle(call, cb) };
}
