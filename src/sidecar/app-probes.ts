// The sidecar's app-probe port (15020): GET /app-health/<container>/<livez|readyz|startupz> runs the app's original probe on localhost.
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';

export const APP_PROBE_PORT = 15020;
/** Kubernetes' default probe timeout. */
const DEFAULT_TIMEOUT_S = 1;

interface HttpProber { httpGet: { path?: string; port: number; scheme?: string; host?: string; httpHeaders?: { name: string; value: string }[] }; timeoutSeconds?: number }
interface TcpProber { tcpSocket: { port: number; host?: string }; timeoutSeconds?: number }
type Prober = HttpProber | TcpProber;

export interface AppProbeServer {
  readonly port: number;
  /** The probe paths served. */
  readonly paths: readonly string[];
  close(): Promise<void>;
}

export interface AppProbeServerOptions {
  /** Listen port (default 15020; 0 for any). */
  readonly port?: number;
  /** Listen host (default 0.0.0.0: the kubelet probes the pod IP). */
  readonly host?: string;
  /** Where the app is reached when a probe names no host (default 127.0.0.1). */
  readonly appHost?: string;
}

const PATH = /^\/app-health\/[^/]+\/(livez|readyz|startupz)$/;

function validPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536;
}

/** Parses PILOTFISH_APP_PROBERS (Istio's ISTIO_KUBE_APP_PROBERS shape); throws naming the bad entry. */
export function parseAppProbers(text: string | undefined): Map<string, Prober> {
  const out = new Map<string, Prober>();
  if (text === undefined || text.trim() === '') return out;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`PILOTFISH_APP_PROBERS is not JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('PILOTFISH_APP_PROBERS must be a JSON object of path → probe');
  for (const [path, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!PATH.test(path)) throw new Error(`PILOTFISH_APP_PROBERS: "${path}" is not /app-health/<container>/livez|readyz|startupz`);
    out.set(path, checkProber(path, v));
  }
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One entry of PILOTFISH_APP_PROBERS, every field checked (it reaches node:http); throws naming the field. */
function checkProber(path: string, p: unknown): Prober {
  const bad = (field: string, want: string) => new Error(`PILOTFISH_APP_PROBERS: "${path}" ${field} must be ${want}`);
  const optString = (o: Record<string, unknown>, field: string, name: string): void => {
    if (o[field] !== undefined && typeof o[field] !== 'string') throw bad(`${name}.${field}`, 'a string');
  };
  if (!isRecord(p)) throw bad('', 'an object with httpGet or tcpSocket');
  if (p.timeoutSeconds !== undefined && !(typeof p.timeoutSeconds === 'number' && p.timeoutSeconds >= 0)) throw bad('timeoutSeconds', 'a number of seconds');
  const { httpGet, tcpSocket } = p;
  if (isRecord(httpGet) && validPort(httpGet.port)) {
    for (const f of ['path', 'scheme', 'host']) optString(httpGet, f, 'httpGet');
    const hs = httpGet.httpHeaders;
    if (hs !== undefined && !(Array.isArray(hs) && hs.every((h) => isRecord(h) && typeof h.name === 'string' && typeof h.value === 'string'))) {
      throw bad('httpGet.httpHeaders', 'a list of {name, value} strings');
    }
    return p as unknown as HttpProber;
  }
  if (isRecord(tcpSocket) && validPort(tcpSocket.port)) {
    optString(tcpSocket, 'host', 'tcpSocket');
    return p as unknown as TcpProber;
  }
  throw new Error(`PILOTFISH_APP_PROBERS: "${path}" needs httpGet.port or tcpSocket.port (1-65535)`);
}

function probeHttp(p: HttpProber, appHost: string): Promise<{ code: number; text: string }> {
  const g = p.httpGet;
  const secure = (g.scheme ?? 'HTTP').toUpperCase() === 'HTTPS';
  const headers: Record<string, string> = { 'user-agent': 'pilotfish-app-probe' };
  for (const h of g.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  const timeout = (p.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000;
  return new Promise((resolve) => {
    const req = (secure ? https : http).request({
      host: g.host || appHost, port: g.port, path: g.path?.startsWith('/') ? g.path : `/${g.path ?? ''}`, method: 'GET', headers, timeout,
      ...(secure ? { rejectUnauthorized: false } : {}), // the kubelet does not verify the app's certificate either
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ code: res.statusCode ?? 502, text: `app answered ${res.statusCode}\n` }));
      res.on('error', () => resolve({ code: 503, text: 'app response failed\n' }));
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeout} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ code: 503, text: `app probe failed: ${err.code ?? err.message}\n` }));
    req.end();
  });
}

function probeTcp(p: TcpProber, appHost: string): Promise<{ code: number; text: string }> {
  const timeout = (p.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000;
  return new Promise((resolve) => {
    const s = net.connect({ host: p.tcpSocket.host || appHost, port: p.tcpSocket.port, timeout });
    s.once('connect', () => { s.destroy(); resolve({ code: 200, text: 'port open\n' }); });
    s.once('timeout', () => { s.destroy(); resolve({ code: 503, text: `connect timed out after ${timeout} ms\n` }); });
    s.once('error', (err: NodeJS.ErrnoException) => resolve({ code: 503, text: `app probe failed: ${err.code ?? err.message}\n` }));
  });
}

/** Serves the app probes recorded in env.PILOTFISH_APP_PROBERS; throws when that variable is malformed. */
export async function startAppProbeServer(env: Record<string, string | undefined>, opts: AppProbeServerOptions = {}): Promise<AppProbeServer> {
  const probers = parseAppProbers(env.PILOTFISH_APP_PROBERS);
  const appHost = opts.appHost ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const prober = probers.get(path);
    const send = (code: number, text: string) => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(text);
    };
    if (!prober) return send(404, `no app probe at ${path}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'GET only\n');
    // A header value node:http refuses (e.g. a line break) must fail the probe, not the process.
    const run = new Promise<{ code: number; text: string }>((resolve) => resolve('httpGet' in prober ? probeHttp(prober, appHost) : probeTcp(prober, appHost)));
    void run.then((r) => send(r.code, r.text), (err: Error) => send(503, `app probe failed: ${err.message}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? APP_PROBE_PORT, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    paths: [...probers.keys()],
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
