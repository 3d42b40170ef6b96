// A refusal by the certificate authority, carrying the gRPC status name it maps to and the reason that is logged and returned.

export type CaErrorCode = 'UNAUTHENTICATED' | 'PERMISSION_DENIED' | 'INVALID_ARGUMENT' | 'UNAVAILABLE' | 'FAILED_PRECONDITION';

export class CaError extends Error {
  readonly code: CaErrorCode;

  constructor(code: CaErrorCode, message: string) {
    super(message);
    this.name = 'CaError';
    this.code = code;
  }
}
