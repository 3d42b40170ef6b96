// Who this sidecar's workload is (service, namespace, pod), from the bootstrap node and POD_* env, for span resources and metric labels.
import type { NodeInfo } from '../model/types.ts';

export interface MeshIdentity {
  /** The workload's service: node.metadata.pilotfish.service, else node.cluster, else "unknown". */
  readonly service: string;
  /** node.metadata.pilotfish.namespace, else POD_NAMESPACE, else "default". */
  readonly namespace: string;
  /** POD_NAME, else null. */
  readonly pod: string | null;
  readonly nodeId: string;
  /** destination_service of this workload: "<service>.<namespace>.svc.cluster.local" when the metadata names it, else `service`. */
  readonly destinationService: string;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

export function meshIdentity(node: NodeInfo | null, env: NodeJS.ProcessEnv = process.env): MeshIdentity {
  const meta = node?.metadata?.pilotfish;
  const m = meta !== null && typeof meta === 'object' ? meta as Record<string, unknown> : {};
  const service = str(m.service) ?? str(node?.cluster) ?? 'unknown';
  const namespace = str(m.namespace) ?? str(env.POD_NAMESPACE) ?? 'default';
  return {
    service,
    namespace,
    pod: str(env.POD_NAME),
    nodeId: node?.id ?? '',
    destinationService: str(m.service) === null ? service : `${service}.${namespace}.svc.cluster.local`,
  };
}
