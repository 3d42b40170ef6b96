// The envoy.filters.http.jwt_authn filter: picks the requirement for a request, verifies its JWTs, and refuses with 401/403.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Counter } from '../../observability/types.ts';
import { createLogger } from '../../observability/access-log.ts';
import { JwtAuthenticator, type VerifyContext } from '../../policy/jwt/authenticator.ts';
import { parseJwks } from '../../policy/jwt/jwks.ts';
import { LocalJwks, RemoteJwks, type JwksSource } from '../../policy/jwt/jwks-source.ts';
import type { JwtAuthnConfig, JwtPerRouteConfig, JwtProviderConfig, JwtRequirement } from '../../policy/jwt/provider.ts';
import { statusDetails, statusHttpCode, statusText, type JwtStatus } from '../../policy/jwt/status.ts';
import * as replies from '../error-response.ts';
import type { RequestHead } from '../exchange.ts';
import type { StatsSink } from '../hcm-stats.ts';
import { requestMatches } from '../route-table.ts';
import type { ClusterFetch } from './cluster-fetch.ts';
import { filterLocalReply, type FilterRequest, type FilterResult, type FilterStatus, type HttpFilter, type HttpFilterFactory } from './http-filter.ts';
import { compileJwtAuthn, JWT_AUTHENTICATION, JWT_PER_ROUTE } from './jwt-authn-config.ts';

export const JWT_AUTHN_FILTER_NAME = 'envoy.filters.http.jwt_authn';
/** Dynamic metadata namespace of verified payloads and headers (the filter type's name, whatever the filter is called). */
export const JWT_AUTHN_METADATA_NAMESPACE = 'envoy.filters.http.jwt_authn';
/** Envoy truncates the path in the WWW-Authenticate realm to this many characters. */
const MAX_REALM_PATH = 256;
/** Unknown-kid refetches of one JWKS are at least this far apart. */
const MIN_KID_REFETCH_MS = 10_000;

interface JwtStats {
  readonly allowed: Counter;
  readonly denied: Counter;
  readonly corsBypassed: Counter;
  readonly jwksFetchSuccess: Counter;
  readonly jwksFetchFailed: Counter;
}

/** Envoy's http.<stat_prefix>.jwt_authn.* (Prometheus: envoy_http_jwt_authn_*{envoy_http_conn_manager_prefix}). */
function jwtStats(sink: StatsSink, hcmPrefix: string): JwtStats {
  const l = { envoy_http_conn_manager_prefix: hcmPrefix };
  return {
    allowed: sink.counter('envoy_http_jwt_authn_allowed', l),
    denied: sink.counter('envoy_http_jwt_authn_denied', l),
    corsBypassed: sink.counter('envoy_http_jwt_authn_cors_preflight_bypassed', l),
    jwksFetchSuccess: sink.counter('envoy_http_jwt_authn_jwks_fetch_success', l),
    jwksFetchFailed: sink.counter('envoy_http_jwt_authn_jwks_fetch_failed', l),
  };
}

let processLog: Logger | null = null;
/** The filter's log lines (pino JSON on stderr, like the process log); one logger per process. */
function jwtLog(): Logger {
  processLog ??= createLogger(process.env.PILOTFISH_LOG_LEVEL ?? 'info', { filter: JWT_AUTHN_FILTER_NAME });
  return processLog;
}

function jwksSource(p: JwtProviderConfig, fetch: ClusterFetch, stats: JwtStats, log: Logger): JwksSource {
  const j = p.jwks;
  if (j.kind === 'remote') {
    return new RemoteJwks({ ...j, minKidRefetchMs: MIN_KID_REFETCH_MS }, fetch, {
      onFetch: (ok, detail) => {
        (ok ? stats.jwksFetchSuccess : stats.jwksFetchFailed).inc();
        if (ok) log.info({ provider: p.name, uri: j.httpUri.uri }, `jwt_authn: provider ${p.name}: JWKS fetched (${detail})`);
        else log.warn({ provider: p.name, uri: j.httpUri.uri }, `jwt_authn: provider ${p.name}: JWKS fetch failed: ${detail}`);
      },
    });
  }
  if (j.filename === null) return new LocalJwks(j.keys ?? 'JwksNoValidKeys');
  let text: string;
  try { text = readFileSync(j.filename, 'utf8'); } catch (err) {
    log.error({ provider: p.name }, `jwt_authn: provider ${p.name}: cannot read local_jwks ${j.filename}: ${(err as Error).message}`);
    return new LocalJwks('JwksNoValidKeys');
  }
  const r = parseJwks(text);
  if (typeof r === 'string') log.error({ provider: p.name }, `jwt_authn: provider ${p.name}: local_jwks ${j.filename}: ${statusText(r)}`);
  return new LocalJwks(typeof r === 'string' ? r : r.jwks);
}

function isCorsPreflight(head: RequestHead): boolean {
  const h = head.headers;
  return head.method === 'OPTIONS' && typeof h.origin === 'string' && h.origin !== ''
    && typeof h['access-control-request-method'] === 'string' && h['access-control-request-method'] !== '';
}

