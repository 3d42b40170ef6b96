// Per-generation translator: turns the MeshView into each node's resources (wildcard sets and by-name lookups), sharing work between nodes.
import type { Service, ServicePort } from '../input/types.ts';
import { key } from '../input/types.ts';
import { rbacFilters } from './authz.ts';
import type { AuthnClusters } from './authn.ts';
import { inboundAuthn } from './authn-scope.ts';
import { inboundCluster, loadAssignment, outboundCluster } from './clusters.ts';
import { gatewayResources, referencedClusters } from './gateway.ts';
import { apiListener, inboundListener, outboundListener, type InboundSecurity } from './listeners.ts';
import {
  captureProtocol, DEFAULT_CAPTURE_INBOUND_PORT, DEFAULT_CAPTURE_OUTBOUND_PORT, VIRTUAL_INBOUND, VIRTUAL_OUTBOUND, virtualInbound, virtualOutbound,
  type CapturedWorkload, type InboundPort, type OutboundTarget,
} from './capture.ts';
import { announcementOf, spiffeUri, type Announcement, type MeshView } from './mesh-view.ts';
import { defaultPort, fqdn, OUTBOUND_ROUTE, outboundClusterName, parseServiceAuthority, portProtocol, serviceHosts } from './names.ts';
import type { NodeIdentity } from './node.ts';
import { makeResource, type Resource, type ResourceType } from './resource.ts';
import { ResourceSet } from './resource-set.ts';
import { serviceRoutes } from './routes.ts';
import { meshSni, outboundTlsSocket } from './security.ts';
import { DEFAULT_TRUST_DOMAIN } from '../ca/spiffe.ts';
import type { Json } from './resource.ts';

/** One node's view of the mesh for one generation. */
export interface NodeSnapshot {
  /** Resources a wildcard subscription of this type gets. */
  wildcard(type: ResourceType): ResourceSet;
  /** A resource requested by name (may be outside the wildcard set, e.g. an api_listener or any cluster). */
  get(type: ResourceType, name: string): Resource | undefined;
}

/** Nodes with the same key see the same services (scopeServices) the same way: they share outbound routes and clusters. */
function scopeKey(node: NodeIdentity): string {
  return `${node.namespace}|${node.dependencies === null ? '*' : [...node.dependencies].sort().join(',')}|${node.proxyless}`;
}

function byName(list: Iterable<Resource>): Map<string, Resource> {
  const m = new Map<string, Resource>();
  for (const r of list) m.set(r.name, r);
  return m;
}

export class Translator {
  readonly view: MeshView;
  private readonly clusters = new Map<string, Resource>();
  /** Plaintext variants of the mTLS clusters, for proxyless gRPC clients (no identity agent). */
  private readonly plainClusters = new Map<string, Resource>();
  private readonly scopes = new Map<string, Scope & { rc: Map<string, Resource> }>();
  private readonly named = new Map<string, Resource | null>();
  private readonly gateways = new Map<string, Scope & { listeners: Map<string, Resource>; routes: Map<string, Resource> }>();
  private readonly clas = new Map<string, Resource>();
  /** virtualOutbound and its clusters, shared by captured nodes with the same scope, port and tracing. */
  private readonly captureOut = new Map<string, Resource[]>();
  private readonly inboundAuthnCache = new Map<string, { filters: Json[]; clusters: Map<string, Resource> }>();

  constructor(view: MeshView) {
    this.view = view;
    for (const [k, svc] of view.services) {
      for (const sp of svc.ports) {
        const tls = this.upstreamTls(k, svc, sp);
        const c = outboundCluster(svc, sp, view.policy(k), tls);
        this.clusters.set(c.name as string, makeResource('CDS', c.name as string, c));
        if (tls) {
          const plain = outboundCluster(svc, sp, view.policy(k));
          this.plainClusters.set(c.name as string, makeResource('CDS', c.name as string, plain));
        }
      }
    }
    for (const [name, eps] of view.endpoints) this.clas.set(name, makeResource('EDS', name, loadAssignment(name, eps)));
  }

