// Parses `pilotfish sidecar` flags and their environment variables (the pilot-agent equivalent) into SidecarOptions; bad input yields one error line.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import { isLoopbackAddress } from '../identity/ca-client.ts';
import { flagLines, hostPortError, scanFlags, type FlagSpec } from '../cli/flags.ts';
import { pinoLevel } from '../observability/access-log.ts';

export interface SidecarOptions {
  readonly xdsAddress: string;
  readonly service: string | null;
  readonly namespace: string;
  readonly serviceAccount: string | null;
  readonly podName: string;
  readonly address: string;
  /** Service port name → the app's port. */
  readonly ports: Readonly<Record<string, number>>;
  readonly interception: 'iptables' | 'none';
  readonly outboundPort: number;
  readonly inboundPort: number;
  readonly adminPort: number;
  readonly statusPort: number;
  /** The CA (identity agent), or null for none (a plaintext mesh). */
  readonly caAddress: string | null;
  readonly identityTokenFile: string | null;
  /** Root certificate(s) of the control plane's TLS port: ADS and the CA go over TLS when set (null: plaintext). */
  readonly xdsRootCert: string | null;
  readonly drainTimeS: number;
  readonly logLevel: string;
  readonly dependencies: readonly string[] | null;
  readonly adminAddressPath: string | null;
  readonly help: boolean;
}

/** Where the injector mounts ConfigMap pilotfish-ca-root-cert (Istio's /var/run/secrets/istio/root-cert.pem). */
export const DEFAULT_XDS_ROOT_CERT = '/var/run/secrets/pilotfish/root-cert.pem';

type Env = Readonly<Record<string, string | undefined>>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Raw = Partial<Record<string, string>>;

interface Flag extends FlagSpec {
  readonly env: string | null;
  readonly help: string;
}

const FLAGS: readonly Flag[] = [
  { names: ['--xds-address'], env: 'PILOTFISH_XDS_ADDRESS', arg: 'HOST:PORT', help: 'the control plane\'s xDS (ADS) address (required)' },
  { names: ['--service'], env: 'PILOTFISH_SERVICE', arg: 'NAME', help: 'the Service this workload serves (announces its endpoint)' },
  { names: ['--namespace'], env: 'POD_NAMESPACE', arg: 'NS', help: 'the workload\'s namespace (default "default")' },
  { names: ['--service-account'], env: 'SERVICE_ACCOUNT', arg: 'SA', help: 'its service account: the SPIFFE identity (default the service name)' },
  { names: ['--pod-name'], env: 'POD_NAME', arg: 'NAME', help: 'pod name; the node id is <pod>.<namespace> (default the host name)' },
  { names: ['--address'], env: 'INSTANCE_IP', arg: 'IP', help: 'the pod\'s address (default the first non-loopback IPv4 address)' },
  { names: ['--ports'], env: 'PILOTFISH_PORTS', arg: 'NAME=PORT,...', help: 'the app\'s ports by Service port name, e.g. http=8080,grpc=9090' },
  { names: ['--interception'], env: 'PILOTFISH_INTERCEPTION', arg: 'MODE', help: 'iptables (default: capture listeners on the outbound/inbound ports) or none' },
  { names: ['--outbound-port'], env: null, arg: 'PORT', help: 'outbound capture port (default 15001; as pilotfish iptables -p)' },
  { names: ['--inbound-port'], env: null, arg: 'PORT', help: 'inbound capture port (default 15006; as pilotfish iptables -z)' },
  { names: ['--dependencies'], env: 'PILOTFISH_DEPENDENCIES', arg: 'LIST', help: 'services it calls (name, ns/name, ns/*), comma-separated (default all)' },
  { names: ['--admin-port'], env: null, arg: 'PORT', help: 'admin server on 127.0.0.1 (default 15000; 0 = any free port)' },
  { names: ['--status-port'], env: null, arg: 'PORT', help: 'status server (GET /healthz/ready) on all addresses (default 15021)' },
  { names: ['--ca-address'], env: 'PILOTFISH_CA_ADDR', arg: 'HOST:PORT', help: 'the certificate authority (default the xDS address; "none": no identity agent)' },
  { names: ['--xds-root-cert'], env: 'PILOTFISH_XDS_ROOT_CERT', arg: 'FILE', help: `PEM roots of the control plane's TLS port: ADS and the CA over TLS, the server named as in --xds-address (default ${DEFAULT_XDS_ROOT_CERT} when it exists; "none": plaintext)` },
  { names: ['--identity-token-file'], env: 'PILOTFISH_TOKEN_FILE', arg: 'FILE', help: 'bearer token for the CA (default the Kubernetes service-account token)' },
  { names: ['--drain-time-s'], env: null, arg: 'N', help: 'seconds to drain connections at shutdown (default 5)' },
  { names: ['--log-level'], env: null, arg: 'LEVEL', help: 'trace|debug|info|warn|error|critical|off (default info)' },
  { names: ['--admin-address-path'], env: null, arg: 'FILE', help: 'write "host:port" of the admin server once it listens' },
  { names: ['-h', '--help'], env: null, arg: null, help: 'show this help' },
];

