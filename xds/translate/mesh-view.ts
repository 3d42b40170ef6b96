// The mesh as translation sees it: the compiled input plus endpoints that connected sidecars announce, indexed for lookups.
import type { AnyRoute, MeshModel, MtlsMode, Service, ServicePort, TrafficPolicy } from '../input/types.ts';
import { key } from '../input/types.ts';
import type { NodeIdentity } from './node.ts';
import { outboundClusterName, portProtocol } from './names.ts';
import { DEFAULT_TRUST_DOMAIN } from '../ca/spiffe.ts';

/** An endpoint a connected node announced for its own service. */
export interface Announcement {
  readonly nodeId: string;
  readonly service: string;
  readonly namespace: string;
  readonly address: string;
  /** The workload's service account (as its identity agent asks for it: metadata serviceAccount, else service). */
  readonly serviceAccount: string;
  /** Port name -> [app port, port other sidecars should dial (inbound listener port, else app port)]. */
  readonly ports: Readonly<Record<string, readonly [number, number]>>;
  /** The workload's traffic is captured (interception "iptables"): its sidecar answers on the app ports themselves. */
  readonly captured?: boolean;
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** Mesh-wide mTLS settings: on only when a certificate authority issues workload certificates. */
export interface MeshSecurity {
  /** SPIFFE trust domain of the CA (`--trust-domain`). */
  readonly trustDomain: string;
  /** Mode of workloads without TrafficPolicy.mtls (`--mtls-mode`, default PERMISSIVE). */
  readonly defaultMode: MtlsMode;
}

/** Where a captured workload's calls to destinations outside the registry go (Istio's meshConfig.outboundTrafficPolicy.mode). */
export type OutboundTrafficPolicy = 'ALLOW_ANY' | 'REGISTRY_ONLY';
export const OUTBOUND_TRAFFIC_POLICIES: readonly OutboundTrafficPolicy[] = ['ALLOW_ANY', 'REGISTRY_ONLY'];

/** Who serves a cluster: SPIFFE IDs of its sidecar endpoints (announced with an inbound listener) and how many endpoints have no sidecar. */
export interface ClusterPeers {
  readonly identities: readonly string[];
  readonly sidecars: number;
  readonly plain: number;
}

export function spiffeUri(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** What a node announces (null when it names no service or no ports). */
export function announcementOf(n: NodeIdentity): Announcement | null {
  if (n.service === null || n.gateway !== null) return null;
  const names = Object.keys(n.ports);
  if (names.length === 0) return null;
  const ports: Record<string, readonly [number, number]> = {};
  const captured = n.interception === 'iptables';
  names.forEach((name, i) => {
    const inbound = captured ? undefined : n.inboundPorts[name] ?? (i === 0 ? n.inboundPorts['*'] : undefined);
    ports[name] = [n.ports[name], inbound ?? n.ports[name]];
  });
  const a = { nodeId: n.id, service: n.service, namespace: n.namespace, address: n.address, serviceAccount: n.serviceAccount ?? n.service, ports };
  return captured ? { ...a, captured } : a;
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

/**
 * Matches an announced port to a service port: by name, else the app port equal to the port's numeric targetPort, else
 * the only port of a single-port service.
 */
function announcedPort(a: Announcement, svc: Service, sp: ServicePort): number | undefined {
  const byName = a.ports[sp.name];
  if (byName) return byName[1];
  const entries = Object.values(a.ports);
  const target = typeof sp.targetPort === 'number' ? sp.targetPort : undefined;
  const byNumber = target === undefined ? undefined : entries.find(([app]) => app === target);
  if (byNumber) return byNumber[1];
  if (svc.ports.length === 1 && entries.length === 1) return entries[0][1];
  return undefined;
}

/** True when `port` is one of the announced app ports (no inbound listener in front of it). */
function isAppPort(a: Announcement, port: number): boolean {
  if (a.captured) return false;
  return Object.values(a.ports).some(([app, dial]) => dial === port && app === port);
}

export class MeshView {
  readonly model: MeshModel;
  readonly services = new Map<string, Service>();
  /** Endpoints by outbound cluster name. */
  readonly endpoints = new Map<string, Endpoint[]>();
  /** Sidecar identities and plain endpoint counts by outbound cluster name. */
  readonly peers = new Map<string, ClusterPeers>();
  /** mTLS settings, or null when the mesh runs plaintext (no CA). */
  readonly security: MeshSecurity | null;
  /** Routes whose parentRefs name the Service (east-west), by service key. */
  readonly meshRoutes = new Map<string, AnyRoute[]>();
  /** Routes whose parentRefs name the Gateway (north-south), by gateway key. */
  readonly gatewayRoutes = new Map<string, AnyRoute[]>();
  /** Captured workloads' traffic to unknown destinations: ALLOW_ANY (passthrough, default) or REGISTRY_ONLY (refused). */
  readonly outboundTrafficPolicy: OutboundTrafficPolicy;
  /** Announcements of captured workloads (their sidecars answer on every port of their address), by node id. */
  readonly capturedWorkloads: readonly Announcement[];
  /** Service ports (of Service documents, not synthesized ones) by endpoint `address:port`. */
  private readonly portsAt = new Map<string, { svc: Service; sp: ServicePort }[]>();

  constructor(model: MeshModel, announcements: Iterable<Announcement>, security: MeshSecurity | null = null, outboundTrafficPolicy: OutboundTrafficPolicy = 'ALLOW_ANY') {
    this.model = model;
    this.security = security;
    this.outboundTrafficPolicy = outboundTrafficPolicy;
    for (const [k, s] of model.services) this.services.set(k, s);
    const anns = [...announcements].sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    this.capturedWorkloads = anns.filter((a) => a.captured === true);
    // A captured workload's sidecar answers at <its address>:<each app port>, whatever the ports are called and whichever
    // Service selects the pod (a Helm release's app label is not the Service's name; unnamed container ports are
    // announced as port-<n>): an endpoint there is a sidecar endpoint.
    const capturedAt = new Map<string, Announcement[]>();
    for (const a of this.capturedWorkloads) {
      for (const [app] of Object.values(a.ports)) {
        const at = `${a.address}:${app}`;
        const list = capturedAt.get(at) ?? [];
        if (!list.includes(a)) list.push(a);
        capturedAt.set(at, list);
      }
    }
    const identity = (a: Announcement): string => spiffeUri(security?.trustDomain ?? DEFAULT_TRUST_DOMAIN, a.namespace, a.serviceAccount);
    for (const a of anns) {
      const k = key(a.namespace, a.service);
      if (!this.services.has(k)) this.services.set(k, synthesize(a));
    }
    for (const [k, svc] of [...this.services].sort((x, y) => x[0].localeCompare(y[0]))) {
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
        const ids = new Set<string>();
        const sidecarEndpoints = new Set<string>();
        for (const a of anns) {
          if (key(a.namespace, a.service) !== k) continue;
          const port = announcedPort(a, svc, sp);
          if (port === undefined) continue;
          add(a.address, port);
          if (!isAppPort(a, port)) {
            sidecarEndpoints.add(`${a.address}:${port}`);
            ids.add(identity(a));
          }
        }
        for (const e of list) {
          const id = `${e.address}:${e.port}`;
          for (const a of capturedAt.get(id) ?? []) {
            sidecarEndpoints.add(id);
            ids.add(identity(a));
          }
          if (svc.synthetic) continue;
          const at = this.portsAt.get(id);
          if (at) at.push({ svc, sp });
          else this.portsAt.set(id, [{ svc, sp }]);
        }
        const name = outboundClusterName(svc, sp.port);
        this.endpoints.set(name, list);
        const sidecars = list.filter((e) => sidecarEndpoints.has(`${e.address}:${e.port}`)).length;
        this.peers.set(name, { identities: [...ids].sort(), sidecars, plain: list.length - sidecars });
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

  /** The Service ports (from Service documents, in key order) that have an endpoint at address:port. */
  servicePortsAt(address: string, port: number): readonly { svc: Service; sp: ServicePort }[] {
    return this.portsAt.get(`${address}:${port}`) ?? [];
  }

  policy(svcKey: string): TrafficPolicy | undefined {
    return this.model.policies.get(svcKey);
  }

  /**
   * The mTLS mode of a service port: TrafficPolicy `mtls.ports[<port or name>]`, else `mtls.mode`, else the mesh default;
   * null when the mesh has no mTLS (no CA).
   */
  mtlsMode(svcKey: string, sp: Pick<ServicePort, 'port' | 'name'> | null): MtlsMode | null {
    if (!this.security) return null;
    const m = this.policy(svcKey)?.mtls;
    const byPort = sp ? (m?.ports[String(sp.port)] ?? m?.ports[sp.name]) : undefined;
    return byPort ?? m?.mode ?? this.security.defaultMode;
  }

  /** The service port a backendRef/authority selects: the given port, or the only port. */
  servicePort(svcKey: string, port: number | null): { svc: Service; port: ServicePort } | undefined {
    const svc = this.services.get(svcKey);
    if (!svc) return undefined;
    const sp = port === null ? (svc.ports.length === 1 ? svc.ports[0] : undefined) : svc.ports.find((p) => p.port === port);
    return sp ? { svc, port: sp } : undefined;
  }
}
