// Indexes the cluster's Pods (namespace, labels, service account, sidecar) and reports which pods and identities back each Service.
import { PROXY_CONTAINER } from '../../src/inject/names.ts';
import type { MeshModel } from '../input/types.ts';
import type { KubeObject } from './documents.ts';

export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly serviceAccount: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The pod carries the injected pilotfish-proxy container (regular or native sidecar). */
  readonly sidecar: boolean;
  readonly phase: string;
}

export interface ServicePods {
  readonly pods: number;
  readonly withSidecar: number;
  /** Identities of the selected pods: what other sidecars should accept for this Service. */
  readonly serviceAccounts: readonly string[];
}

export interface PodReport {
  readonly total: number;
  readonly withSidecar: number;
  readonly services: Readonly<Record<string, ServicePods>>;
  /** Pods that could not be read, and Services whose pods disagree on identity. */
  readonly problems: readonly string[];
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function containerNames(v: unknown): string[] {
  return Array.isArray(v) ? v.filter(isObj).map((c) => String(c.name ?? '')) : [];
}

/** Reads one Pod; a pod without a usable spec is a problem naming it, not an exception. */
function readPod(o: KubeObject): PodInfo | string {
  const md = o.metadata ?? {};
  const id = `Pod ${md.namespace ?? ''}/${md.name ?? ''}`;
  if (!isObj(o.spec)) return `${id}: spec: missing or not a mapping`;
  const spec = o.spec;
  const status = isObj(o.status) ? o.status : {};
  const labels: Record<string, string> = {};
  if (isObj(md.labels)) for (const [k, v] of Object.entries(md.labels)) if (typeof v === 'string') labels[k] = v;
  const sa = spec.serviceAccountName ?? spec.serviceAccount ?? 'default';
  if (typeof sa !== 'string') return `${id}: spec.serviceAccountName: expected a string`;
  return {
    namespace: String(md.namespace ?? 'default'),
    name: String(md.name ?? ''),
    serviceAccount: sa,
    labels,
    sidecar: [...containerNames(spec.containers), ...containerNames(spec.initContainers)].includes(PROXY_CONTAINER),
    phase: typeof status.phase === 'string' ? status.phase : '',
  };
}

export class PodIndex {
  readonly pods: PodInfo[] = [];
  readonly problems: string[] = [];
  /** Pods by namespace: a Service only selects pods of its own namespace. */
  private readonly byNamespace = new Map<string, PodInfo[]>();

  constructor(objects: Iterable<KubeObject>) {
    for (const o of objects) {
      const p = readPod(o);
      if (typeof p === 'string') {
        this.problems.push(p);
        continue;
      }
      this.pods.push(p);
      const list = this.byNamespace.get(p.namespace);
      if (list) list.push(p);
      else this.byNamespace.set(p.namespace, [p]);
    }
  }

  /** Pods a Service selects: same namespace, every selector label equal. An empty selector selects nothing (as Kubernetes). */
  selected(namespace: string, selector: Readonly<Record<string, string>>): PodInfo[] {
    const entries = Object.entries(selector);
    if (entries.length === 0) return [];
    return (this.byNamespace.get(namespace) ?? []).filter((p) => entries.every(([k, v]) => p.labels[k] === v));
  }

  report(model: MeshModel): PodReport {
    const services: Record<string, ServicePods> = {};
    const problems = [...this.problems];
    for (const [k, svc] of model.services) {
      const pods = this.selected(svc.namespace, svc.selector).filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed');
      if (pods.length === 0) continue;
      const sas = [...new Set(pods.map((p) => p.serviceAccount))].sort();
      services[k] = { pods: pods.length, withSidecar: pods.filter((p) => p.sidecar).length, serviceAccounts: sas };
      if (sas.length > 1) problems.push(`Service ${k}: its pods run as ${sas.length} service accounts (${sas.join(', ')}); each is a distinct mesh identity`);
    }
    return { total: this.pods.length, withSidecar: this.pods.filter((p) => p.sidecar).length, services, problems };
  }
}
