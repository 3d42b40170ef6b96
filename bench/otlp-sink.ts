// An OTLP/HTTP sink for the tracing bench rows: accepts POST /v1/traces, answers an empty ExportTraceServiceResponse, counts bytes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpSink {
  /** "http://127.0.0.1:PORT/v1/traces". */
  readonly url: string;
  /** Export requests and body bytes received since the last reset(). */
  stats(): { requests: number; bytes: number };
  reset(): void;
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  let bytes = 0;
  const server = http.createServer((req, res) => {
    req.on('data', (c: Buffer) => { bytes += c.length; });
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    stats: () => ({ requests, bytes }),
    reset: () => { requests = 0; bytes = 0; },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
