// Plans the demo mesh's ports and writes each sidecar's xDS bootstrap: node identity for the control plane, admin, and the ADS connection.

/** Every port of the demo, all derived from one base (default 15000) so one env var moves the whole mesh. */
export interface MeshPorts {
  readonly base: number;
  readonly admin: { readonly frontend: number; readonly orders: number; readonly payments: number };
  readonly inbound: { readonly frontend: number; readonly orders: number; readonly payments: number };
  /** frontend sidecar's outbound listener: HTTP/1.1 and h2c (gRPC) to any service by Host / :authority. */
  readonly outbound: number;
  readonly controlPlane: { readonly xds: number; readonly status: number };
  readonly app: { readonly frontend: number; readonly orders: number; readonly payments: number };
  /** The ingress gateway in front of frontend: its admin and the port its Gateway listener (port 80) binds. */
  readonly gateway: { readonly admin: number; readonly http: number };
  /** The demo's OpenID provider (oidc-provider). */
  readonly idp: number;
}

export type ServiceName = 'frontend' | 'orders' | 'payments';

export const SERVICES: readonly ServiceName[] = ['frontend', 'orders', 'payments'];

/** Kubernetes namespace of the demo's Services (src/demo/mesh/*.yaml). */
export const NAMESPACE = 'default';

/** The port name of each Service in src/demo/mesh/*.yaml: the node metadata announces `{name: app port}`. */
const PORT_NAME: Readonly<Record<ServiceName, string>> = { frontend: 'http', orders: 'http', payments: 'grpc' };

/** Which services each sidecar may call (node metadata `dependencies`, scopes its outbound routes and clusters). */
export const DEPENDENCIES: Readonly<Record<ServiceName, readonly ServiceName[]>> = { frontend: ['orders', 'payments'], orders: [], payments: [] };

/** Width of the port range the mesh occupies: [base, base + PORT_SPAN). */
export const PORT_SPAN = 100;

/**
 * base+0..2 sidecar admin, base+10..12 sidecar inbound listeners (base+10 is the mesh entry point),
 * base+20 frontend's outbound listener, base+50 / +51 the control plane's xDS (gRPC) and status (HTTP) ports,
 * base+80..82 the apps themselves.
 */
export function planPorts(base: number): MeshPorts {
  return {
    base,
    admin: { frontend: base, orders: base + 1, payments: base + 2 },
    inbound: { frontend: base + 10, orders: base + 11, payments: base + 12 },
    outbound: base + 20,
    controlPlane: { xds: base + 50, status: base + 51 },
    app: { frontend: base + 80, orders: base + 81, payments: base + 82 },
    gateway: { admin: base + 3, http: base + 30 },
    idp: base + 40,
  };
}

/** All ports of a plan with what uses them, for availability checks and the printed map. */
export function portList(p: MeshPorts): { port: number; use: string }[] {
  const out: { port: number; use: string }[] = [];
  for (const s of SERVICES) {
    out.push({ port: p.admin[s], use: `${s} sidecar admin` });
    out.push({ port: p.inbound[s], use: `${s} sidecar inbound` });
    out.push({ port: p.app[s], use: `${s} app` });
  }
  out.push({ port: p.outbound, use: 'frontend sidecar outbound (HTTP/1.1 and gRPC by Host)' });
  out.push({ port: p.controlPlane.xds, use: 'control plane xDS (ADS, gRPC)' });
  out.push({ port: p.controlPlane.status, use: 'control plane status (/debug/syncz)' });
  out.push({ port: p.gateway.admin, use: 'gateway admin' });
  out.push({ port: p.gateway.http, use: 'gateway HTTP listener (the login entry point)' });
  out.push({ port: p.idp, use: 'OpenID provider (oidc-provider)' });
  return out.sort((a, b) => a.port - b.port);
}

const LOOPBACK = '127.0.0.1';

