// The terminal HTTP filter: picks the route's cluster and host, forwards the request, and streams the response back.
import { randomInt } from 'node:crypto';
import type { HttpConnectionManagerConfig, RouteAction, WeightedCluster } from '../model/types.ts';
import type { Host, UpstreamCluster } from '../upstream/types.ts';
import { computeRequestHash } from '../upstream/request-hash.ts';
import { regexReplaceAll } from '../model/re2.ts';
import type { ActiveRequest } from './active-request.ts';
import type { ClusterStatsCache } from './cluster-stats.ts';
import * as replies from './error-response.ts';
import type { HeaderRecord } from './exchange.ts';
import { applyRequestMutations, applyResponseMutations, type HeaderFormatContext } from './header-mutation.ts';
import { withoutHopByHop } from './hop-by-hop.ts';
import type { RouteMatchResult, RouteTable } from './route-table.ts';
import { sendRedirect } from './redirect.ts';
import { tunnelUpgrade } from './upgrade-tunnel.ts';
import { forward } from './forwarder.ts';
import { parseGrpcTimeout, streamDurationMs, streamIdleTimeoutMs } from '../policy/timeouts.ts';

export interface ClusterLookup {
  get(name: string): UpstreamCluster | undefined;
}

export interface RouterDeps {
  readonly hcm: HttpConnectionManagerConfig;
  readonly clusters: ClusterLookup;
  readonly clusterStats: ClusterStatsCache;
}

/**
 * Forwards one request; `req.finish()` is called when the exchange is over. `matched` is the route the connection
 * manager already matched for the HTTP filters (omitted: matched here).
 */
export function routeRequest(req: ActiveRequest, table: RouteTable | null, deps: RouterDeps, matched?: RouteMatchResult | null): void {
  const ex = req.ex;
  const grpc = replies.isGrpcRequest(ex.head.headers);
  const match = matched !== undefined ? matched : table === null ? null : table.match(ex.head);
  if (match === null) { localReply(req, replies.NO_ROUTE, grpc); return; }
  const { route, virtualHost } = match;
  req.routeName = route.name || null;
  const action = route.action;
  if (action.kind === 'direct_response') {
    const headers = responseHeaderBase(req, null);
    mutateResponse(headers, req, match, null, table!);
    const body = action.body === null ? null : Buffer.from(action.body);
    headers['content-length'] = String(body?.length ?? 0);
    if (body !== null && headers['content-type'] === undefined) headers['content-type'] = 'text/plain';
    req.responseCode = action.status;
    req.responseHeaders = headers;
    req.details = 'direct_response';
    if (body === null || ex.head.method === 'HEAD') ex.sendHeaders(action.status, headers, true);
    else { ex.sendHeaders(action.status, headers, false); ex.write(body); ex.end(null); }
    finishWhenDone(req);
    return;
  }
  if (action.kind === 'redirect') {
    const headers = responseHeaderBase(req, null);
    mutateResponse(headers, req, match, null, table!);
    sendRedirect(req, action, headers, route.match.pathKind === 'regex' ? 0 : route.match.pathValue.length);
    finishWhenDone(req);
    return;
  }
  // Route to a cluster.
  let weighted: WeightedCluster | null = null;
  let clusterName: string | null = action.cluster;
  if (action.weightedClusters !== null) {
    weighted = pickWeighted(action.weightedClusters, action.totalWeight);
    clusterName = weighted.name;
  } else if (action.clusterHeader !== null) {
    const v = ex.head.headers[action.clusterHeader];
    clusterName = typeof v === 'string' ? v : null;
  }
  const cluster = clusterName === null ? undefined : deps.clusters.get(clusterName);
  req.clusterName = clusterName;
  if (cluster === undefined) { localReply(req, replies.clusterNotFound(action.clusterNotFoundResponseCode), grpc); return; }
  const cstats = deps.clusterStats.get(cluster.name);
  const hash = action.hashPolicy.length === 0 ? null
    : computeRequestHash(action.hashPolicy, { headers: ex.head.headers, sourceIp: ex.connection.remoteAddress, path: ex.head.path });
  // ORIGINAL_DST clusters read the connection's restored local address or the x-envoy-original-dst-host header.
  const host = cluster.chooseHost({ hash, avoid: null, originalDst: ex.connection, headers: ex.head.headers });
  if (host === null) { cstats.noHealthyHost.inc(); localReply(req, replies.NO_HEALTHY_UPSTREAM, grpc); return; }
  req.upstreamHost = host.key;

  if (ex.upgrade !== null) {
    // Envoy: a route-level upgrade_config overrides the connection manager's for that type only.
    const allowed = action.upgradeOverrides?.[ex.upgrade.type] ?? deps.hcm.upgradeTypes.includes(ex.upgrade.type);
    if (!allowed) { localReply(req, { status: 403, flag: null, body: '', details: 'upgrade_failed' }, false); return; }
    tunnelUpgrade(req, cluster, host, buildUpstreamHeaders(req, match, action, weighted, host, cluster, deps.hcm, table!), rewritePath(ex.head.path, match, action));
    return;
  }

  const headers = buildUpstreamHeaders(req, match, action, weighted, host, cluster, deps.hcm, table!);
  const path = rewritePath(ex.head.path, match, action);
  if (path !== ex.head.path) headers['x-envoy-original-path'] = ex.head.path;
  const authority = typeof headers[':authority'] === 'string' ? headers[':authority'] as string : ex.head.authority;
  delete headers[':authority'];

  const hcm = deps.hcm;
  forward({
    req, cluster, firstHost: host, hash, grpc, stats: cstats,
    request: { method: ex.head.method, path, authority, scheme: ex.head.scheme, headers },
    retry: action.retryPolicy ?? virtualHost.retryPolicy,
    timeouts: {
      routeMs: action.timeoutMs,
      idleMs: streamIdleTimeoutMs(action.idleTimeoutMs, hcm.streamIdleTimeoutMs),
      requestMs: hcm.requestTimeoutMs,
      streamDurationMs: streamDurationMs(action, hcm.maxStreamDurationMs, grpc ? parseGrpcTimeout(ex.head.headers['grpc-timeout']) : null),
    },
    responseHeaders: (_status, upstreamHeaders) => {
      const out = withoutHopByHop(upstreamHeaders);
      applyServerHeader(out, hcm);
      mutateResponse(out, req, match, weighted, table!);
      return out;
    },
  });
}

