// Shared pieces of the jwt_authn tests: signing keys made with jose, token builders, and an in-process filter-chain harness.
import assert from 'node:assert/strict';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { ActiveRequest } from '../../src/http/active-request.ts';
import type { DownstreamExchange, HeaderRecord, RequestHead } from '../../src/http/exchange.ts';
import type { ClusterFetch } from '../../src/http/filters/cluster-fetch.ts';
import { HttpFilterChain } from '../../src/http/filters/filter-chain.ts';
import { HcmStats } from '../../src/http/hcm-stats.ts';
import { RouteTable } from '../../src/http/route-table.ts';
import { compileListener } from '../../src/model/compile-bootstrap.ts';
import type { HttpConnectionManagerConfig } from '../../src/model/types.ts';
import { StatsRegistry } from '../../src/observability/stats.ts';
import { type Json, hcm, io, listener, router } from '../model/fixtures.ts';

export const JWT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
export const JWT_PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig';
export const ISSUER = 'https://issuer.example';

/** A signing key and its public JWK (with kid and alg). */
export interface SigningKey {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function signingKey(alg: 'RS256' | 'ES256' | 'EdDSA' | 'PS256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicJwk };
}

export function jwks(...keys: SigningKey[]): string {
  return JSON.stringify({ keys: keys.map((k) => k.publicJwk) });
}

const now = () => Math.floor(Date.now() / 1000);

/** A token signed by `key`: iss ISSUER, aud "api", sub "alice", 10 minutes of validity, unless `claims` says otherwise. */
export async function token(key: SigningKey, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ iss: ISSUER, aud: 'api', sub: 'alice', iat: now(), exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

/** A token with the given header and payload and a junk signature (alg none, forged headers...). */
export function unsigned(header: Record<string, unknown>, payload: Record<string, unknown>, sig = 'c2ln'): string {
  const b = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b(header)}.${b(payload)}.${sig}`;
}

/** A DownstreamExchange that records the local reply. */
class FakeExchange implements DownstreamExchange {
  readonly head: RequestHead;
  readonly body = null;
  readonly connection = { remoteAddress: '127.0.0.1', remotePort: 5000, localAddress: '127.0.0.1', localPort: 8080, tls: false, serverName: null, peerUriSans: [] };
  readonly upgrade = null;
  headersSent = false;
  status = 0;
  headers: HeaderRecord = {};
  body_ = '';
  constructor(method: string, path: string, headers: HeaderRecord) {
    this.head = { method, scheme: 'http', authority: 'api.example', path, headers, protocol: 'HTTP/1.1' };
  }
  sendHeaders(status: number, headers: HeaderRecord): void { this.headersSent = true; this.status = status; this.headers = headers; }
  write(chunk: Buffer): boolean { this.body_ += chunk.toString(); return true; }
  onDrain(): void {}
  end(): void {}
  reset(): void {}
  onAbort(): void {}
  bytesSent(): number { return 0; }
}

/** What one request ended with: routed (reached the router, with the headers the upstream would get) or a local reply. */
export interface Outcome {
  readonly routed: boolean;
  readonly status: number;
  readonly replyHeaders: HeaderRecord;
  readonly body: string;
  /** The request headers after the filters (what the backend would see). */
  readonly requestHeaders: HeaderRecord;
  readonly details: string | null;
  readonly metadata: Record<string, Record<string, unknown>> | null;
}

export interface Harness {
  send(path: string, headers?: HeaderRecord, method?: string): Promise<Outcome>;
  readonly stats: StatsRegistry;
}

/** An HCM with the jwt_authn filter (`config`), `extra` filters after it, and routes `routes` (default: / → backend). */
export function harness(config: Json, opts: { fetch?: ClusterFetch; routes?: Json[]; extra?: Json[] } = {}): Harness {
  const routes = opts.routes ?? [{ match: { prefix: '/' }, route: { cluster: 'backend' } }];
  const filters = [{ name: 'envoy.filters.http.jwt_authn', typed_config: { '@type': JWT_TYPE, ...config } }, ...(opts.extra ?? []), router];
  const r = compileListener(listener(hcm({ http_filters: filters, route_config: { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes }] } })), io);
  if (!r.ok) assert.fail(r.errors.map((e) => `${e.field}: ${e.message}`).join('\n'));
  const config_ = r.value.filterChains[0].network as HttpConnectionManagerConfig;
  const stats = new StatsRegistry();
  const chain = HttpFilterChain.create(config_, stats, opts.fetch);
  assert.ok(chain);
  const table = new RouteTable(config_.routeConfig!);
  const hcmStats = new HcmStats(stats, 'ingress_http');
  const send = (path: string, headers: HeaderRecord = {}, method = 'GET') => new Promise<Outcome>((resolve) => {
    const ex = new FakeExchange(method, path, { ...headers });
    const done = (routed: boolean) => resolve({
      routed, status: ex.status, replyHeaders: ex.headers, body: ex.body_, requestHeaders: ex.head.headers, details: req.details, metadata: req.dynamicMetadata,
    });
    const req = new ActiveRequest(ex, [], hcmStats, () => done(false));
    chain.run(req, table.match(ex.head), () => done(true));
  });
  return { send, stats };
}

/** A stand-in ClusterFetch serving a mutable JWKS (or failing), counting calls. */
export function jwksServer(initial: string): { fetch: ClusterFetch; calls: () => number; set(body: string | null): void } {
  let body: string | null = initial;
  let calls = 0;
  const fetch: ClusterFetch = (target) => {
    calls++;
    if (body === null) return Promise.reject(new Error(`fetch ${target.uri} through cluster "${target.cluster}": connect error (ECONNREFUSED)`));
    return Promise.resolve({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) });
  };
  return { fetch, calls: () => calls, set: (b) => { body = b; } };
}

export function remoteProvider(extra: Json = {}): Json {
  return {
    issuer: ISSUER,
    audiences: ['api'],
    remote_jwks: { http_uri: { uri: 'https://issuer.example/jwks.json', cluster: 'idp', timeout: '2s' }, cache_duration: '300s' },
    ...extra,
  };
}

export function localProvider(keys: string, extra: Json = {}): Json {
  return { issuer: ISSUER, audiences: ['api'], local_jwks: { inline_string: keys }, ...extra };
}
