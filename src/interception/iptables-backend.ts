// Finds and runs the iptables binaries for `pilotfish iptables`: legacy or nft backend, IPv6 detection, restore/save.
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Family } from './iptables-rules.ts';
import type { IptablesMode } from './iptables-options.ts';

export type BackendName = 'legacy' | 'nft' | 'default';

export interface Backend {
  readonly name: BackendName;
  /** Binary names (resolved through PATH plus the sbin directories) per family. */
  readonly save: Readonly<Record<Family, string>>;
  readonly restore: Readonly<Record<Family, string>>;
}

export function backendFor(name: BackendName): Backend {
  const suffix = name === 'default' ? '' : `-${name}`;
  return {
    name,
    save: { 4: `iptables${suffix}-save`, 6: `ip6tables${suffix}-save` },
    restore: { 4: `iptables${suffix}-restore`, 6: `ip6tables${suffix}-restore` },
  };
}

/** The restore command line, as run (and as --dry-run prints it). */
export function restoreCommand(b: Backend, family: Family): string {
  return `${b.restore[family]} -w --noflush`;
}

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Full path of an executable found in PATH or the sbin directories, or null. */
export function findBinary(name: string, env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  const dirs = [...(env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...SBIN];
  for (const d of dirs) {
    const p = join(d, name);
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

export interface RunResult { readonly code: number; readonly stdout: string; readonly stderr: string }

/** Runs a binary with optional stdin; never throws (a spawn error becomes code 127 with the message on stderr). */
export function run(file: string, args: readonly string[], input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: `${stderr}${e.message}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on('error', () => { /* reported through close */ });
    child.stdin.end(input ?? '');
  });
}

/** Number of rules (all tables) the backend's save command shows for the given families; 0 when it fails. */
async function ruleCount(b: Backend, families: readonly Family[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  let n = 0;
  for (const f of families) {
    const bin = findBinary(b.save[f], env);
    if (!bin) continue;
    const r = await run(bin, []);
    if (r.code === 0) n += r.stdout.split('\n').filter((l) => l.startsWith('-A ')).length;
  }
  return n;
}

/**
 * Picks the backend. legacy / nft: that one (its restore and save must exist). auto: when both exist, the one
 * whose save output already has more rules (the host's tools — kubelet, CNI — use it), ties going to nft; else
 * whichever exists; else the unsuffixed iptables-restore. Throws an Error with a clear message when none exists.
 */
export async function resolveBackend(mode: IptablesMode, families: readonly Family[],
  env: Readonly<Record<string, string | undefined>> = process.env): Promise<Backend> {
  const has = (b: Backend) => findBinary(b.restore[4], env) !== null && findBinary(b.save[4], env) !== null;
  if (mode !== 'auto') {
    const b = backendFor(mode);
    if (!has(b)) throw new Error(`--iptables-mode ${mode}: ${b.restore[4]} / ${b.save[4]} not found in PATH or ${SBIN.join(', ')}`);
    return b;
  }
  const legacy = backendFor('legacy');
  const nft = backendFor('nft');
  const hasLegacy = has(legacy);
  const hasNft = has(nft);
  if (hasLegacy && hasNft) {
    const [l, n] = [await ruleCount(legacy, families, env), await ruleCount(nft, families, env)];
    return l > n ? legacy : nft;
  }
  if (hasNft) return nft;
  if (hasLegacy) return legacy;
  const plain = backendFor('default');
  if (has(plain)) return plain;
  throw new Error(`no iptables binary found: looked for iptables-nft-restore, iptables-legacy-restore and iptables-restore (with their -save) in PATH and ${SBIN.join(', ')}; install iptables`);
}

/** True when the host has a global-scope IPv6 address (what --ipv6 auto means); /proc/net/if_inet6 lists them. */
export function hostHasIpv6(path = '/proc/net/if_inet6'): boolean {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch { return false; }
  return text.split('\n').some((l) => {
    const f = l.trim().split(/\s+/);
    return f.length >= 6 && f[3] === '00';
  });
}
