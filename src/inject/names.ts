// Names the injector writes into pods: container and volume names, annotations, labels, and the sidecar's well-known ports.
export const PROXY_CONTAINER = 'pilotfish-proxy';
export const INIT_CONTAINER = 'pilotfish-init';
export const TOKEN_VOLUME = 'pilotfish-token';
export const TMP_VOLUME = 'pilotfish-tmp';
export const TOKEN_DIR = '/var/run/secrets/tokens';
export const TOKEN_FILE = `${TOKEN_DIR}/pilotfish-token`;
/** ConfigMap with the mesh's roots, written by the control plane into injection-enabled namespaces (Istio's istio-ca-root-cert). */
export const ROOT_CERT_CONFIGMAP = 'pilotfish-ca-root-cert';
export const ROOT_CERT_VOLUME = 'pilotfish-root-cert';
export const ROOT_CERT_DIR = '/var/run/secrets/pilotfish';
/** The roots that verify the control plane's TLS port (the sidecar's --xds-root-cert default). */
export const ROOT_CERT_FILE = `${ROOT_CERT_DIR}/root-cert.pem`;

/** Namespace label that opts a namespace in (the webhook's namespaceSelector). */
export const NAMESPACE_LABEL = 'pilotfish-injection';

export const ANNOTATIONS = {
  /** "false" opts a pod out ("true" opts in; also read as a label). */
  inject: 'sidecar.pilotfish.io/inject',
  /** Written by the injector: what it added (JSON); its presence makes injection a no-op. */
  status: 'sidecar.pilotfish.io/status',
  /** "true" / "false": run the proxy as a native sidecar (init container with restartPolicy Always). */
  nativeSidecar: 'sidecar.pilotfish.io/nativeSidecar',
  /** "false": leave the app's HTTP/TCP probes as they are. */
  rewriteProbes: 'sidecar.pilotfish.io/rewriteAppHTTPProbers',
  proxyCPU: 'sidecar.pilotfish.io/proxyCPU',
  proxyMemory: 'sidecar.pilotfish.io/proxyMemory',
  proxyCPULimit: 'sidecar.pilotfish.io/proxyCPULimit',
  proxyMemoryLimit: 'sidecar.pilotfish.io/proxyMemoryLimit',
  includeInboundPorts: 'traffic.pilotfish.io/includeInboundPorts',
  excludeInboundPorts: 'traffic.pilotfish.io/excludeInboundPorts',
  includeOutboundPorts: 'traffic.pilotfish.io/includeOutboundPorts',
  excludeOutboundPorts: 'traffic.pilotfish.io/excludeOutboundPorts',
  includeOutboundIPRanges: 'traffic.pilotfish.io/includeOutboundIPRanges',
  excludeOutboundIPRanges: 'traffic.pilotfish.io/excludeOutboundIPRanges',
} as const;

/** kubectl logs/exec/attach use this container when none is named (set in regular-container mode, where the proxy is first). */
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

export const PORTS = {
  outbound: 15001,
  inbound: 15006,
  admin: 15000,
  appProbes: 15020,
  status: 15021,
} as const;

export const PROXY_UID = 1337;
export const READY_PATH = '/healthz/ready';
export const DEFAULT_TOKEN_AUDIENCE = 'pilotfish-ca';
/** The control plane's TLS port (ADS and the CA; Istio's 15012), verified with ROOT_CERT_FILE. */
export const DEFAULT_XDS_ADDRESS = 'pilotfish-control-plane.pilotfish-system.svc:15012';
