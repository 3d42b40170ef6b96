// Tests route compilation: match (path, regex, headers, query, grpc) and the route / redirect / direct_response actions.
import assert from 'node:assert/strict';
import { compileRouteConfiguration } from '../../src/model/compile-bootstrap.ts';
import { regexReplaceAll } from '../../src/model/re2.ts';
import type { CompileResult, DirectResponseAction, RedirectAction, Route, RouteAction } from '../../src/model/types.ts';
import { type Case, type Json, io, runCases, virtualHost } from './fixtures.ts';

/** Compiles one route inside an RDS route configuration and returns it. */
function compileRoute(route: Json): CompileResult<Route> {
  const r = compileRouteConfiguration({ name: 'rc', virtual_hosts: [virtualHost([route])], max_direct_response_body_size_bytes: 64 }, io);
  if (!r.ok) return r;
  return { ok: true, value: r.value.virtualHosts[0].routes[0], warnings: r.warnings };
}

const P = 'route_configuration "rc": virtual_hosts[0].routes[0]';
const to = { cluster: 'backend' };

function action(r: Route): RouteAction {
  assert.equal(r.action.kind, 'route');
  return r.action as RouteAction;
}

const matchCases: readonly Case<Json, Route>[] = [
  {
    name: 'prefix with defaults',
    input: { name: 'r0', match: { prefix: '/api' }, route: to },
    expect: (r) => {
      assert.equal(r.name, 'r0');
      assert.deepEqual(r.match, { pathKind: 'prefix', pathValue: '/api', pathRegex: null, caseSensitive: true, headers: [], queryParameters: [], grpc: false });
      assert.deepEqual(r.typedPerFilterConfig, {});
    },
  },
  { name: 'path, case-insensitive', input: { match: { path: '/Exact', case_sensitive: { value: false } }, route: to }, expect: (r) => {
    assert.equal(r.match.pathKind, 'path');
    assert.equal(r.match.pathValue, '/Exact');
    assert.equal(r.match.caseSensitive, false);
  } },
  { name: 'path_separated_prefix', input: { match: { path_separated_prefix: '/api/v1' }, route: to }, expect: (r) => assert.deepEqual([r.match.pathKind, r.match.pathValue], ['path_separated_prefix', '/api/v1']) },
  { name: 'path_separated_prefix ending in /', input: { match: { path_separated_prefix: '/api/' }, route: to }, errorContains: `${P}.match.path_separated_prefix: must start with "/", must not end with "/"` },
  {
    name: 'safe_regex is an anchored full match',
    input: { match: { safe_regex: { google_re2: {}, regex: '/users/[0-9]+' } }, route: to },
    expect: (r) => {
      assert.equal(r.match.pathKind, 'regex');
      assert.equal(r.match.pathValue, '/users/[0-9]+');
      const re = r.match.pathRegex!;
      assert.ok(re.test('/users/42'));
      assert.ok(!re.test('/users/42/x'));
      assert.ok(!re.test('/x/users/42'));
    },
  },
  { name: 'bad regex names the field', input: { match: { safe_regex: { regex: '/users/(' } }, route: to }, errorContains: `${P}.match.safe_regex.regex: invalid regex: missing )` },
  { name: 'regex with lookahead', input: { match: { safe_regex: { regex: '/(?!admin).*' } }, route: to }, errorContains: `${P}.match.safe_regex.regex: invalid regex: lookahead/lookbehind assertions are not supported by RE2` },
  { name: 'no path specifier', input: { match: { headers: [{ name: 'a' }] }, route: to }, errorContains: `${P}.match: one of prefix, path, safe_regex, path_separated_prefix is required` },
  { name: 'two path specifiers', input: { match: { prefix: '/', path: '/a' }, route: to }, errorContains: `${P}.match.path: only one of prefix, path, safe_regex, path_separated_prefix may be set (also prefix)` },
  { name: 'missing match', input: { route: to }, errorContains: `${P}.match: is required` },
  {
    name: 'header matchers: every form',
    input: {
      match: {
        prefix: '/',
        headers: [
          { name: 'X-Exact', string_match: { exact: 'A', ignore_case: true } },
          { name: 'x-prefix', string_match: { prefix: 'pre' } },
          { name: 'x-suffix', string_match: { suffix: 'suf' } },
          { name: 'x-contains', string_match: { contains: 'mid' }, invert_match: true },
          { name: 'x-regex', string_match: { safe_regex: { regex: 'v[0-9]' } } },
          { name: 'x-legacy-exact', exact_match: 'e' },
          { name: 'x-legacy-prefix', prefix_match: 'p' },
          { name: 'x-legacy-suffix', suffix_match: 's' },
          { name: 'x-legacy-contains', contains_match: 'c' },
          { name: 'x-legacy-regex', safe_regex_match: { regex: 'r+' } },
          { name: 'x-present', present_match: true },
          { name: 'x-absent', present_match: false },
          { name: 'x-range', range_match: { start: '10', end: 20 } },
          { name: ':method', exact_match: 'GET', treat_missing_header_as_empty: true },
          { name: 'x-bare' },
        ],
      },
      route: to,
    },
    expect: (r) => {
      const h = r.match.headers;
      const summary = h.map((m) => [m.name, m.string?.kind ?? null, m.string?.value ?? null, m.presentMatch, m.rangeMatch, m.invertMatch]);
      assert.deepEqual(summary, [
        ['x-exact', 'exact', 'A', null, null, false],
        ['x-prefix', 'prefix', 'pre', null, null, false],
        ['x-suffix', 'suffix', 'suf', null, null, false],
        ['x-contains', 'contains', 'mid', null, null, true],
        ['x-regex', 'regex', 'v[0-9]', null, null, false],
        ['x-legacy-exact', 'exact', 'e', null, null, false],
        ['x-legacy-prefix', 'prefix', 'p', null, null, false],
        ['x-legacy-suffix', 'suffix', 's', null, null, false],
        ['x-legacy-contains', 'contains', 'c', null, null, false],
        ['x-legacy-regex', 'regex', 'r+', null, null, false],
        ['x-present', null, null, true, null, false],
        ['x-absent', null, null, false, null, false],
        ['x-range', null, null, null, { start: 10, end: 20 }, false],
        [':method', 'exact', 'GET', null, null, false],
        ['x-bare', null, null, true, null, false],
      ]);
      assert.equal(h[0].string?.ignoreCase, true);
      assert.ok(h[4].string?.regex?.test('v1'));
      assert.ok(!h[4].string?.regex?.test('xv1'), 'string regexes are full matches');
      assert.equal(h[13].treatMissingAsEmpty, true);
    },
  },
  { name: 'header matcher with two specifiers', input: { match: { prefix: '/', headers: [{ name: 'a', exact_match: 'x', present_match: true }] }, route: to }, errorContains: `${P}.match.headers[0].present_match: only one of header match specifiers may be set` },
  { name: 'header matcher without name', input: { match: { prefix: '/', headers: [{ exact_match: 'x' }] }, route: to }, errorContains: `${P}.match.headers[0].name: is required` },
  { name: 'empty prefix string matcher', input: { match: { prefix: '/', headers: [{ name: 'a', string_match: { prefix: '' } }] }, route: to }, errorContains: `${P}.match.headers[0].string_match.prefix: must not be empty` },
  { name: 'bad header regex', input: { match: { prefix: '/', headers: [{ name: 'a', safe_regex_match: { regex: '[' } }] }, route: to }, errorContains: `${P}.match.headers[0].safe_regex_match.regex: invalid regex` },
  { name: 'range end before start', input: { match: { prefix: '/', headers: [{ name: 'a', range_match: { start: 5, end: 5 } }] }, route: to }, errorContains: `${P}.match.headers[0].range_match.end: must be greater than start (5)` },
  { name: 'v2 regex_match is unknown', input: { match: { prefix: '/', headers: [{ name: 'a', regex_match: 'x' }] }, route: to }, errorContains: `${P}.match.headers[0].regex_match: unknown field "regex_match"` },
  {
    name: 'query parameter matchers',
    input: { match: { prefix: '/', query_parameters: [{ name: 'debug', present_match: true }, { name: 'v', string_match: { exact: '2' } }, { name: 'bare' }] }, route: to },
    expect: (r) =>
      assert.deepEqual(
        r.match.queryParameters.map((q) => [q.name, q.string?.value ?? null, q.presentMatch]),
        [
          ['debug', null, true],
          ['v', '2', false],
          ['bare', null, true],
        ],
      ),
  },
  { name: 'query present_match: false behaves as in Envoy (warning)', input: { match: { prefix: '/', query_parameters: [{ name: 'q', present_match: false }] }, route: to }, warningContains: 'query_parameters[0].present_match: present_match: false still requires', expect: (r) => assert.equal(r.match.queryParameters[0].presentMatch, true) },
  { name: 'grpc match', input: { match: { prefix: '/', grpc: {} }, route: to }, expect: (r) => assert.equal(r.match.grpc, true) },
  { name: 'runtime_fraction not supported', input: { match: { prefix: '/', runtime_fraction: { default_value: { numerator: 50 } } }, route: to }, errorContains: `${P}.match.runtime_fraction: runtime_fraction is not supported yet` },
];

