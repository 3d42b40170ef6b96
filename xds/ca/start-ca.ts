// Starts the control plane's certificate authority: the root, the credential check, the gRPC service, and its status and admin actions.
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { MeshModel } from '../input/types.ts';
import { CertificateAuthority, DEFAULT_CA_DIR, type AuthorityOptions } from './authority.ts';
import { CaError } from './ca-error.ts';
import { certificateServiceDefinition, certificateServiceHandlers } from './ca-service.ts';
import type { Authenticator } from './credentials.ts';
import type { WorkloadIdentity } from './spiffe.ts';
import { TokenFileAuthenticator } from './token-file.ts';
import { TokenReviewAuthenticator } from './token-review.ts';

export const TOKEN_FILE_NAME = 'tokens.yaml';

export interface CaOptions extends Omit<AuthorityOptions, 'logger'> {
  /** Local credentials (default <dir>/tokens.yaml, written when missing with a token per input Service); unused with `kubernetes`. */
  readonly tokenFile?: string;
  /** Check tokens with the Kubernetes TokenReview API instead of a token file. */
  readonly kubernetes?: { apiServer: string; tokenFile?: string; caFile?: string; audiences?: readonly string[] };
}

export interface RunningCa {
  readonly authority: CertificateAuthority;
  readonly authenticator: Authenticator;
  readonly definition: grpc.ServiceDefinition;
  /** Handlers for the plaintext port (tokens from loopback peers only). */
  readonly handlers: grpc.UntypedServiceImplementation;
  /** Handlers for the TLS port (--secure-xds-address): tokens from anywhere. */
  readonly tlsHandlers: grpc.UntypedServiceImplementation;
  /** GET /debug/certs. */
  status(): unknown;
  /** POST /debug/ca/<action>: rotate-root[?stage=true], activate-root[?fingerprint=], remove-root?fingerprint=. Null for an unknown action. */
  action(name: string, params: URLSearchParams): Promise<{ code: number; body: unknown }> | null;
}

/** One identity per Service of the inputs: the Service's namespace, and its name as the service account. */
function seedIdentities(model: MeshModel | null): WorkloadIdentity[] {
  if (!model) return [];
  return [...model.services.values()].filter((s) => !s.synthetic).map((s) => ({ namespace: s.namespace, serviceAccount: s.name }));
}

const HTTP_CODES: Record<string, number> = { INVALID_ARGUMENT: 400, FAILED_PRECONDITION: 409 };

export async function startCa(opts: CaOptions, model: MeshModel | null, logger: Logger): Promise<RunningCa> {
  const authority = await CertificateAuthority.open({ ...opts, logger });
  const authenticator: Authenticator = opts.kubernetes
    ? new TokenReviewAuthenticator({ ...opts.kubernetes, logger })
    : TokenFileAuthenticator.open(opts.tokenFile ?? path.join(opts.dir ?? DEFAULT_CA_DIR, TOKEN_FILE_NAME), logger, seedIdentities(model));
  const credentials = authenticator instanceof TokenFileAuthenticator
    ? { kind: authenticator.kind, file: authenticator.file }
    : { kind: authenticator.kind, apiServer: (authenticator as TokenReviewAuthenticator).url.origin };
  logger.info({ trustDomain: authority.trustDomain, mode: authority.mode, maxTtlSeconds: authority.maxTtlSeconds, ...credentials }, 'CA: ready');

  const run = async (f: () => unknown): Promise<{ code: number; body: unknown }> => {
    try {
      return { code: 200, body: { result: await f(), roots: authority.roots() } };
    } catch (err) {
      if (err instanceof CaError) return { code: HTTP_CODES[err.code] ?? 500, body: { error: err.message } };
      throw err;
    }
  };
  return {
    authority,
    authenticator,
    definition: await certificateServiceDefinition(),
    handlers: certificateServiceHandlers(authority, authenticator, logger, 'plaintext'),
    tlsHandlers: certificateServiceHandlers(authority, authenticator, logger, 'tls'),
    status: () => ({ ...(authority.status() as object), credentials }),
    action: (name, params) => {
      const fingerprint = params.get('fingerprint') ?? undefined;
      switch (name) {
        case 'rotate-root':
          return run(() => authority.rotateRoot({ activate: !['1', 'true'].includes(params.get('stage') ?? '') }));
        case 'activate-root':
          return run(() => authority.activateRoot(fingerprint));
        case 'remove-root':
          return run(() => {
            if (!fingerprint) throw new CaError('INVALID_ARGUMENT', 'remove-root needs ?fingerprint=');
            return authority.removeRoot(fingerprint);
          });
        default:
          return null;
      }
    },
  };
}