/** Envoy's buildOriginalUri: x-forwarded-proto (else the scheme) :// host, path (with query) cut at 256 characters. */
function originalUri(head: RequestHead): string {
  const xfp = head.headers['x-forwarded-proto'];
  const scheme = typeof xfp === 'string' && xfp !== '' ? xfp : head.scheme;
  const path = head.path.length > MAX_REALM_PATH ? head.path.slice(0, MAX_REALM_PATH) : head.path;
  return `${scheme}://${head.authority}${path}`.replace(/["\\\r\n]/g, (c) => encodeURIComponent(c));
}

export class JwtAuthnFilter implements HttpFilter<JwtPerRouteConfig> {
  readonly #config: JwtAuthnConfig;
  readonly #auth: JwtAuthenticator;
  readonly #stats: JwtStats;
  readonly #log: Logger;
  /** Headers only this filter may set (claim_to_headers, forward_payload_header): removed from every request first. */
  readonly #owned: readonly string[];

  constructor(config: JwtAuthnConfig, fetch: ClusterFetch, stats: JwtStats, log: Logger) {
    this.#config = config;
    this.#stats = stats;
    this.#log = log;
    const sources = new Map<string, JwksSource>();
    const owned = new Set<string>();
    for (const p of config.providers.values()) {
      sources.set(p.name, jwksSource(p, fetch, stats, log));
      for (const c of p.claimToHeaders) owned.add(c.header);
      if (p.forwardPayloadHeader !== null) owned.add(p.forwardPayloadHeader);
    }
    this.#owned = [...owned];
    this.#auth = new JwtAuthenticator(config.providers, sources);
  }

  perRoute(config: unknown): JwtPerRouteConfig {
    return config as JwtPerRouteConfig;
  }

  onRequest(r: FilterRequest, route: JwtPerRouteConfig | null): FilterResult {
    const head = r.req.ex.head;
    for (const name of this.#owned) delete head.headers[name];
    if (this.#config.bypassCorsPreflight && isCorsPreflight(head)) {
      this.#stats.corsBypassed.inc();
      this.#stats.allowed.inc();
      return 'continue';
    }
    let requirement: JwtRequirement | null = null;
    if (route !== null) {
      if (route.kind === 'disabled') return 'continue';
      requirement = this.#config.requirementMap.get(route.name) ?? null;
      if (requirement === null) {
        const names = [...this.#config.requirementMap.keys()].join(',');
        const msg = `Wrong requirement_name: ${route.name}. It should be one of [${names}]`;
        this.#stats.denied.inc();
        this.#log.warn({ requirement: route.name }, `jwt_authn: refused ${head.method} ${pathOnly(head.path)}: ${msg}`);
        return filterLocalReply(r, { status: 403, flag: null, body: `Failed JWT authentication: ${msg}`, details: statusLikeDetails(msg) });
      }
    } else {
      for (const rule of this.#config.rules) {
        if (requestMatches(rule.match, head)) { requirement = rule.requirement; break; }
      }
    }
    if (requirement === null || requirement.kind === 'allow_all') {
      this.#stats.allowed.inc();
      return 'continue';
    }
    return this.#verify(r, requirement);
  }

  async #verify(r: FilterRequest, requirement: JwtRequirement): Promise<FilterStatus> {
    const head = r.req.ex.head;
    const ctx: VerifyContext = { head, metadata: {}, refusals: [] };
    let status: JwtStatus;
    try {
      status = await this.#auth.verify(requirement, ctx);
    } catch (err) {
      this.#log.error({ err }, `jwt_authn: verification failed unexpectedly: ${(err as Error).message}`);
      status = 'JwtVerificationFail';
    }
    if (r.req.finished) return 'stop';
    if (Object.keys(ctx.metadata).length > 0) r.req.setDynamicMetadata(JWT_AUTHN_METADATA_NAMESPACE, ctx.metadata);
    if (status === 'Ok') {
      this.#stats.allowed.inc();
      return 'continue';
    }
    this.#stats.denied.inc();
    const why = ctx.refusals.length > 0 ? ctx.refusals.join('; ') : statusText(status);
    // A missing token is routine (a client that has not logged in); anything else is bad input worth a warning.
    this.#log[status === 'JwtMissed' ? 'info' : 'warn']({ status: statusText(status), authority: head.authority, path: pathOnly(head.path) },
      `jwt_authn: refused ${head.method} ${pathOnly(head.path)}: ${why}`);
    return filterLocalReply(r, replies.jwtAuthnDenied(
      statusHttpCode(status), statusText(status), statusDetails(status), originalUri(head), status === 'JwtMissed', this.#config.stripFailureResponse,
    ));
  }
}

function pathOnly(path: string): string {
  const q = path.indexOf('?');
  return (q === -1 ? path : path.slice(0, q)).slice(0, 200);
}

function statusLikeDetails(msg: string): string {
  return `jwt_authn_access_denied{${msg.replace(/\s/g, '_')}}`;
}

export const JWT_AUTHN_FILTER: HttpFilterFactory<JwtAuthnConfig | JwtPerRouteConfig> = {
  message: JWT_AUTHENTICATION.message,
  names: [JWT_AUTHN_FILTER_NAME],
  table: JWT_AUTHENTICATION,
  perRouteTable: JWT_PER_ROUTE,
  terminal: false,
  compile: (m, perRoute) => compileJwtAuthn(m, perRoute),
  create: (config, ctx) => {
    if (config.kind !== 'filter') throw new Error('jwt_authn: PerRouteConfig given as the filter config');
    return new JwtAuthnFilter(config, ctx.fetch, jwtStats(ctx.stats, ctx.hcm.statPrefix), jwtLog());
  },
};
