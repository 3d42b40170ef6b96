// Tests RouteConfiguration compilation: virtual hosts, domains, header mutations, require_tls, retry policies.
import assert from 'node:assert/strict';
import { compileRouteConfiguration } from '../../src/model/compile-bootstrap.ts';
import type { RouteConfig } from '../../src/model/types.ts';
import { type Case, type Json, io, routeTo, runCases, virtualHost } from './fixtures.ts';

function rc(virtualHosts: unknown[], extra: Json = {}): Json {
  return { name: 'routes', virtual_hosts: virtualHosts, ...extra };
}

const R = 'route_configuration "routes"';

const cases: readonly Case<Json, RouteConfig>[] = [
  {
    name: 'domains compile to lower-case matchers',
    input: rc([
      virtualHost([routeTo('a')], { name: 'a', domains: ['API.Example.com', '*.example.org', 'www.example.*', 'example.net:8080'] }),
      virtualHost([routeTo('b')], { name: 'b', domains: ['*'] }),
    ]),
    expect: (c) => {
      assert.equal(c.name, 'routes');
      assert.deepEqual(c.virtualHosts[0].domains, [
        { kind: 'exact', value: 'api.example.com' },
        { kind: 'suffix', value: '.example.org' },
        { kind: 'prefix', value: 'www.example.' },
        { kind: 'exact', value: 'example.net:8080' },
      ]);
      assert.deepEqual(c.virtualHosts[1].domains, [{ kind: 'any', value: '' }]);
      assert.equal(c.virtualHosts[0].requireTls, 'NONE');
      assert.equal(c.virtualHosts[0].retryPolicy, null);
      assert.deepEqual(c.internalOnlyHeaders, []);
    },
  },
  { name: 'wildcard in the middle', input: rc([virtualHost([], { domains: ['api.*.com'] })]), errorContains: `${R}: virtual_hosts[0].domains[0]: "api.*.com": a wildcard is only allowed as the whole domain ("*"), at the start or at the end` },
  { name: 'wildcard at both ends', input: rc([virtualHost([], { domains: ['*.example.*'] })]), errorContains: 'virtual_hosts[0].domains[0]: "*.example.*": a wildcard is only allowed' },
  { name: 'empty domain', input: rc([virtualHost([], { domains: [''] })]), errorContains: 'virtual_hosts[0].domains[0]: must not be empty' },
  { name: 'no domains', input: rc([virtualHost([], { domains: undefined })]), errorContains: 'virtual_hosts[0].domains: at least one domain is required' },
  { name: 'virtual host needs a name', input: rc([virtualHost([], { name: undefined })]), errorContains: 'virtual_hosts[0].name: is required' },
  {
    name: 'duplicate domain across virtual hosts (case-insensitive)',
    input: rc([virtualHost([], { name: 'a', domains: ['Example.com'] }), virtualHost([], { name: 'b', domains: ['foo', 'example.COM'] })]),
    errorContains: `${R}: virtual_hosts[1].domains[1]: duplicate domain "example.COM" (also in virtual_hosts[0] "a"); only unique domains are permitted`,
  },
  { name: 'duplicate "*"', input: rc([virtualHost([], { name: 'a' }), virtualHost([], { name: 'b' })]), errorContains: 'virtual_hosts[1].domains[0]: duplicate domain "*"' },
  {
    name: 'header mutations at route config, virtual host and route level',
    input: rc(
      [
        virtualHost(
          [
            {
              ...routeTo('a'),
              request_headers_to_add: [{ header: { key: 'X-Route', value: 'r' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
              response_headers_to_remove: ['X-Internal'],
            },
          ],
          {
            request_headers_to_add: [{ header: { key: 'x-vh', value: '%DOWNSTREAM_REMOTE_ADDRESS%' }, append: false }],
            response_headers_to_add: [{ header: { key: 'x-empty', value: '' }, keep_empty_value: true, append_action: 'ADD_IF_ABSENT' }],
          },
        ),
      ],
      {
        request_headers_to_add: [{ header: { key: 'x-rc', value: '100%%' }, append: true }],
        request_headers_to_remove: ['x-drop'],
        response_headers_to_add: [{ header: { key: 'x-raw', raw_value: Buffer.from('bin').toString('base64') } }],
        internal_only_headers: ['X-Envoy-Internal'],
      },
    ),
    expect: (c) => {
      assert.deepEqual(c.headers, {
        requestHeadersToAdd: [{ key: 'x-rc', value: '100%%', dynamic: false, appendAction: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }],
        requestHeadersToRemove: ['x-drop'],
        responseHeadersToAdd: [{ key: 'x-raw', value: 'bin', dynamic: false, appendAction: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }],
        responseHeadersToRemove: [],
      });
      assert.deepEqual(c.internalOnlyHeaders, ['x-envoy-internal']);
      const vh = c.virtualHosts[0];
      assert.deepEqual(vh.headers.requestHeadersToAdd, [
        { key: 'x-vh', value: '%DOWNSTREAM_REMOTE_ADDRESS%', dynamic: true, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false },
      ]);
      assert.deepEqual(vh.headers.responseHeadersToAdd, [{ key: 'x-empty', value: '', dynamic: false, appendAction: 'ADD_IF_ABSENT', keepEmptyValue: true }]);
      const route = vh.routes[0];
      assert.deepEqual(route.headers.requestHeadersToAdd[0].key, 'x-route');
      assert.equal(route.headers.requestHeadersToAdd[0].appendAction, 'OVERWRITE_IF_EXISTS_OR_ADD');
      assert.deepEqual(route.headers.responseHeadersToRemove, ['x-internal']);
    },
  },
  { name: 'append and append_action together', input: rc([virtualHost([], { request_headers_to_add: [{ header: { key: 'a', value: 'b' }, append: true, append_action: 'ADD_IF_ABSENT' }] })]), errorContains: 'virtual_hosts[0].request_headers_to_add[0].append_action: append and append_action cannot both be set' },
  { name: 'adding a pseudo-header', input: rc([virtualHost([], { request_headers_to_add: [{ header: { key: ':path', value: '/' } }] })]), errorContains: 'request_headers_to_add[0].header.key: pseudo-header :path cannot be added' },
  { name: 'removing host', input: rc([virtualHost([], { request_headers_to_remove: ['Host'] })]), errorContains: 'virtual_hosts[0].request_headers_to_remove[0]: "Host" cannot be removed' },
  { name: 'header without key', input: rc([virtualHost([], { request_headers_to_add: [{ header: { value: 'x' } }] })]), errorContains: 'request_headers_to_add[0].header.key: is required' },
  { name: 'require_tls', input: rc([virtualHost([], { require_tls: 'EXTERNAL_ONLY' })]), expect: (c) => assert.equal(c.virtualHosts[0].requireTls, 'EXTERNAL_ONLY') },
  { name: 'require_tls bad value', input: rc([virtualHost([], { require_tls: 'SOME' })]), errorContains: 'virtual_hosts[0].require_tls: invalid value "SOME" (expected one of NONE, EXTERNAL_ONLY, ALL)' },
  {
    name: 'virtual host retry policy with defaults',
    input: rc([virtualHost([], { retry_policy: { retry_on: '5xx, connect-failure,retriable-status-codes', retriable_status_codes: [409] } })]),
    expect: (c) =>
      assert.deepEqual(c.virtualHosts[0].retryPolicy, {
        retryOn: ['5xx', 'connect-failure', 'retriable-status-codes'],
        numRetries: 1,
        perTryTimeoutMs: 0,
        backOffBaseMs: 25,
        backOffMaxMs: 250,
        retriableStatusCodes: [409],
        retriableHeaders: [],
        previousHostsPredicate: false,
        hostSelectionRetryMaxAttempts: 1,
      }),
  },
  {
    name: 'retry policy with every field',
    input: rc([
      virtualHost([], {
        retry_policy: {
          retry_on: 'gateway-error,retriable-headers',
          num_retries: { value: 3 },
          per_try_timeout: '0.5s',
          retry_back_off: { base_interval: '0.1s' },
          retriable_headers: [{ name: 'X-Retry', exact_match: 'yes' }],
          retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
          host_selection_retry_max_attempts: '5',
        },
      }),
    ]),
    expect: (c) => {
      const p = c.virtualHosts[0].retryPolicy!;
      assert.equal(p.numRetries, 3);
      assert.equal(p.perTryTimeoutMs, 500);
      assert.equal(p.backOffBaseMs, 100);
      assert.equal(p.backOffMaxMs, 1000);
      assert.deepEqual(p.retriableHeaders.map((h) => [h.name, h.string?.value]), [['x-retry', 'yes']]);
      assert.equal(p.previousHostsPredicate, true);
      assert.equal(p.hostSelectionRetryMaxAttempts, 5);
    },
  },
  { name: 'unknown retry_on value', input: rc([virtualHost([], { retry_policy: { retry_on: '5xx,sometimes' } })]), errorContains: 'virtual_hosts[0].retry_policy.retry_on: unknown retry condition "sometimes"' },
  { name: 'max_interval below base_interval', input: rc([virtualHost([], { retry_policy: { retry_on: '5xx', retry_back_off: { base_interval: '1s', max_interval: '0.5s' } } })]), errorContains: 'retry_back_off.max_interval: must not be below base_interval (1000ms)' },
  { name: 'retry_back_off needs base_interval', input: rc([virtualHost([], { retry_policy: { retry_on: '5xx', retry_back_off: { max_interval: '1s' } } })]), errorContains: 'retry_back_off.base_interval: is required' },
  { name: 'other retry host predicates not supported', input: rc([virtualHost([], { retry_policy: { retry_on: '5xx', retry_host_predicate: [{ name: 'envoy.retry_host_predicates.omit_canary_hosts' }] } })]), errorContains: 'retry_host_predicate[0].name: retry host predicate envoy.retry_host_predicates.omit_canary_hosts is not supported yet' },
  { name: 'typed_per_filter_config kept raw', input: rc([virtualHost([], { typed_per_filter_config: { 'envoy.filters.http.cors': { '@type': 'x', a: 1 } } })]), expect: (c) => assert.deepEqual(c.virtualHosts[0].typedPerFilterConfig, { 'envoy.filters.http.cors': { '@type': 'x', a: 1 } }) },
  { name: 'virtual host rate_limits not supported', input: rc([virtualHost([], { rate_limits: [{ actions: [] }] })]), errorContains: 'virtual_hosts[0].rate_limits: rate_limits is not supported yet' },
  { name: 'vhds not supported', input: rc([], { vhds: { config_source: {} } }), errorContains: `${R}: vhds: vhds is not supported yet` },
  { name: 'RDS route configs do not validate clusters', input: rc([virtualHost([routeTo('anything')])]), expect: (c) => assert.equal(c.virtualHosts[0].routes.length, 1) },
];

runCases('RouteConfiguration', cases, (json) => compileRouteConfiguration(json, io));
