// How the CA learns who is calling: an Authenticator turns the caller's bearer token into the workload identity it grants.
import type { WorkloadIdentity } from './spiffe.ts';
import { CaError } from './ca-error.ts';

export interface Authenticator {
  /** "token-file" (local) or "kubernetes" (TokenReview), for logs and status. */
  readonly kind: string;
  /** The identity the token grants; throws CaError UNAUTHENTICATED (bad token) or UNAVAILABLE (cannot check now). */
  authenticate(token: string): Promise<WorkloadIdentity>;
}

/** The token from an `authorization: Bearer <token>` value; throws CaError UNAUTHENTICATED when absent or malformed. */
export function bearerToken(values: readonly unknown[]): string {
  if (values.length === 0) throw new CaError('UNAUTHENTICATED', 'no credential: the authorization metadata is missing');
  if (values.length > 1) throw new CaError('UNAUTHENTICATED', 'more than one authorization metadata value');
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(String(values[0]));
  if (!m) throw new CaError('UNAUTHENTICATED', 'the authorization metadata is not "Bearer <token>"');
  return m[1];
}
