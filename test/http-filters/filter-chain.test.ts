// Tests the HTTP filter chain in process: order, per-route overrides (route over virtual host), disabled filters, async delays, local replies.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ActiveRequest } from '../../src/http/active-request.ts';
import type { DownstreamExchange, HeaderRecord, RequestHead } from '../../src/http/exchange.ts';
import { HttpFilterChain } from '../../src/http/filters/filter-chain.ts';
import { HcmStats } from '../../src/http/hcm-stats.ts';
import { RouteTable } from '../../src/http/route-table.ts';
import { compileListener } from '../../src/model/compile-bootstrap.ts';
import type { HttpConnectionManagerConfig } from '../../src/model/types.ts';
import { StatsRegistry } from '../../src/observability/stats.ts';
import { type Json, hcm, io, listener, router } from '../model/fixtures.ts';

const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const LRL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const FILTER_CONFIG_TYPE = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
const ALL = { default_value: { numerator: 100 } };

/** A DownstreamExchange that records what was sent. */
class FakeExchange implements DownstreamExchange {
  readonly head: RequestHead;
  readonly body = null;
  readonly connection = { remoteAddress: '127.0.0.1', remotePort: 5000, localAddress: '127.0.0.1', localPort: 8080, tls: false, serverName: null, peerUriSans: [] };
  readonly upgrade = null;
  headersSent = false;
  status = 0;
  headers: HeaderRecord = {};
  wasReset = false;
  readonly #aborts: (() => void)[] = [];
  constructor(path: string, headers: HeaderRecord = {}) {
    this.head = { method: 'GET', scheme: 'http', authority: 'svc', path, headers, protocol: 'HTTP/2' };
  }
  sendHeaders(status: number, headers: HeaderRecord): void { this.headersSent = true; this.status = status; this.headers = headers; }
  write(): boolean { return true; }
  onDrain(): void {}
  end(): void {}
  reset(): void { this.wasReset = true; }
  onAbort(cb: () => void): void { this.#aborts.push(cb); }
  clientGone(): void { for (const cb of this.#aborts) cb(); }
  bytesSent(): number { return 0; }
}

function compileHcm(typed: Json): HttpConnectionManagerConfig {
  const r = compileListener(listener(typed), io);
  if (!r.ok) assert.fail(r.errors.map((e) => `${e.field}: ${e.message}`).join('\n'));
  return r.value.filterChains[0].network as HttpConnectionManagerConfig;
}

interface Sent { ex: FakeExchange; req: ActiveRequest; routed: boolean }

interface Harness {
  send(path: string, headers?: HeaderRecord): Promise<Sent>;
  /** Runs an exchange the test keeps (to make its client leave). */
  run(ex: FakeExchange): Promise<Sent>;
  stats: StatsRegistry;
}

/** An HCM with `filters` before the router and `vhost` as its only virtual host; `send` runs one request through the chain. */
function harness(filters: Json[], vhost: Json): Harness {
  const config = compileHcm(hcm({ http_filters: [...filters, router], route_config: { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], ...vhost }] } }));
  const stats = new StatsRegistry();
  const chain = HttpFilterChain.create(config, stats);
  assert.ok(chain);
  const table = new RouteTable(config.routeConfig!);
  const hcmStats = new HcmStats(stats, 'ingress_http');
  const run = (ex: FakeExchange) => new Promise<Sent>((resolve) => {
    const req = new ActiveRequest(ex, [], hcmStats, () => resolve({ ex, req, routed: false }));
    chain.run(req, table.match(ex.head), () => { resolve({ ex, req, routed: true }); req.finish(); });
  });
  return { stats, run, send: (path, headers = {}) => run(new FakeExchange(path, headers)) };
}

const fault = (config: Json, extra: Json = {}): Json => ({ name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT_TYPE, ...config }, ...extra });
const abort = (status: number): Json => ({ '@type': FAULT_TYPE, abort: { http_status: status, percentage: { numerator: 100 } } });
const rl = (max: number, extra: Json = {}): Json => ({
  '@type': LRL_TYPE, stat_prefix: 'rl', token_bucket: { max_tokens: max, fill_interval: '3600s' }, filter_enabled: ALL, filter_enforced: ALL, ...extra,
});
const route = (prefix: string, extra: Json = {}): Json => ({ match: { prefix }, route: { cluster: 'backend' }, ...extra });

