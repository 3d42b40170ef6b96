// Turns objects read from the Kubernetes API into the documents the YAML path produces, so both go through the same compiler.
import type { RawDoc } from '../input/load-files.ts';
import { objectPath, type WatchedKind } from './kinds.ts';

/** An object as the API server sends it (list items lack apiVersion/kind; watch events carry them). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

/** A document for the compiler, or the reason the object is left out (not an error: the compiler has no use for it). */
export type Conversion = { readonly doc: RawDoc } | { readonly skip: string };

/** Service spec fields the compiler reads or knowingly ignores; everything else the API server adds is dropped. */
const SERVICE_SPEC = [
  'ports', 'selector', 'type', 'clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy', 'sessionAffinity', 'internalTrafficPolicy',
  'externalTrafficPolicy', 'publishNotReadyAddresses', 'trafficDistribution',
];

function pick(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) out[k] = o[k];
  return out;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isTcp(p: unknown): boolean {
  return !isObj(p) || p.protocol === undefined || p.protocol === null || p.protocol === 'TCP';
}

/** The Service an EndpointSlice belongs to ("namespace/name"), or null without the label. */
export function sliceService(obj: KubeObject): string | null {
  const svc = obj.metadata?.labels?.['kubernetes.io/service-name'];
  return typeof svc === 'string' && svc !== '' ? `${obj.metadata?.namespace ?? 'default'}/${svc}` : null;
}

/**
 * The document for one object: apiVersion/kind from the watched kind, metadata reduced to name, namespace and labels,
 * `status` dropped, and per kind what the API server fills in that a hand-written file would not have. The document's
 * source is the object's API path (error messages name it).
 */
export function toDocument(k: WatchedKind, obj: KubeObject): Conversion {
  const md = isObj(obj.metadata) ? obj.metadata : {};
  const name = typeof md.name === 'string' ? md.name : '';
  const namespace = typeof md.namespace === 'string' && md.namespace !== '' ? md.namespace : 'default';
  const metadata: Record<string, unknown> = { name, namespace };
  if (isObj(md.labels)) metadata.labels = md.labels;
  // Same key order whether the object came from a list (no apiVersion/kind) or a watch event: the version is a content hash.
  const { apiVersion: _v, kind: _k, metadata: _m, status: _s, ...rest } = obj;
  const value: Record<string, unknown> = { apiVersion: k.apiVersion, kind: k.kind, metadata, ...rest };
  if (k.kind === 'Service' && isObj(obj.spec)) {
    const spec = obj.spec;
    if (spec.type === 'ExternalName') return { skip: 'ExternalName Service (no endpoints to route to)' };
    if (!Array.isArray(spec.ports) || spec.ports.length === 0) return { skip: 'Service without ports' };
    // The mesh carries TCP only; UDP/SCTP ports (kube-dns serves 53 over both) are left out, not errors.
    const ports = spec.ports.filter(isTcp);
    if (ports.length === 0) return { skip: 'Service without TCP ports' };
    value.spec = { ...pick(spec, SERVICE_SPEC), ports };
  }
  if (k.kind === 'EndpointSlice') {
    if (obj.addressType === 'FQDN') return { skip: 'FQDN EndpointSlice (not supported)' };
    if (obj.endpoints === null) delete value.endpoints;
    if (obj.ports === null) delete value.ports;
    if (Array.isArray(obj.ports)) {
      const ports = obj.ports.filter(isTcp);
      if (ports.length === 0 && obj.ports.length > 0) return { skip: 'EndpointSlice without TCP ports' };
      value.ports = ports;
    }
  }
  if (k.kind === 'Secret') {
    delete value.immutable;
    if (obj.type !== 'kubernetes.io/tls' && obj.type !== 'Opaque') return { skip: `Secret of type ${String(obj.type)}` };
  }
  return { doc: { src: { file: objectPath(k, namespace, name), doc: 0 }, value } };
}
