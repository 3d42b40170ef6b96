// Sends a routed request to its cluster: attempts, circuit breaking, timeouts, retries, and streaming the response back.
import type { RetryPolicy } from '../model/types.ts';
import type { Host, UpstreamCluster } from '../upstream/types.ts';
import type { HeaderRecord, HttpHostPool, UpstreamAttempt, UpstreamRequest } from '../upstream/pool/http-pool.ts';
import { UpstreamFailure } from '../upstream/upstream-failure.ts';
import { backOffMs, compileRetry, retryOnFailure, retryOnResponse, type CompiledRetry } from '../policy/retry.ts';
import { circuitBreakerFor, type CircuitBreaker, type RetryTicket } from '../policy/circuit-breaker.ts';
import { IdleTimer, startTimer } from '../policy/timeouts.ts';
import type { ActiveRequest } from './active-request.ts';
import type { ClusterStats } from './cluster-stats.ts';
import * as replies from './error-response.ts';
import { RequestBodyBuffer } from './request-body-buffer.ts';

/** The timeouts of one forwarded request, resolved by the router (0 / null = none). */
export interface ForwardTimeouts {
  /** Route `timeout`: the whole request, retries included (504 UT). */
  readonly routeMs: number;
  /** stream_idle_timeout, or the route's idle_timeout: no bytes either way for that long (408/504 SI). */
  readonly idleMs: number;
  /** The connection manager's request_timeout: until the request is received or the response starts. */
  readonly requestMs: number;
  /** max_stream_duration or an honoured grpc-timeout, counted from the request's arrival. */
  readonly streamDurationMs: number | null;
}

export interface ForwardPlan {
  readonly req: ActiveRequest;
  readonly cluster: UpstreamCluster;
  readonly firstHost: Host;
  readonly hash: number | null;
  /** Method, path, authority, scheme and headers (the body is taken from the exchange). */
  readonly request: Omit<UpstreamRequest, 'body'>;
  readonly retry: RetryPolicy | null;
  readonly timeouts: ForwardTimeouts;
  readonly grpc: boolean;
  readonly stats: ClusterStats;
  /** Turns upstream response headers into what the client gets (hop-by-hop removal, mutations, server header). */
  readonly responseHeaders: (status: number, upstream: HeaderRecord) => HeaderRecord;
}

type StreamTimeout = 'idle' | 'request' | 'duration';

export function forward(plan: ForwardPlan): void {
  new Forwarder(plan).start();
}

class Forwarder {
  readonly #p: ForwardPlan;
  readonly #retry: CompiledRetry | null;
  readonly #body: RequestBodyBuffer | null;
  readonly #breaker: CircuitBreaker;
  #attempt: UpstreamAttempt | null = null;
  /** Ends the current attempt's bookkeeping (host count, breaker ticket, per-attempt timers); false if already done. */
  #closeAttempt: (() => boolean) | null = null;
  #attemptNo = 0;
  #host: Host;
  #tried: Set<Host> | null = null;
  #timers: NodeJS.Timeout[] = [];
  #requestTimer: NodeJS.Timeout | null = null;
  #idle: IdleTimer | null = null;
  #backoffTimer: NodeJS.Timeout | null = null;
  #retryTicket: RetryTicket | null = null;
  #done = false;
  #trailersOnly = false;
  #sentAt = 0;

  constructor(plan: ForwardPlan) {
    this.#p = plan;
    this.#host = plan.firstHost;
    this.#retry = plan.retry !== null && plan.retry.numRetries > 0 ? compileRetry(plan.retry) : null;
    const body = plan.req.ex.body;
    this.#body = this.#retry !== null && body !== null ? new RequestBodyBuffer(body) : null;
    this.#breaker = circuitBreakerFor(plan.cluster, plan.stats);
  }

