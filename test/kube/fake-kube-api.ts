// A local HTTPS Kubernetes API server for the discovery tests: real List JSON, chunked watch streams of JSON events, 410 Gone, 404 for missing CRDs.
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateCert, type TestCert } from '../helpers/certs.ts';

export type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };

export interface SeenRequest {
  readonly path: string;
  readonly query: Record<string, string>;
  readonly watch: boolean;
  readonly authorization: string;
}

interface Collection {
  readonly listKind: string;
  readonly listApiVersion: string;
  readonly objects: Map<string, Obj>;
  /** Every change, oldest first, for replaying a watch from a resourceVersion. */
  readonly history: { rv: number; type: string; object: Obj }[];
  /** Watches older than this get 410 (like etcd compaction). */
  compactedRv: number;
  /** While set, list requests wait for it. */
  gate: Promise<void> | null;
}

interface ActiveWatch {
  readonly path: string;
  readonly res: ServerResponse;
  readonly fieldSelector: string;
}

function statusBody(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class FakeKubeApi {
  readonly tls: TestCert = generateCert();
  readonly token = 'pilotfish-control-plane-token';
  readonly seen: SeenRequest[] = [];
  /** 'request' (SeenRequest) for every request; 'watch' (path) when a watch stream is open. */
  readonly events = new EventEmitter();
  private readonly collections = new Map<string, Collection>();
  private readonly watches = new Set<ActiveWatch>();
  private rv = 100;
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'pilotfish-kubeconfig-'));
  private readonly server = https.createServer({ key: this.tls.key, cert: this.tls.cert }, (req, res) => this.handle(req, res));
  port = 0;
  /** Answer a watch from a compacted resourceVersion with HTTP 410 Gone instead of 200 + an ERROR event. */
  goneAsHttp = false;
  /** Collections that answer 404 for now (list and watch), as a restarting API server or a flapping aggregated API does. */
  readonly notFound = new Set<string>();
  /** Answers (authenticated) requests the collections do not serve, e.g. object writes; returns true when it did. */
  extraHandler: ((req: IncomingMessage, res: ServerResponse, url: URL) => boolean) | null = null;

  /** Serves a collection, e.g. ('/api/v1/services', 'ServiceList', 'v1'). Paths not served answer 404 like a missing CRD. */
  serve(collectionPath: string, listKind: string, listApiVersion: string): this {
    this.collections.set(collectionPath, { listKind, listApiVersion, objects: new Map(), history: [], compactedRv: 0, gate: null });
    return this;
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** A kubeconfig file for this server: https with the test CA, bearer token. */
  kubeconfig(): string {
    const file = path.join(this.dir, 'kubeconfig.yaml');
    writeFileSync(file, [
      'apiVersion: v1', 'kind: Config', 'current-context: fake',
      'clusters:', `- name: fake`, `  cluster: {server: "https://127.0.0.1:${this.port}", certificate-authority-data: "${Buffer.from(this.tls.cert).toString('base64')}"}`,
      'users:', `- name: cp`, `  user: {token: "${this.token}"}`,
      'contexts:', `- name: fake`, `  context: {cluster: fake, user: cp}`, '',
    ].join('\n'));
    return file;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  private coll(p: string): Collection {
    const c = this.collections.get(p);
    if (!c) throw new Error(`fake API: ${p} is not served`);
    return c;
  }

  private record(p: string, type: string, object: Obj): Obj {
    const c = this.coll(p);
    this.rv++;
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(this.rv) } };
    c.history.push({ rv: this.rv, type, object: stored });
    for (const w of this.watches) if (w.path === p && this.selects(w.fieldSelector, stored)) this.send(w.res, type, stored);
    return stored;
  }

  /** Creates or replaces an object; open watches get ADDED or MODIFIED. */
  apply(p: string, object: Obj): Obj {
    const c = this.coll(p);
    const k = `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    const type = c.objects.has(k) ? 'MODIFIED' : 'ADDED';
    const stored = this.record(p, type, object);
    c.objects.set(k, stored);
    return stored;
  }

  /** Deletes an object; open watches get DELETED with its last state. */
  delete(p: string, namespace: string, name: string): void {
    const c = this.coll(p);
    const k = `${namespace}/${name}`;
    const prev = c.objects.get(k);
    if (!prev) throw new Error(`fake API: no ${k} in ${p}`);
    c.objects.delete(k);
    this.record(p, 'DELETED', prev);
  }

  /** Sends a BOOKMARK at a new resourceVersion to the open watches of `p`. */
  bookmark(p: string): string {
    const c = this.coll(p);
    this.rv++;
    const object = { kind: c.listKind.replace(/List$/, ''), apiVersion: c.listApiVersion, metadata: { resourceVersion: String(this.rv) } };
    for (const w of this.watches) if (w.path === p) this.send(w.res, 'BOOKMARK', object);
    return String(this.rv);
  }

  /** Cuts every open watch connection of `p` (no final event), like a load balancer dropping it. */
  dropWatches(p: string): void {
    for (const w of [...this.watches]) if (w.path === p) w.res.socket?.destroy();
  }

  /**
   * Compacts `p`'s history: watches from an older resourceVersion get 410. With `notify`, open watches receive the
   * ERROR event (a Status with code 410) and are closed, as the API server does when a watch falls too far behind.
   */
  compact(p: string, notify = true): void {
    const c = this.coll(p);
    this.rv++; // writes elsewhere in the cluster moved etcd on before the compaction
    c.compactedRv = this.rv;
    c.history.length = 0;
    if (!notify) return;
    for (const w of [...this.watches]) {
      if (w.path !== p) continue;
      this.send(w.res, 'ERROR', statusBody(410, 'Expired', `too old resource version: ${c.compactedRv - 1} (${c.compactedRv})`));
      w.res.end();
    }
  }

  /** Holds list responses of `p` until the returned function is called. */
  holdLists(p: string): () => void {
    let release!: () => void;
    this.coll(p).gate = new Promise<void>((resolve) => { release = resolve; });
    return () => {
      this.coll(p).gate = null;
      release();
    };
  }

  /** True while a watch stream of `p` is open. */
  watching(p: string): boolean {
    return [...this.watches].some((w) => w.path === p);
  }

  requests(p: string, watch: boolean): SeenRequest[] {
    return this.seen.filter((r) => r.path === p && r.watch === watch);
  }

  private selects(fieldSelector: string, o: Obj): boolean {
    if (!fieldSelector) return true;
    return fieldSelector.split(',').every((term) => {
      const [field, value] = term.split('=');
      return field === 'type' ? o.type === value : true;
    });
  }

  private send(res: ServerResponse, type: string, object: object): void {
    res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://fake');
    const query = Object.fromEntries(url.searchParams);
    const watch = query.watch === 'true' || query.watch === '1';
    const seen = { path: url.pathname, query, watch, authorization: String(req.headers.authorization) };
    this.seen.push(seen);
    this.events.emit('request', seen);
    const json = (code: number, body: object) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) return json(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
    if (this.extraHandler?.(req, res, url)) return;
    const c = this.notFound.has(url.pathname) ? undefined : this.collections.get(url.pathname);
    if (req.method !== 'GET' || !c) return json(404, statusBody(404, 'NotFound', 'the server could not find the requested resource'));
    if (watch) return this.startWatch(url.pathname, c, query, res);
    void (async () => {
      if (c.gate) await c.gate;
      this.list(c, query, json);
    })();
  }

  private list(c: Collection, query: Record<string, string>, json: (code: number, body: object) => void): void {
    let items = [...c.objects.values()].filter((o) => this.selects(query.fieldSelector ?? '', o));
    items.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
    let start = 0;
    let rv = this.rv;
    if (query.continue) {
      const tok = JSON.parse(Buffer.from(query.continue, 'base64').toString('utf8')) as { rv: number; start: number };
      if (tok.rv < c.compactedRv) return json(410, statusBody(410, 'Expired', 'The provided continue parameter is too old'));
      start = tok.start;
      rv = tok.rv;
    }
    const limit = query.limit ? Number(query.limit) : Infinity;
    const page = items.slice(start, start + limit);
    const more = start + page.length < items.length;
    // List items carry no apiVersion/kind on the wire: only the List does.
    const stripped = page.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
    json(200, {
      kind: c.listKind, apiVersion: c.listApiVersion,
      metadata: { resourceVersion: String(rv), ...(more ? { continue: Buffer.from(JSON.stringify({ rv, start: start + page.length })).toString('base64'), remainingItemCount: items.length - start - page.length } : {}) },
      items: stripped,
    });
  }

  private startWatch(p: string, c: Collection, query: Record<string, string>, res: ServerResponse): void {
    const from = Number(query.resourceVersion ?? '0');
    if (query.resourceVersion && from < c.compactedRv) {
      if (this.goneAsHttp) {
        res.writeHead(410, { 'content-type': 'application/json' });
        res.end(JSON.stringify(statusBody(410, 'Gone', `too old resource version: ${from} (${c.compactedRv})`)));
        return;
      }
      // The API server answers a watch from a compacted version with 200 and one ERROR event.
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      this.send(res, 'ERROR', statusBody(410, 'Expired', `too old resource version: ${from} (${c.compactedRv})`));
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w: ActiveWatch = { path: p, res, fieldSelector: query.fieldSelector ?? '' };
    for (const h of c.history) if (h.rv > from && this.selects(w.fieldSelector, h.object)) this.send(res, h.type, h.object);
    this.watches.add(w);
    res.on('close', () => this.watches.delete(w));
    this.events.emit('watch', p);
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.res.socket?.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.tls.remove();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
