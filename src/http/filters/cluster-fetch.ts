// HTTP fetches made by filters (JWKS, token endpoints) through a named cluster's load balancer, pools and TLS, like Envoy's http_uri.
import type { HttpHostPool } from '../../upstream/pool/http-pool.ts';
import type { UpstreamCluster } from '../../upstream/types.ts';

/** envoy.config.core.v3.HttpUri: the URL (path, authority, scheme), the cluster that carries it, and a timeout. */
export interface HttpUri { readonly uri: string; readonly cluster: string; readonly timeoutMs: number }
export interface FetchInit { readonly method: 'GET' | 'POST'; readonly headers?: Record<string, string>; readonly body?: string | Buffer }
export interface FetchResult { readonly status: number; readonly headers: Record<string, string | string[] | undefined>; readonly body: Buffer }
export type ClusterFetch = (target: HttpUri, init: FetchInit) => Promise<FetchResult>;

/** Responses larger than this are refused (a JWKS or token response is a few KiB). */
export const FETCH_MAX_BODY_BYTES = 1024 * 1024;

/** What the fetcher needs of the cluster manager: the current cluster by name. */
export interface FetchClusterLookup {
  get(name: string): UpstreamCluster | undefined;
}

function fail(target: HttpUri, reason: string): Error {
  return new Error(`fetch ${target.uri} through cluster "${target.cluster}": ${reason}`);
}

/**
 * A ClusterFetch over the live clusters: the host comes from the cluster's load balancer, the connection from its
 * pool (HTTP/1.1 or HTTP/2 and upstream TLS as the cluster says). Rejects with an Error naming the cluster and the
 * reason for an unknown cluster, no healthy host, a connection or protocol failure, a timeout, or a body over 1 MiB.
 */
export function clusterFetcher(clusters: FetchClusterLookup): ClusterFetch {
  return (target, init) => new Promise<FetchResult>((resolve, reject) => {
    let url: URL;
    try { url = new URL(target.uri); } catch { reject(fail(target, 'invalid uri')); return; }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') { reject(fail(target, `unsupported scheme ${url.protocol}`)); return; }
    const cluster = clusters.get(target.cluster);
    if (cluster === undefined) { reject(fail(target, 'unknown cluster')); return; }
    const host = cluster.chooseHost({ hash: null, avoid: null });
    if (host === null) { reject(fail(target, 'no healthy host')); return; }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v;
    const body = init.body === undefined ? null : Buffer.isBuffer(init.body) ? init.body : Buffer.from(init.body);
    if (body !== null) headers['content-length'] = String(body.length);
    let settled = false;
    const chunks: Buffer[] = [];
    let size = 0;
    let status = 0;
    let resHeaders: Record<string, string | string[] | undefined> = {};
    const done = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      host.activeRequests--;
      if (err !== null) { host.rqError++; reject(err); return; }
      resolve({ status, headers: resHeaders, body: Buffer.concat(chunks, size) });
    };
    host.activeRequests++;
    host.rqTotal++;
    let attempt: { abort(): void } | null = null;
    const timer = setTimeout(() => { done(fail(target, `timeout after ${target.timeoutMs} ms`)); attempt?.abort(); }, Math.max(1, target.timeoutMs));
    try {
      attempt = (cluster.pool(host) as HttpHostPool).request({
        method: init.method,
        path: url.pathname + url.search,
        authority: url.host,
        scheme: url.protocol === 'https:' ? 'https' : 'http',
        headers,
        body,
      }, {
        onHeaders: (s, h) => { status = s; resHeaders = h; },
        onData: (chunk) => {
          size += chunk.length;
          if (size > FETCH_MAX_BODY_BYTES) {
            done(fail(target, `response body exceeds ${FETCH_MAX_BODY_BYTES} bytes`));
            attempt?.abort();
            return false;
          }
          chunks.push(chunk);
          return true;
        },
        onEnd: () => done(null),
        onError: (err) => done(fail(target, `${err.kind === 'connect_failure' || err.kind === 'connect_timeout' ? 'connect error' : 'upstream error'} (${err.message})`)),
      });
      if (settled) attempt.abort();
    } catch (err) {
      done(fail(target, `upstream error (${(err as Error).message})`));
    }
  });
}

/** The fetch of contexts without clusters (unit tests of other filters): every call rejects. */
export const NO_CLUSTER_FETCH: ClusterFetch = (target) =>
  Promise.reject(fail(target, 'unknown cluster (no cluster manager here)'));
