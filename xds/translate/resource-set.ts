// A read-only set of resources by name, layered over shared maps (no per-node copies), with a memoized content version.
import type { Resource } from './resource.ts';

interface Digest {
  n: number;
  sum: number;
  xor: number;
}

const digests = new WeakMap<ReadonlyMap<string, Resource>, Digest>();

function digestOf(m: ReadonlyMap<string, Resource>): Digest {
  let d = digests.get(m);
  if (!d) {
    d = { n: 0, sum: 0, xor: 0 };
    for (const r of m.values()) {
      d.n += 1;
      d.sum = (d.sum + r.h1) >>> 0;
      d.xor = (d.xor ^ r.h2) >>> 0;
    }
    digests.set(m, d);
  }
  return d;
}

/** Formats a digest the way setVersion does, so both agree for equal contents. */
export function formatDigest(d: Digest): string {
  return `${d.n.toString(16)}-${d.sum.toString(16).padStart(8, '0')}${d.xor.toString(16).padStart(8, '0')}`;
}

/**
 * Layers must not share names and must not change after construction (they are per-generation caches).
 */
export class ResourceSet implements Iterable<[string, Resource]> {
  private readonly layers: readonly ReadonlyMap<string, Resource>[];
  private memo: string | null = null;

  constructor(layers: readonly ReadonlyMap<string, Resource>[]) {
    this.layers = layers.filter((l) => l.size > 0);
  }

  get(name: string): Resource | undefined {
    for (const l of this.layers) {
      const r = l.get(name);
      if (r) return r;
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  get size(): number {
    let n = 0;
    for (const l of this.layers) n += l.size;
    return n;
  }

  *[Symbol.iterator](): IterableIterator<[string, Resource]> {
    for (const l of this.layers) yield* l;
  }

  *keys(): IterableIterator<string> {
    for (const l of this.layers) yield* l.keys();
  }

  *values(): IterableIterator<Resource> {
    for (const l of this.layers) yield* l.values();
  }

  /** Content version of the whole set (equal to setVersion over its values). */
  get version(): string {
    if (this.memo === null) {
      const d: Digest = { n: 0, sum: 0, xor: 0 };
      for (const l of this.layers) {
        const x = digestOf(l);
        d.n += x.n;
        d.sum = (d.sum + x.sum) >>> 0;
        d.xor = (d.xor ^ x.xor) >>> 0;
      }
      this.memo = formatDigest(d);
    }
    return this.memo;
  }
}
