// HTTP health check probes: HTTP/1.1 (node:http, one kept-alive connection) and HTTP/2 (node:http2, one session), over TLS when the cluster has it.
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { ClusterConfig, HttpHealthCheckConfig } from '../model/types.ts';
import { upstreamTlsOptions } from './upstream-tls.ts';
import { bindOptions } from './bind-options.ts';
import {
  activeFailure,
  applyHeaderOptions,
  HC_USER_AGENT,
  networkFailure,
  payloadMatches,
  type Prober,
  type ProbeResult,
  statusVerdict,
  withDeadline,
} from './health-check-probes.ts';
import type { Host } from './types.ts';

/** Collects up to `limit` bytes of a response body for `receive` matching, discarding the rest. */
class BodyPrefix {
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #length = 0;
  constructor(limit: number) { this.#limit = limit; }
  push(chunk: Buffer): void {
    if (this.#length >= this.#limit) return;
    const part = chunk.subarray(0, this.#limit - this.#length);
    this.#chunks.push(part);
    this.#length += part.length;
  }
  bytes(): Buffer { return Buffer.concat(this.#chunks); }
}

function verdict(hc: HttpHealthCheckConfig, status: number, body: BodyPrefix): ProbeResult {
  const v = statusVerdict(status, hc.expectedStatuses, hc.retriableStatuses);
  if (v.ok && hc.receive.length > 0 && !payloadMatches(body.bytes(), hc.receive)) return activeFailure('response body does not match receive');
  return v;
}

function errorDetail(err: unknown): string {
  const e = err as { code?: string; message?: string } | null;
  return e?.code ?? e?.message ?? String(err);
}

/** HTTP/1.1 checks: GET (or `method`) `path` with Host = `host` or the cluster name and user-agent Envoy/HC. */
export class Http1Prober implements Prober {
  readonly #host: Host;
  readonly #cluster: ClusterConfig;
  readonly #hc: HttpHealthCheckConfig;
  readonly #reuse: boolean;
  readonly #agent: http.Agent | null;

  constructor(host: Host, cluster: ClusterConfig, hc: HttpHealthCheckConfig, reuse: boolean) {
    this.#host = host;
    this.#cluster = cluster;
    this.#hc = hc;
    this.#reuse = reuse;
    const agentOpts = { keepAlive: true, maxSockets: 1 };
    this.#agent = !reuse ? null : cluster.tls ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
  }

  check(timeoutMs: number): Promise<ProbeResult> {
    let req: http.ClientRequest | null = null;
    return withDeadline(timeoutMs, (finish) => {
      const hc = this.#hc;
      const headers = applyHeaderOptions(
        { host: hc.host || this.#cluster.name, 'user-agent': HC_USER_AGENT, ...(this.#reuse ? {} : { connection: 'close' }) },
        hc.requestHeadersToAdd,
        hc.requestHeadersToRemove,
      );
      const tls = this.#cluster.tls;
      const opts: https.RequestOptions = {
        host: this.#host.address,
        port: this.#host.port,
        method: hc.method,
        path: hc.path,
        headers,
        agent: this.#agent ?? false,
        ...(tls ? upstreamTlsOptions(tls, this.#host, ['http/1.1']) : {}),
        ...bindOptions(this.#cluster),
      };
      req = (tls ? https : http).request(opts, (res) => {
        const body = new BodyPrefix(hc.receive.length > 0 ? hc.responseBufferSize : 0);
        res.on('data', (c: Buffer) => body.push(c));
        res.on('end', () => finish(verdict(hc, res.statusCode ?? 0, body)));
        res.on('error', (err) => finish(networkFailure(errorDetail(err))));
      });
      req.on('error', (err) => finish(networkFailure(errorDetail(err))));
      req.end();
    }, () => req?.destroy());
  }

  close(): void {
    this.#agent?.destroy();
  }
}

/** Opens an HTTP/2 session to `host` (h2c prior knowledge, or TLS with ALPN h2 when the cluster has TLS). */
export function connectH2(host: Host, cluster: ClusterConfig): http2.ClientHttp2Session {
  const tls = cluster.tls;
  const hostPart = host.address.includes(':') ? `[${host.address}]` : host.address;
  const session = http2.connect(`${tls ? 'https' : 'http'}://${hostPart}:${host.port}`, { ...(tls ? upstreamTlsOptions(tls, host, ['h2']) : {}), ...bindOptions(cluster) });
  session.on('error', () => { /* reported by the stream */ });
  session.unref();
  return session;
}

/** Keeps one HTTP/2 session to a host across checks (reuse_connection) or opens one per check. */
export class H2Connection {
  readonly #host: Host;
  readonly #cluster: ClusterConfig;
  readonly #reuse: boolean;
  #session: http2.ClientHttp2Session | null = null;

  constructor(host: Host, cluster: ClusterConfig, reuse: boolean) {
    this.#host = host;
    this.#cluster = cluster;
    this.#reuse = reuse;
  }

  session(): http2.ClientHttp2Session {
    const s = this.#session;
    if (s !== null && !s.closed && !s.destroyed) return s;
    const fresh = connectH2(this.#host, this.#cluster);
    this.#session = fresh;
    return fresh;
  }

  /**
   * One check on a stream `open` starts on the session: a stream error or a close before `finish` is a network
   * failure, a timeout cancels the stream; afterwards the session is dropped unless it is kept (a failed check always
   * drops it, as Envoy resets the client).
   */
  async probe(timeoutMs: number, open: (session: http2.ClientHttp2Session, finish: (r: ProbeResult) => void) => http2.ClientHttp2Stream): Promise<ProbeResult> {
    let stream: http2.ClientHttp2Stream | null = null;
    const r = await withDeadline(timeoutMs, (finish) => {
      const s = open(this.session(), finish);
      stream = s;
      s.on('error', (err) => finish(networkFailure(errorDetail(err))));
      s.on('close', () => finish(networkFailure(`stream closed (code ${s.rstCode})`)));
    }, () => stream?.close(http2.constants.NGHTTP2_CANCEL));
    if (!this.#reuse || (!r.ok && r.network)) this.close();
    return r;
  }

  close(): void {
    this.#session?.destroy();
    this.#session = null;
  }
}

/** HTTP/2 checks (codec_client_type: HTTP2). */
export class Http2Prober implements Prober {
  readonly #cluster: ClusterConfig;
  readonly #hc: HttpHealthCheckConfig;
  readonly #conn: H2Connection;

  constructor(host: Host, cluster: ClusterConfig, hc: HttpHealthCheckConfig, reuse: boolean) {
    this.#cluster = cluster;
    this.#hc = hc;
    this.#conn = new H2Connection(host, cluster, reuse);
  }

  check(timeoutMs: number): Promise<ProbeResult> {
    return this.#conn.probe(timeoutMs, (session, finish) => {
      const hc = this.#hc;
      const headers = applyHeaderOptions(
        { ':method': hc.method, ':path': hc.path, ':authority': hc.host || this.#cluster.name, 'user-agent': HC_USER_AGENT },
        hc.requestHeadersToAdd,
        hc.requestHeadersToRemove,
      );
      const s = session.request(headers, { endStream: true });
      let status = 0;
      const body = new BodyPrefix(hc.receive.length > 0 ? hc.responseBufferSize : 0);
      s.on('response', (h) => { status = Number(h[':status'] ?? 0); });
      s.on('data', (c: Buffer) => body.push(c));
      s.on('end', () => finish(status === 0 ? networkFailure('stream ended without headers') : verdict(hc, status, body)));
      return s;
    });
  }

  close(): void {
    this.#conn.close();
  }
}
