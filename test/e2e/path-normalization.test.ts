// HCM path normalization and absolute-form request targets end to end: jwt_authn/RBAC prefixes see, and the upstream gets, the normalized path.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bootstrap, httpConnectionManager, listener, route, routerFilter, staticCluster } from '../helpers/bootstrap.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { jwks, localProvider, signingKey } from '../http-filters/jwt-fixtures.ts';

const JWT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';

describe('sidecar path normalization and absolute-form targets', () => {
  let upstream: http.Server;
  const seen: string[] = [];
  const sidecars: Sidecar[] = [];
  let port = 0;
  let portFor: (action: string) => number;

  before(async () => {
    upstream = http.createServer((req, res) => { seen.push(`${req.url} host=${req.headers.host}`); res.end('upstream ' + req.url); });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upPort = (upstream.address() as net.AddressInfo).port;
    const key = await signingKey('RS256', 'k1');
    const jwtFilter = { name: 'envoy.filters.http.jwt_authn', typed_config: { '@type': JWT_TYPE,
      providers: { p: localProvider(jwks(key)) },
      rules: [{ match: { prefix: '/public' } }, { match: { prefix: '/' }, requires: { provider_name: 'p' } }] } };
    const rbac = { name: 'envoy.filters.http.rbac', typed_config: { '@type': RBAC_TYPE, rules: { action: 'DENY', policies: { noadmin: {
      permissions: [{ url_path: { path: { prefix: '/public/admin' } } }], principals: [{ any: true }] } } } } };
    const hcm = (name: string, action: string) => httpConnectionManager({ statPrefix: name, accessLog: false,
      virtualHosts: [{ name: 'v', domains: ['*'], routes: [route({ prefix: '/' }, 'app')] }],
      extra: { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: action, http_filters: [jwtFilter, rbac, routerFilter] } });
    const actions = ['KEEP_UNCHANGED', 'REJECT_REQUEST', 'UNESCAPE_AND_REDIRECT', 'UNESCAPE_AND_FORWARD'];
    const sc = await startSidecar(bootstrap(actions.map((a) => listener(a.toLowerCase(), [hcm(a.toLowerCase(), a)])), [staticCluster('app', [upPort])]));
    sidecars.push(sc);
    portFor = (a) => sc.port(a.toLowerCase());
    port = portFor('KEEP_UNCHANGED');
  });
  after(async () => {
    for (const sc of sidecars) await sc.stop();
    upstream.close();
  });

  /** Sends one raw HTTP/1.1 request line; resolves "<status> <location>|<body>". */
  function raw(target: string, to = port): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = net.connect(to, '127.0.0.1', () => s.write(`GET ${target} HTTP/1.1\r\nhost: app.example\r\nconnection: close\r\n\r\n`));
      let buf = '';
      s.on('data', (d) => { buf += d; });
      s.on('end', () => {
        const [head, body] = buf.split('\r\n\r\n');
        const status = head!.split(' ')[1];
        const loc = /\r\nlocation: ([^\r]*)/i.exec(head!)?.[1];
        resolve(`${status} ${loc ?? body}`);
      });
      s.on('error', reject);
    });
  }

  it('dot segments and merged slashes cannot escape a pass-through prefix; upstream gets the normalized path', async () => {
    assert.match(await raw('/public/../admin/x'), /^401 Jwt is missing/);
    assert.match(await raw('/public/%2e%2e/admin/x'), /^401 Jwt is missing/);
    assert.match(await raw('/public/.%2E/admin/x'), /^401 Jwt is missing/);
    assert.match(await raw('/public//admin/x'), /^403/);
    seen.length = 0;
    assert.equal(await raw('/public/a/../b//c/%7eme?q=/../x'), '200 upstream /public/b/c/~me?q=/../x');
    assert.deepEqual(seen, ['/public/b/c/~me?q=/../x host=app.example']);
  });

  it('HTTP/2 :path is normalized the same way', async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    const get = (p: string) => new Promise<string>((resolve, reject) => {
      const st = client.request({ ':path': p, ':authority': 'app.example' });
      let status = 0;
      let body = '';
      st.on('response', (h) => { status = Number(h[':status']); });
      st.on('data', (d) => { body += d; });
      st.on('end', () => resolve(`${status} ${body}`));
      st.on('error', reject);
      st.end();
    });
    try {
      assert.match(await get('/public/%2E%2e/admin/x'), /^401 Jwt is missing/);
      assert.equal(await get('/public//a/./b'), '200 upstream /public/a/b');
    } finally {
      client.close();
    }
  });

  it('invalid percent-encoding is 400', async () => {
    assert.match(await raw('/public/%zz'), /^400/);
  });

  it('path_with_escaped_slashes_action: keep, reject, redirect, forward', async () => {
    assert.equal(await raw('/public%2f..%2fadmin/x'), '200 upstream /public%2f..%2fadmin/x');
    assert.match(await raw('/public%2f..%2fadmin/x', portFor('REJECT_REQUEST')), /^400/);
    assert.equal(await raw('/public%2f..%2fadmin/x?a=1', portFor('UNESCAPE_AND_REDIRECT')), '307 /admin/x?a=1');
    assert.match(await raw('/public%2f..%2fadmin/x', portFor('UNESCAPE_AND_FORWARD')), /^401 Jwt is missing/);
    assert.equal(await raw('/public%2Fb', portFor('UNESCAPE_AND_FORWARD')), '200 upstream /public/b');
  });

  it('absolute-form targets become origin-form with the target authority as Host', async () => {
    assert.match(await raw('http://app.example/admin/x'), /^401 Jwt is missing/);
    assert.match(await raw('http://app.example/public/../admin/x'), /^401 Jwt is missing/);
    seen.length = 0;
    assert.equal(await raw('HTTP://other.example:8080/public/p?x=1'), '200 upstream /public/p?x=1');
    assert.equal(await raw('http://other.example?x=1'), '401 Jwt is missing');
    assert.deepEqual(seen, ['/public/p?x=1 host=other.example:8080']);
    assert.match(await raw('ftp://app.example/public/x'), /^400/);
    assert.match(await raw('http://user@app.example/public/x'), /^400/);
  });
});
