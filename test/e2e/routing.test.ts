// End-to-end routing with one sidecar: virtual-host domains, path/header/query matching, weighted clusters, rewrites, header mutations, direct responses, redirects and no-route.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from 'undici';
import { bootstrap, directResponse, flagList, httpConnectionManager, listener, route, socketAddress, staticCluster } from '../helpers/bootstrap.ts';
import { send, sendJson, testId } from '../helpers/http-client.ts';
import { closeAll, startHttpEcho, type EchoReply, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';

const T = { timeout: 60_000 };

let sc: Sidecar | undefined;
let a: HttpUpstream | undefined;
let b: HttpUpstream | undefined;
let base = '';

const add = (key: string, value: string, append_action?: string) => ({ header: { key, value }, ...(append_action ? { append_action } : {}) });
const hdr = (prefix: string, headers: object[], name: string) => ({ match: { prefix, headers }, direct_response: { status: 200, body: { inline_string: `route=${name}` } } });

function routeConfig(): object {
  const domainVhost = (name: string, domains: string[]) => ({ name, domains, routes: [directResponse({ prefix: '/' }, 200, `vhost=${name}`)] });
  return {
    name: 'routing',
    // Route-configuration level mutations (applied last: they win on overwrite).
    request_headers_to_add: [add('x-rc-req', 'rc'), add('x-precedence', 'rc', 'OVERWRITE_IF_EXISTS_OR_ADD')],
    request_headers_to_remove: ['x-remove-rc'],
    response_headers_to_add: [add('x-rc-resp', 'rc'), add('x-resp-precedence', 'rc', 'OVERWRITE_IF_EXISTS_OR_ADD')],
    response_headers_to_remove: ['x-drop-rc'],
    virtual_hosts: [
      {
        // Listed first on purpose: "*" must lose to every more specific domain whatever the order.
        name: 'main',
        domains: ['*'],
        request_headers_to_add: [add('x-vh-req', 'vh'), add('x-precedence', 'vh', 'OVERWRITE_IF_EXISTS_OR_ADD')],
        request_headers_to_remove: ['x-remove-vh'],
        response_headers_to_add: [add('x-vh-resp', 'vh'), add('x-resp-precedence', 'vh', 'OVERWRITE_IF_EXISTS_OR_ADD')],
        response_headers_to_remove: ['x-drop-vh'],
        routes: [
          directResponse({ path: '/exact' }, 200, 'route=path-exact'),
          directResponse({ safe_regex: { regex: '/regex/[0-9]+' } }, 200, 'route=regex-digits'),
          directResponse({ prefix: '/prefix/' }, 200, 'route=prefix'),
          hdr('/hdr', [{ name: 'x-exact', string_match: { exact: 'yes' } }], 'hdr-exact'),
          hdr('/hdr', [{ name: 'x-prefix', string_match: { prefix: 'pre' } }], 'hdr-prefix'),
          hdr('/hdr', [{ name: 'x-regex', string_match: { safe_regex: { regex: 'v[0-9]+' } } }], 'hdr-regex'),
          hdr('/hdr', [{ name: 'x-present', present_match: true }], 'hdr-present'),
          hdr('/hdr', [{ name: 'x-invert', string_match: { exact: 'no' }, invert_match: true }], 'hdr-invert'),
          directResponse({ prefix: '/hdr' }, 200, 'route=hdr-none'),
          { match: { prefix: '/query', query_parameters: [{ name: 'debug', string_match: { exact: '1' } }] }, direct_response: { status: 200, body: { inline_string: 'route=query-debug' } } },
          { match: { prefix: '/query', query_parameters: [{ name: 'flag', present_match: true }] }, direct_response: { status: 200, body: { inline_string: 'route=query-flag' } } },
          directResponse({ prefix: '/query' }, 200, 'route=query-none'),
          directResponse({ prefix: '/direct' }, 418, 'I am a teapot'),
          { match: { prefix: '/redirect/https' }, redirect: { https_redirect: true } },
          { match: { path: '/redirect/path' }, redirect: { path_redirect: '/new/path', response_code: 'FOUND' } },
          { match: { prefix: '/weighted' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 80 }, { name: 'b', weight: 20 }] } } },
          route({ prefix: '/rewrite/' }, 'a', { prefix_rewrite: '/rewritten/' }),
          route({ prefix: '/host-literal' }, 'a', { host_rewrite_literal: 'rewritten.example.com' }),
          route({ prefix: '/auto-host' }, 'dns_a', { auto_host_rewrite: true }),
          route({ prefix: '/headers' }, 'a', {}, {
            request_headers_to_add: [
              add('x-route-req', 'route'),
              add('x-precedence', 'route', 'OVERWRITE_IF_EXISTS_OR_ADD'),
              add('x-client-ip', '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%'),
            ],
            request_headers_to_remove: ['x-remove-route'],
            response_headers_to_add: [add('x-route-resp', 'route'), add('x-resp-precedence', 'route', 'OVERWRITE_IF_EXISTS_OR_ADD')],
            response_headers_to_remove: ['x-drop-route'],
          }),
          route({ prefix: '/echo' }, 'a'),
        ],
      },
      domainVhost('exact', ['exact.example.com']),
      domainVhost('suffix', ['*.suffix.example.com']),
      domainVhost('suffix-deep', ['*.deep.suffix.example.com']),
      domainVhost('prefix', ['prefix.*']),
      domainVhost('port', ['withport.example.com:8080']),
    ],
  };
}

