// Applies JSON Patch (RFC 6902) add / replace / remove operations to a plain JSON value, as the API server applies the webhook's patch.
import type { PatchOp } from './pod-patch.ts';

export function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`JSON Pointer "${path}" must start with /`);
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Returns a patched deep copy of `doc`; throws naming the operation that does not apply. */
export function applyJsonPatch<T>(doc: T, ops: readonly PatchOp[]): T {
  const root = { v: structuredClone(doc) as unknown };
  for (const op of ops) {
    const segs = ['v', ...parsePointer(op.path)];
    const key = segs.pop()!;
    let parent: unknown = root;
    for (const s of segs) {
      parent = Array.isArray(parent) ? parent[Number(s)] : (parent as Record<string, unknown> | undefined)?.[s];
      if (typeof parent !== 'object' || parent === null) throw new Error(`${op.op} ${op.path}: parent does not exist`);
    }
    if (Array.isArray(parent)) {
      const idx = key === '-' ? parent.length : Number(key);
      if (!Number.isInteger(idx) || idx < 0 || idx > parent.length || (op.op !== 'add' && idx >= parent.length)) throw new Error(`${op.op} ${op.path}: index out of range`);
      if (op.op === 'add') parent.splice(idx, 0, op.value);
      else if (op.op === 'replace') parent[idx] = op.value;
      else parent.splice(idx, 1);
    } else {
      const o = parent as Record<string, unknown>;
      if (op.op !== 'add' && !(key in o)) throw new Error(`${op.op} ${op.path}: no such member`);
      if (op.op === 'remove') delete o[key];
      else o[key] = op.value;
    }
  }
  return root.v as T;
}
