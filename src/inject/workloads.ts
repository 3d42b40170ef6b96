// Finds the pod templates of a Kubernetes object (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, List) and injects each.
import { injectPod, pointerSegment, type PatchOp, type PodOutcome } from './pod-patch.ts';
import { InjectError } from './pod-settings.ts';
import type { InjectOptions } from './templates.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where each kind keeps its pod template. */
const TEMPLATE_PATHS: Record<string, readonly string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export interface PodReport {
  /** e.g. `Deployment "web"` or `List items[2] Pod "a"`. */
  readonly what: string;
  readonly outcome: PodOutcome;
}

export interface ObjectResult {
  /** Every operation, in order, for the whole object (JSON Pointers from the object's root). */
  readonly ops: PatchOp[];
  readonly pods: PodReport[];
}

/** A description of the object for messages: Kind "name". */
function describe(o: Obj): string {
  const meta = isObj(o.metadata) ? o.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? `${meta.generateName}*` : '(unnamed)';
  return `${String(o.kind)} "${name}"`;
}

/** Checks that `o` looks like a Kubernetes object; throws InjectError naming what is missing. */
export function checkKubernetesObject(o: unknown, where: string): asserts o is Obj & { kind: string; apiVersion: string } {
  if (!isObj(o)) throw new InjectError(`${where}: not a Kubernetes object (expected a mapping with apiVersion and kind, got ${Array.isArray(o) ? 'a list' : o === null ? 'null' : typeof o})`);
  if (typeof o.kind !== 'string' || o.kind === '') throw new InjectError(`${where}: not a Kubernetes object (no kind)`);
  if (typeof o.apiVersion !== 'string' || o.apiVersion === '') throw new InjectError(`${where}: ${o.kind} has no apiVersion`);
}

/** Injects every pod template of `obj` (recursing into List items); other kinds yield no operations. */
export function injectObject(obj: unknown, opts: InjectOptions, where = 'document', at = ''): ObjectResult {
  checkKubernetesObject(obj, where);
  const ops: PatchOp[] = [];
  const pods: PodReport[] = [];
  if (obj.kind === 'List' || (obj.kind.endsWith('List') && Array.isArray(obj.items))) {
    if (!Array.isArray(obj.items)) return { ops, pods };
    obj.items.forEach((item, i) => {
      const r = injectObject(item, opts, `${where} items[${i}]`, `${at}/items/${i}`);
      ops.push(...r.ops);
      pods.push(...r.pods);
    });
    return { ops, pods };
  }
  const path = TEMPLATE_PATHS[obj.kind];
  if (!path) return { ops, pods };
  let tpl: unknown = obj;
  for (const seg of path) {
    tpl = isObj(tpl) ? tpl[seg] : undefined;
    if (tpl === undefined) throw new InjectError(`${where}: ${describe(obj)} has no ${path.join('.')}`);
  }
  const meta = isObj(obj.metadata) ? obj.metadata : {};
  const what = describe(obj);
  const name = typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? meta.generateName.replace(/-$/, '') : 'app';
  const outcome = injectPod(tpl, opts, {
    at: `${at}${path.map((s) => `/${pointerSegment(s)}`).join('')}`,
    where: `${where}: ${what}${path.length ? ` ${path.join('.')}` : ''}`,
    workloadName: name,
  });
  if (outcome.injected) ops.push(...outcome.ops);
  pods.push({ what, outcome });
  return { ops, pods };
}