  start(): void {
    const { req, timeouts, stats } = this.#p;
    stats.rqTotal.inc();
    stats.rqActive.inc();
    const elapsed = performance.now() - req.startHr;
    if (timeouts.routeMs > 0) this.#timers.push(startTimer(timeouts.routeMs, () => this.#onRouteTimeout()));
    if (timeouts.streamDurationMs !== null) {
      this.#timers.push(startTimer(timeouts.streamDurationMs - elapsed, () => this.#onStreamTimeout('duration')));
    }
    if (timeouts.idleMs > 0) this.#idle = new IdleTimer(timeouts.idleMs, () => this.#onStreamTimeout('idle'));
    const body = req.ex.body;
    if (timeouts.requestMs > 0 && body !== null && !body.readableEnded) {
      this.#requestTimer = startTimer(timeouts.requestMs - elapsed, () => this.#onStreamTimeout('request'));
      body.once('end', () => this.#disarmRequestTimer());
    }
    req.ex.onAbort(() => this.#onDownstreamAbort());
    this.#send(body === null ? null : this.#body !== null ? this.#body.first : body);
  }

  #send(body: UpstreamRequest['body']): void {
    const { req, cluster, stats } = this.#p;
    const host = this.#host;
    const attemptNo = ++this.#attemptNo;
    const pool = cluster.pool(host) as HttpHostPool;
    const downstreamHttp2 = req.ex.head.protocol === 'HTTP/2';
    const ticket = this.#breaker.acquireRequest(pool.queueState?.(downstreamHttp2) ?? 'ready');
    if (typeof ticket === 'string') {
      this.#finish();
      this.#localReply(replies.overflow());
      return;
    }
    req.upstreamHost = host.key;
    host.activeRequests++;
    host.rqTotal++;
    let open = true;
    const attemptTimers: NodeJS.Timeout[] = [];
    const close = (): boolean => {
      if (!open || attemptNo !== this.#attemptNo) return false;
      open = false;
      req.trace?.attemptEnd(attemptNo, null, null);
      host.activeRequests--;
      ticket.release();
      for (const t of attemptTimers) clearTimeout(t);
      return true;
    };
    this.#closeAttempt = close;
    const headers = this.#retry === null ? this.#p.request.headers : { ...this.#p.request.headers, 'x-envoy-attempt-count': String(attemptNo) };
    req.trace?.startAttempt(attemptNo, host, cluster, this.#p.request, headers);
    this.#sentAt = performance.now();
    const attempt = pool.request({ ...this.#p.request, headers, body, downstreamHttp2 }, {
      onConnected: () => ticket.connected(),
      onBodySent: (bytes) => {
        this.#idle?.touch();
        if (attemptNo === 1) req.bytesReceived += bytes;
      },
      onHeaders: (status, upstreamHeaders, endStream) => {
        if (!open || attemptNo !== this.#attemptNo || this.#done) return;
        req.trace?.attemptHeaders(attemptNo, status, upstreamHeaders);
        cluster.reportOutcome?.(host, status);
        this.#idle?.touch();
        this.#disarmRequestTimer();
        if (this.#retry !== null && retryOnResponse(this.#retry, status, upstreamHeaders)) {
          this.#releaseRetry();
          const decision = this.#mayRetry();
          if (decision === 'retry') {
            close();
            if (status >= 500) host.rqError++;
            stats.response(status);
            attempt.abort();
            this.#scheduleRetry();
            return;
          }
          this.#flagNoRetry(decision);
        } else if (attemptNo > 1) {
          stats.rqRetrySuccess.inc();
        }
        this.#releaseRetry();
        req.upstreamServiceTimeMs = Math.round(performance.now() - this.#sentAt);
        const out = this.#p.responseHeaders(status, upstreamHeaders);
        out['x-envoy-upstream-service-time'] = String(req.upstreamServiceTimeMs);
        req.responseCode = status;
        req.responseHeaders = out;
        stats.response(status);
        if (status >= 500) host.rqError++;
        this.#trailersOnly = endStream;
        req.ex.sendHeaders(status, out, endStream);
      },
      onData: (chunk) => {
        if (this.#done || attemptNo !== this.#attemptNo) return true;
        this.#idle?.touch();
        if (req.ex.write(chunk)) return true;
        req.ex.onDrain(() => attempt.resume());
        return false;
      },
      onEnd: (trailers) => {
        req.trace?.attemptEnd(attemptNo, null, trailers);
        if (!close() || this.#done) return;
        this.#finish();
        req.responseTrailers = trailers;
        req.details = 'via_upstream';
        if (!this.#trailersOnly) req.ex.end(trailers);
        req.finish();
      },
      onError: (err) => {
        req.trace?.attemptEnd(attemptNo, err.kind, null);
        if (!close() || this.#done) return;
        this.#onAttemptFailure(host, err);
      },
    });
    this.#attempt = attempt;
    // undici reports some failures synchronously, inside request(): then there is nothing left to time.
    if (!open) return;
    const perTry = this.#p.retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0) {
      attemptTimers.push(startTimer(perTry, () => {
        req.trace?.attemptEnd(attemptNo, 'per_try_timeout', null);
        if (!close() || this.#done) return;
        stats.rqPerTryTimeout.inc();
        attempt.abort();
        if (req.ex.headersSent) { this.#resetAfterHeaders('UT', 'upstream_per_try_timeout'); return; }
        this.#onAttemptFailure(host, new UpstreamFailure('per_try_timeout', `per_try_timeout ${perTry}ms elapsed`));
      }));
    }
    const maxDuration = cluster.config.maxStreamDurationMs ?? 0;
    if (maxDuration > 0) {
      attemptTimers.push(startTimer(maxDuration, () => {
        if (!close() || this.#done) return;
        stats.rqMaxDurationReached.inc();
        attempt.abort();
        if (req.ex.headersSent) { this.#resetAfterHeaders('UMSDR', 'upstream_max_stream_duration_reached'); return; }
        if (this.#retryAfter(new UpstreamFailure('reset_before_headers', 'max_stream_duration reached'))) return;
        this.#finish();
        this.#localReply(replies.upstreamMaxStreamDuration(this.#requestComplete()));
      }));
    }
  }

  #onAttemptFailure(host: Host, err: UpstreamFailure): void {
    const { req, stats } = this.#p;
    this.#p.cluster.reportOutcome?.(host, err.kind);
    if (err.kind === 'connect_failure' || err.kind === 'connect_timeout') {
      stats.cxConnectFail.inc();
      host.cxConnectFail++;
      if (err.kind === 'connect_timeout') stats.cxConnectTimeout.inc();
    } else if (err.kind !== 'per_try_timeout') {
      stats.resetBeforeHeaders.inc();
    }
    host.rqError++;
    if (req.ex.headersSent) { this.#resetAfterHeaders('UC', 'upstream_reset_after_response_started'); return; }
    if (this.#retryAfter(err)) return;
    this.#finish();
    this.#localReply(replies.upstreamFailureReply(err));
  }

  /** After a failed attempt (before response headers): schedules a retry when the policy and the breaker allow it. */
  #retryAfter(err: UpstreamFailure): boolean {
    if (this.#retry === null || !retryOnFailure(this.#retry, err)) return false;
    this.#releaseRetry();
    const decision = this.#mayRetry();
    if (decision === 'retry') { this.#scheduleRetry(); return true; }
    this.#flagNoRetry(decision);
    return false;
  }

  /**
   * Whether a retry may follow (Envoy's order: num_retries, then the retry breaker or budget). On 'retry' a retry
   * ticket is held until that retry's outcome is known.
   */
  #mayRetry(): 'retry' | 'limit' | 'overflow' | 'body' {
    const retry = this.#retry!;
    if (this.#attemptNo > retry.policy.numRetries) { this.#p.stats.rqRetryLimitExceeded.inc(); return 'limit'; }
    if (this.#body !== null && this.#body.replay() === null) return 'body';
    const ticket = this.#breaker.acquireRetry();
    if (ticket === null) return 'overflow';
    this.#retryTicket = ticket;
    return 'retry';
  }

  #flagNoRetry(decision: 'limit' | 'overflow' | 'body'): void {
    if (decision === 'limit') this.#p.req.addFlag('URX');
    else if (decision === 'overflow') this.#p.req.addFlag('UO');
  }

  #releaseRetry(): void {
    this.#retryTicket?.release();
    this.#retryTicket = null;
  }

  #scheduleRetry(): void {
    const { cluster, stats, req } = this.#p;
    stats.rqRetry.inc();
    const policy = this.#retry!.policy;
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = null;
      if (this.#done) return;
      if (policy.previousHostsPredicate) (this.#tried ??= new Set()).add(this.#host);
      const ex = req.ex;
      const next = cluster.chooseHost({ hash: this.#p.hash, avoid: this.#tried, originalDst: ex.connection, headers: ex.head.headers });
      if (next === null) { this.#finish(); this.#localReply(replies.NO_HEALTHY_UPSTREAM); return; }
      this.#host = next;
      req.upstreamHost = next.key;
      this.#send(req.ex.body === null ? null : this.#body!.replay());
    }, backOffMs(policy, this.#attemptNo));
  }

  #onRouteTimeout(): void {
    if (this.#done) return;
    if (!this.#p.req.ex.headersSent && this.#backoffTimer === null) this.#p.cluster.reportOutcome?.(this.#host, 'timeout');
    this.#p.stats.rqTimeout.inc();
    this.#endWith(replies.ROUTE_TIMEOUT);
  }

  /** stream_idle_timeout, request_timeout or max_stream_duration / grpc-timeout elapsed. */
  #onStreamTimeout(kind: StreamTimeout): void {
    if (this.#done) return;
    const complete = this.#requestComplete();
    const hcm = this.#p.req.hcmStats;
    if (kind === 'idle') { hcm.rqIdleTimeout.inc(); this.#endWith(replies.streamIdleTimeout(complete)); }
    else if (kind === 'request') { hcm.rqTimeout.inc(); this.#endWith(replies.requestTimeout(complete)); }
    else { hcm.rqMaxDurationReached.inc(); this.#endWith(replies.maxDurationTimeout(complete)); }
  }

  /** Ends the request with a local reply, or by resetting the stream when the response already started. */
  #endWith(reply: replies.LocalReply): void {
    this.#finish();
    this.#attempt?.abort();
    if (this.#p.req.ex.headersSent) { this.#resetAfterHeaders(reply.flag, reply.details); return; }
    this.#localReply(reply);
  }

  /** The response already started: the stream is reset, the flag and details recorded for the access log. */
  #resetAfterHeaders(flag: replies.ResponseFlag | null, details: string): void {
    const { req } = this.#p;
    this.#finish();
    if (flag !== null) req.addFlag(flag);
    req.details = details;
    req.ex.reset();
    req.finish();
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

  /** The downstream request was fully received (decides 504 over 408 for timeouts). */
  #requestComplete(): boolean {
    const body = this.#p.req.ex.body;
    return body === null || body.readableEnded;
  }

  #disarmRequestTimer(): void {
    if (this.#requestTimer !== null) { clearTimeout(this.#requestTimer); this.#requestTimer = null; }
  }

  /** Ends the request's bookkeeping once: timers cleared, the attempt, breaker tickets and gauges released. */
  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#disarmRequestTimer();
    this.#idle?.stop();
    if (this.#backoffTimer !== null) clearTimeout(this.#backoffTimer);
    this.#closeAttempt?.();
    this.#releaseRetry();
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
