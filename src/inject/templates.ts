// Builds what injection adds to a pod: the iptables init container, the proxy container (native or regular), and their volumes.
import {
  INIT_CONTAINER, PORTS, PROXY_CONTAINER, PROXY_UID, READY_PATH, ROOT_CERT_CONFIGMAP, ROOT_CERT_DIR, ROOT_CERT_FILE, ROOT_CERT_VOLUME, TMP_VOLUME, TOKEN_DIR, TOKEN_FILE,
  TOKEN_VOLUME,
} from './names.ts';

/** Cluster-wide injection settings (CLI flags or the control plane's webhook flags). */
export interface InjectOptions {
  /** The pilotfish image for both containers. */
  readonly image: string;
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** HOST:PORT of the control plane's xDS server as the sidecar reaches it. */
  readonly xdsAddress: string;
  /** HOST:PORT of the certificate authority when it is not the xDS address. */
  readonly caAddress?: string;
  /** Run the proxy as a native sidecar (Kubernetes >= 1.29) unless a pod's annotation says otherwise. */
  readonly nativeSidecar: boolean;
  /** Audience of the projected service-account token the sidecar presents to the CA. */
  readonly tokenAudience: string;
  /** Written into the status annotation. */
  readonly version: string;
}

/** Per-pod settings read from its annotations (already validated). */
export interface PodSettings {
  readonly native: boolean;
  readonly rewriteProbes: boolean;
  readonly includeInboundPorts: string;
  readonly excludeInboundPorts: readonly number[];
  readonly includeOutboundPorts: readonly number[];
  readonly excludeOutboundPorts: readonly number[];
  readonly includeOutboundIPRanges: string;
  readonly excludeOutboundIPRanges: readonly string[];
  readonly requests: { cpu: string; memory: string };
  readonly limits: { cpu: string; memory: string };
}

export interface ProxyInputs {
  readonly service: string;
  /** name=port of the app containers' TCP ports. */
  readonly appPorts: readonly { name: string; port: number }[];
  /** JSON of the rewritten probes, or null when none was rewritten. */
  readonly appProbers: string | null;
  readonly terminationGraceSeconds: number;
}

type Obj = Record<string, unknown>;

/** The drain time and the preStop bound derived from the pod's terminationGracePeriodSeconds. */
export function shutdownBudget(graceSeconds: number): { drainSeconds: number; preStopSeconds: number } {
  const drainSeconds = Math.min(5, Math.max(1, Math.floor(graceSeconds / 3)));
  return { drainSeconds, preStopSeconds: Math.max(1, graceSeconds - drainSeconds - 1) };
}

function pull(o: InjectOptions): Obj {
  return o.imagePullPolicy ? { imagePullPolicy: o.imagePullPolicy } : {};
}

/** `pilotfish iptables` with istio-iptables' flags; the sidecar's own ports are never captured inbound. */
export function initContainer(o: InjectOptions, s: PodSettings): Obj {
  const excludeIn = [...new Set([PORTS.appProbes, PORTS.status, PORTS.admin, ...s.excludeInboundPorts])];
  const args = [
    'iptables',
    '-p', String(PORTS.outbound),
    '-z', String(PORTS.inbound),
    '-u', String(PROXY_UID),
    '-g', String(PROXY_UID),
    '-i', s.includeOutboundIPRanges,
    '-b', s.includeInboundPorts,
    '-d', excludeIn.join(','),
    // The capture listeners bind 0.0.0.0 only: ip6tables REDIRECT rules (what --ipv6 auto installs on a dual-stack pod)
    // would send every IPv6 connection to a port nothing listens on. IPv6 stays uncaptured until [::] listeners exist.
    '--ipv6', 'off',
  ];
  if (s.excludeOutboundIPRanges.length > 0) args.push('-x', s.excludeOutboundIPRanges.join(','));
  if (s.excludeOutboundPorts.length > 0) args.push('-o', s.excludeOutboundPorts.join(','));
  if (s.includeOutboundPorts.length > 0) args.push('-q', s.includeOutboundPorts.join(','));
  return {
    name: INIT_CONTAINER,
    image: o.image,
    ...pull(o),
    command: ['pilotfish'],
    args,
    resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } },
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
    },
  };
}

