// Pure rule generation for `pilotfish iptables`: the nat-table ruleset, and the iptables-restore input that applies
// it idempotently or removes it, given what iptables-save shows (no I/O here).
import { SIDECAR_PORTS } from './iptables-options.ts';
import type { IptablesOptions } from './iptables-options.ts';

export type Family = 4 | 6;

export const INBOUND = 'PILOTFISH_INBOUND';
export const IN_REDIRECT = 'PILOTFISH_IN_REDIRECT';
export const OUTPUT = 'PILOTFISH_OUTPUT';
export const REDIRECT = 'PILOTFISH_REDIRECT';
const BUILTIN: readonly string[] = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'];
/** Our chains, in declaration order. */
export const CHAINS: readonly string[] = [INBOUND, IN_REDIRECT, OUTPUT, REDIRECT];

export interface Rule {
  readonly chain: string;
  /** Rule specification in the canonical order iptables-save prints it (so it can be compared and deleted). */
  readonly spec: string;
}

export interface Ruleset {
  readonly family: Family;
  /** Rules inside our chains, in order. */
  readonly rules: readonly Rule[];
  /** Jumps from the built-in chains (PREROUTING, OUTPUT) into ours. */
  readonly jumps: readonly Rule[];
}

const tcpPort = (p: number) => `-p tcp -m tcp --dport ${p}`;

/** The rules for one address family. The two families differ only in loopback addresses and CIDRs. */
export function buildRuleset(o: IptablesOptions, family: Family): Ruleset {
  const localhost = family === 4 ? '127.0.0.1/32' : '::1/128';
  const passthroughSource = family === 4 ? '127.0.0.6/32' : '::6/128';
  const rules: Rule[] = [];
  const add = (chain: string, spec: string) => rules.push({ chain, spec });

  // Inbound: PREROUTING -> PILOTFISH_INBOUND -> PILOTFISH_IN_REDIRECT (REDIRECT to the inbound capture port).
  if (o.inboundPorts === '*') {
    const skip = unique([o.outboundPort, o.inboundPort, ...SIDECAR_PORTS, ...o.excludeInboundPorts]);
    for (const p of skip) add(INBOUND, `${tcpPort(p)} -j RETURN`);
    add(INBOUND, `-p tcp -j ${IN_REDIRECT}`);
  } else {
    for (const p of o.inboundPorts) add(INBOUND, `${tcpPort(p)} -j ${IN_REDIRECT}`);
  }
  add(IN_REDIRECT, `-p tcp -j REDIRECT --to-ports ${o.inboundPort}`);

  // Outbound: OUTPUT -> PILOTFISH_OUTPUT -> PILOTFISH_REDIRECT (REDIRECT to the outbound capture port).
  for (const p of o.excludeOutboundPorts) add(OUTPUT, `${tcpPort(p)} -j RETURN`);
  // The sidecar's inbound passthrough connects to the app from 127.0.0.6 (::6): never capture it.
  add(OUTPUT, `-s ${passthroughSource} -o lo -j RETURN`);
  for (const [kind, id] of [['uid', o.proxyUid], ['gid', o.proxyGid]] as const) {
    // The sidecar calling its own pod's address (a service whose endpoint is this pod): through inbound capture.
    add(OUTPUT, `! -d ${localhost} -o lo -m owner --${kind}-owner ${id} -j ${IN_REDIRECT}`);
    // The app calling itself over loopback (by its pod address): not captured.
    add(OUTPUT, `-o lo -m owner ! --${kind}-owner ${id} -j RETURN`);
    // Everything else the sidecar sends goes out as is (no loop back into the sidecar).
    add(OUTPUT, `-m owner --${kind}-owner ${id} -j RETURN`);
  }
  add(OUTPUT, `-d ${localhost} -j RETURN`);
  for (const c of o.excludeOutboundIpRanges) if (c.family === family) add(OUTPUT, `-d ${c.text} -j RETURN`);
  for (const p of o.includeOutboundPorts) add(OUTPUT, `${tcpPort(p)} -j ${REDIRECT}`);
  if (o.outboundIpRanges === '*') {
    add(OUTPUT, `-j ${REDIRECT}`);
  } else {
    const mine = o.outboundIpRanges.filter((c) => c.family === family);
    for (const c of mine) add(OUTPUT, `-d ${c.text} -j ${REDIRECT}`);
    if (mine.length > 0) add(OUTPUT, '-j RETURN');
  }
  add(REDIRECT, `-p tcp -j REDIRECT --to-ports ${o.outboundPort}`);

  const jumps: Rule[] = [];
  if (o.inboundPorts === '*' || o.inboundPorts.length > 0) jumps.push({ chain: 'PREROUTING', spec: `-p tcp -j ${INBOUND}` });
  jumps.push({ chain: 'OUTPUT', spec: `-p tcp -j ${OUTPUT}` });
  return { family, rules, jumps };
}

