// The sidecar-injection admission webhook: HTTPS POST /inject with an AdmissionReview, answered by reviewAdmission.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { InjectOptions } from '../../src/inject/templates.ts';
import { splitHostPort } from '../status.ts';
import { BadReview, reviewAdmission } from './admission.ts';
import type { ServingCert } from './serving-cert.ts';

/** Kubernetes caps admission requests at 3 MiB; a little more for the envelope. */
const MAX_BODY = 4 * 1024 * 1024;

export interface WebhookServer {
  readonly port: number;
  readonly cert: ServingCert;
  close(): Promise<void>;
}

function reply(res: import('node:http').ServerResponse, code: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json' });
  res.end(text);
}

/** `opts` may be a function: read for every review (the lifecycle mode can change once the cluster's version is known). */
export async function startWebhookServer(address: string, cert: ServingCert, opts: InjectOptions | (() => InjectOptions), logger: Logger): Promise<WebhookServer> {
  const { host, port } = splitHostPort(address);
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem, minVersion: 'TLSv1.2' }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://webhook');
    if (req.method === 'GET' && (url.pathname === '/ready' || url.pathname === '/healthz')) return reply(res, 200, 'ready\n');
    if (url.pathname !== '/inject') return reply(res, 404, 'not found (POST /inject)\n');
    if (req.method !== 'POST') return reply(res, 405, 'POST an AdmissionReview to /inject\n');
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) tooBig = true;
      else chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (tooBig) return reply(res, 413, `AdmissionReview larger than ${MAX_BODY} bytes\n`);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        logger.warn({ from: req.socket.remoteAddress }, `webhook: malformed AdmissionReview: ${(err as Error).message}`);
        return reply(res, 400, `malformed AdmissionReview: not JSON (${(err as Error).message})\n`);
      }
      try {
        const r = reviewAdmission(body, typeof opts === 'function' ? opts() : opts);
        logger.info({ uid: r.review.response.uid, warnings: r.review.response.warnings }, `webhook: ${r.summary}`);
        return reply(res, 200, r.review);
      } catch (err) {
        if (err instanceof BadReview) {
          logger.warn({ from: req.socket.remoteAddress }, `webhook: ${err.message}`);
          return reply(res, 400, `malformed AdmissionReview: ${err.message}\n`);
        }
        logger.error({ err }, 'webhook: injection failed');
        return reply(res, 500, `injection failed: ${(err as Error).message}\n`);
      }
    });
  });
  server.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'webhook: TLS handshake failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    cert,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
