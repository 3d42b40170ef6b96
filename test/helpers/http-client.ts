// Small HTTP/1.1 client calls for end-to-end tests: one request on a fresh connection, with a deadline, body fully read.
import http from 'node:http';

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  httpVersion: string;
}

export interface SimpleRequest {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  timeoutMs?: number;
  /** Bind the client side of the connection to this local address (e.g. "127.0.0.2"). */
  localAddress?: string;
}

/** Sends one request on its own connection (no keep-alive pool) and reads the whole response. */
export function send(url: string, req: SimpleRequest = {}): Promise<SimpleResponse> {
  const timeoutMs = req.timeoutMs ?? 15_000;
  return new Promise<SimpleResponse>((resolve, reject) => {
    const u = new URL(url);
    const cr = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: req.method ?? 'GET',
        headers: req.headers,
        agent: false,
        localAddress: req.localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8'), httpVersion: res.httpVersion });
        });
      },
    );
    const timer = setTimeout(() => {
      cr.destroy(new Error(`${req.method ?? 'GET'} ${url}: no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    cr.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    cr.end(req.body);
  });
}

/** GET/POST returning the parsed JSON body; fails with the status and body text when it is not JSON. */
export async function sendJson<T = Record<string, unknown>>(url: string, req: SimpleRequest = {}): Promise<{ res: SimpleResponse; json: T }> {
  const res = await send(url, req);
  try {
    return { res, json: JSON.parse(res.text) as T };
  } catch {
    throw new Error(`expected JSON from ${url}, got ${res.status}: ${res.text.slice(0, 300)}`);
  }
}

/** A unique id for correlating a request with its access-log line (sent as x-test-id). */
let seq = 0;
export function testId(label: string): string {
  seq += 1;
  return `${label}-${process.pid}-${seq}`;
}
