// Naming conventions shared by translation and lookup: cluster, listener and route names, service hostnames and port protocols.
import type { Service, ServicePort } from '../input/types.ts';

export const CLUSTER_DOMAIN = 'svc.cluster.local';
export const OUTBOUND_LISTENER = 'outbound';
export const OUTBOUND_ROUTE = 'outbound';

export function fqdn(name: string, namespace: string): string {
  return `${name}.${namespace}.${CLUSTER_DOMAIN}`;
}

/** `outbound|<port>||<svc>.<ns>.svc.cluster.local` (Istio's convention). */
export function outboundClusterName(svc: { name: string; namespace: string }, port: number): string {
  return `outbound|${port}||${fqdn(svc.name, svc.namespace)}`;
}

/** Splits an outbound cluster name back into service key ("ns/name") and port, or null. */
export function parseOutboundClusterName(name: string): { key: string; port: number } | null {
  const m = /^outbound\|(\d+)\|\|([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(name);
  return m ? { key: `${m[3]}/${m[2]}`, port: Number(m[1]) } : null;
}

export function inboundListenerName(port: number): string {
  return `inbound|${port}`;
}

export function inboundClusterName(port: number, service: string): string {
  return `inbound|${port}|${service}`;
}

export function gatewayListenerName(port: number): string {
  return `gateway|${port}`;
}

export function gatewayRouteName(gwKey: string, port: number, listener: string | null): string {
  return listener === null ? `gateway|${gwKey}|${port}` : `gateway|${gwKey}|${port}|${listener}`;
}

export type PortProtocol = 'http' | 'http2' | 'tcp';

const H2 = ['grpc', 'grpc-web', 'http2', 'h2c', 'kubernetes.io/h2c'];
const TCP = ['tcp', 'tls', 'https', 'mongo', 'mysql', 'redis', 'kubernetes.io/wss', 'kubernetes.io/ws'];

/** How to speak to a port: from appProtocol, else from the name prefix ("grpc-web", "http2-api"), else HTTP/1.1. */
export function portProtocol(p: Pick<ServicePort, 'name' | 'appProtocol' | 'protocol'>): PortProtocol {
  if (p.protocol !== 'TCP') return 'tcp';
  const ap = p.appProtocol?.toLowerCase();
  if (ap) {
    if (H2.includes(ap)) return 'http2';
    if (TCP.includes(ap)) return 'tcp';
    return 'http';
  }
  const prefix = p.name.toLowerCase().split('-')[0];
  if (H2.includes(prefix)) return 'http2';
  if (TCP.includes(prefix)) return 'tcp';
  return 'http';
}

/** The port bare hostnames ("orders", "orders.default") resolve to: the first HTTP-ish port, else the first port. */
export function defaultPort(svc: Service): ServicePort | undefined {
  return svc.ports.find((p) => portProtocol(p) !== 'tcp') ?? svc.ports[0];
}

/** Hostnames a service answers to from `fromNamespace`: FQDN, "svc.ns", "svc.ns.svc", and "svc" from its own namespace. */
export function serviceHosts(svc: { name: string; namespace: string }, fromNamespace: string): string[] {
  const hosts = [fqdn(svc.name, svc.namespace), `${svc.name}.${svc.namespace}.svc`, `${svc.name}.${svc.namespace}`];
  if (svc.namespace === fromNamespace) hosts.push(svc.name);
  return hosts;
}

/** Resolves "host[:port]" as written in an `xds:///` target or Host header to a service key and optional port. */
export function parseServiceAuthority(authority: string, defaultNamespace: string): { key: string; port: number | null } | null {
  const m = /^([a-z0-9.-]+?)(?::(\d+))?$/.exec(authority);
  if (!m) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  const labels = m[1].split('.');
  let name: string;
  let ns: string;
  if (labels.length === 1) [name, ns] = [labels[0], defaultNamespace];
  else if (labels.length === 2 || (labels.length === 3 && labels[2] === 'svc') || (labels.length === 5 && labels.slice(2).join('.') === CLUSTER_DOMAIN)) {
    [name, ns] = [labels[0], labels[1]];
  } else return null;
  return { key: `${ns}/${name}`, port };
}