/** `warnings`: input that was accepted with a fallback (printed on stderr by the command). */
export type SidecarParse = { ok: true; options: SidecarOptions; warnings: string[] } | { ok: false; error: string };

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function port(what: string, v: string, allowZero: boolean): number | string {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535 || (n === 0 && !allowZero)) return `${what} expects a port number${allowZero ? ' (0-65535)' : ' (1-65535)'}, got "${v}"`;
  return n;
}

/**
 * `http=8080,grpc=9090`; a bare port is named after its position ("port0"). A name given twice (two containers may
 * declare the same port name; Kubernetes only warns) keeps its first port, with a warning, rather than failing the pod.
 */
export function parsePorts(v: string, what: string, warnings: string[] = []): Record<string, number> | string {
  const out: Record<string, number> = {};
  for (const [i, item] of v.split(',').map((s) => s.trim()).filter(Boolean).entries()) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? `port${i}` : item.slice(0, eq).trim();
    const p = port(`${what} "${item}"`, eq < 0 ? item : item.slice(eq + 1).trim(), false);
    if (typeof p === 'string') return p;
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i.test(name)) return `${what}: "${name}" is not a valid port name`;
    if (name in out) {
      warnings.push(`${what}: port name "${name}" appears twice; keeping ${name}=${out[name]}, ignoring ${name}=${p}`);
      continue;
    }
    out[name] = p;
  }
  return out;
}

