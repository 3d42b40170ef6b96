// `pilotfish iptables`: installs (or with --cleanup removes) the traffic-capture NAT rules in this network namespace.
import { backendFor, findBinary, hostHasIpv6, resolveBackend, restoreCommand, run } from './iptables-backend.ts';
import type { Backend } from './iptables-backend.ts';
import { iptablesHelp, parseIptablesArgs } from './iptables-options.ts';
import type { IptablesOptions } from './iptables-options.ts';
import { applyInput, buildRuleset, cleanupInput, installedState, parseNatState } from './iptables-rules.ts';
import type { Family } from './iptables-rules.ts';

export interface CommandIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const PROCESS_IO: CommandIo = {
  stdout: (s) => { process.stdout.write(s); },
  stderr: (s) => { process.stderr.write(s); },
  env: process.env,
};

/** Runs the command; resolves with the exit code (0 ok, 1 iptables failed, 2 bad flags). */
export async function runIptablesCommand(argv: readonly string[], io: CommandIo = PROCESS_IO): Promise<number> {
  const parsed = parseIptablesArgs(argv, io.env);
  if (!parsed.ok) {
    io.stderr(`pilotfish iptables: ${parsed.error} (see pilotfish iptables --help)\n`);
    return 2;
  }
  const o = parsed.options;
  if (o.help) {
    io.stdout(iptablesHelp());
    return 0;
  }
  for (const w of parsed.warnings) io.stderr(`pilotfish iptables: warning: ${w}\n`);
  // Cleanup also looks at ip6tables unless told not to: the rules may have been installed with --ipv6 on.
  const families: Family[] = o.ipv6 === 'on' || (o.ipv6 === 'auto' && (o.cleanup || hostHasIpv6())) ? [4, 6] : [4];
  if (o.dryRun) {
    io.stdout(dryRun(o, families));
    return 0;
  }
  let backends: Backend[];
  try {
    backends = o.cleanup && o.mode === 'auto' ? cleanupBackends(io.env) : [await resolveBackend(o.mode, families, io.env)];
  } catch (e) {
    io.stderr(`pilotfish iptables: ${(e as Error).message}\n`);
    return 1;
  }
  for (const backend of backends) {
    for (const family of families) {
      const code = await runFamily(o, backend, family, io);
      if (code !== 0) return code;
    }
  }
  return 0;
}

/** --cleanup with auto mode looks in every backend present (rules may have been installed with either). */
function cleanupBackends(env: CommandIo['env']): Backend[] {
  const found = (['legacy', 'nft'] as const).map(backendFor).filter((b) => findBinary(b.restore[4], env) && findBinary(b.save[4], env));
  if (found.length > 0) return found;
  const plain = backendFor('default');
  if (findBinary(plain.restore[4], env) && findBinary(plain.save[4], env)) return [plain];
  throw new Error('no iptables binary found: looked for iptables-nft-restore, iptables-legacy-restore and iptables-restore (with their -save); install iptables');
}

/** Reads the family's nat table, then applies or removes our rules with one iptables-restore run. */
async function runFamily(o: IptablesOptions, backend: Backend, family: Family, io: CommandIo): Promise<number> {
  const label = family === 4 ? 'IPv4' : 'IPv6';
  const save = findBinary(backend.save[family], io.env);
  const restore = findBinary(backend.restore[family], io.env);
  if (!save || !restore) {
    const missing = `${backend.restore[family]} / ${backend.save[family]} not found`;
    if (family === 6 && o.ipv6 === 'auto') { io.stderr(`pilotfish iptables: warning: IPv6 rules skipped: ${missing}\n`); return 0; }
    io.stderr(`pilotfish iptables: ${missing}\n`);
    return 1;
  }
  const current = await run(save, ['-t', 'nat']);
  if (current.code !== 0 && family === 6 && o.ipv6 === 'auto') {
    io.stderr(`pilotfish iptables: warning: IPv6 rules skipped: ${backend.save[family]} -t nat failed: ${current.stderr.trim()}\n`);
    return 0;
  }
  if (current.code !== 0) {
    io.stderr(`pilotfish iptables: ${backend.save[family]} -t nat failed (exit ${current.code}): ${current.stderr.trim()}\n`);
    return 1;
  }
  const state = parseNatState(current.stdout);
  const input = o.cleanup ? cleanupInput(state) : applyInput(buildRuleset(o, family), state);
  if (input === null) {
    io.stdout(`# ${label} (${backend.save[family]}): no PILOTFISH_* chains or jumps, nothing to remove\n`);
    return 0;
  }
  const r = await run(restore, ['-w', '--noflush'], input);
  if (r.code !== 0) {
    io.stderr(`pilotfish iptables: ${restoreCommand(backend, family)} failed (exit ${r.code}): ${r.stderr.trim()}\ninput was:\n${input}`);
    return 1;
  }
  io.stdout(`# ${label}: ${o.cleanup ? 'removed' : 'applied'} with ${restoreCommand(backend, family)}\n${input}`);
  return 0;
}

/**
 * What --dry-run prints: for each family, the restore command as a comment and its input, for a namespace without
 * our rules (--cleanup: with them, as a fresh apply leaves them). --iptables-mode auto names the unsuffixed binary,
 * since the backend is only chosen when applying.
 */
export function dryRun(o: IptablesOptions, families: readonly Family[]): string {
  const backend = backendFor(o.mode === 'auto' ? 'default' : o.mode);
  let out = '';
  for (const family of families) {
    const rs = buildRuleset(o, family);
    out += `# ${family === 4 ? 'IPv4' : 'IPv6'}: ${restoreCommand(backend, family)}\n`;
    out += o.cleanup ? cleanupInput(installedState(rs)) : applyInput(rs);
  }
  return out;
}
