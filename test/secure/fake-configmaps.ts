// ConfigMap GET/POST/PUT for the fake Kubernetes API (test/kube/fake-kube-api.ts), answering with the API server's JSON: 404/409 Status objects, resourceVersion checks.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeKubeApi } from '../kube/fake-kube-api.ts';

export type ConfigMap = { apiVersion: string; kind: string; metadata: { name: string; namespace: string; resourceVersion: string; labels?: Record<string, string> }; data?: Record<string, string> };

export interface Write {
  readonly method: 'POST' | 'PUT';
  readonly namespace: string;
  readonly name: string;
}

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** Adds namespaced ConfigMap reads and writes to `api`; namespaces must exist in its /api/v1/namespaces collection. */
export class FakeConfigMaps {
  readonly objects = new Map<string, ConfigMap>();
  readonly writes: Write[] = [];
  /** Fail the next N writes with HTTP 500. */
  failWrites = 0;
  private rv = 1000;
  private readonly listeners = new Set<() => void>();
  private readonly namespaces: () => string[];

  constructor(api: FakeKubeApi, namespaces: () => string[]) {
    this.namespaces = namespaces;
    api.extraHandler = (req, res, url) => this.handle(req, res, url);
  }

  get(namespace: string, name: string): ConfigMap | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }

  /** Resolves once `pred` holds (checked after every write). */
  until(pred: () => boolean): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!pred()) return;
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return false;
    const [, ns, name] = m;
    const json = (code: number, body: object) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
      for (const l of [...this.listeners]) l();
    };
    if (!this.namespaces().includes(ns)) {
      json(404, status(404, 'NotFound', `namespaces "${ns}" not found`));
      return true;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = `${ns}/${name}`;
      if (req.method === 'GET' && name) {
        const cm = this.objects.get(key);
        return cm ? json(200, cm) : json(404, status(404, 'NotFound', `configmaps "${name}" not found`));
      }
      if (req.method !== 'POST' && req.method !== 'PUT') return json(405, status(405, 'MethodNotAllowed', `${req.method} is not allowed`));
      if (this.failWrites > 0) {
        this.failWrites--;
        return json(500, status(500, 'InternalError', 'etcdserver: request timed out'));
      }
      let body: ConfigMap;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ConfigMap;
      } catch {
        return json(400, status(400, 'BadRequest', 'the body is not JSON'));
      }
      const objName = body.metadata?.name;
      if (req.method === 'POST') {
        if (name) return json(405, status(405, 'MethodNotAllowed', 'POST to a named object'));
        const k = `${ns}/${objName}`;
        if (this.objects.has(k)) return json(409, status(409, 'AlreadyExists', `configmaps "${objName}" already exists`));
        const stored: ConfigMap = { ...body, metadata: { ...body.metadata, namespace: ns, resourceVersion: String(++this.rv) } };
        this.objects.set(k, stored);
        this.writes.push({ method: 'POST', namespace: ns, name: objName });
        return json(201, stored);
      }
      const prev = this.objects.get(key);
      if (!prev) return json(404, status(404, 'NotFound', `configmaps "${name}" not found`));
      if (body.metadata?.resourceVersion && body.metadata.resourceVersion !== prev.metadata.resourceVersion) {
        return json(409, status(409, 'Conflict', `Operation cannot be fulfilled on configmaps "${name}": the object has been modified`));
      }
      const stored: ConfigMap = { ...body, metadata: { ...body.metadata, namespace: ns, resourceVersion: String(++this.rv) } };
      this.objects.set(key, stored);
      this.writes.push({ method: 'PUT', namespace: ns, name });
      return json(200, stored);
    });
    return true;
  }
}
