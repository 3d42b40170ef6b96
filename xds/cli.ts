// Parses `pilotfish control-plane` flags; a bad flag yields one error line.
import { CA_USAGE, caArgsError, parseCaFlag, type CaArgs } from './ca/ca-args.ts';
import { HOST_PORT, parseWebhookFlag, webhookArgsError, WEBHOOK_USAGE, type WebhookArgs } from './webhook/webhook-args.ts';
import { isIP } from 'node:net';
import type { MtlsMode } from './input/types.ts';
import { OUTBOUND_TRAFFIC_POLICIES, type OutboundTrafficPolicy } from './translate/mesh-view.ts';
import { DEFAULT_SECURE_XDS_DNS_NAMES } from './secure/secure-xds.ts';

export const MTLS_MODES: readonly MtlsMode[] = ['STRICT', 'PERMISSIVE', 'DISABLE'];

export interface ControlPlaneArgs {
  readonly inputs: string[];
  readonly xdsAddress: string;
  /** --secure-xds-address: the TLS port for ADS and the CA (off when absent). */
  readonly secureXdsAddress?: string;
  /** --secure-xds-dns-names: DNS names of its certificate (default DEFAULT_SECURE_XDS_DNS_NAMES). */
  readonly secureXdsDnsNames?: readonly string[];
  readonly statusAddress: string;
  readonly logLevel: string;
  readonly help: boolean;
  /** --mtls-mode: the mesh-wide default mode (absent: PILOTFISH_MTLS_MODE, else PERMISSIVE). */
  readonly mtlsMode?: MtlsMode;
  /** --outbound-traffic-policy: captured traffic to destinations outside the registry (absent: env, else ALLOW_ANY). */
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
  /** Certificate-authority flags, present only when some were given (the CA runs by default; see ca/ca-args.ts). */
  readonly ca?: CaArgs;
  /** Injection-webhook flags (xds/webhook/webhook-args.ts), present only when some were given. */
  readonly webhook?: WebhookArgs;
  /** --kubernetes: watch the cluster's objects instead of -f files (xds/kube). */
  readonly kubernetes?: boolean;
  /** --kubeconfig FILE (default KUBECONFIG, ~/.kube/config, else the in-cluster service account). */
  readonly kubeconfig?: string;
}

export const CONTROL_PLANE_USAGE = `Usage: pilotfish control-plane -f PATH [-f PATH ...] [flags]

Serves Envoy xDS v3 (ADS, state-of-the-world and delta) to pilotfish sidecars, Envoy and proxyless gRPC,
compiled from Kubernetes-shaped YAML: Service, EndpointSlice, Gateway, HTTPRoute, GRPCRoute, TrafficPolicy.
Input files are watched; an invalid change is refused and the last good config keeps serving.

  -f, --input PATH          YAML file or directory (repeatable; directories are read recursively)
      --kubernetes          instead of files, watch the cluster: Services, EndpointSlices, Pods, TLS Secrets,
                            Gateways, HTTPRoutes, GRPCRoutes, TrafficPolicies (see docs/kubernetes.md)
      --kubeconfig FILE     with --kubernetes: the kubeconfig (default KUBECONFIG, ~/.kube/config, else in-cluster)
      --xds-address ADDR    gRPC ADS listen address (default 127.0.0.1:15010), plaintext: the CA accepts
                            tokens on it from loopback only
      --secure-xds-address ADDR
                            also serve ADS and the CA over TLS here, e.g. 0.0.0.0:15012 (default off); the
                            certificate is issued by the CA and renewed at half life
      --secure-xds-dns-names LIST
                            comma-separated DNS names of that certificate (127.0.0.1 is always added; default
                            ${DEFAULT_SECURE_XDS_DNS_NAMES.join(',')})
      --status-address ADDR status HTTP listen address (default 127.0.0.1:15014):
                            /debug/syncz, /debug/config, /debug/certs, /ready
      --log-level LEVEL     trace|debug|info|warn|error|fatal|silent (default info)
      --mtls-mode MODE      mesh-wide mTLS default for workloads without TrafficPolicy.mtls: STRICT, PERMISSIVE
                            (default; env PILOTFISH_MTLS_MODE) or DISABLE. Needs the certificate authority.
      --outbound-traffic-policy POLICY
                            where captured workloads (interception "iptables") may call outside the registry:
                            ALLOW_ANY (default; passthrough to the original destination) or REGISTRY_ONLY
                            (refused); env PILOTFISH_OUTBOUND_TRAFFIC_POLICY
  -h, --help                show this help

${CA_USAGE}
${WEBHOOK_USAGE}`;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export type ParsedArgs = { ok: true; options: ControlPlaneArgs } | { ok: false; error: string };