  /**
   * mTLS to a service port when its mode is STRICT or PERMISSIVE and sidecars serve it (endpoints announced with an
   * inbound listener): the server must present one of their SPIFFE IDs. No sidecar endpoint, DISABLE, or no mTLS in the
   * mesh: plaintext. Sidecars mixed with plain endpoints: mTLS when STRICT (plaintext cannot reach those sidecars),
   * plaintext when PERMISSIVE (every endpoint accepts it).
   */
  private upstreamTls(svcKey: string, svc: Service, sp: ServicePort): Json | null {
    const mode = this.view.mtlsMode(svcKey, sp);
    if (mode === null || mode === 'DISABLE') return null;
    const peers = this.view.peers.get(outboundClusterName(svc, sp.port));
    if (!peers || peers.sidecars === 0 || (peers.plain > 0 && mode === 'PERMISSIVE')) return null;
    return outboundTlsSocket(meshSni(svc, sp.port), peers.identities);
  }

  cluster(name: string, proxyless = false): Resource | undefined {
    return (proxyless ? this.plainClusters.get(name) : undefined) ?? this.clusters.get(name);
  }

  cla(name: string): Resource | undefined {
    return this.clas.get(name);
  }

  /** Every outbound cluster / load assignment in the mesh (for diffing generations). */
  all(type: 'CDS' | 'EDS'): ReadonlyMap<string, Resource> {
    return type === 'CDS' ? this.clusters : this.clas;
  }

  private scoped(clusterNames: Iterable<string>, proxyless = false): { clusters: Map<string, Resource>; clas: Map<string, Resource> } {
    const clusters = new Map<string, Resource>();
    const clas = new Map<string, Resource>();
    for (const n of [...clusterNames].sort()) {
      const c = this.cluster(n, proxyless);
      if (c) clusters.set(n, c);
      const e = this.clas.get(n);
      if (e) clas.set(n, e);
    }
    return { clusters, clas };
  }