/** The first non-internal IPv4 address of this host (the pod's address in a pod network namespace). */
export function firstIPv4(): string | null {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

/** Flags win over environment variables; `--flag value` and `--flag=value`. */
export function parseSidecarArgs(argv: readonly string[], env: Env = process.env, exists: (file: string) => boolean = existsSync): SidecarParse {
  const raw: Raw = {};
  let help = false;
  const err = scanFlags(argv, FLAGS, (flag, value) => {
    if (flag.arg === null) help = true;
    else raw[flag.names[0]] = value;
    return null;
  });
  if (err) return { ok: false, error: err };
  const get = (name: string): string | undefined => {
    const f = FLAGS.find((x) => x.names[0] === name)!;
    const v = raw[name] ?? (f.env ? env[f.env] : undefined);
    return v === '' ? undefined : v;
  };
  const src = (name: string): string => {
    const f = FLAGS.find((x) => x.names[0] === name)!;
    return raw[name] !== undefined || !f.env ? name : f.env;
  };
  const o: Mutable<SidecarOptions> = {
    xdsAddress: '', service: null, namespace: 'default', serviceAccount: null, podName: os.hostname(), address: '', ports: {},
    interception: 'iptables', outboundPort: 15001, inboundPort: 15006, adminPort: 15000, statusPort: 15021, caAddress: null,
    identityTokenFile: null, xdsRootCert: null, drainTimeS: 5, logLevel: 'info', dependencies: null, adminAddressPath: null, help,
  };
  const warnings: string[] = [];
  if (help) return { ok: true, options: o, warnings };
  const xds = get('--xds-address');
  if (xds === undefined) return { ok: false, error: '--xds-address (or PILOTFISH_XDS_ADDRESS) is required: the control plane\'s HOST:PORT' };
  const xdsError = hostPortError(src('--xds-address'), xds);
  if (xdsError) return { ok: false, error: xdsError };
  o.xdsAddress = xds;
  for (const [flag, key] of [['--service', 'service'], ['--service-account', 'serviceAccount']] as const) {
    const v = get(flag);
    if (v !== undefined && !NAME.test(v)) return { ok: false, error: `${src(flag)}: "${v}" is not a valid name (lowercase letters, digits, "-")` };
    if (v !== undefined) o[key] = v;
  }
  const ns = get('--namespace');
  if (ns !== undefined && !NAME.test(ns)) return { ok: false, error: `${src('--namespace')}: "${ns}" is not a valid namespace` };
  o.namespace = ns ?? 'default';
  o.podName = get('--pod-name') ?? os.hostname();
  const address = get('--address') ?? firstIPv4();
  if (address === null) return { ok: false, error: 'no non-loopback IPv4 address found: give --address (or INSTANCE_IP)' };
  if (isIP(address) === 0) return { ok: false, error: `${src('--address')}: "${address}" is not an IP address` };
  o.address = address;
  const ports = get('--ports');
  if (ports !== undefined) {
    const p = parsePorts(ports, src('--ports'), warnings);
    if (typeof p === 'string') return { ok: false, error: p };
    o.ports = p;
  }
  if (Object.keys(o.ports).length > 0 && o.service === null) return { ok: false, error: '--ports needs --service (the Service whose endpoint the ports are)' };
  const mode = get('--interception');
  if (mode !== undefined && mode !== 'iptables' && mode !== 'none') return { ok: false, error: `${src('--interception')} must be iptables or none, got "${mode}"` };
  if (mode !== undefined) o.interception = mode;
  for (const [flag, key, zero] of [['--outbound-port', 'outboundPort', false], ['--inbound-port', 'inboundPort', false], ['--admin-port', 'adminPort', true], ['--status-port', 'statusPort', true]] as const) {
    const v = get(flag);
    if (v === undefined) continue;
    const n = port(flag, v, zero);
    if (typeof n === 'string') return { ok: false, error: n };
    o[key] = n;
  }
  const ca = get('--ca-address') ?? xds;
  if (ca !== 'none') {
    const e = hostPortError(src('--ca-address'), ca);
    if (e) return { ok: false, error: e };
    o.caAddress = ca;
  }
  o.identityTokenFile = get('--identity-token-file') ?? null;
  const root = get('--xds-root-cert');
  if (root !== undefined && root !== 'none') {
    if (!exists(root)) return { ok: false, error: `${src('--xds-root-cert')}: ${root} does not exist (the control plane's root certificate; "none" for plaintext)` };
    o.xdsRootCert = root;
  } else if (root === undefined && exists(DEFAULT_XDS_ROOT_CERT)) {
    o.xdsRootCert = DEFAULT_XDS_ROOT_CERT;
  }
  if (o.caAddress !== null && o.xdsRootCert === null && !isLoopbackAddress(o.caAddress)) {
    return { ok: false, error: `the CA address ${o.caAddress} is not on loopback: give the control plane's root certificate (--xds-root-cert or PILOTFISH_XDS_ROOT_CERT) and its TLS port (15012) so the token travels over TLS, or --ca-address none` };
  }
  const drain = get('--drain-time-s');
  if (drain !== undefined) {
    if (!/^\d+$/.test(drain)) return { ok: false, error: `--drain-time-s expects a whole number of seconds, got "${drain}"` };
    o.drainTimeS = Number(drain);
  }
  const level = get('--log-level');
  if (level !== undefined && !pinoLevel(level)) return { ok: false, error: `--log-level: unknown level "${level}"` };
  if (level !== undefined) o.logLevel = level.toLowerCase();
  const deps = get('--dependencies');
  if (deps !== undefined) o.dependencies = deps.split(',').map((s) => s.trim()).filter(Boolean);
  o.adminAddressPath = get('--admin-address-path') ?? null;
  return { ok: true, options: o, warnings };
}

export function sidecarHelp(): string {
  return [
    'Usage: pilotfish sidecar --xds-address HOST:PORT [flags]',
    '',
    'Runs the sidecar of one workload: builds its bootstrap from these flags (or the environment), gets its',
    'certificate from the CA, serves the control plane\'s config, and answers GET /healthz/ready on the status port.',
    'With interception iptables (default), run it as the proxy user (uid 1337) after `pilotfish iptables`.',
    '',
    ...flagLines(FLAGS.map((f) => [`${f.names.join(', ')}${f.arg ? ` ${f.arg}` : ''}`, `${f.help}${f.env ? ` [env ${f.env}]` : ''}`])),
    '',
  ].join('\n');
}
