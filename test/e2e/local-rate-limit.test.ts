// End-to-end local rate limit: max_tokens 3 with a long fill interval → the 4th request gets 429 with x-ratelimit-* headers and RL; a per-route config has its own bucket.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, flagList, httpConnectionManager, listener, route, routerFilter, staticCluster } from '../helpers/bootstrap.ts';
import { send, testId } from '../helpers/http-client.ts';
import { closeAll, startHttpEcho, type HttpUpstream } from '../helpers/http-upstreams.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';

const T = { timeout: 60_000 };
const LRL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const ALL = { runtime_key: 'local_rate_limit_enabled', default_value: { numerator: 100, denominator: 'HUNDRED' } };

const limit = (statPrefix: string, maxTokens: number) => ({
  '@type': LRL_TYPE,
  stat_prefix: statPrefix,
  token_bucket: { max_tokens: maxTokens, tokens_per_fill: 1, fill_interval: '3600s' },
  filter_enabled: ALL,
  filter_enforced: ALL,
  enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
  response_headers_to_add: [{ append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: 'x-local-rate-limit', value: 'true' } }],
});

let sc: Sidecar | undefined;
let up: HttpUpstream | undefined;
let base = '';

before(async () => {
  up = await startHttpEcho('app');
  sc = await startSidecar(
    bootstrap(
      [
        listener('ingress', [
          httpConnectionManager({
            virtualHosts: [{
              name: 'limited',
              domains: ['*'],
              routes: [
                route({ prefix: '/own' }, 'app', {}, { typed_per_filter_config: { 'envoy.filters.http.local_ratelimit': limit('own_route', 1) } }),
                route({ prefix: '/' }, 'app'),
              ],
            }],
            extra: { http_filters: [{ name: 'envoy.filters.http.local_ratelimit', typed_config: limit('http_local_rate_limiter', 3) }, routerFilter] },
          }),
        ]),
      ],
      [staticCluster('app', [up.port])],
    ),
  );
  base = sc.url('ingress');
});

after(async () => {
  await sc?.stop();
  await closeAll(up);
});

async function get(p: string) {
  const id = testId(p.replace(/\W/g, ''));
  const res = await send(`${base}${p}`, { headers: { 'x-test-id': id } });
  const line = await sc!.waitForAccess(id);
  return { res, line, flags: flagList(line) };
}

test('max_tokens 3: three requests pass with x-ratelimit headers, the 4th is 429 with RL', T, async () => {
  for (const remaining of ['2', '1', '0']) {
    const { res, flags } = await get('/a');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-upstream-name'], 'app');
    assert.equal(res.headers['x-ratelimit-limit'], '3');
    assert.equal(res.headers['x-ratelimit-remaining'], remaining);
    assert.deepEqual(flags, []);
  }
  const { res, line, flags } = await get('/b');
  assert.equal(res.status, 429);
  assert.equal(res.text, 'local_rate_limited');
  assert.equal(res.headers['x-ratelimit-limit'], '3');
  assert.equal(res.headers['x-ratelimit-remaining'], '0');
  const reset = Number(res.headers['x-ratelimit-reset']);
  assert.ok(reset > 0 && reset <= 3600, `x-ratelimit-reset ${res.headers['x-ratelimit-reset']}`);
  assert.equal(res.headers['x-local-rate-limit'], 'true');
  assert.equal(line.code, 429);
  assert.deepEqual(flags, ['RL']);
});

test('a per-route config has its own bucket (the filter bucket is empty, the route one is not)', T, async () => {
  const first = await get('/own/1');
  assert.equal(first.res.status, 200);
  assert.equal(first.res.headers['x-ratelimit-limit'], '1');
  const second = await get('/own/2');
  assert.equal(second.res.status, 429);
  assert.deepEqual(second.flags, ['RL']);
});

test('stats: <stat_prefix>.http_local_rate_limit.* per config, in Prometheus form', T, async () => {
  const text = (await send(`${sc!.admin}/stats/prometheus`)).text;
  const value = (stat: string, prefix: string) =>
    Number(new RegExp(`^envoy_http_local_rate_limit_${stat}\\{envoy_local_http_ratelimit_prefix="${prefix}"\\} (\\d+)`, 'm').exec(text)?.[1]);
  assert.deepEqual(['enabled', 'ok', 'rate_limited', 'enforced'].map((s) => value(s, 'http_local_rate_limiter')), [4, 3, 1, 1]);
  assert.deepEqual(['enabled', 'ok', 'rate_limited', 'enforced'].map((s) => value(s, 'own_route')), [2, 1, 1, 1]);
});
