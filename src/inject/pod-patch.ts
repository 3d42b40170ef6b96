// The injection itself, pure: a pod (or pod template) in, the JSON Patch operations that add the sidecar out — or why it is skipped.
import { ANNOTATIONS, DEFAULT_CONTAINER_ANNOTATION, INIT_CONTAINER, PROXY_CONTAINER } from './names.ts';
import { InjectError, optedOut, podSettings } from './pod-settings.ts';
import { rewriteProbes, type AppProbers } from './probes.ts';
import { initContainer, proxyContainer, statusValue, volumes, type InjectOptions } from './templates.ts';

export type PatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

export type PodOutcome =
  | { readonly injected: true; readonly ops: PatchOp[]; readonly native: boolean }
  | { readonly injected: false; readonly reason: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON Pointer segment (RFC 6901: ~ → ~0, / → ~1). */
export function pointerSegment(s: string | number): string {
  return String(s).replace(/~/g, '~0').replace(/\//g, '~1');
}

function stringMap(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new InjectError(`${where} must be a mapping`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = typeof x === 'string' ? x : String(x);
  return out;
}

function containerList(v: unknown, where: string): Obj[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InjectError(`${where} must be a list`);
  return v.map((c, i) => {
    if (!isObj(c) || typeof c.name !== 'string' || c.name === '') throw new InjectError(`${where}[${i}] has no name`);
    return c;
  });
}

export interface PodContext {
  /** JSON Pointer of the pod (or template) inside the document, '' for a bare Pod. */
  readonly at: string;
  /** For error messages: e.g. `Deployment "web" spec.template`. */
  readonly where: string;
  /** The workload's name, the fallback service name. */
  readonly workloadName: string;
}

/** PILOTFISH_SERVICE: the app.kubernetes.io/name or app label, else the workload's name. */
function serviceName(labels: Record<string, string>, fallback: string): string {
  return labels['app.kubernetes.io/name'] ?? labels.app ?? fallback;
}

/**
 * PILOTFISH_PORTS: the app containers' TCP ports, each port once. Kubernetes only warns about two containers declaring the
 * same port name (real charts do, e.g. an app and an oauth2-proxy both "http"); like Kubernetes for Services and probes,
 * the first declaration keeps the name and a later one is named `port-<n>`, as an unnamed port is.
 */
export function appPortList(containers: readonly Obj[]): { name: string; port: number }[] {
  const out: { name: string; port: number }[] = [];
  const ports = new Set<number>();
  const names = new Set<string>();
  for (const c of containers) {
    for (const p of Array.isArray(c.ports) ? c.ports : []) {
      if (!isObj(p) || typeof p.containerPort !== 'number' || ports.has(p.containerPort)) continue;
      if (p.protocol !== undefined && p.protocol !== 'TCP') continue;
      ports.add(p.containerPort);
      const declared = typeof p.name === 'string' && p.name !== '' ? p.name : null;
      const name = declared !== null && !names.has(declared) ? declared : `port-${p.containerPort}`;
      names.add(name);
      out.push({ name, port: p.containerPort });
    }
  }
  return out;
}

/**
 * Injects one pod template. Skips (with the reason) pods that opted out, use the host network or carry the status
 * annotation; throws InjectError for input it cannot inject safely (a container already named like ours, bad annotations).
 */
export function injectPod(pod: unknown, opts: InjectOptions, ctx: PodContext): PodOutcome {
  if (!isObj(pod)) throw new InjectError(`${ctx.where}: the pod template must be a mapping`);
  const meta = pod.metadata;
  if (meta !== undefined && meta !== null && !isObj(meta)) throw new InjectError(`${ctx.where}: metadata must be a mapping`);
  const anns = stringMap(isObj(meta) ? meta.annotations : undefined, `${ctx.where}: metadata.annotations`);
  const labels = stringMap(isObj(meta) ? meta.labels : undefined, `${ctx.where}: metadata.labels`);
  const spec = pod.spec;
  if (!isObj(spec)) throw new InjectError(`${ctx.where}: spec is missing`);
  const containers = containerList(spec.containers, `${ctx.where}: spec.containers`);
  if (containers.length === 0) throw new InjectError(`${ctx.where}: spec.containers is empty`);
  const inits = containerList(spec.initContainers, `${ctx.where}: spec.initContainers`);

  if (anns[ANNOTATIONS.status] !== undefined) return { injected: false, reason: `already injected (annotation ${ANNOTATIONS.status})` };
  if (optedOut(anns, labels)) return { injected: false, reason: `opted out (${ANNOTATIONS.inject}: "false")` };
  if (spec.hostNetwork === true) return { injected: false, reason: 'uses the host network (hostNetwork: true); its traffic cannot be captured per pod' };
  for (const c of [...containers, ...inits]) {
    if (c.name === PROXY_CONTAINER || c.name === INIT_CONTAINER) {
      throw new InjectError(`${ctx.where}: a container is already named "${c.name}" but the pod has no ${ANNOTATIONS.status} annotation; rename it or remove it`);
    }
  }
  if (spec.volumes !== undefined && !Array.isArray(spec.volumes)) throw new InjectError(`${ctx.where}: spec.volumes must be a list`);
  for (const v of (spec.volumes as unknown[] | undefined) ?? []) {
    if (isObj(v) && typeof v.name === 'string' && v.name.startsWith('pilotfish-')) throw new InjectError(`${ctx.where}: a volume is already named "${v.name}"`);
  }
  const s = podSettings(anns, opts);
  const at = ctx.at;
  const ops: PatchOp[] = [];

  // Annotations first (the status marks the pod as injected). A regular-container proxy becomes containers[0], which
  // kubectl logs/exec/attach would pick without a container name: point them at the app instead, as Istio does.
  const added: Record<string, string> = { [ANNOTATIONS.status]: statusValue(opts, s.native) };
  if (!s.native && anns[DEFAULT_CONTAINER_ANNOTATION] === undefined) added[DEFAULT_CONTAINER_ANNOTATION] = containers[0].name as string;
  if (!isObj(meta)) ops.push({ op: 'add', path: `${at}/metadata`, value: { annotations: added } });
  else if (!isObj(meta.annotations)) ops.push({ op: 'add', path: `${at}/metadata/annotations`, value: added });
  else for (const [k, v] of Object.entries(added)) ops.push({ op: 'add', path: `${at}/metadata/annotations/${pointerSegment(k)}`, value: v });

  // App probes, on the containers' current indices (before anything is inserted).
  const probers: AppProbers = {};
  if (s.rewriteProbes) {
    containers.forEach((c, i) => {
      for (const r of rewriteProbes(c)) {
        const p = `${at}/spec/containers/${i}/${r.kind}`;
        if (r.handler === 'httpGet') ops.push({ op: 'replace', path: `${p}/httpGet`, value: r.httpGet });
        else ops.push({ op: 'remove', path: `${p}/tcpSocket` }, { op: 'add', path: `${p}/httpGet`, value: r.httpGet });
        probers[r.path] = r.original;
      }
    });
  }

  const appPorts = appPortList(containers);
  const grace = typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30;
  const proxy = proxyContainer(opts, s, {
    service: serviceName(labels, ctx.workloadName),
    appPorts,
    appProbers: Object.keys(probers).length > 0 ? JSON.stringify(probers) : null,
    terminationGraceSeconds: grace,
  });
  const init = initContainer(opts, s);

  if (!Array.isArray(spec.volumes)) ops.push({ op: 'add', path: `${at}/spec/volumes`, value: volumes(opts) });
  else for (const v of volumes(opts)) ops.push({ op: 'add', path: `${at}/spec/volumes/-`, value: v });

  // iptables first, then (native) the proxy, then the pod's own init containers.
  const ourInits = s.native ? [init, proxy] : [init];
  if (!Array.isArray(spec.initContainers)) ops.push({ op: 'add', path: `${at}/spec/initContainers`, value: ourInits });
  else ourInits.forEach((c, i) => ops.push({ op: 'add', path: `${at}/spec/initContainers/${i}`, value: c }));
  // Regular sidecar: first container, so the kubelet runs its postStart hook before starting the app.
  if (!s.native) ops.push({ op: 'add', path: `${at}/spec/containers/0`, value: proxy });
  return { injected: true, ops, native: s.native };
}