function socketAddress(port: number) {
  return { socket_address: { address: LOOPBACK, port_value: port } };
}

/** The ADS config source LDS and CDS point at (RDS and EDS inside them come over ADS too); a fresh object each time, so YAML has no aliases. */
function adsSource() {
  return { ads: {}, resource_api_version: 'V3' };
}

/** The one static cluster: the control plane's gRPC (HTTP/2) xDS port. */
function xdsCluster(port: number) {
  return {
    name: 'xds_cluster',
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: 'xds_cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(port) } }] }] },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  };
}

/**
 * `metadata.pilotfish` of a sidecar's node (xds/README.md "Node metadata"): who it is, the endpoint it announces
 * (address + inbound listener port, so no EndpointSlice is needed), where its listeners bind, and whom it calls.
 * Only frontend calls other services, so only its sidecar gets an outbound listener (0 = none).
 */
export function nodeMetadata(service: ServiceName, p: MeshPorts): Record<string, unknown> {
  return {
    service,
    namespace: NAMESPACE,
    serviceAccount: service,
    address: LOOPBACK,
    ports: { [PORT_NAME[service]]: p.app[service] },
    inboundPort: p.inbound[service],
    outboundPort: service === 'frontend' ? p.outbound : 0,
    dependencies: [...DEPENDENCIES[service]],
    // Every listener traces (HCM tracing from the control plane); the OTEL_* environment says where spans go.
    tracing: { sampling: 100 },
  };
}

/**
 * The bootstrap of one service's sidecar (proto3 JSON shape, ready to serialize as YAML): node, admin, the xds_cluster
 * and dynamic_resources only. Listeners, routes, clusters and endpoints all come from the control plane over ADS.
 */
export function sidecarBootstrap(service: ServiceName, p: MeshPorts): Record<string, unknown> {
  return {
    node: { id: `${service}-sidecar`, cluster: service, metadata: { pilotfish: nodeMetadata(service, p) } },
    admin: { address: socketAddress(p.admin[service]) },
    static_resources: { clusters: [xdsCluster(p.controlPlane.xds)] },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }] },
      lds_config: adsSource(),
      cds_config: adsSource(),
    },
  };
}

/** The gateway's identity (service account) and the Gateway it serves (src/demo gateway inputs). */
export const GATEWAY_NAME = 'public';
export const GATEWAY_SERVICE_ACCOUNT = 'gateway';

/** The gateway node's bootstrap: `gateway: public` (its listeners and routes come from the Gateway), its own identity. */
export function gatewayBootstrap(p: MeshPorts): Record<string, unknown> {
  const b = sidecarBootstrap('frontend', p);
  return {
    ...b,
    node: {
      id: 'gateway', cluster: 'gateway',
      metadata: { pilotfish: { gateway: GATEWAY_NAME, namespace: NAMESPACE, serviceAccount: GATEWAY_SERVICE_ACCOUNT, gatewayPorts: { 80: p.gateway.http }, tracing: { sampling: 100 } } },
    },
    admin: { address: socketAddress(p.gateway.admin) },
  };
}

/** The OIDC login's settings, shared by the provider launcher and the control plane inputs. */
export const DEMO_LOGIN = {
  clientId: 'pilotfish-demo', redirectPath: '/oauth2/callback', signoutPath: '/oauth2/signout',
  user: { username: 'alice', password: 'wonderland', email: 'alice@example.com', name: 'Alice Liddell', groups: ['admins', 'shoppers'] },
} as const;

/**
 * The gateway's control plane inputs (written to the demo's temp dir, since the provider's port depends on the base):
 * Gateway `public` with an HTTP listener on port 80, an HTTPRoute to frontend, and — with `login` — the client secret
 * and a RequestAuthentication with an OIDC login against the demo provider (xds/POLICY.md "RequestAuthentication").
 */
