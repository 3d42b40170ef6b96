// RemoteJwks on a fake clock: refetch after cache_duration, shared in-flight fetches, stale keys under async_fetch, the unknown-kid rate limit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterFetch } from '../../src/http/filters/cluster-fetch.ts';
import { RemoteJwks, type RemoteJwksOptions } from '../../src/policy/jwt/jwks-source.ts';

const KEYS = (kid: string) => JSON.stringify({ keys: [{ kty: 'RSA', n: 'sXch', e: 'AQAB', kid }] });

function setup(o: Partial<RemoteJwksOptions> = {}) {
  let t = 1_000_000;
  let body: string | null = KEYS('a');
  let calls = 0;
  const fetch: ClusterFetch = async () => {
    calls++;
    if (body === null) throw new Error('connect error');
    return { status: 200, headers: {}, body: Buffer.from(body) };
  };
  const events: boolean[] = [];
  const jwks = new RemoteJwks({
    httpUri: { uri: 'https://i/j', cluster: 'c', timeoutMs: 1000 }, cacheDurationMs: 60_000, asyncFetch: null, retry: null, minKidRefetchMs: 10_000, ...o,
  }, fetch, { onFetch: (ok) => events.push(ok) }, () => t);
  return {
    jwks, events, calls: () => calls, advance: (ms: number) => { t += ms; }, serve: (b: string | null) => { body = b; },
  };
}

const kids = (r: unknown) => (typeof r === 'string' || r === null ? r : (r as { keys: { kid: string | null }[] }).keys.map((k) => k.kid));

test('keys are cached for cache_duration, then refetched; concurrent callers share one fetch', async () => {
  const s = setup();
  const [a, b] = await Promise.all([s.jwks.keys(), s.jwks.keys()]);
  assert.deepEqual([kids(a), kids(b), s.calls()], [['a'], ['a'], 1]);
  s.serve(KEYS('b'));
  s.advance(59_999);
  assert.deepEqual(kids(await s.jwks.keys()), ['a']);
  s.advance(1);
  assert.deepEqual(kids(await s.jwks.keys()), ['b']);
  assert.equal(s.calls(), 2);
});

test('without async_fetch an expired set and a failing server fail closed', async () => {
  const s = setup();
  await s.jwks.keys();
  s.serve(null);
  s.advance(60_000);
  assert.equal(await s.jwks.keys(), 'JwksFetchFail');
  assert.deepEqual(s.events, [true, false]);
});

test('with async_fetch the last good keys stay in use while refreshes fail, retried after failed_refetch_duration', async () => {
  const s = setup({ asyncFetch: { failedRefetchMs: 5000 } });
  assert.equal(s.calls(), 1, 'fetched at creation');
  assert.deepEqual(kids(await s.jwks.keys()), ['a']);
  s.serve(null);
  s.advance(60_000);
  assert.deepEqual(kids(await s.jwks.keys()), ['a'], 'stale keys while the background refresh runs');
  await new Promise((r) => setImmediate(r));
  assert.equal(s.calls(), 2);
  await s.jwks.keys();
  assert.equal(s.calls(), 2, 'no new attempt before failed_refetch_duration');
  s.advance(5000);
  s.serve(KEYS('b'));
  await s.jwks.keys();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(kids(await s.jwks.keys()), ['b']);
});

test('unknown kid: one refetch, then none until minKidRefetchMs passed', async () => {
  const s = setup();
  await s.jwks.keys();
  s.serve(KEYS('b'));
  assert.deepEqual(kids(await s.jwks.refreshForUnknownKid()), ['b']);
  assert.equal(await s.jwks.refreshForUnknownKid(), null);
  s.advance(10_000);
  assert.deepEqual(kids(await s.jwks.refreshForUnknownKid()), ['b']);
  assert.equal(s.calls(), 3);
});
