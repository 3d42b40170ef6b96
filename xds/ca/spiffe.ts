// Workload SPIFFE IDs (spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>): parse, format and validate.

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

/** Who a workload is: its Kubernetes namespace and service account (the trust domain is the CA's). */
export interface WorkloadIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

export interface SpiffeId extends WorkloadIdentity {
  readonly trustDomain: string;
  /** The canonical URI, e.g. spiffe://cluster.local/ns/default/sa/orders. */
  readonly uri: string;
}

export type SpiffeParse = { ok: true; id: SpiffeId } | { ok: false; error: string };

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_ID_BYTES = 2048;

/** Null when `td` is a valid SPIFFE trust domain name, else why not. */
export function trustDomainError(td: string): string | null {
  if (td === '') return 'trust domain is empty';
  if (td.length > 255) return 'trust domain is longer than 255 characters';
  if (!TRUST_DOMAIN.test(td)) return `trust domain "${td}" may contain only lowercase letters, digits, ".", "-" and "_"`;
  return null;
}

/** Null when `ns` is a valid Kubernetes namespace name (a DNS-1123 label), else why not. */
export function namespaceError(ns: string): string | null {
  if (ns.length === 0 || ns.length > 63 || !DNS_LABEL.test(ns)) return `namespace "${ns}" is not a DNS-1123 label (lowercase letters, digits and "-", at most 63)`;
  return null;
}

/** Null when `sa` is a valid service account name (a DNS-1123 subdomain), else why not. */
export function serviceAccountError(sa: string): string | null {
  if (sa.length === 0 || sa.length > 253 || !sa.split('.').every((l) => DNS_LABEL.test(l))) {
    return `service account "${sa}" is not a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", at most 253)`;
  }
  return null;
}

export function formatSpiffeId(trustDomain: string, id: WorkloadIdentity): string {
  return `spiffe://${trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** Parses a workload SPIFFE ID; every rule of the SPIFFE ID spec plus the ns/<namespace>/sa/<account> path shape. */
export function parseSpiffeId(uri: string): SpiffeParse {
  const fail = (error: string): SpiffeParse => ({ ok: false, error: `"${uri.length > 120 ? `${uri.slice(0, 120)}…` : uri}": ${error}` });
  if (Buffer.byteLength(uri) > MAX_ID_BYTES) return fail(`longer than ${MAX_ID_BYTES} bytes`);
  if (!uri.startsWith('spiffe://')) return fail('scheme must be "spiffe://"');
  const rest = uri.slice('spiffe://'.length);
  if (/[?#%]/.test(rest)) return fail('query, fragment and percent-encoding are not allowed');
  const slash = rest.indexOf('/');
  const td = slash < 0 ? rest : rest.slice(0, slash);
  if (td.includes('@')) return fail('user info is not allowed');
  if (td.includes(':')) return fail('a port is not allowed');
  const tdErr = trustDomainError(td);
  if (tdErr) return fail(tdErr);
  const segments = slash < 0 ? [] : rest.slice(slash + 1).split('/');
  for (const s of segments) {
    if (s === '') return fail('path has an empty segment or a trailing "/"');
    if (s === '.' || s === '..') return fail('path has a "." or ".." segment');
    if (!PATH_SEGMENT.test(s)) return fail(`path segment "${s}" may contain only letters, digits, ".", "-" and "_"`);
  }
  if (segments.length !== 4 || segments[0] !== 'ns' || segments[2] !== 'sa') return fail('path is not /ns/<namespace>/sa/<service-account>');
  const [, namespace, , serviceAccount] = segments;
  const idErr = namespaceError(namespace) ?? serviceAccountError(serviceAccount);
  if (idErr) return fail(idErr);
  return { ok: true, id: { trustDomain: td, namespace, serviceAccount, uri } };
}