export function parseControlPlaneArgs(argv: readonly string[]): ParsedArgs {
  const inputs: string[] = [];
  let xdsAddress = '127.0.0.1:15010';
  let statusAddress = '127.0.0.1:15014';
  let logLevel = 'info';
  let help = false;
  let mtlsMode: MtlsMode | undefined;
  let outboundTrafficPolicy: OutboundTrafficPolicy | undefined;
  const ca: CaArgs = {};
  const webhook: WebhookArgs = {};
  let kubernetes = false;
  let kubeconfig: string | undefined;
  let secureXdsAddress: string | undefined;
  let secureXdsDnsNames: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let value: string | undefined;
    const eq = flag.startsWith('--') ? flag.indexOf('=') : -1;
    if (eq > 0) {
      value = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    const take = (): string | null => {
      if (value !== undefined) return value;
      const v = argv[i + 1];
      if (v === undefined) return null;
      i += 1;
      return v;
    };
    switch (flag) {
      case '-f':
      case '--input': {
        const v = take();
        if (v === null || v === '') return { ok: false, error: `${flag} needs a path` };
        inputs.push(v);
        break;
      }
      case '--xds-address':
      case '--status-address':
      case '--secure-xds-address': {
        const v = take();
        if (v === null || !HOST_PORT.test(v)) return { ok: false, error: `${flag} expects host:port, got ${v === null ? 'nothing' : `"${v}"`}` };
        if (flag === '--xds-address') xdsAddress = v;
        else if (flag === '--status-address') statusAddress = v;
        else secureXdsAddress = v;
        break;
      }
      case '--log-level': {
        const v = take();
        if (v === null || !LEVELS.includes(v.toLowerCase())) return { ok: false, error: `--log-level must be one of ${LEVELS.join(', ')}` };
        logLevel = v.toLowerCase();
        break;
      }
      case '--mtls-mode': {
        const v = take();
        if (v === null || !MTLS_MODES.includes(v.toUpperCase() as MtlsMode)) return { ok: false, error: `--mtls-mode must be one of ${MTLS_MODES.join(', ')}` };
        mtlsMode = v.toUpperCase() as MtlsMode;
        break;
      }
      case '--outbound-traffic-policy': {
        const v = take();
        if (v === null || !OUTBOUND_TRAFFIC_POLICIES.includes(v.toUpperCase() as OutboundTrafficPolicy)) {
          return { ok: false, error: `--outbound-traffic-policy must be one of ${OUTBOUND_TRAFFIC_POLICIES.join(', ')}${v === null ? '' : `, got "${v}"`}` };
        }
        outboundTrafficPolicy = v.toUpperCase() as OutboundTrafficPolicy;
        break;
      }
      case '--secure-xds-dns-names': {
        const v = take();
        const names = (v ?? '').split(',').map((n) => n.trim()).filter(Boolean);
        const bad = names.find((n) => !/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i.test(n) && !isIP(n));
        if (names.length === 0) return { ok: false, error: `${flag} needs a comma-separated list of DNS names` };
        if (bad !== undefined) return { ok: false, error: `${flag}: "${bad}" is not a DNS name or IP address` };
        secureXdsDnsNames = names;
        break;
      }
      case '--kubernetes':
        kubernetes = true;
        break;
      case '--kubeconfig': {
        const v = take();
        if (v === null || v === '') return { ok: false, error: '--kubeconfig needs a path' };
        kubeconfig = v;
        break;
      }
      case '-h':
      case '--help':
        help = true;
        break;
      default: {
        const w = parseWebhookFlag(flag, take, webhook);
        const r = w === false ? parseCaFlag(flag, take, ca) : w;
        if (r === false) return { ok: false, error: `unknown flag "${argv[i]}"` };
        if (typeof r === 'string') return { ok: false, error: r };
      }
    }
  }
  const caError = caArgsError(ca);
  if (caError) return { ok: false, error: caError };
  const webhookError = webhookArgsError(webhook, ca.disabled === true);
  if (webhookError) return { ok: false, error: webhookError };
  if (kubernetes && inputs.length > 0) return { ok: false, error: '--kubernetes reads the cluster; it cannot be combined with --input/-f files' };
  if (kubeconfig !== undefined && !kubernetes) return { ok: false, error: '--kubeconfig needs --kubernetes' };
  if (!help && !kubernetes && inputs.length === 0) return { ok: false, error: 'at least one --input/-f PATH (or --kubernetes) is required' };
  if (mtlsMode !== undefined && ca.disabled) return { ok: false, error: '--mtls-mode needs the certificate authority (drop --no-ca)' };
  if (secureXdsAddress !== undefined && ca.disabled) return { ok: false, error: '--secure-xds-address needs the certificate authority for its certificate (drop --no-ca)' };
  if (secureXdsDnsNames !== undefined && secureXdsAddress === undefined) return { ok: false, error: '--secure-xds-dns-names needs --secure-xds-address' };
  return { ok: true, options: { inputs, xdsAddress, statusAddress, logLevel, help, ...(mtlsMode ? { mtlsMode } : {}), ...(outboundTrafficPolicy ? { outboundTrafficPolicy } : {}), ...(Object.keys(ca).length ? { ca } : {}), ...(Object.keys(webhook).length ? { webhook } : {}), ...(kubernetes ? { kubernetes } : {}), ...(kubeconfig ? { kubeconfig } : {}), ...(secureXdsAddress ? { secureXdsAddress } : {}), ...(secureXdsDnsNames ? { secureXdsDnsNames } : {}) } };
}
