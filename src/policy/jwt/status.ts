// The outcomes of JWT verification, with Envoy's status texts (bodies of 401/403 replies and response code details).

/** Envoy's jwt_verify Status values that Pilotfish produces, by name. */
const JWT_STATUS = {
  Ok: 'OK',
  JwtMissed: 'Jwt is missing',
  JwtNotYetValid: 'Jwt not yet valid',
  JwtExpired: 'Jwt is expired',
  JwtBadFormat: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
  JwtHeaderParseErrorBadBase64: 'Jwt header is an invalid Base64url encoded',
  JwtHeaderParseErrorBadJson: 'Jwt header is an invalid JSON',
  JwtHeaderBadAlg: 'Jwt header [alg] field is required and must be a string',
  JwtHeaderNotImplementedAlg: 'Jwt header [alg] is not supported',
  JwtHeaderBadKid: 'Jwt header [kid] field is not a string',
  JwtPayloadParseErrorBadBase64: 'Jwt payload is an invalid Base64url encoded',
  JwtPayloadParseErrorBadJson: 'Jwt payload is an invalid JSON',
  JwtPayloadParseErrorIssNotString: 'Jwt payload [iss] field is not a string',
  JwtPayloadParseErrorSubNotString: 'Jwt payload [sub] field is not a string',
  JwtPayloadParseErrorIatNotInteger: 'Jwt payload [iat] field is not an integer',
  JwtPayloadParseErrorNbfNotInteger: 'Jwt payload [nbf] field is not an integer',
  JwtPayloadParseErrorExpNotInteger: 'Jwt payload [exp] field is not an integer',
  JwtPayloadParseErrorAudNotString: 'Jwt payload [aud] field is not a string or string list',
  JwtSignatureParseErrorBadBase64: 'Jwt signature is an invalid Base64url encoded',
  JwtUnknownIssuer: 'Jwt issuer is not configured',
  JwtAudienceNotAllowed: 'Audiences in Jwt are not allowed',
  JwtVerificationFail: 'Jwt verification fails',
  JwksParseError: 'Jwks is an invalid JSON',
  JwksNoKeys: 'Jwks does not have [keys] field',
  JwksBadKeys: '[keys] in Jwks is not an array',
  JwksNoValidKeys: "Jwks doesn't have any valid public key",
  JwksKidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
  JwksFetchFail: 'Jwks remote fetch is failed',
  // Pilotfish's own (Envoy has no status text for these checks).
  JwtTooLarge: 'Jwt is too large',
  JwtSubjectNotAllowed: 'Jwt subject is not allowed',
  JwtExpirationRequired: 'Jwt has no [exp] but the provider requires one',
  JwtLifetimeTooLong: 'Jwt lifetime is longer than the provider allows',
} as const;

export type JwtStatus = keyof typeof JWT_STATUS;

/** The text of a status ("Jwt is expired"). */
export function statusText(s: JwtStatus): string {
  return JWT_STATUS[s];
}

/** Envoy's %RESPONSE_CODE_DETAILS% for a refusal: jwt_authn_access_denied{Jwt_is_expired}. */
export function statusDetails(s: JwtStatus): string {
  return `jwt_authn_access_denied{${JWT_STATUS[s].replace(/\s/g, '_')}}`;
}

/**
 * Every verification failure is 401 with WWW-Authenticate, a wrong audience included: issue 9 asks for 401 there,
 * where Envoy answers 403 (JwtAudienceNotAllowed). The body and details keep Envoy's text.
 */
export function statusHttpCode(_s: JwtStatus): number {
  return 401;
}
