// Rewrites an app container's HTTP and TCP probes to the sidecar's app-probe port and records the originals (Istio's ISTIO_KUBE_APP_PROBERS shape).
import { PORTS } from './names.ts';

export type ProbeKind = 'livenessProbe' | 'readinessProbe' | 'startupProbe';
export const PROBE_KINDS: readonly ProbeKind[] = ['livenessProbe', 'readinessProbe', 'startupProbe'];
const SUFFIX: Record<ProbeKind, string> = { livenessProbe: 'livez', readinessProbe: 'readyz', startupProbe: 'startupz' };

/** One original probe as the app-probe server runs it. */
export interface AppProber {
  httpGet?: { path?: string; port: number; scheme?: string; host?: string; httpHeaders?: { name: string; value: string }[] };
  tcpSocket?: { port: number; host?: string };
  timeoutSeconds?: number;
}

/** path (/app-health/<container>/<livez|readyz|startupz>) → original probe. */
export type AppProbers = Record<string, AppProber>;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function appProbePath(container: string, kind: ProbeKind): string {
  return `/app-health/${container}/${SUFFIX[kind]}`;
}

/** A probe port (number or the name of one of the container's ports) as a number; null when it names no port. */
function resolvePort(port: unknown, container: Obj): number | null {
  if (typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536) return port;
  if (typeof port === 'string') {
    if (/^\d+$/.test(port)) return resolvePort(Number(port), container);
    const ports = Array.isArray(container.ports) ? container.ports : [];
    for (const p of ports) if (isObj(p) && p.name === port && typeof p.containerPort === 'number') return p.containerPort;
  }
  return null;
}

export interface RewrittenProbe {
  readonly kind: ProbeKind;
  /** The original handler: httpGet is replaced in place; tcpSocket is removed and an httpGet added. */
  readonly handler: 'httpGet' | 'tcpSocket';
  /** The new httpGet handler. */
  readonly httpGet: { path: string; port: number; scheme: 'HTTP' };
  readonly path: string;
  readonly original: AppProber;
}

/**
 * The container's httpGet / tcpSocket probes rewritten to GET :15020/app-health/<container>/<kind>; other probes
 * (exec, grpc), probes on a port name the container does not declare, and probes already aimed at the sidecar stay.
 */
export function rewriteProbes(container: Obj): RewrittenProbe[] {
  const name = String(container.name);
  const out: RewrittenProbe[] = [];
  for (const kind of PROBE_KINDS) {
    const probe = container[kind];
    if (!isObj(probe)) continue;
    const { httpGet, tcpSocket, timeoutSeconds } = probe;
    let original: AppProber;
    if (isObj(httpGet)) {
      const port = resolvePort(httpGet.port, container);
      if (port === null || port === PORTS.appProbes) continue;
      original = { httpGet: { path: typeof httpGet.path === 'string' ? httpGet.path : '/', port, scheme: typeof httpGet.scheme === 'string' ? httpGet.scheme : 'HTTP' } };
      if (typeof httpGet.host === 'string' && httpGet.host !== '') original.httpGet!.host = httpGet.host;
      if (Array.isArray(httpGet.httpHeaders) && httpGet.httpHeaders.length > 0) {
        original.httpGet!.httpHeaders = httpGet.httpHeaders.filter(isObj).map((h) => ({ name: String(h.name), value: String(h.value ?? '') }));
      }
    } else if (isObj(tcpSocket)) {
      const port = resolvePort(tcpSocket.port, container);
      if (port === null) continue;
      original = { tcpSocket: { port } };
      if (typeof tcpSocket.host === 'string' && tcpSocket.host !== '') original.tcpSocket!.host = tcpSocket.host;
    } else {
      continue;
    }
    if (typeof timeoutSeconds === 'number') original.timeoutSeconds = timeoutSeconds;
    const path = appProbePath(name, kind);
    out.push({ kind, path, original, handler: isObj(httpGet) ? 'httpGet' : 'tcpSocket', httpGet: { path, port: PORTS.appProbes, scheme: 'HTTP' } });
  }
  return out;
}
