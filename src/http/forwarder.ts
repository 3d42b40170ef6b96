// Sends a routed request to its cluster: attempts, per-try and route timeouts, retries, and streaming the response back.
import type { RetryPolicy } from '../model/types.ts';
import type { Host, UpstreamCluster } from '../upstream/types.ts';
import type { HeaderRecord, HttpHostPool, UpstreamAttempt, UpstreamRequest } from '../upstream/pool/http-pool.ts';
import { UpstreamFailure } from '../upstream/upstream-failure.ts';
import { backOffMs, compileRetry, retryOnFailure, retryOnResponse, type CompiledRetry } from '../policy/retry.ts';
import type { ActiveRequest } from './active-request.ts';
import type { ClusterStats } from './cluster-stats.ts';
import * as replies from './error-response.ts';
import { RequestBodyBuffer } from './request-body-buffer.ts';

export interface ForwardPlan {
  readonly req: ActiveRequest;
  readonly cluster: UpstreamCluster;
  readonly firstHost: Host;
  readonly hash: number | null;
  /** Method, path, authority, scheme and headers (the body is taken from the exchange). */
  readonly request: Omit<UpstreamRequest, 'body'>;
  readonly retry: RetryPolicy | null;
  readonly timeoutMs: number;
  readonly grpc: boolean;
  readonly stats: ClusterStats;
  /** Turns upstream response headers into what the client gets (hop-by-hop removal, mutations, server header). */
  readonly responseHeaders: (status: number, upstream: HeaderRecord) => HeaderRecord;
}

/** Active retries per cluster, checked against circuit_breakers max_retries. */
const activeRetries = new WeakMap<UpstreamCluster, { n: number }>();

export function forward(plan: ForwardPlan): void {
  new Forwarder(plan).start();
}

class Forwarder {
  readonly #p: ForwardPlan;
  readonly #retry: CompiledRetry | null;
  readonly #body: RequestBodyBuffer | null;
  #attempt: UpstreamAttempt | null = null;
  #attemptNo = 0;
  #host: Host;
  #tried: Set<Host> | null = null;
  #routeTimer: NodeJS.Timeout | null = null;
  #tryTimer: NodeJS.Timeout | null = null;
  #backoffTimer: NodeJS.Timeout | null = null;
  #done = false;
  #inRetry = false;
  #trailersOnly = false;
  #sentAt = 0;

  constructor(plan: ForwardPlan) {
    this.#p = plan;
    this.#host = plan.firstHost;
    this.#retry = plan.retry !== null && plan.retry.numRetries > 0 ? compileRetry(plan.retry) : null;
    const body = plan.req.ex.body;
    this.#body = this.#retry !== null && body !== null ? new RequestBodyBuffer(body) : null;
  }

