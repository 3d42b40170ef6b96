// End-to-end RBAC on a real sidecar: DENY then ALLOW filters (Istio's layering), SPIFFE principals over mTLS, gRPC PERMISSION_DENIED, per-route override/disable, shadow rules, access log and stats.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  bootstrap, DOWNSTREAM_TLS_TYPE, http2Upstream, httpConnectionManager, listener, route, routerFilter, staticCluster, stdoutAccessLog,
} from '../helpers/bootstrap.ts';
import { echoClient, startGrpcServer, type EchoClient, type EchoReply, type GrpcUpstream } from '../helpers/grpc-upstream.ts';
import { send, testId } from '../helpers/http-client.ts';
import { closeAll, startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { runPilotfish, startSidecar, tempDir, writeBootstrap, type Sidecar } from '../helpers/sidecar.ts';
import { withTimeout } from '../helpers/wait.ts';
import { tlsGet, type ClientCert } from '../identity/mesh.ts';
import { makeLeaf, makeRoot, type Issuer } from '../identity/pki.ts';

const T = { timeout: 60_000 };
const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
const DENY_FILTER = 'envoy.filters.http.rbac.deny';
const ALLOW_FILTER = 'envoy.filters.http.rbac.allow';
const MD = 'envoy.filters.http.rbac';

/** ACCESS <id> <code> <flags> <upstream> <protocol> <details> <rbac result> <rbac policy> <shadow result> */
const FORMAT = 'ACCESS %REQ(X-TEST-ID)% %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_HOST% %PROTOCOL% %RESPONSE_CODE_DETAILS% '
  + `%DYNAMIC_METADATA(${MD}:enforced_engine_result)% %DYNAMIC_METADATA(${MD}:enforced_effective_policy_id)% %DYNAMIC_METADATA(${MD}:dry_run_shadow_engine_result)%\n`;

const shop = (sa: string) => `spiffe://cluster.local/ns/shop/sa/${sa}`;
const header = (name: string, exact: string) => ({ header: { name, string_match: { exact } } });
const spiffeExact = (id: string) => ({ authenticated: { principal_name: { exact: id } } });
const spiffePrefix = (prefix: string) => ({ authenticated: { principal_name: { prefix } } });
const rbac = (name: string, config: object) => ({ name, typed_config: { '@type': RBAC_TYPE, ...config } });

/** Plaintext listener: DENY filter, then ALLOW filter (with shadow rules), then the router. */
const plainFilters = [
  rbac(DENY_FILTER, {
    rules: {
      action: 'DENY',
      policies: {
        'deny-delete': { permissions: [header(':method', 'DELETE')], principals: [{ any: true }] },
        'deny-blocked-caller': { permissions: [{ any: true }], principals: [header('x-caller', 'blocked')] },
      },
    },
  }),
  rbac(ALLOW_FILTER, {
    rules: {
      action: 'ALLOW',
      policies: {
        'allow-batch': { permissions: [{ any: true }], principals: [header('x-caller', 'batch')] },
        'allow-from-127.0.0.2': { permissions: [{ any: true }], principals: [{ direct_remote_ip: { address_prefix: '127.0.0.2', prefix_len: 32 } }] },
        'allow-public-get': {
          permissions: [{ and_rules: { rules: [header(':method', 'GET'), { url_path: { path: { prefix: '/public/' } } }] } }],
          principals: [{ any: true }],
        },
      },
    },
    shadow_rules: { action: 'DENY', policies: { 'would-deny-post': { permissions: [header(':method', 'POST')], principals: [{ any: true }] } } },
    shadow_rules_stat_prefix: 'dry_run_',
  }),
  routerFilter,
];

/** mTLS listener: DENY the billing namespace, ALLOW frontend for everything and the shop namespace for GET. */
const mtlsFilters = [
  rbac(DENY_FILTER, {
    rules: { action: 'DENY', policies: { 'deny-billing-ns': { permissions: [{ any: true }], principals: [spiffePrefix('spiffe://cluster.local/ns/billing/')] } } },
  }),
  rbac(ALLOW_FILTER, {
    rules: {
      action: 'ALLOW',
      policies: {
        'allow-frontend': { permissions: [{ any: true }], principals: [spiffeExact(shop('frontend'))] },
        'allow-shop-ns-get': { permissions: [header(':method', 'GET')], principals: [spiffePrefix('spiffe://cluster.local/ns/shop/')] },
      },
    },
  }),
  routerFilter,
];

const disabledHere = { typed_per_filter_config: { [DENY_FILTER]: { '@type': PER_ROUTE_TYPE }, [ALLOW_FILTER]: { '@type': PER_ROUTE_TYPE } } };
const adminOnly = {
  typed_per_filter_config: {
    [ALLOW_FILTER]: {
      '@type': PER_ROUTE_TYPE,
      rbac: { rules: { action: 'ALLOW', policies: { 'allow-admin': { permissions: [{ any: true }], principals: [header('x-caller', 'admin')] } } } },
    },
  },
};

let root: Issuer;
let certs: Record<'frontend' | 'cart' | 'billing' | 'stranger', ClientCert>;
let sc: Sidecar | undefined;
let up: HttpUpstream | undefined;
let grpcUp: GrpcUpstream | undefined;
let client: EchoClient | undefined;
let base = '';
let mtlsPort = 0;

before(async () => {
  root = makeRoot('rbac test root');
  const leaf = (uri: string) => { const l = makeLeaf({ uri, issuer: root }); return { cert: l.chainPem, key: l.keyPem }; };
  certs = {
    frontend: leaf(shop('frontend')),
    cart: leaf(shop('cart')),
    billing: leaf('spiffe://cluster.local/ns/billing/sa/api'),
    stranger: leaf('spiffe://cluster.local/ns/other/sa/x'),
  };
  const server = makeLeaf({ dns: ['localhost'], issuer: root });
  up = await startHttpEcho('app');
  grpcUp = await startGrpcServer('grpc-app');
  const accessLog = { access_log: stdoutAccessLog(FORMAT) };
  const routes = [
    route({ prefix: '/open/' }, 'app', {}, disabledHere),
    route({ prefix: '/admin/' }, 'app', {}, adminOnly),
    route({ prefix: '/pilotfish.test.Echo/', grpc: {} }, 'grpc_app'),
    route({ prefix: '/' }, 'app'),
  ];
  sc = await startSidecar(bootstrap(
    [
      listener('plain', [httpConnectionManager({
        statPrefix: 'plain_http', accessLog: false,
        virtualHosts: [{ name: 'app', domains: ['*'], routes }],
        // A second, default access log: the JSON line with rbac_result / rbac_policy.
        extra: { http_filters: plainFilters, access_log: [...stdoutAccessLog(FORMAT), { name: 'envoy.access_loggers.stdout', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog' } }] },
      })]),
      listener('mtls', [httpConnectionManager({
        statPrefix: 'mtls_http', accessLog: false,
        virtualHosts: [{ name: 'app', domains: ['*'], routes: [route({ prefix: '/' }, 'app')] }],
        extra: { http_filters: mtlsFilters, ...accessLog },
      })], {
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': DOWNSTREAM_TLS_TYPE,
            require_client_certificate: true,
            common_tls_context: {
              tls_certificates: [{ certificate_chain: { inline_string: server.certPem }, private_key: { inline_string: server.keyPem } }],
              validation_context: { trusted_ca: { inline_string: root.certPem } },
            },
          },
        },
      }),
    ],
    [staticCluster('app', [up.port]), staticCluster('grpc_app', [grpcUp.port], http2Upstream())],
  ));
  base = sc.url('plain');
  mtlsPort = sc.port('mtls');
  client = echoClient(`127.0.0.1:${sc.port('plain')}`);
});

after(async () => {
  client?.close();
  await sc?.stop();
  await closeAll(up, grpcUp);
});

interface RbacLine { code: number; flags: string; details: string; result: string; policy: string; shadow: string }

async function accessLine(id: string): Promise<RbacLine> {
  const l = await sc!.waitForAccess(id);
  const p = l.raw.trim().split(' ');
  return { code: l.code, flags: l.flags, details: p[6], result: p[7], policy: p[8], shadow: p[9] };
}

async function call(p: string, o: { method?: string; caller?: string; localAddress?: string } = {}) {
  const id = testId(p.replace(/\W/g, ''));
  const headers: Record<string, string> = { 'x-test-id': id, 'x-request-id': id };
  if (o.caller) headers['x-caller'] = o.caller;
  const res = await send(`${base}${p}`, { method: o.method ?? 'GET', headers, localAddress: o.localAddress });
  return { res, line: await accessLine(id), id };
}

function upstreamSaw(id: string): boolean {
  return up!.seen.some((s) => s.headers['x-test-id'] === id);
}

describe('plaintext: principals from headers and source address, DENY filter then ALLOW filter', () => {
  test('ALLOW by a header principal: 200 from the upstream, the policy in the access log', T, async () => {
    const { res, line } = await call('/orders', { caller: 'batch' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-upstream-name'], 'app');
    assert.deepEqual([line.code, line.result, line.policy], [200, 'allowed', 'allow-batch']);
  });

  test('ALLOW by source address (direct_remote_ip 127.0.0.2/32)', T, async () => {
    const { res, line } = await call('/orders', { localAddress: '127.0.0.2' });
    assert.equal(res.status, 200);
    assert.equal(line.policy, 'allow-from-127.0.0.2');
  });

  test('another principal: 403 "RBAC: access denied", details rbac_access_denied_matched_policy[none], no flag, upstream untouched', T, async () => {
    const { res, line, id } = await call('/orders', { caller: 'someone' });
    assert.equal(res.status, 403);
    assert.equal(res.text, 'RBAC: access denied');
    assert.deepEqual(line, { code: 403, flags: '-', details: 'rbac_access_denied_matched_policy[none]', result: 'denied', policy: '-', shadow: 'allowed' });
    assert.equal(upstreamSaw(id), false);
  });

  test('path and method permission: GET /public/ allowed for anyone, POST /public/ not', T, async () => {
    assert.equal((await call('/public/a?x=1')).res.status, 200);
    const post = await call('/public/a', { method: 'POST' });
    assert.equal(post.res.status, 403);
  });

  test('DENY is evaluated first: an allowed caller is still denied DELETE, naming the DENY policy', T, async () => {
    const { res, line, id } = await call('/orders/1', { method: 'DELETE', caller: 'batch' });
    assert.equal(res.status, 403);
    assert.equal(line.details, 'rbac_access_denied_matched_policy[deny-delete]');
    assert.equal(line.policy, 'deny-delete');
    assert.equal(upstreamSaw(id), false);
  });

  test('DENY by principal beats every ALLOW', T, async () => {
    const { res, line } = await call('/public/x', { caller: 'blocked' });
    assert.equal(res.status, 403);
    assert.equal(line.details, 'rbac_access_denied_matched_policy[deny-blocked-caller]');
  });

  test('shadow rules only observe: POST allowed by the rules, the shadow DENY result is in the dynamic metadata', T, async () => {
    const { res, line } = await call('/orders', { method: 'POST', caller: 'batch' });
    assert.equal(res.status, 200);
    assert.deepEqual([line.result, line.policy, line.shadow], ['allowed', 'allow-batch', 'denied']);
  });

  test('the default JSON access-log line carries response_code_details, rbac_result and rbac_policy', T, async () => {
    const { id } = await call('/orders/2', { method: 'DELETE' });
    const raw = await sc!.waitForLine((l) => l.startsWith('{') && l.includes(`"request_id":"${id}"`));
    const j = JSON.parse(raw) as Record<string, unknown>;
    assert.equal(j.response_code, 403);
    assert.equal(j.response_code_details, 'rbac_access_denied_matched_policy[deny-delete]');
    assert.equal(j.rbac_result, 'denied');
    assert.equal(j.rbac_policy, 'deny-delete');
    const { id: ok } = await call('/orders', { caller: 'batch' });
    const okLine = JSON.parse(await sc!.waitForLine((l) => l.startsWith('{') && l.includes(`"request_id":"${ok}"`))) as Record<string, unknown>;
    assert.deepEqual([okLine.response_code, okLine.rbac_result, okLine.rbac_policy], [200, 'allowed', 'allow-batch']);
  });
});

describe('per-route RBACPerRoute', () => {
  test('an empty RBACPerRoute disables both filters on the route: DELETE from anyone reaches the upstream', T, async () => {
    const { res, line, id } = await call('/open/x', { method: 'DELETE' });
    assert.equal(res.status, 200);
    assert.equal(upstreamSaw(id), true);
    assert.deepEqual([line.result, line.policy], ['-', '-'], 'no RBAC decision on that route');
  });

  test('RBACPerRoute with rbac replaces the ALLOW filter\'s rules on the route; the DENY filter keeps its own', T, async () => {
    assert.equal((await call('/admin/x', { caller: 'batch' })).res.status, 403, 'allow-batch does not apply here');
    const admin = await call('/admin/x', { caller: 'admin' });
    assert.equal(admin.res.status, 200);
    assert.equal(admin.line.policy, 'allow-admin');
    const del = await call('/admin/x', { method: 'DELETE', caller: 'admin' });
    assert.equal(del.line.details, 'rbac_access_denied_matched_policy[deny-delete]');
  });
});

describe('gRPC', () => {
  function unary(md: grpc.Metadata): Promise<grpc.ServiceError | EchoReply> {
    return withTimeout(
      new Promise((resolve) => client!.Unary({ message: 'hi' }, md, { deadline: Date.now() + 20_000 }, (err, v) => resolve(err ?? v!))),
      30_000, 'unary call',
    );
  }
  const metadata = (id: string, caller: string) => { const md = new grpc.Metadata(); md.set('x-test-id', id); md.set('x-caller', caller); return md; };

  test('a denied call gets grpc-status 7 PERMISSION_DENIED "RBAC: access denied" (trailers-only, HTTP 200)', T, async () => {
    const id = testId('grpc-deny');
    const r = await unary(metadata(id, 'blocked'));
    assert.ok(r instanceof Error, 'the call must fail');
    assert.equal((r as grpc.ServiceError).code, grpc.status.PERMISSION_DENIED);
    assert.equal((r as grpc.ServiceError).details, 'RBAC: access denied');
    const line = await accessLine(id);
    assert.equal(line.code, 200);
    assert.equal(line.details, 'rbac_access_denied_matched_policy[deny-blocked-caller]');
  });

  test('a call matching no ALLOW policy is denied too; an allowed caller reaches the server', T, async () => {
    const denied = await unary(metadata(testId('grpc-none'), 'nobody'));
    assert.equal((denied as grpc.ServiceError).code, grpc.status.PERMISSION_DENIED);
    const ok = await unary(metadata(testId('grpc-ok'), 'batch'));
    assert.ok(!(ok instanceof Error), String(ok));
    assert.equal((ok as EchoReply).server, 'grpc-app');
  });
});

describe('mTLS: principals are the client certificate\'s SPIFFE IDs', () => {
  /** One GET over mTLS with `who`'s certificate. */
  async function tls(who: keyof typeof certs) {
    const id = testId(`mtls-${who}`);
    const r = await tlsGet(mtlsPort, { ca: root.certPem, client: certs[who], path: '/m', headers: { 'x-test-id': id } });
    assert.ok(r.ok, r.ok ? '' : r.error);
    return { status: r.status, line: await accessLine(id) };
  }

  test('ALLOW by exact SPIFFE ID: 200, policy allow-frontend', T, async () => {
    const { status, line } = await tls('frontend');
    assert.equal(status, 200);
    assert.deepEqual([line.result, line.policy], ['allowed', 'allow-frontend']);
  });

  test('ALLOW by namespace prefix: another shop service account may GET', T, async () => {
    const { status, line } = await tls('cart');
    assert.equal(status, 200);
    assert.equal(line.policy, 'allow-shop-ns-get');
  });

  test('a principal from a denied namespace: 403 naming the DENY policy', T, async () => {
    const { status, line } = await tls('billing');
    assert.equal(status, 403);
    assert.equal(line.details, 'rbac_access_denied_matched_policy[deny-billing-ns]');
  });

  test('a principal no policy names: 403 rbac_access_denied_matched_policy[none]', T, async () => {
    const { status, line } = await tls('stranger');
    assert.equal(status, 403);
    assert.equal(line.details, 'rbac_access_denied_matched_policy[none]');
  });
});

test('stats: http.<prefix>.rbac.{allowed,denied} and the shadow counters with shadow_rules_stat_prefix', T, async () => {
  const text = (await send(`${sc!.admin}/stats/prometheus`)).text;
  const value = (name: string, prefix: string) => Number(new RegExp(`^${name}\\{envoy_http_conn_manager_prefix="${prefix}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  const lines = text.split('\n').filter((l) => l.includes('rbac')).join('\n');
  assert.ok(value('envoy_http_rbac_allowed', 'plain_http') >= 5, lines);
  assert.ok(value('envoy_http_rbac_denied', 'plain_http') >= 5, lines);
  assert.ok(value('envoy_http_rbac_denied', 'mtls_http') >= 2, lines);
  assert.ok(value('envoy_http_rbac_dry_run_shadow_denied', 'plain_http') >= 1, lines);
  assert.ok(value('envoy_http_rbac_dry_run_shadow_allowed', 'plain_http') >= 1, lines);
});

test('a bad RBACPerRoute is rejected at startup with a line naming the route field', T, async () => {
  const dir = tempDir();
  try {
    const badRoute = route({ prefix: '/' }, 'app', {}, {
      typed_per_filter_config: {
        [ALLOW_FILTER]: { '@type': PER_ROUTE_TYPE, rbac: { rules: { policies: { p: { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { safe_regex: { regex: '(' } } } }] } } } } },
      },
    });
    const bad = bootstrap(
      [listener('authz', [httpConnectionManager({ virtualHosts: [{ name: 'all', domains: ['*'], routes: [badRoute] }], extra: { http_filters: plainFilters } })])],
      [staticCluster('app', [1])],
    );
    const file = writeBootstrap(bad, dir);
    const r = await runPilotfish(['proxy', '-c', file, '--admin-address-path', path.join(dir, 'admin'), '--concurrency', '1']);
    assert.equal(r.timedOut, false, 'pilotfish kept running on a bad config');
    assert.notEqual(r.code, 0);
    const line = r.stderr.split('\n').find((l) => l.includes('principal_name.safe_regex.regex'));
    assert.ok(line, `expected a line naming the regex, got:\n${r.stderr.slice(0, 2000)}`);
    assert.match(line, /listener "authz".*routes\[0\]\.typed_per_filter_config\.envoy\.filters\.http\.rbac\.allow\.rbac\.rules\.policies\.p\.principals\[0\].*invalid regex/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
