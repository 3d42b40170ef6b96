// Parses and validates `pilotfish iptables` flags (istio-iptables' names) with PILOTFISH_* environment fallbacks.
import { parseCidrList, parseId, parsePort, parsePortList } from './addresses.ts';
import type { Cidr } from './addresses.ts';
import { flagLines, scanFlags } from '../cli/flags.ts';

export type IptablesMode = 'auto' | 'legacy' | 'nft';
export type Ipv6Mode = 'auto' | 'on' | 'off';

export interface IptablesOptions {
  /** -p: outbound capture port (REDIRECT target of PILOTFISH_REDIRECT). */
  readonly outboundPort: number;
  /** -z: inbound capture port (REDIRECT target of PILOTFISH_IN_REDIRECT). */
  readonly inboundPort: number;
  readonly proxyUid: number;
  readonly proxyGid: number;
  /** -b: '*' = every inbound port, else only these ([] = no inbound capture). */
  readonly inboundPorts: '*' | readonly number[];
  readonly excludeInboundPorts: readonly number[];
  readonly excludeOutboundPorts: readonly number[];
  readonly includeOutboundPorts: readonly number[];
  /** -i: '*' = every destination, else only these ([] = none by address; -q ports still apply). */
  readonly outboundIpRanges: '*' | readonly Cidr[];
  readonly excludeOutboundIpRanges: readonly Cidr[];
  readonly dryRun: boolean;
  readonly cleanup: boolean;
  readonly mode: IptablesMode;
  readonly ipv6: Ipv6Mode;
  readonly help: boolean;
}

type Key = 'outboundPort' | 'inboundPort' | 'proxyUid' | 'proxyGid' | 'inboundPorts' | 'excludeInboundPorts'
  | 'excludeOutboundPorts' | 'includeOutboundPorts' | 'outboundIpRanges' | 'excludeOutboundIpRanges' | 'mode' | 'ipv6';

interface ValueFlag {
  readonly key: Key;
  readonly names: readonly string[];
  readonly env: string;
  readonly arg: string;
  readonly help: string;
}

const VALUE_FLAGS: readonly ValueFlag[] = [
  { key: 'outboundPort', names: ['-p', '--outbound-port'], env: 'PILOTFISH_OUTBOUND_PORT', arg: 'PORT', help: 'outbound capture port (default 15001)' },
  { key: 'inboundPort', names: ['-z', '--inbound-port'], env: 'PILOTFISH_INBOUND_PORT', arg: 'PORT', help: 'inbound capture port (default 15006)' },
  { key: 'proxyUid', names: ['-u', '--proxy-uid'], env: 'PILOTFISH_PROXY_UID', arg: 'UID', help: 'user id of the sidecar, never captured (default 1337)' },
  { key: 'proxyGid', names: ['-g', '--proxy-gid'], env: 'PILOTFISH_PROXY_GID', arg: 'GID', help: 'group id of the sidecar, never captured (default: the proxy uid)' },
  { key: 'inboundPorts', names: ['-b', '--inbound-ports'], env: 'PILOTFISH_INBOUND_PORTS', arg: "'*'|PORTS", help: "inbound ports to capture: '*' all (default), a list, or '' none" },
  { key: 'excludeInboundPorts', names: ['-d', '--exclude-inbound-ports'], env: 'PILOTFISH_EXCLUDE_INBOUND_PORTS', arg: 'PORTS', help: 'inbound ports not captured' },
  { key: 'excludeOutboundPorts', names: ['-o', '--exclude-outbound-ports'], env: 'PILOTFISH_EXCLUDE_OUTBOUND_PORTS', arg: 'PORTS', help: 'outbound destination ports not captured' },
  { key: 'includeOutboundPorts', names: ['-q', '--include-outbound-ports'], env: 'PILOTFISH_INCLUDE_OUTBOUND_PORTS', arg: 'PORTS', help: 'outbound destination ports captured whatever the address' },
  { key: 'outboundIpRanges', names: ['-i', '--outbound-ip-ranges'], env: 'PILOTFISH_OUTBOUND_IP_RANGES', arg: "'*'|CIDRS", help: "outbound destinations to capture: '*' all (default), a list, or '' none" },
  { key: 'excludeOutboundIpRanges', names: ['-x', '--exclude-outbound-ip-ranges'], env: 'PILOTFISH_EXCLUDE_OUTBOUND_IP_RANGES', arg: 'CIDRS', help: 'outbound destinations not captured' },
  { key: 'mode', names: ['--iptables-mode'], env: 'PILOTFISH_IPTABLES_MODE', arg: 'auto|legacy|nft', help: 'backend: auto (default) uses the one that has rules, else nft, else legacy' },
  { key: 'ipv6', names: ['--ipv6'], env: 'PILOTFISH_IPV6', arg: 'auto|on|off', help: 'also install ip6tables rules: auto (default) = when the host has a global IPv6 address' },
];

interface Switch {
  readonly key: 'dryRun' | 'cleanup' | 'help';
  readonly names: readonly string[];
  readonly arg: null;
  readonly help: string;
}

const SWITCHES: readonly Switch[] = [
  { key: 'dryRun', names: ['--dry-run'], arg: null, help: 'print the iptables-restore input instead of applying it' },
  { key: 'cleanup', names: ['--cleanup'], arg: null, help: 'remove the PILOTFISH_* chains and the jumps to them, nothing else' },
  { key: 'help', names: ['-h', '--help'], arg: null, help: 'show this help' },
];

