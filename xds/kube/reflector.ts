// Keeps one kind's objects in sync with the API server: list, then watch from the list's resourceVersion; resume, re-list on 410 Gone.
import type { Logger } from 'pino';
import { ApiError, type KubeApi, type WatchEvent, type WatchHandle } from './api-client.ts';
import type { KubeObject } from './documents.ts';
import { kindLabel, type WatchedKind } from './kinds.ts';

export interface ReflectorOptions {
  /** First retry delay after an error (doubles up to maxBackoffMs). */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How often a kind whose CRD is missing is listed again. */
  readonly absentRecheckMs?: number;
  /** Items per list page (the API server's `limit`). */
  readonly pageSize?: number;
  /** Called after a BOOKMARK moved the resourceVersion (status and tests). */
  readonly onBookmark?: (kind: string, resourceVersion: string) => void;
}

export interface ReflectorStats {
  lists: number;
  relists: number;
  watches: number;
  events: number;
  bookmarks: number;
  expired: number;
  errors: number;
}

type WatchOutcome = 'closed' | 'expired' | 'missing' | 'failed';

/** "namespace/name", or null for an object without a name (or not an object: the API server's JSON is not trusted). */
function objectKey(o: KubeObject | null | undefined): string | null {
  if (typeof o !== 'object' || o === null) return null;
  const name = o.metadata?.name;
  if (typeof name !== 'string' || name === '') return null;
  return `${o.metadata?.namespace ?? ''}/${name}`;
}

/**
 * The store only ever changes by a whole successful list (swapped in at once) or by one watch event, so it never
 * holds a partial list. `synced` is false from start and from a 410 until the (re)list has completed.
 */
export class Reflector {
  readonly kind: WatchedKind;
  /** The kind's label for logs (Secret(Opaque)...). */
  readonly name: string;
  objects = new Map<string, KubeObject>();
  resourceVersion = '';
  synced = false;
  /** The kind's CRD is not installed (404 on list). */
  absent = false;
  /**
   * A list answered 404 after the kind had been listed: the last known objects keep serving (policies stay in force)
   * until a list succeeds again. A restarting API server or a flapping aggregated API answers 404 for a while; taking
   * that as "no objects" would drop every TrafficPolicy and RequestAuthentication (STRICT, authorization) from the mesh.
   */
  stale = false;
  lastError: string | null = null;
  readonly stats: ReflectorStats = { lists: 0, relists: 0, watches: 0, events: 0, bookmarks: 0, expired: 0, errors: 0 };
  private readonly api: KubeApi;
  private readonly logger: Logger;
  private readonly onChange: (r: Reflector) => void;
  private readonly opts: Required<Omit<ReflectorOptions, 'onBookmark'>> & ReflectorOptions;
  private needList = true;
  private stopped = false;
  private watchHandle: WatchHandle | null = null;
  private wake: (() => void) | null = null;
  private backoff = 0;
  private readonly abort = new AbortController();

