// Why an upstream attempt failed, as one error class with a stable kind the router and error-response map read.

export type UpstreamFailureKind =
  | 'connect_failure' // could not connect (refused, unreachable, TLS handshake failed)
  | 'connect_timeout' // connect_timeout elapsed
  | 'reset_before_headers' // connection closed/reset before response headers
  | 'reset_after_headers' // connection closed/reset while streaming the response
  | 'protocol_error' // upstream spoke invalid HTTP
  | 'refused_stream' // HTTP/2 REFUSED_STREAM
  | 'overflow' // circuit breaker (max connections / pending / requests)
  | 'per_try_timeout'; // per_try_timeout elapsed

export class UpstreamFailure extends Error {
  readonly kind: UpstreamFailureKind;
  /** Low-level detail for response_code_details, e.g. "ECONNREFUSED". */
  readonly detail: string;
  constructor(kind: UpstreamFailureKind, detail: string, cause?: unknown) {
    super(`${kind}: ${detail}`, cause === undefined ? undefined : { cause });
    this.name = 'UpstreamFailure';
    this.kind = kind;
    this.detail = detail;
  }
}

/** Classifies a socket/undici/http2 error raised before or after response headers. */
export function classifyUpstreamError(err: unknown, headersReceived: boolean): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  const e = err as { code?: string; message?: string } | null;
  const code = e?.code ?? 'UNKNOWN';
  const msg = e?.message ?? String(err);
  if (!headersReceived) {
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return new UpstreamFailure('connect_timeout', code, err);
    if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENOTFOUND' ||
        code === 'EADDRNOTAVAIL' || code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code.startsWith('ERR_SSL') ||
        code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'CERT_HAS_EXPIRED' ||
        code === 'SELF_SIGNED_CERT_IN_CHAIN' || code === 'UPSTREAM_SAN_MISMATCH') {
      return new UpstreamFailure('connect_failure', code, err);
    }
    if (code === 'HPE_INVALID_CONSTANT' || code.startsWith('HPE_') || code === 'UND_ERR_INFO' ||
        code === 'ERR_HTTP2_PROTOCOL_ERROR' || code === 'ERR_HTTP2_ERROR' || /protocol|parse/i.test(msg) && code !== 'ECONNRESET') {
      return new UpstreamFailure('protocol_error', code, err);
    }
    if (code === 'ERR_HTTP2_STREAM_ERROR' && /REFUSED_STREAM/.test(msg)) return new UpstreamFailure('refused_stream', code, err);
    return new UpstreamFailure('reset_before_headers', code, err);
  }
  return new UpstreamFailure('reset_after_headers', code, err);
}
