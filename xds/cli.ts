// Parses `pilotfish control-plane` flags; a bad flag yields one error line.
import { CA_USAGE, caArgsError, parseCaFlag, type CaArgs } from './ca/ca-args.ts';
import type { MtlsMode } from './input/types.ts';

export const MTLS_MODES: readonly MtlsMode[] = ['STRICT', 'PERMISSIVE', 'DISABLE'];

export interface ControlPlaneArgs {
  readonly inputs: string[];
  readonly xdsAddress: string;
  readonly statusAddress: string;
  readonly logLevel: string;
  readonly help: boolean;
  /** --mtls-mode: the mesh-wide default mode (absent: PILOTFISH_MTLS_MODE, else PERMISSIVE). */
  readonly mtlsMode?: MtlsMode;
  /** Certificate-authority flags, present only when some were given (the CA runs by default; see ca/ca-args.ts). */
  readonly ca?: CaArgs;
}

export const CONTROL_PLANE_USAGE = `Usage: pilotfish control-plane -f PATH [-f PATH ...] [flags]

Serves Envoy xDS v3 (ADS, state-of-the-world and delta) to pilotfish sidecars, Envoy and proxyless gRPC,
compiled from Kubernetes-shaped YAML: Service, EndpointSlice, Gateway, HTTPRoute, GRPCRoute, TrafficPolicy.
Input files are watched; an invalid change is refused and the last good config keeps serving.

  -f, --input PATH          YAML file or directory (repeatable; directories are read recursively)
      --xds-address ADDR    gRPC ADS listen address (default 127.0.0.1:15010)
      --status-address ADDR status HTTP listen address (default 127.0.0.1:15014):
                            /debug/syncz, /debug/config, /debug/certs, /ready
      --log-level LEVEL     trace|debug|info|warn|error|fatal|silent (default info)
      --mtls-mode MODE      mesh-wide mTLS default for workloads without TrafficPolicy.mtls: STRICT, PERMISSIVE
                            (default; env PILOTFISH_MTLS_MODE) or DISABLE. Needs the certificate authority.
  -h, --help                show this help

${CA_USAGE}`;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export type ParsedArgs = { ok: true; options: ControlPlaneArgs } | { ok: false; error: string };

export function parseControlPlaneArgs(argv: readonly string[]): ParsedArgs {
  const inputs: string[] = [];
  let xdsAddress = '127.0.0.1:15010';
  let statusAddress = '127.0.0.1:15014';
  let logLevel = 'info';
  let help = false;
  let mtlsMode: MtlsMode | undefined;
  const ca: CaArgs = {};
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
      case '--status-address': {
        const v = take();
        if (v === null || !/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(v)) return { ok: false, error: `${flag} expects host:port, got ${v === null ? 'nothing' : `"${v}"`}` };
        if (flag === '--xds-address') xdsAddress = v;
        else statusAddress = v;
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
      case '-h':
      case '--help':
        help = true;
        break;
      default: {
        const r = parseCaFlag(flag, take, ca);
        if (r === false) return { ok: false, error: `unknown flag "${argv[i]}"` };
        if (typeof r === 'string') return { ok: false, error: r };
      }
    }
  }
  const caError = caArgsError(ca);
  if (caError) return { ok: false, error: caError };
  if (!help && inputs.length === 0) return { ok: false, error: 'at least one --input/-f PATH is required' };
  if (mtlsMode !== undefined && ca.disabled) return { ok: false, error: '--mtls-mode needs the certificate authority (drop --no-ca)' };
  return { ok: true, options: { inputs, xdsAddress, statusAddress, logLevel, help, ...(mtlsMode ? { mtlsMode } : {}), ...(Object.keys(ca).length ? { ca } : {}) } };
}
