// The HTTP filter contract: a factory per filter type compiles its typed_config once per connection manager; the filter sees each request.
import type { Msg, MessageTable } from '../../model/proto-message.ts';
import type { HttpConnectionManagerConfig } from '../../model/types.ts';
import type { ActiveRequest } from '../active-request.ts';
import { sendLocalReply, type LocalReply } from '../error-response.ts';
import type { HeaderRecord } from '../exchange.ts';
import type { StatsSink } from '../hcm-stats.ts';
import type { RouteMatchResult } from '../route-table.ts';
import type { ClusterFetch } from './cluster-fetch.ts';

/** 'continue': next filter (then the router); 'stop': the filter answered (or reset) the request and finished it. */
export type FilterStatus = 'continue' | 'stop';

/** Synchronous in the common case; a Promise only while a filter waits (a fault delay). */
export type FilterResult = FilterStatus | Promise<FilterStatus>;

/** What a filter sees of one request. */
export interface FilterRequest {
  readonly req: ActiveRequest;
  /** The matched virtual host and route, or null (the router answers 404 NR after the chain). */
  readonly match: RouteMatchResult | null;
  /** content-type application/grpc*: local replies become trailers-only gRPC responses. */
  readonly grpc: boolean;
}

/** A compiled filter, one per connection manager. `perRoute` is the state built by `perRoute()` for the most specific per-route config, or null. */
export interface HttpFilter<R = unknown> {
  onRequest(r: FilterRequest, perRoute: R | null): FilterResult;
  /** Builds the runtime state of one typed_per_filter_config (compiled config, its own token bucket...); called once per config object. */
  perRoute?(config: unknown): R;
  /** Runs instead of onRequest where a route or virtual host disables the filter (what must hold even there). */
  onDisabled?(r: FilterRequest): void;
}

/** What a factory gets to build the runtime filter. */
export interface FilterFactoryContext {
  readonly hcm: HttpConnectionManagerConfig;
  readonly stats: StatsSink;
  /** The filter's name in http_filters (the typed_per_filter_config key). */
  readonly name: string;
  /** HTTP requests through a named cluster (JWKS, token endpoints), Envoy's http_uri. */
  readonly fetch: ClusterFetch;
}

/** One filter type, registered in registry.ts by the proto message of its typed_config. */
export interface HttpFilterFactory<C = unknown> {
  /** Proto message of typed_config (and of its per-route config). */
  readonly message: string;
  /** Well-known names, used when typed_config is absent. */
  readonly names: readonly string[];
  readonly table: MessageTable;
  /** The per-route message when typed_per_filter_config takes another message than typed_config (RBAC: RBACPerRoute). */
  readonly perRouteTable?: MessageTable;
  /** Terminal filters must be last (the router; the connection manager runs it after the chain). */
  readonly terminal: boolean;
  /** Validates and compiles an opened typed_config (errors on m.ctx with field paths); `perRoute` when it came from typed_per_filter_config. */
  compile(m: Msg, perRoute: boolean): C | null;
  /** The runtime filter, or null when the connection manager runs it itself (the router). */
  create(config: C, ctx: FilterFactoryContext): HttpFilter | null;
}

/** A field-level problem in a filter config, `field` relative to the typed_config. */
export interface FilterConfigIssue {
  readonly field: string;
  readonly message: string;
}

/** Answers the request from a filter with a local reply built in error-response.ts (flag, details, gRPC form) and finishes it. */
export function filterLocalReply(r: FilterRequest, reply: LocalReply): FilterStatus {
  const req = r.req;
  if (reply.flag !== null) req.addFlag(reply.flag);
  req.details = reply.details;
  const extra: HeaderRecord = {};
  req.responseCode = sendLocalReply(req.ex, reply, r.grpc && req.ex.upgrade === null, extra);
  req.responseHeaders = reply.headers === undefined ? extra : { ...extra, ...reply.headers };
  req.finish();
  return 'stop';
}

/**
 * Adds `add` to whatever response headers this request ends up sending — upstream, router or filter local reply
 * (Envoy's encodeHeaders). Costs one wrapper per request, only for requests that ask for it.
 */
export function addResponseHeaders(req: ActiveRequest, add: HeaderRecord): void {
  const ex = req.ex;
  const send = ex.sendHeaders;
  ex.sendHeaders = (status, headers, endStream) => {
    for (const name in add) headers[name] = add[name];
    send.call(ex, status, headers, endStream);
  };
}
