// The Kubernetes kinds the control plane watches in --kubernetes mode: API path, apiVersion, and whether a missing CRD is tolerated.
import { GATEWAY_GROUP } from '../input/gateway-kinds.ts';
import { POLICY_API_VERSION } from '../input/policy-kind.ts';

export interface WatchedKind {
  readonly kind: string;
  /** Name in status and logs when one kind is watched twice (Secrets by type); default `kind`. */
  readonly label?: string;
  /** apiVersion given to the documents (list items carry none on the wire). */
  readonly apiVersion: string;
  /** Collection path across all namespaces, e.g. /api/v1/services. */
  readonly path: string;
  readonly fieldSelector?: string;
  /** Served by a CRD that may not be installed: a 404 on list means "no such objects" (one warning), not a failure. */
  readonly optional: boolean;
  /** Fed to the input compiler (Pods are only indexed). */
  readonly compiled: boolean;
}

const gw = (kind: string, plural: string): WatchedKind => ({
  kind, apiVersion: `${GATEWAY_GROUP}/v1`, path: `/apis/${GATEWAY_GROUP}/v1/${plural}`, optional: true, compiled: true,
});

export const WATCHED_KINDS: readonly WatchedKind[] = [
  { kind: 'Service', apiVersion: 'v1', path: '/api/v1/services', optional: false, compiled: true },
  { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', path: '/apis/discovery.k8s.io/v1/endpointslices', optional: false, compiled: true },
  { kind: 'Pod', apiVersion: 'v1', path: '/api/v1/pods', optional: false, compiled: false },
  // TLS Secrets (gateway certificates) and Opaque ones (OIDC client secrets of RequestAuthentication); the field
  // selectors keep service-account tokens, registry credentials, Helm releases etc. out of the control plane's memory.
  { kind: 'Secret', label: 'Secret(kubernetes.io/tls)', apiVersion: 'v1', path: '/api/v1/secrets', fieldSelector: 'type=kubernetes.io/tls', optional: false, compiled: true },
  { kind: 'Secret', label: 'Secret(Opaque)', apiVersion: 'v1', path: '/api/v1/secrets', fieldSelector: 'type=Opaque', optional: false, compiled: true },
  gw('Gateway', 'gateways'),
  gw('HTTPRoute', 'httproutes'),
  gw('GRPCRoute', 'grpcroutes'),
  {
    kind: 'TrafficPolicy', apiVersion: POLICY_API_VERSION, path: `/apis/${POLICY_API_VERSION}/trafficpolicies`, optional: true, compiled: true,
  },
  {
    kind: 'RequestAuthentication', apiVersion: POLICY_API_VERSION, path: `/apis/${POLICY_API_VERSION}/requestauthentications`, optional: true, compiled: true,
  },
];

/** The kind's name in status and logs: its label, else its kind. */
export function kindLabel(k: WatchedKind): string {
  return k.label ?? k.kind;
}

/** The API path of one object, e.g. /apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/orders. */
export function objectPath(k: WatchedKind, namespace: string, name: string): string {
  const slash = k.path.lastIndexOf('/');
  return `${k.path.slice(0, slash)}/namespaces/${namespace}${k.path.slice(slash)}/${name}`;
}
