// The spans of one request: the SERVER span, one CLIENT span per upstream attempt (retries visible), ended with the outcome.
import { SpanKind, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { ActiveRequest } from '../../http/active-request.ts';
import type { HeaderRecord } from '../../http/exchange.ts';
import type { Host, UpstreamCluster } from '../../upstream/types.ts';
import {
  A, errorType, grpcMethod, grpcStatus, headerValue, protocolVersion, setMethod, setPath, setRpc, setServer, spanName, spanStatus,
  type GrpcMethod,
} from './attributes.ts';
import type { HcmTracer } from './hcm-tracer.ts';
import { extractContext, injectContext } from './propagation.ts';

/** What the upstream request looks like (after rewrites). */
export interface AttemptRequest {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly scheme: string;
}

interface Attempt {
  readonly no: number;
  readonly span: Span;
  status: number;
  headers: HeaderRecord | null;
  trailers: HeaderRecord | null;
  failure: string | null;
  /** performance.now() when the attempt ended; null while it runs. */
  endHr: number | null;
}

export class RequestTrace {
  readonly #h: HcmTracer;
  readonly #req: ActiveRequest;
  /** The caller's context (ROOT_CONTEXT when none arrived). */
  readonly #context: Context;
  readonly #formats: number;
  readonly #server: Span | null;
  readonly #grpc: GrpcMethod | null;
  #attempt: Attempt | null = null;
  #sampled: boolean;

  constructor(h: HcmTracer, req: ActiveRequest) {
    this.#h = h;
    this.#req = req;
    const head = req.ex.head;
    const { context, formats } = extractContext(head.headers);
    this.#formats = formats | h.formats;
    this.#grpc = isGrpc(head.headers) ? grpcMethod(head.path) : null;
    if (h.server) {
      const span = h.tracer.startSpan(spanName(head.method, this.#grpc), { kind: SpanKind.SERVER, attributes: samplerAttributes(head.headers) }, context);
      this.#server = span;
      this.#sampled = span.isRecording();
      if (this.#sampled) span.setAttributes(this.#serverAttributes());
      injectContext(head.headers, span.spanContext(), this.#formats);
    } else {
      this.#server = null;
      this.#sampled = false;
    }
    this.#context = context;
  }

  /** Children hang off this: the SERVER span, or the caller's context when this side makes no SERVER span. */
  #parent(): Context {
    return this.#server === null ? this.#context : trace.setSpan(this.#context, this.#server);
  }

  /** True when any span of this request records (is sampled). */
  get sampled(): boolean { return this.#sampled; }

  /** A new upstream attempt: ends the previous attempt's span, starts a CLIENT span and writes its context into `headers`. */
  startAttempt(no: number, host: Host, cluster: UpstreamCluster, request: AttemptRequest, headers: HeaderRecord): void {
    if (!this.#h.client) return;
    if (this.#attempt !== null) this.#endAttempt(this.#attempt, false);
    const span = this.#h.tracer.startSpan(spanName(request.method, this.#grpc), { kind: SpanKind.CLIENT, attributes: samplerAttributes(headers) }, this.#parent());
    this.#attempt = { no, span, status: 0, headers: null, trailers: null, failure: null, endHr: null };
    if (span.isRecording()) {
      this.#sampled = true;
      span.setAttributes(this.#clientAttributes(no, host, cluster, request));
    }
    injectContext(headers, span.spanContext(), this.#formats);
  }

  /** Response headers of attempt `no`. */
  attemptHeaders(no: number, status: number, headers: HeaderRecord): void {
    const a = this.#attempt;
    if (a === null || a.no !== no) return;
    a.status = status;
    a.headers = headers;
  }

  /** Attempt `no` is over: `failure` names why when it got no complete response; `trailers` when it ended with some. */
  attemptEnd(no: number, failure: string | null, trailers: HeaderRecord | null): void {
    const a = this.#attempt;
    if (a === null || a.no !== no || a.endHr !== null) return;
    a.endHr = performance.now();
    a.failure = failure;
    a.trailers = trailers;
  }

  /** The request is over: the last attempt and the SERVER span end with its outcome (code, flags, sizes). */
  finish(): void {
    const req = this.#req;
    if (this.#attempt !== null) this.#endAttempt(this.#attempt, true);
    else if (this.#h.client && !this.#h.server) this.#localClientSpan();
    const span = this.#server;
    if (span === null) return;
    if (span.isRecording()) {
      const grpc = this.#grpc === null ? null : grpcStatus(req.responseHeaders, req.responseTrailers);
      const attrs: Attributes = {
        [A.requestBodySize]: req.bytesReceived,
        [A.responseBodySize]: req.ex.bytesSent(),
        [A.responseFlags]: flagsOf(req),
      };
      this.#outcome(attrs, true, req.responseCode, grpc, req.responseCode === 0 ? flagsOrReset(req) : null);
      if (req.clusterName !== null) attrs[A.upstreamCluster] = req.clusterName;
      if (req.upstreamHost !== null) attrs[A.upstreamAddress] = req.upstreamHost;
      span.setAttributes(attrs);
      const status = spanStatus(true, req.responseCode, grpc, req.details ?? (req.flags === null ? null : flagsOf(req)));
      if (status !== null) span.setStatus(status);
    }
    span.end();
  }

  #endAttempt(a: Attempt, last: boolean): void {
    const span = a.span;
    if (span.isRecording()) {
      const grpc = this.#grpc === null ? null : grpcStatus(a.headers, a.trailers);
      const failure = a.failure ?? (a.status === 0 ? (last ? flagsOrReset(this.#req) : 'aborted') : null);
      const attrs: Attributes = {};
      this.#outcome(attrs, false, a.status, grpc, failure);
      if (last) attrs[A.responseFlags] = flagsOf(this.#req);
      span.setAttributes(attrs);
      const status = spanStatus(false, a.status, grpc, failure);
      if (status !== null) span.setStatus(status);
    }
    span.end(a.endHr ?? undefined);
  }

  /** A CLIENT span for a request answered without any upstream attempt (no route, no healthy host, …). */
  #localClientSpan(): void {
    const req = this.#req;
    const head = req.ex.head;
    const span = this.#h.tracer.startSpan(spanName(head.method, this.#grpc), { kind: SpanKind.CLIENT, startTime: req.startHr, attributes: samplerAttributes(head.headers) }, this.#parent());
    if (span.isRecording()) {
      const attrs = this.#common(head.method, head.path);
      setServer(attrs, head.authority, head.scheme);
      attrs[A.urlFull] = `${head.scheme}://${head.authority}${head.path}`;
      attrs[A.responseFlags] = flagsOf(req);
      if (req.clusterName !== null) attrs[A.upstreamCluster] = req.clusterName;
      const grpc = this.#grpc === null ? null : grpcStatus(req.responseHeaders, req.responseTrailers);
      this.#outcome(attrs, false, req.responseCode, grpc, req.responseCode === 0 ? flagsOrReset(req) : null);
      span.setAttributes(attrs);
      const status = spanStatus(false, req.responseCode, grpc, req.details);
      if (status !== null) span.setStatus(status);
    }
    span.end();
  }

  #outcome(attrs: Attributes, server: boolean, status: number, grpc: number | null, failure: string | null): void {
    if (status > 0) attrs[A.status] = status;
    if (grpc !== null) attrs[A.rpcGrpcStatus] = grpc;
    const err = errorType(server, status, grpc, failure);
    if (err !== null) attrs[A.errorType] = err;
  }

  /** Attributes every span of the request has: method, path, gRPC method, request id, custom tags. */
  #common(method: string, path: string): Attributes {
    const h = this.#h;
    const attrs: Attributes = { ...h.staticTags };
    setMethod(attrs, method);
    setPath(attrs, path, h.config.maxPathTagLength);
    if (this.#grpc !== null) setRpc(attrs, this.#grpc);
    if (this.#req.requestId !== null) attrs[A.requestId] = this.#req.requestId;
    const headers = this.#req.ex.head.headers;
    for (const [tag, name, def] of h.headerTags) {
      const v = headerValue(headers, name) ?? def;
      if (v !== '') attrs[tag] = v;
    }
    return attrs;
  }

  #serverAttributes(): Attributes {
    const ex = this.#req.ex;
    const head = ex.head;
    const conn = ex.connection;
    const attrs = this.#common(head.method, head.path);
    attrs[A.urlScheme] = head.scheme;
    setServer(attrs, head.authority, head.scheme);
    attrs[A.peerAddress] = conn.remoteAddress;
    attrs[A.peerPort] = conn.remotePort;
    const xff = headerValue(head.headers, 'x-forwarded-for');
    attrs[A.clientAddress] = xff === undefined ? conn.remoteAddress : xff.split(',')[0].trim();
    attrs[A.protocolVersion] = protocolVersion(head.protocol);
    const ua = headerValue(head.headers, 'user-agent');
    if (ua !== undefined) attrs[A.userAgent] = ua;
    if (conn.peerUriSans.length > 0) attrs[A.peerSpiffeId] = conn.peerUriSans.find((s) => s.startsWith('spiffe://')) ?? conn.peerUriSans[0];
    return attrs;
  }

  #clientAttributes(no: number, host: Host, cluster: UpstreamCluster, r: AttemptRequest): Attributes {
    const attrs = this.#common(r.method, r.path);
    attrs[A.urlFull] = `${r.scheme}://${r.authority}${r.path}`;
    setServer(attrs, r.authority, r.scheme);
    attrs[A.peerAddress] = host.address;
    attrs[A.peerPort] = host.port;
    attrs[A.upstreamCluster] = cluster.name;
    attrs[A.upstreamAddress] = host.key;
    const p = cluster.config.protocol;
    attrs[A.protocolVersion] = p === 'http2' ? '2' : p === 'downstream' ? protocolVersion(this.#req.ex.head.protocol) : '1.1';
    if (no > 1) attrs[A.resendCount] = no - 1;
    return attrs;
  }
}

function isGrpc(h: HeaderRecord): boolean {
  const ct = headerValue(h, 'content-type');
  return ct !== undefined && ct.startsWith('application/grpc');
}

/** What the sampler looks at: x-client-trace-id selects client_sampling. */
function samplerAttributes(h: HeaderRecord): Attributes | undefined {
  const id = headerValue(h, 'x-client-trace-id');
  return id === undefined ? undefined : { [A.clientTraceId]: id };
}

function flagsOf(req: ActiveRequest): string {
  return req.flags === null ? '-' : req.flags.join(',');
}

function flagsOrReset(req: ActiveRequest): string {
  return req.flags === null ? 'reset' : req.flags.join(',');
}
