// Objects as a real API server returns them (server-set metadata, defaults, status), for the discovery tests.
import type { Obj } from './fake-kube-api.ts';

export const PATHS = {
  services: '/api/v1/services',
  slices: '/apis/discovery.k8s.io/v1/endpointslices',
  pods: '/api/v1/pods',
  secrets: '/api/v1/secrets',
  gateways: '/apis/gateway.networking.k8s.io/v1/gateways',
  httproutes: '/apis/gateway.networking.k8s.io/v1/httproutes',
  grpcroutes: '/apis/gateway.networking.k8s.io/v1/grpcroutes',
  policies: '/apis/pilotfish.io/v1alpha1/trafficpolicies',
  authns: '/apis/pilotfish.io/v1alpha1/requestauthentications',
} as const;

/** [path, list kind, list apiVersion] of every watched collection. */
export const COLLECTIONS: readonly [string, string, string][] = [
  [PATHS.services, 'ServiceList', 'v1'],
  [PATHS.slices, 'EndpointSliceList', 'discovery.k8s.io/v1'],
  [PATHS.pods, 'PodList', 'v1'],
  [PATHS.secrets, 'SecretList', 'v1'],
  [PATHS.gateways, 'GatewayList', 'gateway.networking.k8s.io/v1'],
  [PATHS.httproutes, 'HTTPRouteList', 'gateway.networking.k8s.io/v1'],
  [PATHS.grpcroutes, 'GRPCRouteList', 'gateway.networking.k8s.io/v1'],
  [PATHS.policies, 'TrafficPolicyList', 'pilotfish.io/v1alpha1'],
  [PATHS.authns, 'RequestAuthenticationList', 'pilotfish.io/v1alpha1'],
];

let uid = 0;
function meta(name: string, namespace: string, extra: Record<string, unknown> = {}): Obj['metadata'] {
  uid++;
  return {
    name, namespace, uid: `6f1c2a4e-0000-4000-8000-${String(uid).padStart(12, '0')}`, creationTimestamp: '2026-11-26T10:00:00Z',
    managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'v1', time: '2026-11-26T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: {} }],
    ...extra,
  };
}

export function service(name: string, namespace: string, ports: { name: string; port: number; appProtocol?: string }[]): Obj {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: meta(name, namespace, { labels: { app: name }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }),
    spec: {
      ports: ports.map((p) => ({ ...p, protocol: 'TCP', targetPort: p.port })),
      selector: { app: name },
      clusterIP: '10.96.12.34', clusterIPs: ['10.96.12.34'], type: 'ClusterIP', sessionAffinity: 'None',
      ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  };
}

export function endpointSlice(svc: string, namespace: string, suffix: string, pods: { ip: string; pod: string; ready?: boolean }[], port: { name: string; port: number; appProtocol?: string }): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: meta(`${svc}-${suffix}`, namespace, {
      generateName: `${svc}-`,
      labels: { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc, uid: 'x', controller: true, blockOwnerDeletion: true }],
    }),
    addressType: 'IPv4',
    endpoints: pods.map((p) => ({
      addresses: [p.ip], conditions: { ready: p.ready ?? true, serving: p.ready ?? true, terminating: false },
      nodeName: 'kind-worker', zone: 'zone-a', targetRef: { kind: 'Pod', namespace, name: p.pod, uid: 'y' },
    })),
    ports: [{ ...port, protocol: 'TCP' }],
  };
}

export function pod(name: string, namespace: string, app: string, ip: string, serviceAccount: string, sidecar = true): Obj {
  const containers: object[] = [{ name: app, image: 'pilotfish:0.1.0', ports: [{ containerPort: 8080, protocol: 'TCP' }] }];
  if (sidecar) containers.push({ name: 'pilotfish-proxy', image: 'pilotfish:0.1.0', args: ['sidecar'] });
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: meta(name, namespace, { labels: { app, 'pod-template-hash': '7d9f' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-7d9f`, uid: 'z' }] }),
    spec: { serviceAccountName: serviceAccount, serviceAccount, containers, nodeName: 'kind-worker', restartPolicy: 'Always' },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: '172.18.0.2' },
  };
}

export function meshRoute(name: string, namespace: string, svc: string, port: number, backend = svc): Obj {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute',
    metadata: meta(name, namespace, { generation: 1 }),
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: svc, port }],
      rules: [{
        matches: [{ path: { type: 'PathPrefix', value: '/orders' } }],
        backendRefs: [{ group: '', kind: 'Service', name: backend, port, weight: 1 }],
      }],
    },
    status: { parents: [] },
  };
}

export function trafficPolicy(name: string, namespace: string, target: string, spec: Record<string, unknown> = {}): Obj {
  return {
    apiVersion: 'pilotfish.io/v1alpha1', kind: 'TrafficPolicy',
    metadata: meta(name, namespace, { generation: 1 }),
    spec: { targetRef: { group: '', kind: 'Service', name: target }, ...spec },
  };
}