function finishWhenDone(req: ActiveRequest): void {
  // The response is fully handed to the codec; the exchange is over for logging purposes.
  req.finish();
}

function localReply(req: ActiveRequest, reply: replies.LocalReply, grpc: boolean): void {
  if (reply.flag !== null) req.addFlag(reply.flag);
  req.details = reply.details;
  const extra = responseHeaderBase(req, null);
  req.responseCode = replies.sendLocalReply(req.ex, reply, grpc && req.ex.upgrade === null, extra);
  req.responseHeaders = extra;
  req.finish();
}

/** Headers every locally generated response starts with (Envoy adds none by default). */
function responseHeaderBase(_req: ActiveRequest, _unused: null): HeaderRecord {
  return {};
}

function applyServerHeader(h: HeaderRecord, hcm: HttpConnectionManagerConfig): void {
  switch (hcm.serverHeaderTransformation) {
    case 'OVERWRITE': h.server = hcm.serverName; break;
    case 'APPEND_IF_ABSENT': if (h.server === undefined) h.server = hcm.serverName; break;
    case 'PASS_THROUGH': break;
  }
}

/** The request itself is the format context of %COMMAND% header values: nothing is allocated per request. */
function formatContext(req: ActiveRequest): HeaderFormatContext {
  return req;
}

/** Response header mutations, most specific first: weighted cluster, route, virtual host, route configuration. */
function mutateResponse(h: HeaderRecord, req: ActiveRequest, m: RouteMatchResult, weighted: WeightedCluster | null, table: RouteTable): void {
  const ctx = formatContext(req);
  if (weighted !== null) applyResponseMutations(h, weighted.headers, ctx);
  applyResponseMutations(h, m.route.headers, ctx);
  applyResponseMutations(h, m.virtualHost.headers, ctx);
  applyResponseMutations(h, table.config.headers, ctx);
}

function buildUpstreamHeaders(req: ActiveRequest, m: RouteMatchResult, action: RouteAction, weighted: WeightedCluster | null,
  host: Host, _cluster: UpstreamCluster, hcm: HttpConnectionManagerConfig, table: RouteTable): HeaderRecord {
  const ex = req.ex;
  const h: HeaderRecord = { ...ex.head.headers };
  for (const name of table.config.internalOnlyHeaders) delete h[name];
  if (h['x-forwarded-proto'] === undefined || hcm.useRemoteAddress) h['x-forwarded-proto'] = ex.head.scheme;
  if (hcm.useRemoteAddress && !hcm.skipXffAppend) {
    const xff = h['x-forwarded-for'];
    h['x-forwarded-for'] = xff === undefined ? ex.connection.remoteAddress : `${Array.isArray(xff) ? xff.join(',') : xff},${ex.connection.remoteAddress}`;
  }
  if (req.requestId !== null) h['x-request-id'] = req.requestId;
  if (action.timeoutMs > 0) h['x-envoy-expected-rq-timeout-ms'] = String(action.timeoutMs);
  const ctx = formatContext(req);
  if (weighted !== null) applyRequestMutations(h, weighted.headers, ctx);
  applyRequestMutations(h, m.route.headers, ctx);
  applyRequestMutations(h, m.virtualHost.headers, ctx);
  applyRequestMutations(h, table.config.headers, ctx);
  let authority: string | null = null;
  if (action.hostRewriteLiteral !== null) authority = action.hostRewriteLiteral;
  else if (action.autoHostRewrite) authority = host.hostname; // endpoint hostname / DNS name; none for plain STATIC IPs
  else if (action.hostRewriteHeader !== null) {
    const v = ex.head.headers[action.hostRewriteHeader];
    if (typeof v === 'string' && v !== '') authority = v;
  }
  if (authority !== null) {
    h[':authority'] = authority;
    h['x-forwarded-host'] = ex.head.authority;
  }
  return h;
}

function rewritePath(path: string, m: RouteMatchResult, action: RouteAction): string {
  if (action.prefixRewrite !== null && (m.route.match.pathKind === 'prefix' || m.route.match.pathKind === 'path' || m.route.match.pathKind === 'path_separated_prefix')) {
    const matched = m.route.match.pathValue.length;
    return action.prefixRewrite + path.slice(matched);
  }
  if (action.regexRewrite !== null) {
    const q = path.indexOf('?');
    const bare = q === -1 ? path : path.slice(0, q);
    const rewritten = regexReplaceAll(bare, action.regexRewrite.pattern, action.regexRewrite.substitution);
    return q === -1 ? rewritten : rewritten + path.slice(q);
  }
  return path;
}

function pickWeighted(clusters: readonly WeightedCluster[], total: number): WeightedCluster {
  let r = total > 1 ? randomInt(total) : 0;
  for (const c of clusters) {
    if (r < c.weight) return c;
    r -= c.weight;
  }
  return clusters[clusters.length - 1];
}
