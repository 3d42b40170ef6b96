// Reads the control plane's input paths (YAML files, or directories of them) into raw documents, reporting syntax errors per document.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import type { DocSource, InputError } from './types.ts';

export interface RawDoc {
  readonly src: DocSource;
  readonly value: unknown;
}

export interface LoadedInput {
  readonly docs: RawDoc[];
  readonly errors: InputError[];
  /** Every file that was read (directories expanded), for watching and for status. */
  readonly files: string[];
}

const YAML_EXT = /\.(ya?ml|json)$/i;

async function expand(p: string, out: string[]): Promise<void> {
  const st = await stat(p);
  if (st.isDirectory()) {
    const entries = (await readdir(p, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const child = path.join(p, e.name);
      if (e.isDirectory()) await expand(child, out);
      else if (YAML_EXT.test(e.name)) out.push(child);
    }
  } else {
    out.push(p);
  }
}

/** Parses the documents of one file's text. Documents that are empty (a lone `---`) keep their index but yield nothing. */
export function parseYamlText(file: string, text: string): { docs: RawDoc[]; errors: InputError[] } {
  const docs: RawDoc[] = [];
  const errors: InputError[] = [];
  const parsed = YAML.parseAllDocuments(text, { prettyErrors: false });
  const list = Array.isArray(parsed) ? parsed : [parsed];
  list.forEach((d, i) => {
    const src = { file, doc: i + 1 };
    if (d.errors.length > 0) {
      for (const e of d.errors) {
        const line = e.linePos?.[0];
        const where = line ? ` (line ${line.line}, column ${line.col})` : '';
        errors.push({ file, doc: i + 1, kind: '', name: '', field: '', message: `YAML syntax error${where}: ${e.message.split('\n')[0]}` });
      }
      return;
    }
    const value: unknown = d.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    docs.push({ src, value });
  });
  return { docs, errors };
}

/** Parsed documents by file, reused while the file's text is unchanged (large inputs re-parse only what changed). */
const parsedCache = new Map<string, { text: string; docs: RawDoc[]; errors: InputError[] }>();

/** Reads every input path. A missing path is an error naming it. */
export async function loadInputs(paths: readonly string[]): Promise<LoadedInput> {
  const files: string[] = [];
  const errors: InputError[] = [];
  for (const p of paths) {
    try {
      await expand(path.resolve(p), files);
    } catch (err) {
      errors.push({ file: p, doc: 0, kind: '', name: '', field: '', message: `cannot read input: ${(err as Error).message}` });
    }
  }
  const docs: RawDoc[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch (err) {
      errors.push({ file: f, doc: 0, kind: '', name: '', field: '', message: `cannot read file: ${(err as Error).message}` });
      continue;
    }
    let r = parsedCache.get(f);
    if (!r || r.text !== text) {
      r = { text, ...parseYamlText(f, text) };
      parsedCache.set(f, r);
    }
    docs.push(...r.docs);
    errors.push(...r.errors);
  }
  const live = new Set(files);
  for (const f of parsedCache.keys()) if (!live.has(f)) parsedCache.delete(f);
  return { docs, errors, files };
}
