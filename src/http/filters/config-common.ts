// Field tables and compilers for the small Envoy types the HTTP filters share: FractionalPercent, RuntimeFractionalPercent, HttpStatus.
import type { Msg, MessageTable } from '../../model/proto-message.ts';
import type { FractionalPercent } from '../../policy/fractional-percent.ts';

export const FRACTIONAL_PERCENT: MessageTable = {
  message: 'envoy.type.v3.FractionalPercent',
  fields: { numerator: 'ok', denominator: 'ok' },
};

export const RUNTIME_FRACTIONAL_PERCENT: MessageTable = {
  message: 'envoy.config.core.v3.RuntimeFractionalPercent',
  // There is no runtime layer: the key is accepted and default_value always applies.
  fields: { default_value: 'ok', runtime_key: 'ignore' },
};

export const HTTP_STATUS: MessageTable = {
  message: 'envoy.type.v3.HttpStatus',
  fields: { code: 'ok' },
};

/** A message without fields (HeaderDelay, HeaderAbort: their presence is the setting). */
export function emptyMessage(message: string): MessageTable {
  return { message, fields: {} };
}

const DENOMINATORS = ['HUNDRED', 'TEN_THOUSAND', 'MILLION'] as const;
const DENOMINATOR_VALUE = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;

/** A FractionalPercent in `parent.<name>`; `def` when absent (Envoy: an unset percentage is 0 %). */
export function compileFractionalPercent(parent: Msg, name: string, def: FractionalPercent): FractionalPercent {
  const m = parent.msg(name, FRACTIONAL_PERCENT);
  if (!m) return def;
  const numerator = m.uint('numerator', 0);
  const denominator = DENOMINATOR_VALUE[m.enumOf('denominator', DENOMINATORS, 'HUNDRED')];
  if (numerator > denominator) m.ctx.warn(m.at('numerator'), `${numerator} is above the denominator (${denominator}): applies to every request`);
  return { numerator, denominator };
}

/** A RuntimeFractionalPercent in `parent.<name>` (its default_value), or `def` when absent. */
export function compileRuntimeFractionalPercent(parent: Msg, name: string, def: FractionalPercent): FractionalPercent {
  const m = parent.msg(name, RUNTIME_FRACTIONAL_PERCENT);
  if (!m) return def;
  if (!m.has('default_value')) {
    m.error('default_value', 'is required');
    return def;
  }
  return compileFractionalPercent(m, 'default_value', def);
}

/** envoy.type.v3.StatusCode names → numbers (proto3 JSON accepts either). */
const STATUS_CODES: Readonly<Record<string, number>> = {
  Continue: 100, OK: 200, Created: 201, Accepted: 202, NonAuthoritativeInformation: 203, NoContent: 204,
  ResetContent: 205, PartialContent: 206, MultiStatus: 207, AlreadyReported: 208, IMUsed: 226,
  MultipleChoices: 300, MovedPermanently: 301, Found: 302, SeeOther: 303, NotModified: 304, UseProxy: 305,
  TemporaryRedirect: 307, PermanentRedirect: 308, BadRequest: 400, Unauthorized: 401, PaymentRequired: 402,
  Forbidden: 403, NotFound: 404, MethodNotAllowed: 405, NotAcceptable: 406, ProxyAuthenticationRequired: 407,
  RequestTimeout: 408, Conflict: 409, Gone: 410, LengthRequired: 411, PreconditionFailed: 412,
  PayloadTooLarge: 413, URITooLong: 414, UnsupportedMediaType: 415, RangeNotSatisfiable: 416,
  ExpectationFailed: 417, MisdirectedRequest: 421, UnprocessableEntity: 422, Locked: 423, FailedDependency: 424,
  UpgradeRequired: 426, PreconditionRequired: 428, TooManyRequests: 429, RequestHeaderFieldsTooLarge: 431,
  InternalServerError: 500, NotImplemented: 501, BadGateway: 502, ServiceUnavailable: 503, GatewayTimeout: 504,
  HTTPVersionNotSupported: 505, VariantAlsoNegotiates: 506, InsufficientStorage: 507, LoopDetected: 508,
  NotExtended: 510, NetworkAuthenticationRequired: 511,
};
const KNOWN_CODES = new Set(Object.values(STATUS_CODES));

/** An HttpStatus in `parent.<name>` as a number, or `def` when absent. */
export function compileHttpStatus(parent: Msg, name: string, def: number): number {
  const m = parent.msg(name, HTTP_STATUS);
  if (!m) return def;
  const v = m.get('code');
  if (v === undefined) {
    m.error('code', 'is required');
    return def;
  }
  if (typeof v === 'string' && !/^\d+$/.test(v)) {
    const hit = Object.keys(STATUS_CODES).find((k) => k.toLowerCase() === v.toLowerCase());
    if (hit !== undefined) return STATUS_CODES[hit];
    m.error('code', `unknown status code ${JSON.stringify(v)} (expected an envoy.type.v3.StatusCode name such as TooManyRequests, or a number)`);
    return def;
  }
  const n = m.uint('code', def, 100, 599);
  if (!KNOWN_CODES.has(n)) m.error('code', `${n} is not an envoy.type.v3.StatusCode value`);
  return n;
}
