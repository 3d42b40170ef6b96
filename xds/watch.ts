// Watches the input files and directories (fs.watch) and calls back once per burst of changes (debounced).
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

export interface InputWatcher {
  close(): void;
}

/**
 * Every directory is watched on its own, not recursively: on Linux a recursive watch follows files, and a file
 * replaced by rename (how editors and `sed -i` save) would never report again. A file given alone is watched through
 * its parent directory for the same reason. Subdirectories that appear later are added as they show up.
 */
export async function watchInputs(paths: readonly string[], onChange: () => void, logger: Logger, debounceMs = 100): Promise<InputWatcher> {
  const watchers = new Map<string, FSWatcher>();
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  const fire = (what: string) => {
    logger.debug({ path: what }, 'input changed');
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      onChange();
    }, debounceMs);
  };
  /** dir → null (every entry counts) or the file names that count in it. */
  const dirs = new Map<string, Set<string> | null>();
  for (const p of paths) {
    const abs = path.resolve(p);
    let isDir = false;
    try {
      isDir = (await stat(abs)).isDirectory();
    } catch {
      // A missing file may appear later: watch its directory for it.
    }
    if (isDir) {
      for (const d of await subdirectories(abs)) dirs.set(d, null);
    } else {
      const dir = path.dirname(abs);
      const cur = dirs.get(dir);
      if (cur === null) continue;
      dirs.set(dir, new Set([...(cur ?? []), path.basename(abs)]));
    }
  }
  const watchDir = (dir: string, names: Set<string> | null): void => {
    if (closed || watchers.has(dir)) return;
    try {
      const w = watch(dir, { persistent: false }, (_event, filename) => {
        const f = filename === null ? '' : String(filename);
        if (names !== null && !names.has(path.basename(f))) return;
        const full = path.join(dir, f);
        if (names === null && f !== '') {
          // A new subdirectory of a watched tree: watch it (and whatever it already holds) too.
          void subdirectories(full).then((ds) => { for (const d of ds) watchDir(d, null); }, () => undefined);
        }
        fire(full);
      });
      w.on('error', (err) => logger.warn({ err, dir }, 'input watch failed'));
      watchers.set(dir, w);
    } catch (err) {
      logger.warn({ err, dir }, 'cannot watch input');
    }
  };
  for (const [dir, names] of dirs) watchDir(dir, names);
  return {
    close: () => {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
    },
  };
}

/** `root` and every directory below it; [] when `root` is not a directory. */
async function subdirectories(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try { entries = await readdir(dir, { withFileTypes: true }); } catch { return; }
    out.push(dir);
    for (const e of entries) if (e.isDirectory()) await walk(path.join(dir, e.name));
  };
  await walk(root);
  return out;
}
