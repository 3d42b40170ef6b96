// HTTP/2 client calls for end-to-end tests: connect (h2c prior knowledge or TLS) and one request per stream, with deadlines.
import http2 from 'node:http2';
import { withTimeout } from './wait.ts';

export interface H2Response {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** Opens an HTTP/2 session: "http://..." is h2c with prior knowledge, "https://..." negotiates h2 with ALPN. */
export async function h2connect(authority: string, opts: http2.SecureClientSessionOptions = {}, timeoutMs = 10_000): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(authority, opts);
  session.on('error', () => undefined);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    }),
    timeoutMs,
    `HTTP/2 connect to ${authority}`,
  );
  return session;
}

/** One request on `session`; resolves once the whole response body arrived. */
export function h2request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: string | Buffer,
  timeoutMs = 15_000,
): Promise<H2Response> {
  const stream = session.request(headers, { endStream: body === undefined });
  const p = new Promise<H2Response>((resolve, reject) => {
    let respHeaders: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (respHeaders = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (!respHeaders) {
        reject(new Error(`stream ended without response headers (rstCode ${stream.rstCode})`));
        return;
      }
      const b = Buffer.concat(chunks);
      resolve({ status: Number(respHeaders[':status'] ?? 0), headers: respHeaders, body: b, text: b.toString('utf8') });
    });
    stream.on('error', reject);
    stream.on('close', () => {
      if (stream.rstCode && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) reject(new Error(`stream reset with code ${stream.rstCode}`));
    });
  });
  if (body !== undefined) stream.end(body);
  return withTimeout(p, timeoutMs, `HTTP/2 response to ${String(headers[':method'] ?? 'GET')} ${String(headers[':path'])}`).catch((err: unknown) => {
    stream.close(http2.constants.NGHTTP2_CANCEL);
    throw err;
  });
}
