// Watches the input files and directories (fs.watch) and calls back once per burst of changes (debounced).
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

export interface InputWatcher {
  close(): void;
}

/**
 * Directories are watched recursively; a file is watched through its parent directory (editors often replace files
 * by rename, which ends a watch on the file itself).
 */
export async function watchInputs(paths: readonly string[], onChange: () => void, logger: Logger, debounceMs = 100): Promise<InputWatcher> {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | null = null;
  const fire = (what: string) => {
    logger.debug({ path: what }, 'input changed');
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      onChange();
    }, debounceMs);
  };
  const dirs = new Map<string, Set<string> | null>();
  for (const p of paths) {
    const abs = path.resolve(p);
    let isDir = false;
    try {
      isDir = (await stat(abs)).isDirectory();
    } catch {
      // A missing file may appear later: watch its directory for it.
    }
    if (isDir) dirs.set(abs, null);
    else {
      const dir = path.dirname(abs);
      const cur = dirs.get(dir);
      if (cur === null) continue;
      dirs.set(dir, new Set([...(cur ?? []), path.basename(abs)]));
    }
  }
  for (const [dir, names] of dirs) {
    try {
      const w = watch(dir, { recursive: names === null, persistent: false }, (_event, filename) => {
        const f = filename === null ? '' : String(filename);
        if (names !== null && !names.has(path.basename(f))) return;
        fire(path.join(dir, f));
      });
      w.on('error', (err) => logger.warn({ err, dir }, 'input watch failed'));
      watchers.push(w);
    } catch (err) {
      logger.warn({ err, dir }, 'cannot watch input');
    }
  }
  return {
    close: () => {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
