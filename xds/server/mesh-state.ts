// Holds the last good mesh model plus announced endpoints, and rebuilds the translator (a new generation) when either changes.
import { EventEmitter } from 'node:events';
import type { MeshModel } from '../input/types.ts';
import { MeshView, type Announcement, type MeshSecurity, type OutboundTrafficPolicy } from '../translate/mesh-view.ts';
import type { Resource, ResourceType } from '../translate/resource.ts';
import { Translator } from '../translate/snapshot.ts';

function changedNames(a: ReadonlyMap<string, Resource>, b: ReadonlyMap<string, Resource>): Set<string> {
  const out = new Set<string>();
  for (const [n, r] of a) if (b.get(n)?.hash !== r.hash) out.add(n);
  for (const n of b.keys()) if (!a.has(n)) out.add(n);
  return out;
}

const EMPTY_MODEL: MeshModel = {
  services: new Map(), endpointSlices: new Map(), gateways: new Map(), secrets: new Map(), routes: [], policies: new Map(),
};

/** Emits 'change' (no arguments) after each rebuild. */
export class MeshState extends EventEmitter {
  model: MeshModel = EMPTY_MODEL;
  /** Content version of the input model. */
  version = '';
  generation = 0;
  translator: Translator = new Translator(new MeshView(EMPTY_MODEL, []));
  private readonly announcements = new Map<string, Announcement>();
  private diff: Record<'CDS' | 'EDS', ReadonlySet<string>> = { CDS: new Set(), EDS: new Set() };
  private timer: NodeJS.Timeout | null = null;
  private readonly debounceMs: number;

  /** Mesh mTLS settings (trust domain, default mode), or null for a plaintext mesh. */
  readonly security: MeshSecurity | null;
  /** Mesh-wide policy for captured traffic to destinations outside the registry (--outbound-traffic-policy). */
  readonly outboundTrafficPolicy: OutboundTrafficPolicy;

  constructor(debounceMs = 20, security: MeshSecurity | null = null, outboundTrafficPolicy: OutboundTrafficPolicy = 'ALLOW_ANY') {
    super();
    this.debounceMs = debounceMs;
    this.security = security;
    this.outboundTrafficPolicy = outboundTrafficPolicy;
  }

  /** Replaces the model (already validated) and rebuilds at once. */
  setModel(model: MeshModel, version: string): void {
    this.model = model;
    this.version = version;
    this.rebuild();
  }

  /** Records (or, with null, withdraws) the endpoint a connection announced; rebuilds shortly after, batching bursts. */
  announce(connectionId: string, a: Announcement | null): void {
    const prev = this.announcements.get(connectionId);
    if (a === null && !prev) return;
    if (a === null) this.announcements.delete(connectionId);
    else this.announcements.set(connectionId, a);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.rebuild();
    }, this.debounceMs);
  }

  announced(): number {
    return this.announcements.size;
  }

  private rebuild(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const prev = this.translator;
    this.generation += 1;
    this.translator = new Translator(new MeshView(this.model, this.announcements.values(), this.security, this.outboundTrafficPolicy));
    this.diff = { CDS: changedNames(prev.all('CDS'), this.translator.all('CDS')), EDS: changedNames(prev.all('EDS'), this.translator.all('EDS')) };
    this.emit('change');
  }

  /**
   * Names of mesh-wide clusters or load assignments that changed from generation `gen` to the current one, or null when
   * unknown (another type, or `gen` is not the previous generation): then the caller must compare everything.
   */
  changedSince(gen: number, type: ResourceType): ReadonlySet<string> | null {
    if (gen !== this.generation - 1 || (type !== 'CDS' && type !== 'EDS')) return null;
    return this.diff[type];
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