const ALL_FLAGS: readonly (ValueFlag | Switch)[] = [...VALUE_FLAGS, ...SWITCHES];

/** Ports of the sidecar itself besides the capture ports: admin, agent, status, Prometheus. */
export const SIDECAR_PORTS: readonly number[] = [15000, 15020, 15021, 15090];

export type ParseResult = { ok: true; options: IptablesOptions; warnings: string[] } | { ok: false; error: string };

/** Flags win over environment variables; every value is validated and errors name the flag (or variable) and value. */
export function parseIptablesArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ParseResult {
  const raw = new Map<Key, { source: string; value: string }>();
  for (const f of VALUE_FLAGS) {
    const v = env[f.env];
    if (v !== undefined) raw.set(f.key, { source: f.env, value: v });
  }
  const switches = { dryRun: false, cleanup: false, help: false };
  const err = scanFlags(argv, ALL_FLAGS, (flag, value, name) => {
    if (flag.arg === null) switches[flag.key] = true;
    else raw.set(flag.key, { source: name, value });
    return null;
  });
  if (err) return { ok: false, error: err };
  return validate(raw, switches);
}

function validate(raw: Map<Key, { source: string; value: string }>, switches: { dryRun: boolean; cleanup: boolean; help: boolean }): ParseResult {
  const get = (k: Key, dflt: string) => raw.get(k) ?? { source: VALUE_FLAGS.find((f) => f.key === k)!.names.at(-1)!, value: dflt };
  const warnings: string[] = [];
  const one = <T>(r: T | string): T => { if (typeof r === 'string') throw new OptionError(r); return r; };
  try {
    const port = (k: Key, d: string) => { const { source, value } = get(k, d); return one(parsePort(source, value)); };
    const ports = (k: Key) => { const { source, value } = get(k, ''); return one(parsePortList(source, value)); };
    const outboundPort = port('outboundPort', '15001');
    const inboundPort = port('inboundPort', '15006');
    const uid = get('proxyUid', '1337');
    const proxyUid = one(parseId(uid.source, uid.value));
    const gid = get('proxyGid', String(proxyUid));
    const proxyGid = one(parseId(gid.source, gid.value));
    const excludeInboundPorts = ports('excludeInboundPorts');
    const ib = get('inboundPorts', '*');
    let inboundPorts: '*' | number[] = ib.value.trim() === '*' ? '*' : one(parsePortList(ib.source, ib.value));
    if (inboundPorts !== '*') {
      const own = [outboundPort, inboundPort, ...SIDECAR_PORTS];
      const dropped = inboundPorts.filter((p) => own.includes(p));
      if (dropped.length > 0) warnings.push(`${ib.source}: ${dropped.join(',')} not captured: the sidecar's own port(s)`);
      inboundPorts = inboundPorts.filter((p) => !own.includes(p) && !excludeInboundPorts.includes(p));
    }
    const ranges = get('outboundIpRanges', '*');
    const outboundIpRanges = ranges.value.trim() === '*' ? '*' as const : one(parseCidrList(ranges.source, ranges.value));
    const ex = get('excludeOutboundIpRanges', '');
    if (ex.value.trim() === '*') throw new OptionError(`${ex.source}: "*" is not allowed (use ${'--outbound-ip-ranges'} '' to capture nothing by address)`);
    const excludeOutboundIpRanges = one(parseCidrList(ex.source, ex.value));
    const m = get('mode', 'auto');
    if (m.value !== 'auto' && m.value !== 'legacy' && m.value !== 'nft') throw new OptionError(`${m.source}: "${m.value}" is not one of auto, legacy, nft`);
    const v6 = get('ipv6', 'auto');
    if (v6.value !== 'auto' && v6.value !== 'on' && v6.value !== 'off') throw new OptionError(`${v6.source}: "${v6.value}" is not one of auto, on, off`);
    return {
      ok: true,
      warnings,
      options: {
        outboundPort, inboundPort, proxyUid, proxyGid, inboundPorts, excludeInboundPorts,
        excludeOutboundPorts: ports('excludeOutboundPorts'), includeOutboundPorts: ports('includeOutboundPorts'),
        outboundIpRanges, excludeOutboundIpRanges, mode: m.value, ipv6: v6.value, ...switches,
      },
    };
  } catch (e) {
    if (e instanceof OptionError) return { ok: false, error: e.message };
    throw e;
  }
}

class OptionError extends Error {}

export function iptablesHelp(): string {
  const rows: (readonly [string, string])[] = [
    ...VALUE_FLAGS.map((f) => [`${f.names.join(', ')} ${f.arg}`, `${f.help} [${f.env}]`] as const),
    ...SWITCHES.map((f) => [f.names.join(', '), f.help] as const),
  ];
  return [
    'Usage: pilotfish iptables [flags]',
    '',
    'Installs the NAT rules that send a pod\'s TCP traffic through its sidecar (run as root in the pod\'s network',
    'namespace, e.g. by an init container): inbound to the inbound capture port, outbound to the outbound capture',
    'port, except the sidecar\'s own traffic, loopback, and the excluded ports and ranges. Running it again replaces',
    'the rules; --cleanup removes them. Lists are comma-separated; flags win over the [ENV] fallbacks.',
    '',
    'Flags:',
    ...flagLines(rows),
    '',
  ].join('\n');
}