before(async () => {
  a = await startHttpEcho('a');
  b = await startHttpEcho('b');
  const dnsA = {
    name: 'dns_a',
    type: 'STRICT_DNS',
    dns_lookup_family: 'V4_ONLY',
    connect_timeout: '2s',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: { cluster_name: 'dns_a', endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(a.port, 'localhost') } }] }] },
  };
  sc = await startSidecar(
    bootstrap([listener('ingress', [httpConnectionManager({ routeConfig: routeConfig() })])], [staticCluster('a', [a.port]), staticCluster('b', [b.port]), dnsA]),
  );
  base = sc.url('ingress');
});

after(async () => {
  await sc?.stop();
  await closeAll(a, b);
});

async function bodyOf(path: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await send(`${base}${path}`, { headers });
  return `${res.status} ${res.text}`;
}

/** Asserts that GET `path` with `headers` is answered 200 by the direct_response saying `want`. */
async function expectRoute(path: string, headers: Record<string, string>, want: string): Promise<void> {
  assert.equal(await bodyOf(path, headers), `200 ${want}`, `GET ${path} with ${JSON.stringify(headers)}`);
}

test('virtual hosts: exact, suffix (longest wins), prefix, with port, and "*" fallback, case-insensitive', T, async () => {
  const cases: [string, string][] = [
    ['exact.example.com', 'vhost=exact'],
    ['EXACT.Example.COM', 'vhost=exact'],
    ['api.suffix.example.com', 'vhost=suffix'],
    ['x.deep.suffix.example.com', 'vhost=suffix-deep'],
    ['prefix.anything.test', 'vhost=prefix'],
    ['prefix.suffix.example.com', 'vhost=suffix'],
    ['withport.example.com:8080', 'vhost=port'],
  ];
  for (const [host, want] of cases) assert.equal(await bodyOf('/', { host }), `200 ${want}`, `Host: ${host}`);
  // Not matched by any specific domain: the "*" vhost, whose routes have no "/" → no route.
  for (const host of ['withport.example.com:9090', 'other.test', 'suffix.example.com']) {
    assert.equal(await bodyOf('/exact', { host }), '200 route=path-exact', `Host: ${host}`);
  }
});

test('path matching: path (exact, query ignored), safe_regex (full match), prefix, case sensitive', T, async () => {
  assert.equal(await bodyOf('/exact'), '200 route=path-exact');
  assert.equal(await bodyOf('/exact?a=1'), '200 route=path-exact');
  assert.equal((await send(`${base}/exact/`)).status, 404);
  assert.equal((await send(`${base}/EXACT`)).status, 404);
  assert.equal(await bodyOf('/regex/123'), '200 route=regex-digits');
  assert.equal(await bodyOf('/regex/123?x=y'), '200 route=regex-digits');
  assert.equal((await send(`${base}/regex/12a`)).status, 404);
  assert.equal(await bodyOf('/prefix/a/b'), '200 route=prefix');
});

test('header matchers: exact, prefix, safe_regex, present, invert', T, async () => {
  await expectRoute('/hdr', { 'x-exact': 'yes' }, 'route=hdr-exact');
  await expectRoute('/hdr', { 'x-exact': 'yes!' }, 'route=hdr-none');
  await expectRoute('/hdr', { 'x-prefix': 'prefixed' }, 'route=hdr-prefix');
  await expectRoute('/hdr', { 'x-prefix': 'nope' }, 'route=hdr-none');
  await expectRoute('/hdr', { 'x-regex': 'v12' }, 'route=hdr-regex');
  await expectRoute('/hdr', { 'x-regex': 'v12x' }, 'route=hdr-none');
  await expectRoute('/hdr', { 'x-present': '' }, 'route=hdr-present');
  await expectRoute('/hdr', { 'x-present': 'anything' }, 'route=hdr-present');
  await expectRoute('/hdr', { 'x-invert': 'yes' }, 'route=hdr-invert');
  await expectRoute('/hdr', { 'x-invert': 'no' }, 'route=hdr-none');
  // A missing header never satisfies a string matcher, inverted or not (unless treat_missing_header_as_empty).
  await expectRoute('/hdr', {}, 'route=hdr-none');
});