const actionCases: readonly Case<Json, Route>[] = [
  {
    name: 'route action defaults',
    input: { match: { prefix: '/' }, route: to },
    expect: (r) =>
      assert.deepEqual(action(r), {
        kind: 'route',
        cluster: 'backend',
        weightedClusters: null,
        totalWeight: 0,
        clusterHeader: null,
        clusterNotFoundResponseCode: 503,
        prefixRewrite: null,
        regexRewrite: null,
        hostRewriteLiteral: null,
        autoHostRewrite: false,
        hostRewriteHeader: null,
        timeoutMs: 15000,
        idleTimeoutMs: null,
        retryPolicy: null,
        hashPolicy: [],
        upgradeTypes: null,
        maxStreamDurationMs: null,
        grpcTimeoutHeaderMaxMs: null,
      }),
  },
  {
    name: 'route action fields',
    input: {
      match: { prefix: '/api' },
      route: {
        cluster_header: 'X-Cluster',
        cluster_not_found_response_code: 'NOT_FOUND',
        prefix_rewrite: '/',
        host_rewrite_literal: 'internal.example.com',
        timeout: '0s',
        idle_timeout: '5s',
        retry_policy: { retry_on: 'reset', num_retries: 2 },
        hash_policy: [
          { header: { header_name: 'X-User' } },
          { cookie: { name: 'sticky', ttl: '3600s', path: '/' }, terminal: true },
          { connection_properties: { source_ip: true } },
          { query_parameter: { name: 'u' } },
        ],
        upgrade_configs: [{ upgrade_type: 'websocket' }, { upgrade_type: 'h2c', enabled: false }],
        max_stream_duration: { max_stream_duration: '60s', grpc_timeout_header_max: '30s' },
      },
    },
    expect: (r) => {
      const a = action(r);
      assert.equal(a.cluster, null);
      assert.equal(a.clusterHeader, 'x-cluster');
      assert.equal(a.clusterNotFoundResponseCode, 404);
      assert.equal(a.prefixRewrite, '/');
      assert.equal(a.hostRewriteLiteral, 'internal.example.com');
      assert.equal(a.timeoutMs, 0);
      assert.equal(a.idleTimeoutMs, 5000);
      assert.equal(a.retryPolicy?.numRetries, 2);
      assert.deepEqual(a.hashPolicy, [
        { kind: 'header', name: 'x-user', terminal: false },
        { kind: 'cookie', name: 'sticky', ttlSeconds: 3600, path: '/', terminal: true },
        { kind: 'source_ip', terminal: false },
        { kind: 'query_parameter', name: 'u', terminal: false },
      ]);
      assert.deepEqual(a.upgradeTypes, ['websocket']);
      assert.deepEqual(a.upgradeOverrides, { websocket: true, h2c: false });
      assert.equal(a.maxStreamDurationMs, 60_000);
      assert.equal(a.grpcTimeoutHeaderMaxMs, 30_000);
    },
  },
  { name: 'auto_host_rewrite', input: { match: { prefix: '/' }, route: { ...to, auto_host_rewrite: { value: true } } }, expect: (r) => assert.equal(action(r).autoHostRewrite, true) },
  { name: 'host_rewrite_header', input: { match: { prefix: '/' }, route: { ...to, host_rewrite_header: 'X-Host' } }, expect: (r) => assert.equal(action(r).hostRewriteHeader, 'x-host') },
  { name: 'two host rewrites', input: { match: { prefix: '/' }, route: { ...to, host_rewrite_literal: 'a', auto_host_rewrite: true } }, errorContains: `${P}.route.auto_host_rewrite: only one of host_rewrite_literal, auto_host_rewrite, host_rewrite_header may be set` },
  { name: 'max_grpc_timeout (deprecated) maps to grpcTimeoutHeaderMaxMs', input: { match: { prefix: '/' }, route: { ...to, max_grpc_timeout: '2s' } }, expect: (r) => assert.equal(action(r).grpcTimeoutHeaderMaxMs, 2000) },
  {
    name: 'regex_rewrite converts RE2 groups',
    input: { match: { prefix: '/' }, route: { ...to, regex_rewrite: { pattern: { regex: '^/service/([^/]+)(/.*)$' }, substitution: '\\2/instance/\\1' } } },
    expect: (r) => {
      const rw = action(r).regexRewrite!;
      assert.equal(rw.substitution, '$02/instance/$01');
      assert.equal(regexReplaceAll('/service/foo/v1/api', rw.pattern, rw.substitution), '/v1/api/instance/foo');
    },
  },
  {
    name: 'regex_rewrite replaces every match, like Envoy',
    input: { match: { prefix: '/' }, route: { ...to, regex_rewrite: { pattern: { regex: 'one' }, substitution: 'two' } } },
    expect: (r) => {
      const rw = action(r).regexRewrite!;
      assert.equal(regexReplaceAll('/xxx/one/yyy/one/zzz', rw.pattern, rw.substitution), '/xxx/two/yyy/two/zzz');
    },
  },
  { name: 'regex_rewrite with a group that does not exist', input: { match: { prefix: '/' }, route: { ...to, regex_rewrite: { pattern: { regex: '/(a)' }, substitution: '\\2' } } }, errorContains: `${P}.route.regex_rewrite.substitution: substitution uses \\2 but the pattern has 1 capture group(s)` },
  { name: 'regex_rewrite with a bad pattern', input: { match: { prefix: '/' }, route: { ...to, regex_rewrite: { pattern: { regex: '(' }, substitution: '' } } }, errorContains: `${P}.route.regex_rewrite.pattern.regex: invalid regex` },
  { name: 'prefix_rewrite and regex_rewrite together', input: { match: { prefix: '/' }, route: { ...to, prefix_rewrite: '/', regex_rewrite: { pattern: { regex: 'a' }, substitution: 'b' } } }, errorContains: `${P}.route.regex_rewrite: only one of prefix_rewrite, regex_rewrite may be set` },
  {
    name: 'weighted clusters: total from the weights',
    input: { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 30, request_headers_to_add: [{ header: { key: 'x-v', value: 'a' } }] }, { name: 'b', weight: { value: 70 } }] } } },
    expect: (r) => {
      const a = action(r);
      assert.equal(a.totalWeight, 100);
      assert.deepEqual(a.weightedClusters?.map((w) => [w.name, w.weight]), [['a', 30], ['b', 70]]);
      assert.equal(a.weightedClusters?.[0].headers.requestHeadersToAdd[0].key, 'x-v');
      assert.equal(a.cluster, null);
    },
  },
  { name: 'weighted clusters: total_weight must match', input: { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 30 }], total_weight: 100 } } }, errorContains: `${P}.route.weighted_clusters.total_weight: is 100 but the cluster weights add up to 30` },
  { name: 'weighted clusters: total_weight matching', input: { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 30 }, { name: 'b', weight: 70 }], total_weight: 100 } } }, expect: (r) => assert.equal(action(r).totalWeight, 100) },
  { name: 'weighted clusters: weights sum to 0', input: { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 0 }] } } }, errorContains: `${P}.route.weighted_clusters.clusters: the sum of the weights must be greater than 0` },
  { name: 'weighted clusters: none', input: { match: { prefix: '/' }, route: { weighted_clusters: {} } }, errorContains: `${P}.route.weighted_clusters.clusters: at least one cluster is required` },
  { name: 'no cluster specifier', input: { match: { prefix: '/' }, route: { timeout: '1s' } }, errorContains: `${P}.route: one of cluster, cluster_header, weighted_clusters is required` },
  { name: 'bad hash policy', input: { match: { prefix: '/' }, route: { ...to, hash_policy: [{ terminal: true }] } }, errorContains: `${P}.route.hash_policy[0]: one of header, cookie, connection_properties, query_parameter, filter_state is required` },
  { name: 'request mirroring not supported yet', input: { match: { prefix: '/' }, route: { ...to, request_mirror_policies: [{ cluster: 'shadow' }] } }, errorContains: `${P}.route.request_mirror_policies: request_mirror_policies is not supported yet` },
  { name: 'route rate_limits not supported yet', input: { match: { prefix: '/' }, route: { ...to, rate_limits: [{ actions: [] }] } }, errorContains: `${P}.route.rate_limits: rate_limits is not supported yet` },
  { name: 'bad timeout', input: { match: { prefix: '/' }, route: { ...to, timeout: 15 } }, errorContains: `${P}.route.timeout: invalid duration 15` },
  {
    name: 'redirect with defaults',
    input: { match: { prefix: '/' }, redirect: { https_redirect: true } },
    expect: (r) =>
      assert.deepEqual(r.action, {
        kind: 'redirect',
        schemeRedirect: 'https',
        hostRedirect: null,
        portRedirect: null,
        pathRedirect: null,
        prefixRewrite: null,
        regexRewrite: null,
        responseCode: 301,
        stripQuery: false,
      }),
  },
  {
    name: 'redirect fields',
    input: { match: { prefix: '/old' }, redirect: { scheme_redirect: 'HTTP', host_redirect: 'new.example.com', port_redirect: 8443, prefix_rewrite: '/new', response_code: 'PERMANENT_REDIRECT', strip_query: true } },
    expect: (r) => {
      const a = r.action as RedirectAction;
      assert.deepEqual([a.schemeRedirect, a.hostRedirect, a.portRedirect, a.prefixRewrite, a.responseCode, a.stripQuery], ['http', 'new.example.com', 8443, '/new', 308, true]);
    },
  },
  { name: 'redirect response codes', input: { match: { prefix: '/' }, redirect: { path_redirect: '/x', response_code: 'SEE_OTHER' } }, expect: (r) => assert.deepEqual([(r.action as RedirectAction).responseCode, (r.action as RedirectAction).pathRedirect], [303, '/x']) },
  { name: 'redirect regex_rewrite', input: { match: { prefix: '/' }, redirect: { regex_rewrite: { pattern: { regex: '^/a/(.*)' }, substitution: '/b/\\1' }, response_code: 'FOUND' } }, expect: (r) => {
    const a = r.action as RedirectAction;
    assert.equal(a.responseCode, 302);
    assert.equal(regexReplaceAll('/a/z', a.regexRewrite!.pattern, a.regexRewrite!.substitution), '/b/z');
  } },
  { name: 'redirect with two path rewrites', input: { match: { prefix: '/' }, redirect: { path_redirect: '/a', prefix_rewrite: '/b' } }, errorContains: `${P}.redirect.prefix_rewrite: only one of path_redirect, prefix_rewrite, regex_rewrite may be set` },
  { name: 'redirect with bad response code', input: { match: { prefix: '/' }, redirect: { response_code: 'GONE' } }, errorContains: `${P}.redirect.response_code: invalid value "GONE"` },
  { name: 'direct_response inline body', input: { match: { prefix: '/health' }, direct_response: { status: 200, body: { inline_string: 'ok' } } }, expect: (r) => assert.deepEqual(r.action, { kind: 'direct_response', status: 200, body: 'ok' }) },
  { name: 'direct_response file body and no body', input: { match: { prefix: '/' }, direct_response: { status: 503, body: { filename: '/www/maintenance.html' } } }, expect: (r) => assert.equal((r.action as DirectResponseAction).body, '<h1>down for maintenance</h1>') },
  { name: 'direct_response without body', input: { match: { prefix: '/' }, direct_response: { status: 404 } }, expect: (r) => assert.equal((r.action as DirectResponseAction).body, null) },
  { name: 'direct_response status out of range', input: { match: { prefix: '/' }, direct_response: { status: 600 } }, errorContains: `${P}.direct_response.status: 600 is out of range [200, 599]` },
  { name: 'direct_response status is required', input: { match: { prefix: '/' }, direct_response: {} }, errorContains: `${P}.direct_response.status: is required` },
  { name: 'direct_response body file missing', input: { match: { prefix: '/' }, direct_response: { status: 200, body: { filename: '/nope' } } }, errorContains: `${P}.direct_response.body.filename: cannot read "/nope"` },
  { name: 'direct_response body above the size limit', input: { match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'x'.repeat(65) } } }, errorContains: `${P}.direct_response.body: is 65 bytes, above max_direct_response_body_size_bytes (64)` },
  { name: 'no action', input: { match: { prefix: '/' } }, errorContains: `${P}: one of route, redirect, direct_response is required` },
  { name: 'two actions', input: { match: { prefix: '/' }, route: to, direct_response: { status: 200 } }, errorContains: `${P}.direct_response: only one of route, redirect, direct_response may be set (also route)` },
  { name: 'route-level typed_per_filter_config and headers', input: { match: { prefix: '/' }, route: to, typed_per_filter_config: { f: { '@type': 't', x: 1 } }, response_headers_to_add: [{ header: { key: 'a', value: 'b' } }] }, expect: (r) => {
    assert.deepEqual(r.typedPerFilterConfig, { f: { '@type': 't', x: 1 } });
    assert.equal(r.headers.responseHeadersToAdd.length, 1);
  } },
];

runCases('route match', matchCases, compileRoute);
runCases('route actions', actionCases, compileRoute);
