// Parses `pilotfish proxy` flags (Envoy's command line) into ProxyOptions; a bad flag yields one error line.
import { pinoLevel } from '../observability/access-log.ts';
import { flagLines, scanFlags, type FlagSpec } from './flags.ts';

export interface ProxyOptions {
  readonly configPath: string | null;
  readonly configYaml: string | null;
  readonly concurrency: number;
  /** Envoy log level as given (trace|debug|info|warn|error|critical|off). */
  readonly logLevel: string;
  readonly adminAddressPath: string | null;
  readonly drainTimeS: number;
  readonly mode: 'serve' | 'validate';
  readonly serviceCluster: string | null;
  readonly serviceNode: string | null;
  readonly fileFlushIntervalMs: number | null;
  readonly help: boolean;
  /** Identity agent (src/identity): the CA's address; null = no agent unless PILOTFISH_CA_ADDR is set. */
  readonly caAddress?: string | null;
  readonly caRootCert?: string | null;
  readonly identityTokenFile?: string | null;
  readonly trustDomain?: string | null;
  readonly certValiditySeconds?: number | null;
}

export const DEFAULT_PROXY_OPTIONS: ProxyOptions = {
  configPath: null, configYaml: null, concurrency: 1, logLevel: 'info', adminAddressPath: null, drainTimeS: 5,
  mode: 'serve', serviceCluster: null, serviceNode: null, fileFlushIntervalMs: null, help: false,
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Flag extends FlagSpec {
  readonly help: string;
  readonly apply: (o: Mutable<ProxyOptions>, v: string) => string | null;
}

function int(name: string, v: string, min: number): number | string {
  if (!/^\d+$/.test(v) || Number(v) < min) return `${name} expects an integer >= ${min}, got "${v}"`;
  return Number(v);
}

const FLAGS: readonly Flag[] = [
  { names: ['-c', '--config-path'], arg: 'FILE', help: 'bootstrap file (YAML or JSON)', apply: (o, v) => { o.configPath = v; return null; } },
  { names: ['--config-yaml'], arg: 'YAML', help: 'bootstrap YAML merged over --config-path', apply: (o, v) => { o.configYaml = v; return null; } },
  {
    names: ['--concurrency'], arg: 'N', help: 'worker processes (default 1: no workers)',
    apply: (o, v) => { const n = int('--concurrency', v, 1); if (typeof n === 'string') return n; o.concurrency = n; return null; },
  },
  {
    names: ['-l', '--log-level'], arg: 'LEVEL', help: 'trace|debug|info|warn|error|critical|off (default info)',
    apply: (o, v) => { if (!pinoLevel(v)) return `--log-level: unknown level "${v}"`; o.logLevel = v.toLowerCase(); return null; },
  },
  { names: ['--admin-address-path'], arg: 'FILE', help: 'write "host:port" of the admin server once it listens', apply: (o, v) => { o.adminAddressPath = v; return null; } },
  {
    names: ['--drain-time-s'], arg: 'N', help: 'seconds to drain connections at shutdown (default 5)',
    apply: (o, v) => { const n = int('--drain-time-s', v, 0); if (typeof n === 'string') return n; o.drainTimeS = n; return null; },
  },
  {
    names: ['--mode'], arg: 'MODE', help: 'serve (default) or validate (check the config and exit)',
    apply: (o, v) => { if (v !== 'serve' && v !== 'validate') return `--mode must be serve or validate, got "${v}"`; o.mode = v; return null; },
  },
  { names: ['--ca-address'], arg: 'HOST:PORT', help: 'identity agent: the CA (CertificateService) to get the workload certificate from (env PILOTFISH_CA_ADDR)', apply: (o, v) => { o.caAddress = v; return null; } },
  { names: ['--ca-root-cert'], arg: 'FILE', help: 'identity agent: root certificate of the CA\'s TLS server (default plaintext, loopback only; env PILOTFISH_CA_ROOT_CERT)', apply: (o, v) => { o.caRootCert = v; return null; } },
  { names: ['--identity-token-file'], arg: 'FILE', help: 'identity agent: bearer token file sent to the CA (env PILOTFISH_TOKEN_FILE; default the Kubernetes service-account token)', apply: (o, v) => { o.identityTokenFile = v; return null; } },
  { names: ['--trust-domain'], arg: 'NAME', help: 'identity agent: SPIFFE trust domain (default cluster.local; env PILOTFISH_TRUST_DOMAIN)', apply: (o, v) => { o.trustDomain = v; return null; } },
  {
    names: ['--cert-validity-s'], arg: 'N', help: 'identity agent: requested certificate lifetime in seconds (default 86400; env PILOTFISH_CERT_VALIDITY_S)',
    apply: (o, v) => { const n = int('--cert-validity-s', v, 1); if (typeof n === 'string') return n; o.certValiditySeconds = n; return null; },
  },
  { names: ['--service-cluster'], arg: 'NAME', help: 'override node.cluster', apply: (o, v) => { o.serviceCluster = v; return null; } },
  { names: ['--service-node'], arg: 'NAME', help: 'override node.id', apply: (o, v) => { o.serviceNode = v; return null; } },
  {
    names: ['--file-flush-interval-msec'], arg: 'MS', help: 'longest wait before buffered access-log lines are written (default 100)',
    apply: (o, v) => { const n = int('--file-flush-interval-msec', v, 1); if (typeof n === 'string') return n; o.fileFlushIntervalMs = n; return null; },
  },
  // Accepted for Envoy compatibility, no effect.
  { names: ['--disable-hot-restart'], arg: null, help: 'accepted for Envoy compatibility (no hot restart)', apply: () => null },
  { names: ['--base-id'], arg: 'N', help: 'accepted for Envoy compatibility', apply: () => null },
  { names: ['--restart-epoch'], arg: 'N', help: 'accepted for Envoy compatibility', apply: () => null },
  { names: ['--parent-shutdown-time-s'], arg: 'N', help: 'accepted for Envoy compatibility', apply: () => null },
  { names: ['--log-format'], arg: 'FORMAT', help: 'accepted for Envoy compatibility (logs are JSON lines)', apply: () => null },
  { names: ['-h', '--help'], arg: null, help: 'show this help', apply: (o) => { o.help = true; return null; } },
];

export type ParseResult = { ok: true; options: ProxyOptions } | { ok: false; error: string };

/** Parses `--flag value`, `--flag=value` and short `-c value`. */
export function parseProxyArgs(argv: readonly string[]): ParseResult {
  const o: Mutable<ProxyOptions> = { ...DEFAULT_PROXY_OPTIONS };
  const err = scanFlags(argv, FLAGS, (flag, value) => flag.apply(o, value));
  if (err) return { ok: false, error: err };
  if (!o.help && !o.configPath && !o.configYaml) return { ok: false, error: 'one of --config-path or --config-yaml is required' };
  return { ok: true, options: o };
}

export function proxyHelp(): string {
  return [
    'Usage: pilotfish proxy -c FILE [flags]',
    '',
    'Runs the sidecar proxy from an Envoy v3 bootstrap (Envoy-compatible flags).',
    '',
    'Flags:',
    ...flagLines(FLAGS.map((f) => [`${f.names.join(', ')}${f.arg ? ` ${f.arg}` : ''}`, f.help])),
    '',
  ].join('\n');
}