function unique(xs: readonly number[]): number[] {
  return xs.filter((x, i) => xs.indexOf(x) === i);
}

/** What iptables-save -t nat shows that concerns us: which of our chains exist, and every rule jumping into them. */
export interface NatState {
  readonly chains: readonly string[];
  /** Rules outside our chains whose target is one of our chains. */
  readonly jumps: readonly Rule[];
}

export const EMPTY_STATE: NatState = { chains: [], jumps: [] };

/** Reads the *nat section of iptables-save output. */
export function parseNatState(save: string): NatState {
  const chains: string[] = [];
  const jumps: Rule[] = [];
  let inNat = false;
  for (const line of save.split('\n').map((l) => l.trim())) {
    if (line.startsWith('*')) { inNat = line === '*nat'; continue; }
    if (!inNat) continue;
    if (line === 'COMMIT') { inNat = false; continue; }
    const decl = /^:(\S+)/.exec(line);
    if (decl && CHAINS.includes(decl[1])) { chains.push(decl[1]); continue; }
    const rule = /^-A (\S+) (.*)$/.exec(line);
    if (!rule || CHAINS.includes(rule[1])) continue;
    const target = /(?:^|\s)-[jg] (\S+)/.exec(rule[2]);
    if (target && CHAINS.includes(target[1])) jumps.push({ chain: rule[1], spec: rule[2] });
  }
  return { chains, jumps };
}

/**
 * iptables-restore --noflush input installing the ruleset over `state`: declaring our chains creates them or, when
 * they exist, flushes them; jumps already in place are kept, missing ones appended, stale or duplicate ones deleted.
 * The whole input commits atomically.
 */
export function applyInput(rs: Ruleset, state: NatState = EMPTY_STATE): string {
  const lines = ['*nat', ...CHAINS.map((c) => `:${c} - [0:0]`), ...rs.rules.map((r) => `-A ${r.chain} ${r.spec}`)];
  // Only jumps from the built-in chains are ours to reconcile; a jump from another user chain stays until --cleanup.
  const existing = state.jumps.filter((j) => BUILTIN.includes(j.chain));
  const missing: Rule[] = [];
  for (const j of rs.jumps) {
    const i = existing.findIndex((e) => e.chain === j.chain && e.spec === j.spec);
    if (i >= 0) existing.splice(i, 1);
    else missing.push(j);
  }
  for (const stale of existing) lines.push(`-D ${stale.chain} ${stale.spec}`);
  for (const j of missing) lines.push(`-A ${j.chain} ${j.spec}`);
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

/** iptables-restore --noflush input removing every jump into our chains, then our chains; null = nothing of ours. */
export function cleanupInput(state: NatState): string | null {
  if (state.chains.length === 0 && state.jumps.length === 0) return null;
  const present = CHAINS.filter((c) => state.chains.includes(c));
  const lines = [
    '*nat',
    ...state.jumps.map((j) => `-D ${j.chain} ${j.spec}`),
    ...present.map((c) => `-F ${c}`),
    ...present.map((c) => `-X ${c}`),
    'COMMIT',
  ];
  return `${lines.join('\n')}\n`;
}

/** The state right after a fresh apply (what --dry-run --cleanup assumes is installed). */
export function installedState(rs: Ruleset): NatState {
  return { chains: [...CHAINS], jumps: rs.jumps };
}
