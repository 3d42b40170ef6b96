// Tests that the model validates HTTP filter configs through the filter registry: errors name the resource and the full field path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileListener } from '../../src/model/compile-bootstrap.ts';
import { KNOWN_HTTP_FILTERS } from '../../src/model/http-filters.ts';
import type { HttpConnectionManagerConfig } from '../../src/model/types.ts';
import { assertHasError, hcm, io, listener, router, valueOf, warningLines } from '../model/fixtures.ts';

const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const LRL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const P = 'listener "ingress": filter_chains[0].filters[0].typed_config';
const routes = (extra: Record<string, unknown>) => ({ name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' }, ...extra }] }] });

test('the registry lists fault, jwt_authn, local_ratelimit, oauth2, rbac and the router (last, terminal)', () => {
  assert.deepEqual(KNOWN_HTTP_FILTERS.map((f) => [f.names[0], f.terminal]), [
    ['envoy.filters.http.fault', false], ['envoy.filters.http.jwt_authn', false], ['envoy.filters.http.local_ratelimit', false],
    ['envoy.filters.http.oauth2', false], ['envoy.filters.http.rbac', false], ['envoy.filters.http.router', true],
  ]);
});

test('a fault filter config with a bogus denominator is an error naming the field', () => {
  const r = compileListener(listener(hcm({
    http_filters: [{ name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT_TYPE, abort: { http_status: 503, percentage: { numerator: 1, denominator: 'BOGUS' } } } }, router],
  })), io);
  assertHasError(r, `${P}.http_filters[0].typed_config.abort.percentage.denominator: invalid value "BOGUS"`);
});

test('a valid fault + local rate limit chain compiles, raw configs kept for the connection manager', () => {
  const h = valueOf(compileListener(listener(hcm({
    http_filters: [
      { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT_TYPE, abort: { http_status: 503, percentage: { numerator: 10 } } } },
      { name: 'envoy.filters.http.local_ratelimit', typed_config: { '@type': LRL_TYPE, stat_prefix: 'rl' }, disabled: true },
      router,
    ],
  })), io)).filterChains[0].network as HttpConnectionManagerConfig;
  assert.deepEqual(h.httpFilters.map((f) => [f.name, f.disabled]), [['envoy.filters.http.fault', false], ['envoy.filters.http.local_ratelimit', true], ['envoy.filters.http.router', false]]);
  assert.deepEqual(h.httpFilters[0].config, { abort: { http_status: 503, percentage: { numerator: 10 } } });
});

test('a per-route local rate limit without token_bucket is an error at the route field', () => {
  const r = compileListener(listener(hcm({
    route_config: routes({ typed_per_filter_config: { 'envoy.filters.http.local_ratelimit': { '@type': LRL_TYPE, stat_prefix: 'r' } } }),
  })), io);
  assertHasError(r, `${P}.route_config.virtual_hosts[0].routes[0].typed_per_filter_config.envoy.filters.http.local_ratelimit.token_bucket: is required`);
});

test('a per-route fault inside a FilterConfig wrapper is validated at .config', () => {
  const r = compileListener(listener(hcm({
    route_config: routes({ typed_per_filter_config: { f: { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', config: { '@type': FAULT_TYPE, abort: { http_status: 42 } } } } }),
  })), io);
  assertHasError(r, `${P}.route_config.virtual_hosts[0].routes[0].typed_per_filter_config.f.config.abort.http_status: 42 is out of range`);
});

test('a filter-level local rate limit with a bucket but no filter_enabled warns (Envoy enables it for 0 %)', () => {
  const r = compileListener(listener(hcm({
    http_filters: [{ name: 'rl', typed_config: { '@type': LRL_TYPE, stat_prefix: 'rl', token_bucket: { max_tokens: 1, fill_interval: '1s' } } }, router],
  })), io);
  valueOf(r);
  assert.ok(warningLines(r).some((l) => l.includes('http_filters[0].typed_config.filter_enabled: is not set')), warningLines(r).join('\n'));
});