test('query parameter matchers: exact value and present', T, async () => {
  assert.equal(await bodyOf('/query?debug=1'), '200 route=query-debug');
  assert.equal(await bodyOf('/query?x=2&debug=1'), '200 route=query-debug');
  assert.equal(await bodyOf('/query?debug=2'), '200 route=query-none');
  assert.equal(await bodyOf('/query?flag'), '200 route=query-flag');
  assert.equal(await bodyOf('/query?flag=on'), '200 route=query-flag');
  assert.equal(await bodyOf('/query'), '200 route=query-none');
});

test('weighted_clusters 80/20 over 1000 requests sends to both in proportion', T, async () => {
  const c = new Client(base, { pipelining: 1, headersTimeout: 20_000, bodyTimeout: 20_000 });
  const counts: Record<string, number> = {};
  try {
    for (let i = 0; i < 1000; i++) {
      const r = await c.request({ path: `/weighted/${i}`, method: 'GET' });
      await r.body.dump();
      assert.equal(r.statusCode, 200);
      const n = String(r.headers['x-upstream-name']);
      counts[n] = (counts[n] ?? 0) + 1;
    }
  } finally {
    await c.close();
  }
  assert.deepEqual(Object.keys(counts).sort(), ['a', 'b']);
  assert.ok(counts.a >= 700 && counts.a <= 900, `a got ${counts.a}/1000`);
  assert.ok(counts.b >= 100 && counts.b <= 300, `b got ${counts.b}/1000`);
});

test('prefix_rewrite replaces the matched prefix and keeps the query', T, async () => {
  const { json } = await sendJson<EchoReply>(`${base}/rewrite/foo/bar?x=1`);
  assert.equal(json.url, '/rewritten/foo/bar?x=1');
});

test('host_rewrite_literal sets the upstream Host', T, async () => {
  const { json } = await sendJson<EchoReply>(`${base}/host-literal`, { headers: { host: 'original.test' } });
  assert.equal(json.authority, 'rewritten.example.com');
});

test('auto_host_rewrite uses the STRICT_DNS host name', T, async () => {
  const { res, json } = await sendJson<EchoReply>(`${base}/auto-host`, { headers: { host: 'original.test' } });
  assert.equal(res.status, 200);
  assert.equal(json.authority, 'localhost');
});

test('request and response headers added/removed at route, virtual host and route configuration level', T, async () => {
  const { res, json } = await sendJson<EchoReply>(`${base}/headers`, {
    headers: {
      'x-remove-route': '1',
      'x-remove-vh': '1',
      'x-remove-rc': '1',
      'x-keep-req': '1',
      'x-echo-response-headers': JSON.stringify({ 'x-drop-route': '1', 'x-drop-vh': '1', 'x-drop-rc': '1', 'x-keep-resp': '1' }),
    },
  });
  const up = json.headers;
  assert.equal(up['x-route-req'], 'route');
  assert.equal(up['x-vh-req'], 'vh');
  assert.equal(up['x-rc-req'], 'rc');
  assert.equal(up['x-precedence'], 'rc', 'route configuration headers are applied last');
  assert.equal(up['x-client-ip'], '127.0.0.1');
  assert.equal(up['x-keep-req'], '1');
  for (const h of ['x-remove-route', 'x-remove-vh', 'x-remove-rc']) assert.equal(up[h], undefined, `${h} must be removed`);

  assert.equal(res.headers['x-route-resp'], 'route');
  assert.equal(res.headers['x-vh-resp'], 'vh');
  assert.equal(res.headers['x-rc-resp'], 'rc');
  assert.equal(res.headers['x-resp-precedence'], 'rc');
  assert.equal(res.headers['x-keep-resp'], '1');
  for (const h of ['x-drop-route', 'x-drop-vh', 'x-drop-rc']) assert.equal(res.headers[h], undefined, `${h} must be removed`);
});

test('direct_response answers with its status and body', T, async () => {
  const res = await send(`${base}/direct`);
  assert.equal(res.status, 418);
  assert.equal(res.text, 'I am a teapot');
});

test('redirects: https_redirect (301) and path_redirect with response_code FOUND (302)', T, async () => {
  const https = await send(`${base}/redirect/https/x?q=1`, { headers: { host: 'www.example.com' } });
  assert.equal(https.status, 301);
  assert.equal(https.headers.location, 'https://www.example.com/redirect/https/x?q=1');
  const path = await send(`${base}/redirect/path`, { headers: { host: 'www.example.com' } });
  assert.equal(path.status, 302);
  assert.equal(path.headers.location, 'http://www.example.com/new/path');
});

test('no route → 404 with NR in the access log', T, async () => {
  const id = testId('nr');
  const res = await send(`${base}/no/such/route`, { headers: { 'x-test-id': id } });
  assert.equal(res.status, 404);
  const line = await sc!.waitForAccess(id);
  assert.equal(line.code, 404);
  assert.deepEqual(flagList(line), ['NR']);
});
