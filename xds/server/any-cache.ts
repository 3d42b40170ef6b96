// Encodes resources to protobuf Any once per content hash, so many streams share the bytes; entries unused for a few generations are dropped.
import type protobuf from 'protobufjs';
import { encodeAny } from '../../src/xds/protos.ts';
import { TYPE_URLS, type Resource } from '../translate/resource.ts';
import type { Any } from './ads-proto.ts';

export class AnyCache {
  private readonly root: protobuf.Root;
  private readonly entries = new Map<string, { any: Any; gen: number }>();
  private gen = 0;

  constructor(root: protobuf.Root) {
    this.root = root;
  }

  get(r: Resource): Any {
    const k = `${r.type}|${r.hash}`;
    const hit = this.entries.get(k);
    if (hit) {
      hit.gen = this.gen;
      return hit.any;
    }
    const any = encodeAny(this.root, TYPE_URLS[r.type], r.body);
    this.entries.set(k, { any, gen: this.gen });
    return any;
  }

  /** Starts a new generation and forgets entries not used in the last two. */
  nextGeneration(): void {
    this.gen += 1;
    for (const [k, e] of this.entries) if (e.gen < this.gen - 2) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
