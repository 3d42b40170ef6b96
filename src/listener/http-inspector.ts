// Envoy's http_inspector on a connection's first bytes: an HTTP/1.x request line → "http/1.0"/"http/1.1", the HTTP/2 preface → "h2c".
import { H2_PREFACE } from '../http/codec/http2-codec.ts';

export type HttpProtocolGuess = 'http/1.0' | 'http/1.1' | 'h2c';
const HTTP_11 = Buffer.from('HTTP/1.1', 'latin1');
const HTTP_10 = Buffer.from('HTTP/1.0', 'latin1');
/** Envoy inspects at most this many bytes; a request line not complete by then is not HTTP. */
export const MAX_INSPECT_BYTES = 8192;

/** RFC 9110 tchar (token characters a method consists of). */
function isTchar(c: number): boolean {
  if (c >= 0x30 && c <= 0x39) return true; // 0-9
  if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) return true; // a-z A-Z
  return c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d || c === 0x2e || c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e;
}

/**
 * The HTTP protocol the bytes start with; null when they are not HTTP; undefined when more bytes are needed to tell.
 */
export function detectHttp(buf: Buffer): HttpProtocolGuess | null | undefined {
  if (buf.length === 0) return undefined;
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (buf.compare(H2_PREFACE, 0, n, 0, n) === 0) return buf.length >= H2_PREFACE.length ? 'h2c' : undefined;
  const end = Math.min(buf.length, MAX_INSPECT_BYTES);
  // Method: one or more tchars, then a space.
  let i = 0;
  while (i < end && isTchar(buf[i])) i++;
  if (i === end) return end >= MAX_INSPECT_BYTES ? null : undefined;
  if (i === 0 || buf[i] !== 0x20) return null;
  const lf = buf.indexOf(0x0a, i);
  if (lf < 0 || lf >= end) return end >= MAX_INSPECT_BYTES ? null : undefined;
  const lineEnd = lf > 0 && buf[lf - 1] === 0x0d ? lf - 1 : lf;
  // "METHOD SP request-target SP HTTP/1.x": exactly one more space, after a non-empty target; compared in place.
  const sp = buf.lastIndexOf(0x20, lineEnd - 1);
  if (sp <= i + 1 || buf.indexOf(0x20, i + 1) !== sp) return null;
  if (buf.compare(HTTP_11, 0, HTTP_11.length, sp + 1, lineEnd) === 0) return 'http/1.1';
  if (buf.compare(HTTP_10, 0, HTTP_10.length, sp + 1, lineEnd) === 0) return 'http/1.0';
  return null;
}