function fieldEnv(name: string, fieldPath: string): Obj {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

const readyGet = { path: READY_PATH, port: PORTS.status, scheme: 'HTTP' };

/** The proxy container running `pilotfish sidecar`; native adds restartPolicy Always and a startup probe, else postStart/preStop hooks. */
export function proxyContainer(o: InjectOptions, s: PodSettings, p: ProxyInputs): Obj {
  const { drainSeconds, preStopSeconds } = shutdownBudget(p.terminationGraceSeconds);
  const env: Obj[] = [
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    fieldEnv('INSTANCE_IP', 'status.podIP'),
    { name: 'PILOTFISH_XDS_ADDRESS', value: o.xdsAddress },
    ...(o.caAddress ? [{ name: 'PILOTFISH_CA_ADDR', value: o.caAddress }] : []),
    { name: 'PILOTFISH_SERVICE', value: p.service },
    { name: 'PILOTFISH_PORTS', value: p.appPorts.map((x) => `${x.name}=${x.port}`).join(',') },
    { name: 'PILOTFISH_INTERCEPTION', value: 'iptables' },
    { name: 'PILOTFISH_TOKEN_FILE', value: TOKEN_FILE },
    { name: 'PILOTFISH_XDS_ROOT_CERT', value: ROOT_CERT_FILE },
    ...(p.appProbers ? [{ name: 'PILOTFISH_APP_PROBERS', value: p.appProbers }] : []),
  ];
  const c: Obj = {
    name: PROXY_CONTAINER,
    image: o.image,
    ...pull(o),
    command: ['pilotfish'],
    args: ['sidecar', '--drain-time-s', String(drainSeconds)],
    ...(s.native ? { restartPolicy: 'Always' } : {}),
    ports: [
      { name: 'pf-outbound', containerPort: PORTS.outbound, protocol: 'TCP' },
      { name: 'pf-inbound', containerPort: PORTS.inbound, protocol: 'TCP' },
      { name: 'pf-admin', containerPort: PORTS.admin, protocol: 'TCP' },
      { name: 'pf-app-health', containerPort: PORTS.appProbes, protocol: 'TCP' },
      { name: 'pf-status', containerPort: PORTS.status, protocol: 'TCP' },
    ],
    env,
    readinessProbe: { httpGet: { ...readyGet }, initialDelaySeconds: 1, periodSeconds: 2, timeoutSeconds: 3, failureThreshold: 30 },
    ...(s.native ? { startupProbe: { httpGet: { ...readyGet }, periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 600 } } : {}),
    resources: { requests: { ...s.requests }, limits: { ...s.limits } },
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsGroup: PROXY_UID,
      runAsNonRoot: true,
      runAsUser: PROXY_UID,
    },
    volumeMounts: [
      { name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true },
      { name: ROOT_CERT_VOLUME, mountPath: ROOT_CERT_DIR, readOnly: true },
      { name: TMP_VOLUME, mountPath: '/tmp' },
    ],
  };
  if (!s.native) {
    // postStart holds the app until the proxy is ready. preStop (only when the app has ports to watch) keeps the proxy
    // serving, outbound too, until the app has exited; no admin drain here: SIGTERM after the hook drains the proxy.
    const lifecycle: Obj = { postStart: { exec: { command: ['pilotfish', 'wait', '--url', `http://localhost:${PORTS.status}${READY_PATH}`, '--timeout', '60s'] } } };
    if (p.appPorts.length > 0) {
      const ports = [...new Set(p.appPorts.map((x) => x.port))].join(',');
      lifecycle.preStop = { exec: { command: ['pilotfish', 'wait', '--ports-closed', ports, '--timeout', `${preStopSeconds}s`] } };
    }
    c.lifecycle = lifecycle;
  }
  return c;
}

export function volumes(o: InjectOptions): Obj[] {
  return [
    {
      name: TOKEN_VOLUME,
      projected: { sources: [{ serviceAccountToken: { audience: o.tokenAudience, expirationSeconds: 43200, path: 'pilotfish-token' } }] },
    },
    // Not optional: the pod waits for the control plane to write it rather than talk to the control plane unverified.
    { name: ROOT_CERT_VOLUME, configMap: { name: ROOT_CERT_CONFIGMAP } },
    { name: TMP_VOLUME, emptyDir: { medium: 'Memory' } },
  ];
}

/** The status annotation's value: what was added, so a second injection sees it. */
export function statusValue(o: InjectOptions, native: boolean): string {
  return JSON.stringify({
    initContainers: native ? [INIT_CONTAINER, PROXY_CONTAINER] : [INIT_CONTAINER],
    containers: native ? [] : [PROXY_CONTAINER],
    volumes: [TOKEN_VOLUME, ROOT_CERT_VOLUME, TMP_VOLUME],
    native,
    version: o.version,
  });
}
