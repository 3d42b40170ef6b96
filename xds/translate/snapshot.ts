// Per-generation translator: turns the MeshView into each node's resources (wildcard sets and by-name lookups), sharing work between nodes.
import type { Service } from '../input/types.ts';
import { key } from '../input/types.ts';
import { inboundCluster, loadAssignment, outboundCluster } from './clusters.ts';
import { gatewayResources, referencedClusters } from './gateway.ts';
import { apiListener, inboundListener, outboundListener } from './listeners.ts';
import { announcementOf, type MeshView } from './mesh-view.ts';
import { defaultPort, OUTBOUND_ROUTE, outboundClusterName, parseServiceAuthority, portProtocol, serviceHosts } from './names.ts';
import type { NodeIdentity } from './node.ts';
import { makeResource, type Resource, type ResourceType } from './resource.ts';
import { serviceRoutes } from './routes.ts';

/** One node's view of the mesh for one generation. */
export interface NodeSnapshot {
  /** Resources a wildcard subscription of this type gets. */
  wildcard(type: ResourceType): ReadonlyMap<string, Resource>;
  /** A resource requested by name (may be outside the wildcard set, e.g. an api_listener or any cluster). */
  get(type: ResourceType, name: string): Resource | undefined;
}

function byName(list: Iterable<Resource>): Map<string, Resource> {
  const m = new Map<string, Resource>();
  for (const r of list) m.set(r.name, r);
  return m;
}

export class Translator {
  readonly view: MeshView;
  private readonly clusters = new Map<string, Resource>();
  private readonly scopes = new Map<string, { rc: Resource; clusters: Map<string, Resource> }>();
  private readonly named = new Map<string, Resource | null>();
  private readonly gateways = new Map<string, { listeners: Resource[]; routes: Resource[]; clusters: Map<string, Resource> }>();
  private readonly clas = new Map<string, Resource>();

  constructor(view: MeshView) {
    this.view = view;
    for (const [k, svc] of view.services) {
      for (const sp of svc.ports) {
        const c = outboundCluster(svc, sp, view.policy(k));
        this.clusters.set(c.name as string, makeResource('CDS', c.name as string, c));
      }
    }
  }

  cluster(name: string): Resource | undefined {
    return this.clusters.get(name);
  }

  cla(name: string): Resource | undefined {
    let r = this.clas.get(name);
    if (r) return r;
    const eps = this.view.endpoints.get(name);
    if (!eps) return undefined;
    r = makeResource('EDS', name, loadAssignment(name, eps));
    this.clas.set(name, r);
    return r;
  }

  /** Services a node may call: its `dependencies`, or every service. */
  private scopeServices(node: NodeIdentity): Service[] {
    const all = [...this.view.services.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    if (node.dependencies === null) return all.map(([, s]) => s);
    const want = node.dependencies.map((d) => (d === '*' ? '*/*' : d.includes('/') ? d : `${node.namespace}/${d}`));
    return all.filter(([k]) => want.some((w) => w === k || (w.endsWith('/*') && (w === '*/*' || k.startsWith(w.slice(0, -1)))))).map(([, s]) => s);
  }

  private scope(node: NodeIdentity): { rc: Resource; clusters: Map<string, Resource> } {
    const sk = `${node.namespace}|${node.dependencies === null ? '*' : [...node.dependencies].sort().join(',')}`;
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
    const clusters = new Map<string, Resource>();
    for (const n of [...clusterNames].sort()) {
      const c = this.clusters.get(n);
      if (c) clusters.set(n, c);
    }
    s = { rc: makeResource('RDS', OUTBOUND_ROUTE, rcBody), clusters };
    this.scopes.set(sk, s);
    return s;
  }

  private gateway(node: NodeIdentity): { listeners: Resource[]; routes: Resource[]; clusters: Map<string, Resource> } {
    const gk = key(node.namespace, node.gateway ?? '');
    const ck = `${gk}|${node.address}|${JSON.stringify(node.gatewayPorts)}`;
    let g = this.gateways.get(ck);
    if (g) return g;
    const gw = this.view.model.gateways.get(gk);
    const res = gw ? gatewayResources(this.view, gw, node.address, node.gatewayPorts) : { listeners: [], routeConfigs: [] };
    const clusters = new Map<string, Resource>();
    for (const n of [...referencedClusters(res.routeConfigs)].sort()) {
      const c = this.clusters.get(n);
      if (c) clusters.set(n, c);
    }
    g = {
      listeners: res.listeners.map((l) => makeResource('LDS', l.name as string, l)),
      routes: res.routeConfigs.map((r) => makeResource('RDS', r.name as string, r)),
      clusters,
    };
    this.gateways.set(ck, g);
    return g;
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

  /** Builds one node's snapshot. Cheap: shared parts are cached per generation. */
  snapshot(node: NodeIdentity): NodeSnapshot {
    const lds: Resource[] = [];
    const rds: Resource[] = [];
    const cds = new Map<string, Resource>();
    if (node.gateway !== null) {
      const g = this.gateway(node);
      lds.push(...g.listeners);
      rds.push(...g.routes);
      for (const [n, c] of g.clusters) cds.set(n, c);
    } else {
      const a = announcementOf(node);
      const svc = a ? this.view.services.get(key(a.namespace, a.service)) : undefined;
      for (const [portName, [app, dial]] of Object.entries(a?.ports ?? {})) {
        if (dial === app || !svc) continue;
        const sp = svc.ports.find((p) => p.name === portName) ?? (svc.ports.length === 1 ? svc.ports[0] : undefined);
        const proto = sp ? portProtocol(sp) : portProtocol({ name: portName, appProtocol: null, protocol: 'TCP' });
        const l = inboundListener(node.address, dial, svc.name, proto);
        lds.push(makeResource('LDS', l.name as string, l));
        const c = inboundCluster(dial, svc.name, app, proto);
        cds.set(c.name as string, makeResource('CDS', c.name as string, c));
      }
      if (node.outboundPort > 0) {
        const s = this.scope(node);
        lds.push(makeResource('LDS', 'outbound', outboundListener(node.outboundPort)));
        rds.push(s.rc);
        for (const [n, c] of s.clusters) cds.set(n, c);
      }
    }
    const sets: Record<ResourceType, Map<string, Resource> | null> = { LDS: byName(lds), RDS: byName(rds), CDS: cds, EDS: null };
    const self = this;
    return {
      wildcard(type) {
        if (type === 'EDS') {
          sets.EDS ??= byName([...cds.keys()].flatMap((n) => self.cla(n) ?? []));
        }
        return sets[type]!;
      },
      get(type, name) {
        switch (type) {
          case 'LDS': return sets.LDS!.get(name) ?? self.proxyless('LDS', name, node.namespace);
          case 'RDS': return sets.RDS!.get(name) ?? self.proxyless('RDS', name, node.namespace);
          case 'CDS': return cds.get(name) ?? self.cluster(name);
          case 'EDS': return self.cla(name);
        }
      },
    };
  }
}
