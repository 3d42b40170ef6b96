// Runs a Dockerfile's build steps as a script in a temporary folder (no Docker engine): FROM stages, WORKDIR, COPY (with .dockerignore and --from), ENV, RUN npm ci / ln -s; apt-get is skipped with a note.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';

export interface Instruction { readonly op: string; readonly args: string; readonly line: number }

/** Instructions with continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let l = lines[i];
    if (/^\s*(#|$)/.test(l)) continue;
    while (l.endsWith('\\') && i + 1 < lines.length) l = `${l.slice(0, -1)} ${lines[++i].trim()}`;
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot parse "${l}"`);
    out.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: start + 1 });
  }
  return out;
}

/** A .dockerignore matcher with Docker's rules: patterns in order, the last match wins, "!" re-includes. */
export function dockerignore(text: string): (rel: string) => boolean {
  const rules = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((l) => {
    const negate = l.startsWith('!');
    const p = (negate ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '');
    const re = p.split('/').map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))).join('/')
      .replace(/\.\*\//g, '(?:.*/)?');
    return { negate, re: new RegExp(`^${re}(?:/.*)?$`) };
  });
  return (rel) => {
    let ignored = false;
    for (const r of rules) if (r.re.test(rel)) ignored = !r.negate;
    return ignored;
  };
}

export interface BuildResult {
  /** Each stage's root folder, by name (and by index). */
  readonly stages: Map<string, string>;
  readonly final: string;
  readonly entrypoint: string[] | null;
  readonly user: string | null;
  readonly bases: string[];
  readonly notes: string[];
}

function copyFiltered(from: string, to: string, rel: string, ignored: (rel: string) => boolean): void {
  const st = statSync(from);
  if (st.isDirectory()) {
    for (const e of readdirSync(from)) copyFiltered(path.join(from, e), path.join(to, e), rel ? `${rel}/${e}` : e, ignored);
    return;
  }
  if (ignored(rel)) return;
  mkdirSync(path.dirname(to), { recursive: true });
  cpSync(from, to);
}

/**
 * Interprets the Dockerfile in `context` into `out`/<stage>. `npmArgs` are appended to `npm ci` (e.g. --prefer-offline).
 * Throws with the instruction's line when a step fails or is not understood.
 */
export function runDockerfile(context: string, out: string, opts: { npm: string; npmArgs?: string[]; env?: NodeJS.ProcessEnv }): BuildResult {
  const steps = parseDockerfile(readFileSync(path.join(context, 'Dockerfile'), 'utf8'));
  const ignoreFile = path.join(context, '.dockerignore');
  const ignored = existsSync(ignoreFile) ? dockerignore(readFileSync(ignoreFile, 'utf8')) : () => false;
  const stages = new Map<string, string>();
  const notes: string[] = [];
  const bases: string[] = [];
  let root = '';
  let workdir = '/';
  let entrypoint: string[] | null = null;
  let user: string | null = null;
  const inRoot = (p: string) => path.join(root, path.posix.resolve(workdir, p));
  for (const s of steps) {
    const fail = (why: string): never => { throw new Error(`Dockerfile line ${s.line} (${s.op} ${s.args}): ${why}`); };
    switch (s.op) {
      case 'FROM': {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(s.args) ?? fail('expected FROM image [AS name]');
        bases.push(m[1]);
        root = path.join(out, `stage${stages.size}`);
        mkdirSync(root, { recursive: true });
        if (m[2]) stages.set(m[2], root);
        stages.set(String(bases.length - 1), root);
        workdir = '/';
        entrypoint = null;
        user = null;
        break;
      }
      case 'WORKDIR': workdir = path.posix.resolve(workdir, s.args); mkdirSync(inRoot('.'), { recursive: true }); break;
      case 'ENV': case 'EXPOSE': case 'CMD': case 'LABEL': case 'ARG': break;
      case 'USER': user = s.args; break;
      case 'ENTRYPOINT': entrypoint = JSON.parse(s.args) as string[]; break;
      case 'COPY': {
        const parts = s.args.split(/\s+/);
        const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
        const paths = parts.filter((p) => !p.startsWith('--'));
        const dest = paths.pop() ?? fail('no destination');
        for (const src of paths) {
          if (from) {
            const stageRoot = stages.get(from) ?? fail(`no stage "${from}"`);
            cpSync(path.join(stageRoot, src), inRoot(dest), { recursive: true, verbatimSymlinks: true });
          } else {
            const target = dest.endsWith('/') ? path.join(inRoot(dest), path.basename(src)) : inRoot(dest);
            copyFiltered(path.join(context, src), target, src.replace(/\/$/, ''), ignored);
          }
        }
        break;
      }
      case 'RUN': {
        for (const raw of s.args.split('&&').map((c) => c.trim())) {
          const argv = raw.split(/\s+/);
          if (argv[0] === 'apt-get' || (argv[0] === 'rm' && raw.includes('/var/lib/apt'))) {
            notes.push(`skipped (system packages come from the base image): ${raw}`);
          } else if (argv[0] === 'npm' && argv[1] === 'ci') {
            const r = spawnSync(opts.npm, [...argv.slice(1), ...(opts.npmArgs ?? [])], { cwd: inRoot('.'), encoding: 'utf8', env: opts.env ?? process.env });
            if (r.status !== 0) fail(`npm ci failed (${r.status}): ${(r.stderr || r.error?.message || '').slice(-2000)}`);
          } else if (argv[0] === 'npm' && argv[1] === 'cache') {
            notes.push(`skipped (would clean this machine's npm cache): ${raw}`);
          } else if (argv[0] === 'find' && argv.at(-1) === '-delete') {
            const names = argv.flatMap((a, i) => (argv[i - 1] === '-name' ? [a.replace(/^'|'$/g, '')] : []));
            const res = names.map((n) => new RegExp(`^${n.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`));
            notes.push(`deleted ${deleteMatching(inRoot(argv[1]), res)} files matching ${names.join(' ')}`);
          } else if (argv[0] === 'ln' && argv[1] === '-s' && argv.length === 4) {
            const link = path.join(root, argv[3]);
            mkdirSync(path.dirname(link), { recursive: true });
            symlinkSync(path.join(root, argv[2]), link);
          } else {
            fail(`the script runner does not know "${raw}"`);
          }
        }
        break;
      }
      default: fail('unsupported instruction');
    }
  }
  return { stages, final: root, entrypoint, user, bases, notes };
}

/** Deletes the files under `dir` whose name matches one of `res`; returns how many. */
function deleteMatching(dir: string, res: readonly RegExp[]): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += deleteMatching(p, res);
    else if (e.isFile() && res.some((r) => r.test(e.name))) {
      rmSync(p);
      n += 1;
    }
  }
  return n;
}

/** Bytes under `dir` (files only; symlinks are not followed). */
export function folderBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += folderBytes(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}
