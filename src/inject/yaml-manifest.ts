// Injects a multi-document YAML manifest: the same JSON Patch applied to each document's YAML tree, so comments and key order survive.
import { Composer, CST, isAlias, isMap, isSeq, Parser, type Document, type Node } from 'yaml';
import { parsePointer } from './json-patch.ts';
import type { PatchOp } from './pod-patch.ts';
import { InjectError } from './pod-settings.ts';
import type { InjectOptions } from './templates.ts';
import { injectObject, type PodReport } from './workloads.ts';

export interface ManifestResult {
  readonly text: string;
  readonly pods: PodReport[];
}

function applyToYaml(doc: Document, ops: readonly PatchOp[], where: string): void {
  for (const op of ops) {
    const segs = parsePointer(op.path);
    const key = segs.pop()!;
    let node: unknown = doc.contents;
    for (const [i, s] of segs.entries()) {
      node = isMap(node) ? node.get(s, true) : isSeq(node) ? node.items[Number(s)] : undefined;
      // The patch would change the anchored node, and with it every other place that names it.
      if (isAlias(node)) throw new InjectError(`${where}: ${segs.slice(0, i + 1).join('.')} is the YAML alias *${node.source}; expand it to inject this pod`);
      if (node === undefined) throw new Error(`internal: ${op.op} ${op.path} has no parent in the YAML tree`);
    }
    if (isSeq(node)) {
      const idx = key === '-' ? node.items.length : Number(key);
      if (op.op === 'add') node.items.splice(idx, 0, doc.createNode(op.value, { aliasDuplicateObjects: false }) as Node);
      else if (op.op === 'replace') node.items[idx] = doc.createNode(op.value, { aliasDuplicateObjects: false }) as Node;
      else node.items.splice(idx, 1);
    } else if (isMap(node)) {
      if (op.op === 'remove') node.delete(key);
      else node.set(key, doc.createNode(op.value, { aliasDuplicateObjects: false }));
    } else {
      throw new Error(`internal: ${op.op} ${op.path}: parent is not a collection`);
    }
  }
}

/** Whether the source writes block sequences at their key's indentation ("key:\n- item"), as kubectl does. */
function compactSequences(src: string): boolean {
  const m = /^( *)[^\s#][^:\n]*:[ \t]*\n( *)- /m.exec(src);
  return m !== null && m[1].length === m[2].length;
}

/**
 * Injects every document of `source` (YAML or JSON). Documents without a pod template, and documents left unchanged,
 * are written back byte for byte. Throws InjectError (nothing is written) when a document is not YAML or not a
 * Kubernetes object, or a pod cannot be injected safely.
 */
export function injectManifest(source: string, opts: InjectOptions, name = 'input'): ManifestResult {
  const tokens = Array.from(new Parser().parse(source));
  const compact = compactSequences(source);
  // Parse every document first, so a YAML error anywhere is reported before any injection error.
  let index = 0;
  const parts = tokens.map((token) => {
    if (token.type === 'error') throw new InjectError(`${name}: not YAML: ${token.message}`);
    if (token.type !== 'document') return { token, doc: null, where: '' };
    index += 1;
    const where = `${name} document ${index}`;
    const doc = (Array.from(new Composer().compose([token]))[0] as Document | undefined) ?? null;
    if (doc && doc.errors.length > 0) throw new InjectError(`${where}: not YAML: ${doc.errors[0].message.split('\n')[0]}`);
    return { token, doc, where };
  });
  const out: string[] = [];
  const pods: PodReport[] = [];
  for (const { token, doc, where } of parts) {
    let value: unknown;
    try {
      value = doc?.toJS({ maxAliasCount: 100 });
    } catch (err) {
      throw new InjectError(`${where}: not usable YAML: ${(err as Error).message}`);
    }
    if (!doc || value === null || value === undefined) {
      out.push(CST.stringify(token));
      continue;
    }
    const r = injectObject(value, opts, where);
    pods.push(...r.pods);
    if (r.ops.length === 0) {
      out.push(CST.stringify(token));
      continue;
    }
    applyToYaml(doc, r.ops, where);
    out.push(doc.toString({ indentSeq: !compact, lineWidth: 0 }));
  }
  return { text: out.join(''), pods };
}