  constructor(kind: WatchedKind, api: KubeApi, logger: Logger, onChange: (r: Reflector) => void, opts: ReflectorOptions = {}) {
    this.kind = kind;
    this.api = api;
    this.logger = logger.child({ kind: kindLabel(kind) });
    this.name = kindLabel(kind);
    this.onChange = onChange;
    this.opts = {
      ...opts,
      backoffMs: opts.backoffMs ?? 200,
      maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      absentRecheckMs: opts.absentRecheckMs ?? 60_000,
      pageSize: opts.pageSize ?? 500,
    };
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    this.watchHandle?.stop();
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    }).then(() => { this.wake = null; });
  }

  /** The next retry delay: backoffMs first, then doubling up to maxBackoffMs. */
  private growBackoff(): void {
    this.backoff = this.backoff === 0 ? this.opts.backoffMs : Math.min(this.backoff * 2, this.opts.maxBackoffMs);
  }

  private failed(what: string, err: unknown): Promise<void> {
    this.stats.errors++;
    this.lastError = `${what}: ${(err as Error).message}`;
    this.growBackoff();
    this.logger.warn({ err: (err as Error).message, retryInMs: this.backoff }, `${this.name}: ${what} failed; retrying`);
    return this.sleep(this.backoff);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.needList) {
        try {
          await this.list();
        } catch (err) {
          if (this.stopped) return;
          if (err instanceof ApiError && err.statusCode === 404 && this.stats.lists > 0) {
            await this.keepLastKnown(err);
            continue;
          }
          if (err instanceof ApiError && err.statusCode === 404 && this.kind.optional) {
            await this.markAbsent(err);
            continue;
          }
          await this.failed('list', err);
        }
        continue;
      }
      const outcome = await this.watchOnce();
      if (this.stopped) return;
      if (outcome === 'missing') {
        // The collection went away under the watch (its CRD was deleted): the list decides what it is now.
        this.needList = true;
        this.synced = false;
        this.logger.warn(`${this.name}: watch answered 404; listing again`);
      } else if (outcome === 'expired') {
        this.stats.expired++;
        this.needList = true;
        this.synced = false;
        this.logger.info({ resourceVersion: this.resourceVersion }, `${this.name}: resourceVersion too old (410 Gone); re-listing, the last full snapshot keeps serving`);
      }
    }
  }

  /** Reads every page into a fresh map, then swaps it in. A 410 on a continue token restarts the list. */
  private async list(): Promise<void> {
    const fresh = new Map<string, KubeObject>();
    let cont = '';
    let rv = '';
    for (;;) {
      const q: Record<string, string> = { limit: String(this.opts.pageSize) };
      if (this.kind.fieldSelector) q.fieldSelector = this.kind.fieldSelector;
      if (cont) q.continue = cont;
      let page;
      try {
        page = await this.api.list(this.kind.path, q, this.abort.signal);
      } catch (err) {
        if (cont && err instanceof ApiError && err.statusCode === 410) {
          this.logger.info(`${this.name}: list continuation expired; listing again from the start`);
          fresh.clear();
          cont = '';
          continue;
        }
        throw err;
      }
      if (this.stopped) return;
      for (const item of page.items) {
        const k = objectKey(item);
        if (k === null) this.logger.warn(`${this.name}: list item without metadata.name skipped`);
        else fresh.set(k, item);
      }
      rv = page.resourceVersion;
      cont = page.continueToken;
      if (!cont) break;
    }
    if (this.stats.lists > 0) this.stats.relists++;
    this.stats.lists++;
    if (this.absent) this.logger.info(`${this.name}: the API now serves ${this.kind.path}`);
    if (this.stale) this.logger.info({ objects: fresh.size }, `${this.name}: listed again after 404; the list replaces the last known objects`);
    this.absent = false;
    this.stale = false;
    this.objects = fresh;
    this.resourceVersion = rv;
    this.needList = false;
    this.synced = true;
    this.backoff = 0;
    this.lastError = null;
    this.logger.debug({ objects: fresh.size, resourceVersion: rv }, `${this.name}: listed`);
    this.onChange(this);
  }

  /**
   * 404 on a list after a successful one: fail static. The store keeps its last known objects (a complete list plus
   * watch events) and counts as synced so other kinds' changes still flow; the list is retried with back-off and only a
   * successful one replaces the store. (Deleting a CRD deletes its objects first: the watch sees those DELETEDs.)
   */
  private async keepLastKnown(err: ApiError): Promise<void> {
    this.stats.errors++;
    this.lastError = `list: ${err.message}`;
    this.growBackoff();
    this.logger.warn({ err: err.message, objects: this.objects.size, retryInMs: this.backoff },
      `${this.name}: ${this.kind.path} answered 404 after it had been listed (API server restarting?); keeping the last known ${this.objects.size} object(s) and listing again`);
    const wasSynced = this.synced;
    this.stale = true;
    this.synced = true;
    // Changes of other kinds held while this kind was marked as listing go out now (with this kind's last objects).
    if (!wasSynced) this.onChange(this);
    await this.sleep(this.backoff);
  }

  private async markAbsent(err: ApiError): Promise<void> {
    if (!this.absent) {
      this.logger.warn(`${this.name}: ${this.kind.path} is not served (404: is its CRD installed?); treating it as empty and checking again every ${Math.round(this.opts.absentRecheckMs / 1000)}s`);
    }
    const had = this.objects.size > 0 || !this.synced;
    this.absent = true;
    this.lastError = err.message;
    this.objects = new Map();
    this.resourceVersion = '';
    this.synced = true;
    if (had) this.onChange(this);
    await this.sleep(this.opts.absentRecheckMs);
  }

  private watchOnce(): Promise<WatchOutcome> {
    return new Promise<WatchOutcome>((resolve) => {
      let settled = false;
      let events = 0;
      const finish = (o: WatchOutcome) => {
        if (settled) return;
        settled = true;
        this.watchHandle?.stop();
        this.watchHandle = null;
        // A watch the server ends at once without a single event must not turn into a tight reconnect loop.
        if (o === 'closed' && events === 0) this.growBackoff();
        if ((o === 'failed' || (o === 'closed' && events === 0)) && !this.stopped) {
          void this.sleep(this.backoff).then(() => resolve(o));
        } else resolve(o);
      };
      const q: Record<string, string> = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: 'true',
        // Like client-go: the server ends each watch after 5-10 minutes and we resume from the last resourceVersion.
        timeoutSeconds: String(300 + Math.floor(Math.random() * 300)),
      };
      if (this.kind.fieldSelector) q.fieldSelector = this.kind.fieldSelector;
      this.stats.watches++;
      const onEvent = (e: WatchEvent) => {
        if (settled) return;
        events++;
        this.stats.events++;
        const rv = e.object?.metadata?.resourceVersion;
        if (e.type === 'ERROR') {
          const st = (e.object ?? {}) as { code?: number; reason?: string; message?: string };
          if (st.code === 410 || st.reason === 'Expired' || st.reason === 'Gone') return finish('expired');
          this.stats.errors++;
          this.lastError = `watch ERROR event: ${st.code ?? ''} ${st.reason ?? ''} ${st.message ?? ''}`.trim();
          this.logger.warn(`${this.name}: ${this.lastError}`);
          return;
        }
        this.backoff = 0;
        if (e.type === 'BOOKMARK') {
          this.stats.bookmarks++;
          if (typeof rv === 'string' && rv !== '') {
            this.resourceVersion = rv;
            this.opts.onBookmark?.(this.name, rv);
          }
          return;
        }
        const k = objectKey(e.object);
        if (k === null) {
          this.logger.warn({ type: e.type }, `${this.name}: watch event without an object name ignored`);
          return;
        }
        if (e.type === 'ADDED' || e.type === 'MODIFIED') this.objects.set(k, e.object);
        else if (e.type === 'DELETED') this.objects.delete(k);
        else {
          this.logger.warn({ type: e.type }, `${this.name}: unknown watch event type ignored`);
          return;
        }
        if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv;
        this.onChange(this);
      };
      const done = (err: Error | null) => {
        if (settled) return;
        if (err === null) return finish('closed');
        if (err instanceof ApiError && err.statusCode === 410) return finish('expired');
        if (err instanceof ApiError && err.statusCode === 404) return finish('missing');
        this.stats.errors++;
        this.lastError = `watch: ${err.message}`;
        this.growBackoff();
        this.logger.warn({ err: err.message, resourceVersion: this.resourceVersion, retryInMs: this.backoff }, `${this.name}: watch failed; resuming`);
        finish('failed');
      };
      this.api.watch(this.kind.path, q, onEvent, done).then((h) => {
        if (settled || this.stopped) h.stop();
        else this.watchHandle = h;
        if (this.stopped) finish('closed');
      }, (err: unknown) => done(err instanceof Error ? err : new Error(String(err))));
    });
  }
}
