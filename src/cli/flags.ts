// Shared by the pilotfish subcommands: argv scanning (`--flag value`, `--flag=value`, `-c value`, switches), the HOST:PORT check and help layout.

/** A flag as the scanner sees it: its spellings, and the value's placeholder (null: a switch, no value). */
export interface FlagSpec {
  readonly names: readonly string[];
  readonly arg: string | null;
}

/**
 * Walks `argv` and calls `take` for each flag found in `flags`, with its value ('' for a switch) and the spelling used.
 * Returns the first error: an unknown flag, a stray argument, a missing value, a value given to a switch, or what
 * `take` returned.
 */
export function scanFlags<F extends FlagSpec>(
  argv: readonly string[],
  flags: readonly F[],
  take: (flag: F, value: string, name: string) => string | null,
): string | null {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const flag = flags.find((f) => f.names.includes(name));
    if (!flag) return a.startsWith('-') ? `unknown flag ${name}` : `unexpected argument "${a}"`;
    let value = '';
    if (flag.arg !== null) {
      if (eq > 0) value = a.slice(eq + 1);
      else if (i + 1 < argv.length) value = argv[++i];
      else return `${name} requires a value (${flag.arg})`;
    } else if (eq > 0) {
      return `${name} takes no value`;
    }
    const err = take(flag, value, name);
    if (err) return err;
  }
  return null;
}

/** Help lines: each flag's spelling column padded to the widest, then its description. */
export function flagLines(rows: readonly (readonly [string, string])[]): string[] {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`);
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/** Why `v` is not HOST:PORT (a DNS name or IP, IPv6 in brackets; port 1-65535), or null when it is. */
export function hostPortError(what: string, v: string): string | null {
  const m = HOST_PORT.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return `${what} expects HOST:PORT, got "${v}"`;
  return null;
}
