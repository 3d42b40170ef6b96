// The control plane's HTTP status endpoint: /debug/syncz (per-sidecar sync, like istioctl proxy-status), /debug/config, /debug/certs and /ready.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StatusSources {
  /** Every connection, or only those of node `node` (with full subscription lists). */
  syncz(node: string | null): unknown;
  config(): unknown;
  ready(): boolean;
  /** GET /debug/certs: the certificate authority's roots and issued certificates (absent: no CA). */
  certs?(): unknown;
  /** POST /debug/ca/<action> (loopback callers only); null for an unknown action. */
  caAction?(action: string, params: URLSearchParams): Promise<{ code: number; body: unknown }> | null;
}

export interface StatusServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Splits "host:port" or "[v6]:port". */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid address "${address}" (expected host:port)`);
  return { host: m[1], port: Number(m[2]) };
}

function send(res: http.ServerResponse, code: number, body: unknown): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(code, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

/** Runs a CA admin action for a loopback caller that is not a browser page (no Origin): 403 otherwise, 404 for an unknown action. */
function caAction(req: http.IncomingMessage, res: http.ServerResponse, url: URL, run: NonNullable<StatusSources['caAction']>): void {
  const from = req.socket.remoteAddress ?? '';
  if (!/^(127\.|::1$|::ffff:127\.)/.test(from) || req.headers.origin !== undefined) return send(res, 403, 'CA actions are accepted from loopback only, not from browser pages\n');
  const p = run(url.pathname.slice('/debug/ca/'.length), url.searchParams);
  if (!p) return send(res, 404, 'not found\n');
  p.then((r) => send(res, r.code, r.body), (err: unknown) => send(res, 500, `${(err as Error).message}\n`));
}

export async function startStatusServer(address: string, sources: StatusSources): Promise<StatusServer> {
  const { host, port } = splitHostPort(address);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://status');
    if (req.method === 'POST' && url.pathname.startsWith('/debug/ca/') && sources.caAction) return caAction(req, res, url, sources.caAction);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    try {
      switch (url.pathname) {
        case '/debug/syncz':
          return send(res, 200, sources.syncz(url.searchParams.get('node')));
        case '/debug/config':
          return send(res, 200, sources.config());
        case '/debug/certs':
          return sources.certs ? send(res, 200, sources.certs()) : send(res, 404, 'the certificate authority is not running\n');
        case '/ready':
          return sources.ready() ? send(res, 200, 'ready\n') : send(res, 503, 'not ready\n');
        case '/':
          return send(res, 200, 'pilotfish control plane\n  /debug/syncz  connected sidecars and their ACK/NACK state per type (?node=ID)\n  /debug/config input status, compile errors, version\n  /debug/certs  CA roots and issued certificates\n  /ready\n');
        default:
          return send(res, 404, 'not found\n');
      }
    } catch (err) {
      return send(res, 500, `${(err as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