  /** Services a node may call: its `dependencies`, or every service. */
  private scopeServices(node: NodeIdentity): Service[] {
    const all = [...this.view.services.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    if (node.dependencies === null) return all.map(([, s]) => s);
    const want = node.dependencies.map((d) => (d === '*' ? '*/*' : d.includes('/') ? d : `${node.namespace}/${d}`));
    return all.filter(([k]) => want.some((w) => w === k || (w.endsWith('/*') && (w === '*/*' || k.startsWith(w.slice(0, -1)))))).map(([, s]) => s);
  }

  private scope(node: NodeIdentity): Scope & { rc: Map<string, Resource> } {
    const sk = scopeKey(node);
    let s = this.scopes.get(sk);
    if (s) return s;
    const vhosts: Record<string, unknown>[] = [];
    const clusterNames = new Set<string>();
    for (const svc of this.scopeServices(node)) {
      const hosts = serviceHosts(svc, node.namespace);
      const dflt = defaultPort(svc);
      for (const sp of svc.ports) {
        clusterNames.add(outboundClusterName(svc, sp.port));
        if (portProtocol(sp) === 'tcp') continue;
        const domains = hosts.map((h) => `${h}:${sp.port}`);
        if (sp === dflt) domains.unshift(...hosts);
        vhosts.push({ name: `${hosts[0]}:${sp.port}`, domains, routes: serviceRoutes(this.view, svc, sp) });
      }
    }
    const rcBody = { name: OUTBOUND_ROUTE, virtual_hosts: vhosts };
    for (const c of referencedClusters([rcBody])) clusterNames.add(c);
    s = { rc: new Map([[OUTBOUND_ROUTE, makeResource('RDS', OUTBOUND_ROUTE, rcBody)]]), ...this.scoped(clusterNames, node.proxyless) };
    this.scopes.set(sk, s);
    return s;
  }

  private gateway(node: NodeIdentity): Scope & { listeners: Map<string, Resource>; routes: Map<string, Resource> } {
    const gk = key(node.namespace, node.gateway ?? '');
    const ck = `${gk}|${node.address}|${JSON.stringify(node.gatewayPorts)}`;
    let g = this.gateways.get(ck);
    if (g) return g;
    const gw = this.view.model.gateways.get(gk);
    const res = gw ? gatewayResources(this.view, gw, node.address, node.gatewayPorts) : { listeners: [], routeConfigs: [], authnClusters: new Map() };
    const scope = this.scoped([...referencedClusters(res.routeConfigs), ...[...res.authnClusters].filter(([, c]) => c === 'mesh').map(([n]) => n)]);
    for (const [n, c] of res.authnClusters) if (c !== 'mesh') scope.clusters.set(n, makeResource('CDS', n, c));
    g = {
      listeners: byName(res.listeners.map((l) => makeResource('LDS', l.name as string, l))),
      routes: byName(res.routeConfigs.map((r) => makeResource('RDS', r.name as string, r))),
      ...scope,
    };
    this.gateways.set(ck, g);
    return g;
  }

  /** A workload's authentication filters (oauth2, jwt_authn; authn-scope.ts) and the clusters of their IdP endpoints. */
  private inboundAuthn(svcKey: string): { filters: Json[]; clusters: Map<string, Resource> } {
    let r = this.inboundAuthnCache.get(svcKey);
    if (r) return r;
    const into: AuthnClusters = new Map();
    const filters = inboundAuthn(this.view, svcKey, into);
    const clusters = new Map<string, Resource>();
    for (const [n, c] of into) {
      const res = c === 'mesh' ? this.cluster(n) : makeResource('CDS', n, c);
      if (res) clusters.set(n, res);
    }
    r = { filters, clusters };
    this.inboundAuthnCache.set(svcKey, r);
    return r;
  }

  /** The mode and RBAC filters of a workload's inbound listener on `dial` (null when neither applies). */
  private inboundSecurity(svc: Service, sp: ServicePort | null, app: number, dial: number, proto: string): InboundSecurity | null {
    const svcKey = key(svc.namespace, svc.name);
    const mode = this.view.mtlsMode(svcKey, sp);
    const trustDomain = this.view.security?.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    const aliases = [app, dial, ...(sp ? [sp.port] : []), ...(sp && typeof sp.targetPort === 'number' ? [sp.targetPort] : [])];
    const httpFilters = proto === 'tcp' ? [] : [...this.inboundAuthn(svcKey).filters, ...rbacFilters(this.view.policy(svcKey), trustDomain, { listenerPort: dial, aliases })];
    if (mode === null && httpFilters.length === 0) return null;
    return { mode, trustDomain, httpFilters };
  }

  /**
   * A captured workload (interception "iptables"): virtualOutbound with a chain per mesh endpoint it may call, and
   * virtualInbound with chains per announced app port (xds/translate/capture.ts). Returns the scope's EDS clusters (the
   * targets of HTTPRoute rules) to share.
   */
  private capture(node: NodeIdentity, res: { LDS: Map<string, Resource>; CDS: Map<string, Resource> }): Scope {
    const ok = `${scopeKey(node)}|${node.outboundPort}|${this.captureInboundPort(node)}|${node.tracing?.samplingPercent ?? '-'}`;
    let outbound = this.captureOut.get(ok);
    if (!outbound) {
      const targets: OutboundTarget[] = [];
      // Service documents first: an address:port belongs to the first service that has it, and a service synthesized
      // from an announcement (named after a pod label) must not take a Service's endpoint away from it.
      const services = this.scopeServices(node);
      for (const svc of [...services.filter((x) => !x.synthetic), ...services.filter((x) => x.synthetic)]) {
        const k = key(svc.namespace, svc.name);
        for (const sp of svc.ports) {
          if (sp.protocol !== 'TCP') continue;
          const endpoints = this.view.endpoints.get(outboundClusterName(svc, sp.port)) ?? [];
          targets.push({
            svc, sp, endpoints, routes: serviceRoutes(this.view, svc, sp), tls: node.proxyless ? null : this.upstreamTls(k, svc, sp), policy: this.view.policy(k),
            vips: svc.clusterIPs ?? [],
          });
        }
      }
      const out = virtualOutbound(node.outboundPort || DEFAULT_CAPTURE_OUTBOUND_PORT, targets, this.view.outboundTrafficPolicy, node.tracing,
        this.capturedWorkloads(node), this.captureInboundPort(node));
      outbound = [makeResource('LDS', VIRTUAL_OUTBOUND, out.listener), ...out.clusters.map((c) => makeResource('CDS', c.name as string, c))];
      this.captureOut.set(ok, outbound);
    }
    for (const r of outbound) res[r.type as 'LDS' | 'CDS'].set(r.name, r);
    const a = announcementOf(node);
    const own = a ? this.view.services.get(key(a.namespace, a.service)) : undefined;
    const ports: InboundPort[] = [];
    for (const [portName, [app]] of Object.entries(a?.ports ?? {})) {
      if (!own || ports.some((p) => p.port === app)) continue;
      const { svc, sp } = this.inboundServicePort(own, node.address, portName, app);
      const protocol = captureProtocol(sp ?? { name: portName, appProtocol: null, protocol: 'TCP' });
      ports.push({ port: app, service: svc.name, protocol, security: (proto) => this.inboundSecurity(svc, sp ?? null, app, app, proto) });
    }
    // The workload's mode (for its undeclared ports): its Service's; when the announced service is only synthesized, the
    // Service its announced ports resolved to.
    const svc = own?.synthetic ? (ports.map((p) => this.view.services.get(key(own.namespace, p.service))).find((x) => x && !x.synthetic) ?? own) : own;
    const mode = svc ? this.view.mtlsMode(key(svc.namespace, svc.name), null) : (this.view.security?.defaultMode ?? null);
    const td = this.view.security?.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    const inb = virtualInbound(this.captureInboundPort(node), node.address, ports, mode, td, node.tracing, undefined, node.outboundPort || DEFAULT_CAPTURE_OUTBOUND_PORT);
    res.LDS.set(VIRTUAL_INBOUND, makeResource('LDS', VIRTUAL_INBOUND, inb.listener));
    for (const c of inb.clusters) res.CDS.set(c.name as string, makeResource('CDS', c.name as string, c));
    return this.scope(node);
  }

  /**
   * The Service port whose mTLS mode and authorization an announced app port of a captured workload gets: the announced
   * service's port (by name, numeric targetPort, or its only port), else — when the announced service is only
   * synthesized from the announcement (a Helm app label that is not the Service's name, an unnamed `port-<n>`) — the
   * first Service port with an endpoint at <address>:<app port> (its EndpointSlice), else none.
   */
  private inboundServicePort(own: Service, address: string, portName: string, app: number): { svc: Service; sp: ServicePort | undefined } {
    const sp = own.ports.find((p) => p.name === portName) ?? own.ports.find((p) => typeof p.targetPort === 'number' && p.targetPort === app)
      ?? (own.ports.length === 1 ? own.ports[0] : undefined);
    if (sp && !own.synthetic) return { svc: own, sp };
    const at = this.view.servicePortsAt(address, app)[0];
    if (at) return at;
    return { svc: own, sp };
  }

  private captureInboundPort(node: NodeIdentity): number {
    return node.inboundPorts['*'] ?? DEFAULT_CAPTURE_INBOUND_PORT;
  }

  /**
   * Captured workloads of the services a node may call, for their undeclared ports: mTLS to their sidecar when the
   * workload's mode is STRICT or PERMISSIVE (SANs: the identities of that service's captured workloads), else plaintext.
   */
  private capturedWorkloads(node: NodeIdentity): CapturedWorkload[] {
    const inScope = new Set(this.scopeServices(node).map((s) => key(s.namespace, s.name)));
    const td = this.view.security?.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    const ids = new Map<string, Set<string>>();
    for (const a of this.view.capturedWorkloads) {
      const k = key(a.namespace, a.service);
      ids.set(k, (ids.get(k) ?? new Set()).add(spiffeUri(td, a.namespace, a.serviceAccount)));
    }
    // In scope: the workload's announced service, or a Service with an endpoint at one of its app ports (its EndpointSlice).
    const callable = (a: Announcement): boolean => inScope.has(key(a.namespace, a.service))
      || Object.values(a.ports).some(([app]) => this.view.servicePortsAt(a.address, app).some((x) => inScope.has(key(x.svc.namespace, x.svc.name))));
    return this.view.capturedWorkloads.filter(callable).map((a) => {
      const k = key(a.namespace, a.service);
      // The workload's mode: its announced service's, or (announced under a synthesized name) its Service's.
      const real = this.view.services.get(k)?.synthetic ? Object.values(a.ports).map(([app]) => this.view.servicePortsAt(a.address, app)[0]).find((x) => x) : undefined;
      const mode = this.view.mtlsMode(real ? key(real.svc.namespace, real.svc.name) : k, null);
      const mtls = !node.proxyless && (mode === 'STRICT' || mode === 'PERMISSIVE');
      return { address: a.address, svc: { name: a.service, namespace: a.namespace }, tls: mtls ? outboundTlsSocket(fqdn(a.service, a.namespace), [...ids.get(k)!].sort()) : null };
    });
  }

  /** Resolves an api_listener (LDS) or its route configuration (RDS) by target authority, e.g. "echo" or "echo.default:50051". */
  private proxyless(type: 'LDS' | 'RDS', name: string, namespace: string): Resource | undefined {
    const ck = `${type}|${namespace}|${name}`;
    const hit = this.named.get(ck);
    if (hit !== undefined) return hit ?? undefined;
    let r: Resource | null = null;
    const a = parseServiceAuthority(name, namespace);
    const svc = a ? this.view.services.get(a.key) : undefined;
    const sp = svc && a ? (a.port === null ? defaultPort(svc) : svc.ports.find((p) => p.port === a.port)) : undefined;
    if (svc && sp) {
      r = type === 'LDS'
        ? makeResource('LDS', name, apiListener(name))
        : makeResource('RDS', name, { name, virtual_hosts: [{ name, domains: ['*'], routes: serviceRoutes(this.view, svc, sp) }] });
    }
    this.named.set(ck, r);
    return r ?? undefined;
  }

  /** Builds one node's snapshot. Cheap: shared parts are cached per generation and layered, not copied. */
  snapshot(node: NodeIdentity): NodeSnapshot {
    const own = { LDS: new Map<string, Resource>(), CDS: new Map<string, Resource>() };
    let shared: Scope | null = null;
    let sharedLds: Map<string, Resource> | null = null;
    let sharedRds: Map<string, Resource> | null = null;
    if (node.gateway !== null) {
      const g = this.gateway(node);
      shared = g;
      sharedLds = g.listeners;
      sharedRds = g.routes;
    } else if (node.interception === 'iptables') {
      shared = this.capture(node, own);
    } else {
      const a = announcementOf(node);
      const svc = a ? this.view.services.get(key(a.namespace, a.service)) : undefined;
      for (const [portName, [app, dial]] of Object.entries(a?.ports ?? {})) {
        if (dial === app || !svc) continue;
        const sp = svc.ports.find((p) => p.name === portName) ?? (svc.ports.length === 1 ? svc.ports[0] : undefined);
        const proto = sp ? portProtocol(sp) : portProtocol({ name: portName, appProtocol: null, protocol: 'TCP' });
        const l = inboundListener(node.address, dial, svc.name, proto, node.tracing, this.inboundSecurity(svc, sp ?? null, app, dial, proto));
        own.LDS.set(l.name as string, makeResource('LDS', l.name as string, l));
        const c = inboundCluster(dial, svc.name, app, proto);
        own.CDS.set(c.name as string, makeResource('CDS', c.name as string, c));
      }
      if (node.outboundPort > 0) {
        const s = this.scope(node);
        shared = s;
        own.LDS.set('outbound', makeResource('LDS', 'outbound', outboundListener(node.outboundPort, node.tracing)));
        sharedRds = s.rc;
      }
    }
    const announced = node.gateway === null ? announcementOf(node) : null;
    if (announced) for (const [n, c] of this.inboundAuthn(key(announced.namespace, announced.service)).clusters) if (!own.CDS.has(n)) own.CDS.set(n, c);
    const empty = new Map<string, Resource>();
    const sets: Record<ResourceType, ResourceSet> = {
      LDS: new ResourceSet([own.LDS, sharedLds ?? empty]),
      RDS: new ResourceSet([sharedRds ?? empty]),
      CDS: new ResourceSet([own.CDS, shared?.clusters ?? empty]),
      EDS: new ResourceSet([shared?.clas ?? empty]),
    };
    const self = this;
    return {
      wildcard: (type) => sets[type],
      get(type, name) {
        switch (type) {
          case 'LDS': return sets.LDS.get(name) ?? self.proxyless('LDS', name, node.namespace);
          case 'RDS': return sets.RDS.get(name) ?? self.proxyless('RDS', name, node.namespace);
          case 'CDS': return sets.CDS.get(name) ?? self.cluster(name, node.proxyless);
          case 'EDS': return self.cla(name);
        }
      },
    };
  }
}

/** Clusters (and their load assignments) a group of nodes shares. */
interface Scope {
  readonly clusters: Map<string, Resource>;
  readonly clas: Map<string, Resource>;
}
