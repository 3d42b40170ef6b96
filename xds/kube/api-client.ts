// Talks to the Kubernetes API server for the reflectors: paged LIST requests and WATCH streams, authenticated by a KubeConfig.
import http from 'node:http';
import https from 'node:https';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import type { KubeObject } from './documents.ts';

export interface ListPage {
  readonly items: KubeObject[];
  readonly resourceVersion: string;
  readonly continueToken: string;
}

/** An HTTP error from the API server, with its Status object's reason and message when it sent one. */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly reason: string;
  constructor(statusCode: number, reason: string, message: string) {
    super(message);
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

export type WatchEvent = { readonly type: string; readonly object: KubeObject };

export interface WatchHandle {
  stop(): void;
}

export interface KubeApi {
  /** Server URL, for logs and status. */
  readonly server: string;
  list(path: string, query: Record<string, string>, signal?: AbortSignal): Promise<ListPage>;
  /** Streams events until the server closes (done(null)), the request fails (done(err)), or stop() is called. */
  watch(path: string, query: Record<string, string>, onEvent: (e: WatchEvent) => void, done: (err: Error | null) => void): Promise<WatchHandle>;
}

/** Loads the kubeconfig: the given file, else KUBECONFIG / ~/.kube/config, else the in-cluster service account. */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error(file ? `kubeconfig ${file} has no current cluster` : 'no kubeconfig found (KUBECONFIG, ~/.kube/config) and not running in a cluster');
  return kc;
}

const LIST_TIMEOUT_MS = 60_000;

export class KubeConfigApi implements KubeApi {
  readonly server: string;
  private readonly kc: KubeConfig;
  private readonly watcher: Watch;

  /** `watchIdleMs`: a watch that receives nothing for this long is dropped and resumed (the server also ends watches at timeoutSeconds). */
  constructor(kc: KubeConfig, watchIdleMs = 11 * 60_000) {
    this.kc = kc;
    this.server = kc.getCurrentCluster()?.server ?? '';
    this.watcher = new Watch(kc);
    // Watch's inactivity timeout (30 s by default) would cut quiet watches long before the server's own timeout.
    (this.watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = watchIdleMs;
  }

  async list(path: string, query: Record<string, string>, signal?: AbortSignal): Promise<ListPage> {
    const url = new URL(this.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const opts: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts);
    const mod = url.protocol === 'http:' ? http : https;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = mod.request(url, { ...opts, timeout: LIST_TIMEOUT_MS, ...(signal ? { signal } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${LIST_TIMEOUT_MS / 1000}s`)));
      req.on('error', reject);
      req.end();
    });
    let body: { kind?: string; reason?: string; message?: string; items?: KubeObject[] | null; metadata?: { resourceVersion?: string; continue?: string } };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new ApiError(status, '', `GET ${path}: HTTP ${status}, not JSON: ${text.slice(0, 120)}`);
    }
    if (status !== 200) throw new ApiError(status, body.reason ?? '', `GET ${path}: HTTP ${status}${body.reason ? ` ${body.reason}` : ''}: ${body.message ?? text.slice(0, 200)}`);
    if (body.items !== null && body.items !== undefined && !Array.isArray(body.items)) throw new ApiError(status, '', `GET ${path}: "items" is not a list`);
    return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '', continueToken: body.metadata?.continue ?? '' };
  }

  async watch(path: string, query: Record<string, string>, onEvent: (e: WatchEvent) => void, done: (err: Error | null) => void): Promise<WatchHandle> {
    let stopped = false;
    const controller = await this.watcher.watch(path, query, (type: string, object: KubeObject) => {
      if (!stopped) onEvent({ type, object });
    }, (err: unknown) => {
      if (stopped) return;
      stopped = true;
      if (err === null || err === undefined) return done(null);
      const e = err as { statusCode?: number; message?: string; name?: string };
      done(typeof e.statusCode === 'number' ? new ApiError(e.statusCode, '', `WATCH ${path}: HTTP ${e.statusCode} ${e.message ?? ''}`) : err instanceof Error ? err : new Error(String(err)));
    });
    return {
      stop: () => {
        stopped = true;
        controller.abort();
      },
    };
  }
}
