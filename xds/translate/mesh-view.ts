// The mesh as translation sees it: the compiled input plus endpoints that connected sidecars announce, indexed for lookups.
import type { AnyRoute, MeshModel, Service, ServicePort, TrafficPolicy } from '../input/types.ts';
import { key } from '../input/types.ts';
import type { NodeIdentity } from './node.ts';
import { outboundClusterName, portProtocol } from './names.ts';

/** An endpoint a connected node announced for its own service. */
export interface Announcement {
  readonly nodeId: string;
  readonly service: string;
  readonly namespace: string;
  readonly address: string;
  /** Port name -> [app port, port other sidecars should dial (inbound listener port, else app port)]. */
  readonly ports: Readonly<Record<string, readonly [number, number]>>;
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** What a node announces (null when it names no service or no ports). */
export function announcementOf(n: NodeIdentity): Announcement | null {
  if (n.service === null || n.gateway !== null) return null;
  const names = Object.keys(n.ports);
  if (names.length === 0) return null;
  const ports: Record<string, readonly [number, number]> = {};
  names.forEach((name, i) => {
    const inbound = n.inboundPorts[name] ?? (i === 0 ? n.inboundPorts['*'] : undefined);
    ports[name] = [n.ports[name], inbound ?? n.ports[name]];
  });
  return { nodeId: n.id, service: n.service, namespace: n.namespace, address: n.address, ports };
}

function synthesize(a: Announcement): Service {
  return {
    name: a.service,
    namespace: a.namespace,
    ports: Object.entries(a.ports).map(([name, [app]]) => ({
      name, port: app, targetPort: app, protocol: 'TCP' as const,
      appProtocol: portProtocol({ name, appProtocol: null, protocol: 'TCP' }) === 'http2' ? 'grpc' : null,
    })),
    selector: {},
    src: { file: `(announced by node ${a.nodeId})`, doc: 0 },
    synthetic: true,
  };
}

/** Matches an announced port to a service port: by name, or the only port of a single-port service. */
function announcedPort(a: Announcement, svc: Service, sp: ServicePort): number | undefined {
  const byName = a.ports[sp.name];
  if (byName) return byName[1];
  const entries = Object.values(a.ports);
  if (svc.ports.length === 1 && entries.length === 1) return entries[0][1];
  return undefined;
}

export class MeshView {
  readonly model: MeshModel;
  readonly services = new Map<string, Service>();
  /** Endpoints by outbound cluster name. */
  readonly endpoints = new Map<string, Endpoint[]>();
  /** Routes whose parentRefs name the Service (east-west), by service key. */
  readonly meshRoutes = new Map<string, AnyRoute[]>();
  /** Routes whose parentRefs name the Gateway (north-south), by gateway key. */
  readonly gatewayRoutes = new Map<string, AnyRoute[]>();

  constructor(model: MeshModel, announcements: Iterable<Announcement>) {
    this.model = model;
    for (const [k, s] of model.services) this.services.set(k, s);
    const anns = [...announcements].sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    for (const a of anns) {
      const k = key(a.namespace, a.service);
      if (!this.services.has(k)) this.services.set(k, synthesize(a));
    }
    for (const [k, svc] of this.services) {
      for (const sp of svc.ports) {
        const seen = new Set<string>();
        const list: Endpoint[] = [];
        const add = (address: string, port: number) => {
          const id = `${address}:${port}`;
          if (seen.has(id)) return;
          seen.add(id);
          list.push({ address, port });
        };
        for (const slice of model.endpointSlices.get(k) ?? []) {
          const p = slice.ports.find((x) => x.name === sp.name);
          if (!p) continue;
          for (const e of slice.endpoints) if (e.ready) for (const addr of e.addresses) add(addr, p.port);
        }
        for (const a of anns) {
          if (key(a.namespace, a.service) !== k) continue;
          const port = announcedPort(a, svc, sp);
          if (port !== undefined) add(a.address, port);
        }
        this.endpoints.set(outboundClusterName(svc, sp.port), list);
      }
    }
    for (const r of model.routes) {
      for (const p of r.parentRefs) {
        const target = p.kind === 'Service' ? this.meshRoutes : this.gatewayRoutes;
        const k = key(p.namespace, p.name);
        const list = target.get(k) ?? [];
        if (!list.includes(r)) list.push(r);
        target.set(k, list);
      }
    }
  }

  policy(svcKey: string): TrafficPolicy | undefined {
    return this.model.policies.get(svcKey);
  }

  /** The service port a backendRef/authority selects: the given port, or the only port. */
  servicePort(svcKey: string, port: number | null): { svc: Service; port: ServicePort } | undefined {
    const svc = this.services.get(svcKey);
    if (!svc) return undefined;
    const sp = port === null ? (svc.ports.length === 1 ? svc.ports[0] : undefined) : svc.ports.find((p) => p.port === port);
    return sp ? { svc, port: sp } : undefined;
  }
}