export function gatewayInputs(login: { issuer: string; clientSecret: string } | null): string {
  const docs = [`# The demo's ingress gateway (generated by src/demo/main.ts).
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${GATEWAY_NAME}, namespace: ${NAMESPACE}}
spec:
  gatewayClassName: pilotfish
  listeners: [{name: web, port: 80, protocol: HTTP}]`, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: frontend, namespace: ${NAMESPACE}}
spec:
  parentRefs: [{name: ${GATEWAY_NAME}}]
  rules: [{backendRefs: [{name: frontend, port: 8080}]}]`];
  if (login) {
    docs.push(`apiVersion: v1
kind: Secret
metadata: {name: demo-oidc, namespace: ${NAMESPACE}}
type: Opaque
stringData: {client-secret: ${JSON.stringify(login.clientSecret)}}`, `apiVersion: pilotfish.io/v1alpha1
kind: RequestAuthentication
metadata: {name: login, namespace: ${NAMESPACE}}
spec:
  targetRefs: [{kind: Gateway, name: ${GATEWAY_NAME}}]
  oidc:
    issuer: ${login.issuer}
    authorizationEndpoint: ${login.issuer}/auth
    tokenEndpoint: ${login.issuer}/token
    jwksUri: ${login.issuer}/jwks
    clientId: ${DEMO_LOGIN.clientId}
    clientSecret: {secretRef: {name: demo-oidc, key: client-secret}}
    redirectPath: ${DEMO_LOGIN.redirectPath}
    signoutPath: ${DEMO_LOGIN.signoutPath}
    scopes: [openid, email, profile, groups]
    headers: {subject: x-user-sub, email: x-user-email, groups: x-user-groups}`);
  }
  return `${docs.join('\n---\n')}\n`;
}

/**
 * Arguments of `pilotfish control-plane` for this plan: xDS and status on loopback, each input file with its own `-f`,
 * and its certificate authority with state and token file in the demo's temp dir (never ~/.pilotfish). With the CA the
 * mesh runs mTLS: PERMISSIVE by default, per Service as src/demo/mesh/*.yaml say.
 */
export function controlPlaneArgs(inputFiles: readonly string[], p: MeshPorts, ca: { caDir: string; tokenFile: string }): string[] {
  return [
    'control-plane', ...inputFiles.flatMap((f) => ['-f', f]),
    '--xds-address', `${LOOPBACK}:${p.controlPlane.xds}`, '--status-address', `${LOOPBACK}:${p.controlPlane.status}`,
    '--ca-dir', ca.caDir, '--token-file', ca.tokenFile,
  ];
}

/** Base URL of the control plane's status server (/ready, /debug/syncz, /debug/config). */
export function statusUrl(p: MeshPorts): string {
  return `http://${LOOPBACK}:${p.controlPlane.status}`;
}

/**
 * Environment each app needs: where to listen and, for frontend, its sidecar's outbound listener. Both calls go to
 * the same listener; the control plane's `outbound` route picks the service by Host (`orders`) or :authority (`payments`).
 */
export function appEnv(service: ServiceName, p: MeshPorts): Record<string, string> {
  const env: Record<string, string> = { PORT: String(p.app[service]) };
  if (service === 'frontend') {
    env.ORDERS_URL = `http://${LOOPBACK}:${p.outbound}`;
    env.PAYMENTS_ADDR = `${LOOPBACK}:${p.outbound}`;
  }
  return env;
}

/** URL of the mesh entry point: frontend through its inbound sidecar listener. */
export function entryUrl(p: MeshPorts): string {
  return `http://${LOOPBACK}:${p.inbound.frontend}/`;
}

/** Matches the outbound cluster the control plane makes for `service` (`outbound|<port>||<svc>.<ns>.svc.cluster.local`). */
export function outboundClusterPattern(service: ServiceName): RegExp {
  return new RegExp(`^outbound\\|\\d+\\|\\|${service}\\.${NAMESPACE}\\.svc\\.cluster\\.local$`);
}
