// SPIFFE IDs of workloads (spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>) and the identity a node's metadata names.

export interface WorkloadIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

export function spiffeId(id: WorkloadIdentity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

export function parseSpiffeId(uri: string): WorkloadIdentity | null {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  return m ? { trustDomain: m[1], namespace: m[2], serviceAccount: m[3] } : null;
}

const LABEL = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * The workload identity from node metadata `pilotfish.{namespace, serviceAccount}` (xds/README.md "Node metadata";
 * flat keys "pilotfish.namespace" work too): namespace defaults to "default", the service account to the node's
 * `pilotfish.service`, else "default". Returns an error message when a part is not a valid name.
 */
export function identityFromMetadata(metadata: Readonly<Record<string, unknown>>, trustDomain: string): WorkloadIdentity | string {
  const nested = metadata.pilotfish !== null && typeof metadata.pilotfish === 'object' ? (metadata.pilotfish as Record<string, unknown>) : {};
  const pick = (key: string): string | null => {
    const v = nested[key] ?? metadata[`pilotfish.${key}`];
    return typeof v === 'string' && v !== '' ? v : null;
  };
  const id = { trustDomain, namespace: pick('namespace') ?? 'default', serviceAccount: pick('serviceAccount') ?? pick('service') ?? 'default' };
  for (const [k, v] of Object.entries(id)) {
    if (!LABEL.test(v)) return `identity: ${k} ${JSON.stringify(v)} is not a valid name (lower-case letters, digits, "-" and ".")`;
  }
  return id;
}