describe('HTTP filter chain', () => {
  test('only the router: no chain at all', () => {
    assert.equal(HttpFilterChain.create(compileHcm(hcm()), new StatsRegistry()), null);
  });

  test('fault abort stops the chain with FI; the router never runs', async () => {
    const h = harness([fault({ abort: { http_status: 503, percentage: { numerator: 100 } } })], { routes: [route('/')] });
    const { ex, req, routed } = await h.send('/x');
    assert.equal(routed, false);
    assert.equal(ex.status, 503);
    assert.deepEqual(req.flags, ['FI']);
    assert.equal(req.details, 'fault_filter_abort');
  });

  test('route config overrides virtual host config, which overrides the filter config', async () => {
    const h = harness([fault({})], {
      typed_per_filter_config: { 'envoy.filters.http.fault': abort(502) },
      routes: [route('/route', { typed_per_filter_config: { 'envoy.filters.http.fault': abort(418) } }), route('/')],
    });
    assert.equal((await h.send('/route')).ex.status, 418);
    assert.equal((await h.send('/other')).ex.status, 502);
  });

  test('FilterConfig disabled: true on a route skips the filter there only', async () => {
    const h = harness([fault({ abort: { http_status: 503, percentage: { numerator: 100 } } })], {
      routes: [route('/off', { typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FILTER_CONFIG_TYPE, disabled: true } } }), route('/')],
    });
    assert.equal((await h.send('/off')).routed, true);
    assert.equal((await h.send('/on')).ex.status, 503);
  });

  test('a disabled filter runs only where a route or virtual host enables it', async () => {
    const h = harness([fault({ abort: { http_status: 503, percentage: { numerator: 100 } } }, { disabled: true })], {
      routes: [
        route('/wrapped', { typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FILTER_CONFIG_TYPE, config: abort(429) } } }),
        route('/enabled', { typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FILTER_CONFIG_TYPE } } }),
        route('/own', { typed_per_filter_config: { 'envoy.filters.http.fault': abort(409) } }),
        route('/'),
      ],
    });
    assert.equal((await h.send('/plain')).routed, true, 'disabled by default');
    assert.equal((await h.send('/wrapped')).ex.status, 429);
    assert.equal((await h.send('/enabled')).ex.status, 503, 'enabled with the filter-level config');
    assert.equal((await h.send('/own')).ex.status, 409);
  });

  test('a fault delay continues the chain after the timer (DI), then the router runs', async () => {
    const h = harness([fault({ delay: { fixed_delay: '0.02s', percentage: { numerator: 100 } } })], { routes: [route('/')] });
    const { req, routed } = await h.send('/slow');
    assert.equal(routed, true);
    assert.deepEqual(req.flags, ['DI']);
    assert.equal(h.stats.counter('envoy_http_fault_delays_injected', { envoy_http_conn_manager_prefix: 'ingress_http' }).value, 1);
    assert.equal(h.stats.gauge('envoy_http_fault_active_faults', { envoy_http_conn_manager_prefix: 'ingress_http' }).value, 0);
  });

  test('the client leaving during a delay ends the request with DI,DC and no response', async () => {
    const h = harness([fault({ delay: { fixed_delay: '3600s', percentage: { numerator: 100 } } })], { routes: [route('/')] });
    const ex = new FakeExchange('/gone');
    const done = h.run(ex);
    ex.clientGone();
    const { req, routed } = await done;
    assert.equal(routed, false);
    assert.deepEqual(req.flags, ['DI', 'DC']);
    assert.equal(ex.headersSent, false);
  });

  test('max_active_faults: a second concurrent fault overflows and passes through', async () => {
    const h = harness([fault({ delay: { fixed_delay: '0.05s', percentage: { numerator: 100 } }, max_active_faults: 1 })], { routes: [route('/')] });
    const [a, b] = await Promise.all([h.send('/a'), h.send('/b')]);
    assert.deepEqual([a.req.flags, b.req.flags], [['DI'], null]);
    assert.equal(h.stats.counter('envoy_http_fault_faults_overflow', { envoy_http_conn_manager_prefix: 'ingress_http' }).value, 1);
  });

  test('gRPC abort: trailers-only with the exact grpc-status', async () => {
    const h = harness([fault({ abort: { grpc_status: 7, percentage: { numerator: 100 } } })], { routes: [route('/')] });
    const { ex } = await h.send('/pkg.Svc/Call', { 'content-type': 'application/grpc' });
    assert.equal(ex.status, 200);
    assert.equal(ex.headers['grpc-status'], '7');
    assert.equal(ex.headers['grpc-message'], 'fault filter abort', 'printable ASCII is not percent-encoded');
  });

  test('local rate limit: filter bucket shared by routes, per-route config has its own bucket; x-ratelimit headers on every response', async () => {
    const h = harness([{ name: 'envoy.filters.http.local_ratelimit', typed_config: rl(2, { enable_x_ratelimit_headers: 'DRAFT_VERSION_03' }) }], {
      routes: [route('/own', { typed_per_filter_config: { 'envoy.filters.http.local_ratelimit': rl(1, { stat_prefix: 'own' }) } }), route('/')],
    });
    const first = await h.send('/a');
    assert.equal(first.routed, true);
    first.req.ex.sendHeaders(200, {}, true); // what the router would send: the filter's headers ride along
    assert.equal((first.ex as FakeExchange).headers['x-ratelimit-limit'], '2');
    assert.equal((first.ex as FakeExchange).headers['x-ratelimit-remaining'], '1');
    assert.equal((await h.send('/b')).routed, true);
    const third = await h.send('/c');
    assert.equal(third.ex.status, 429);
    assert.deepEqual(third.req.flags, ['RL']);
    assert.equal(third.ex.headers['x-ratelimit-remaining'], '0');
    assert.equal(third.ex.headers['x-ratelimit-reset'], '3600');
    assert.equal((await h.send('/own')).routed, true, 'its own bucket is still full');
    assert.equal((await h.send('/own')).ex.status, 429);
    const c = (name: string, prefix: string) => h.stats.counter(`envoy_http_local_rate_limit_${name}`, { envoy_local_http_ratelimit_prefix: prefix }).value;
    assert.deepEqual([c('enabled', 'rl'), c('ok', 'rl'), c('rate_limited', 'rl'), c('enforced', 'rl')], [3, 2, 1, 1]);
    assert.deepEqual([c('enabled', 'own'), c('ok', 'own'), c('rate_limited', 'own'), c('enforced', 'own')], [2, 1, 1, 1]);
  });

  test('local rate limit not enforced: forwarded with request_headers_to_add_when_not_enforced', async () => {
    const h = harness([{
      name: 'envoy.filters.http.local_ratelimit',
      typed_config: rl(1, { filter_enforced: { default_value: { numerator: 0 } }, request_headers_to_add_when_not_enforced: [{ header: { key: 'x-would-limit', value: 'yes' } }] }),
    }], { routes: [route('/')] });
    await h.send('/1');
    const second = await h.send('/2');
    assert.equal(second.routed, true);
    assert.equal(second.ex.head.headers['x-would-limit'], 'yes');
  });
});