  start(): void {
    const { req, timeoutMs } = this.#p;
    this.#p.stats.rqTotal.inc();
    this.#p.stats.rqActive.inc();
    if (timeoutMs > 0) this.#routeTimer = setTimeout(() => this.#onRouteTimeout(), timeoutMs);
    req.ex.onAbort(() => this.#onDownstreamAbort());
    this.#send(this.#p.req.ex.body === null ? null : this.#body !== null ? this.#body.first : this.#p.req.ex.body);
  }

  #send(body: UpstreamRequest['body']): void {
    const { req, cluster, stats } = this.#p;
    const host = this.#host;
    const attemptNo = ++this.#attemptNo;
    req.upstreamHost = host.key;
    host.activeRequests++;
    host.rqTotal++;
    let open = true;
    const close = (): boolean => {
      if (!open || attemptNo !== this.#attemptNo) return false;
      open = false;
      host.activeRequests--;
      if (this.#tryTimer !== null) { clearTimeout(this.#tryTimer); this.#tryTimer = null; }
      return true;
    };
    const headers = this.#retry === null ? this.#p.request.headers : { ...this.#p.request.headers, 'x-envoy-attempt-count': String(attemptNo) };
    const pool = cluster.pool(host) as HttpHostPool;
    this.#sentAt = performance.now();
    const attempt = pool.request({ ...this.#p.request, headers, body, downstreamHttp2: req.ex.head.protocol === 'HTTP/2' }, {
      onBodySent: (bytes) => { if (attemptNo === 1) req.bytesReceived += bytes; },
      onHeaders: (status, upstreamHeaders, endStream) => {
        if (!open || attemptNo !== this.#attemptNo || this.#done) return;
        if (this.#retry !== null && retryOnResponse(this.#retry, status, upstreamHeaders) && this.#canRetry()) {
          close();
          if (status >= 500) host.rqError++;
          stats.response(status);
          attempt.abort();
          this.#scheduleRetry();
          return;
        }
        req.upstreamServiceTimeMs = Math.round(performance.now() - this.#sentAt);
        const out = this.#p.responseHeaders(status, upstreamHeaders);
        out['x-envoy-upstream-service-time'] = String(req.upstreamServiceTimeMs);
        req.responseCode = status;
        req.responseHeaders = out;
        stats.response(status);
        if (status >= 500) host.rqError++;
        if (this.#attemptNo > 1 && this.#retry !== null && retryOnResponse(this.#retry, status, upstreamHeaders)) req.addFlag('URX');
        this.#trailersOnly = endStream;
        req.ex.sendHeaders(status, out, endStream);
      },
      onData: (chunk) => {
        if (this.#done || attemptNo !== this.#attemptNo) return true;
        if (req.ex.write(chunk)) return true;
        req.ex.onDrain(() => attempt.resume());
        return false;
      },
      onEnd: (trailers) => {
        if (!close() || this.#done) return;
        this.#finish();
        req.responseTrailers = trailers;
        req.details = 'via_upstream';
        if (!this.#trailersOnly) req.ex.end(trailers);
        req.finish();
      },
      onError: (err) => {
        if (!close() || this.#done) return;
        this.#onAttemptFailure(host, err);
      },
    });
    this.#attempt = attempt;
    const perTry = this.#p.retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0) {
      this.#tryTimer = setTimeout(() => {
        if (!close() || this.#done) return;
        stats.rqPerTryTimeout.inc();
        attempt.abort();
        if (req.ex.headersSent) { this.#finish(); req.addFlag('UT'); req.details = 'upstream_per_try_timeout'; req.ex.reset(); req.finish(); return; }
        this.#onAttemptFailure(host, new UpstreamFailure('per_try_timeout', `per_try_timeout ${perTry}ms elapsed`));
      }, perTry);
    }
  }

  #onAttemptFailure(host: Host, err: UpstreamFailure): void {
    const { req, stats } = this.#p;
    if (err.kind === 'connect_failure' || err.kind === 'connect_timeout') { stats.cxConnectFail.inc(); host.cxConnectFail++; }
    else if (err.kind !== 'per_try_timeout') stats.resetBeforeHeaders.inc();
    host.rqError++;
    if (req.ex.headersSent) {
      this.#finish();
      req.addFlag('UC');
      req.details = 'upstream_reset_after_response_started';
      req.ex.reset();
      req.finish();
      return;
    }
    if (this.#retry !== null && retryOnFailure(this.#retry, err) && this.#canRetry()) { this.#scheduleRetry(); return; }
    this.#finish();
    if (this.#attemptNo > 1 && this.#retry !== null && retryOnFailure(this.#retry, err)) req.addFlag('URX');
    this.#localReply(replies.upstreamFailureReply(err));
  }

  #canRetry(): boolean {
    const retry = this.#retry!;
    if (this.#attemptNo > retry.policy.numRetries) return false;
    if (this.#body !== null && this.#body.replay() === null) return false;
    const active = activeRetries.get(this.#p.cluster) ?? { n: 0 };
    if (active.n >= this.#p.cluster.config.circuitBreakers.maxRetries) {
      this.#p.stats.rqRetryOverflow.inc();
      return false;
    }
    return true;
  }

  #scheduleRetry(): void {
    const { cluster, stats, req } = this.#p;
    stats.rqRetry.inc();
    let active = activeRetries.get(cluster);
    if (active === undefined) { active = { n: 0 }; activeRetries.set(cluster, active); }
    active.n++;
    this.#inRetry = true;
    const policy = this.#retry!.policy;
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = null;
      active.n--;
      this.#inRetry = false;
      if (this.#done) return;
      if (policy.previousHostsPredicate) (this.#tried ??= new Set()).add(this.#host);
      const next = cluster.chooseHost({ hash: this.#p.hash, avoid: this.#tried });
      if (next === null) { this.#finish(); this.#localReply(replies.NO_HEALTHY_UPSTREAM); return; }
      this.#host = next;
      req.upstreamHost = next.key;
      this.#send(req.ex.body === null ? null : this.#body!.replay());
    }, backOffMs(policy, this.#attemptNo));
  }

  #onRouteTimeout(): void {
    if (this.#done) return;
    const { req, stats } = this.#p;
    this.#finish();
    stats.rqTimeout.inc();
    this.#attempt?.abort();
    if (req.ex.headersSent) { req.addFlag('UT'); req.details = 'upstream_response_timeout'; req.ex.reset(); req.finish(); return; }
    this.#localReply(replies.ROUTE_TIMEOUT);
  }

  #onDownstreamAbort(): void {
    const { req } = this.#p;
    if (this.#done) { req.finish(); return; }
    this.#finish();
    this.#attempt?.abort();
    req.addFlag('DC');
    req.details = 'downstream_remote_disconnect';
    req.finish();
  }

  /** Ends the request's bookkeeping once: timers cleared, gauges and retry counters released. */
  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#routeTimer !== null) clearTimeout(this.#routeTimer);
    if (this.#tryTimer !== null) clearTimeout(this.#tryTimer);
    if (this.#backoffTimer !== null) {
      clearTimeout(this.#backoffTimer);
      if (this.#inRetry) { const a = activeRetries.get(this.#p.cluster); if (a) a.n--; }
    }
    this.#p.stats.rqActive.dec();
  }

  #localReply(reply: replies.LocalReply): void {
    const { req, grpc } = this.#p;
    if (reply.flag !== null) req.addFlag(reply.flag);
    req.details = reply.details;
    const extra: HeaderRecord = {};
    req.responseCode = replies.sendLocalReply(req.ex, reply, grpc, extra);
    req.responseHeaders = extra;
    req.finish();
  }
}
