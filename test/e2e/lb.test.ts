// End-to-end load balancing over three upstreams: ROUND_ROBIN, LEAST_REQUEST, RANDOM, and RING_HASH keyed by header, cookie and source IP.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from 'undici';
import { bootstrap, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { send } from '../helpers/http-client.ts';
import { closeAll, echo, startHttpEcho, type HttpUpstream, type SeenRequest, type UpReq, type UpRes } from '../helpers/http-upstreams.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { withTimeout } from '../helpers/wait.ts';

const T = { timeout: 90_000 };
const NAMES = ['a', 'b', 'c'];

let sc: Sidecar | undefined;
let ups: HttpUpstream[] = [];
let base = '';
let client: Client | undefined;

// Upstream "a" holds every /least/ request until released, so its active request count grows.
const held: (() => void)[] = [];
function holdLeast(req: UpReq, res: UpRes, name: string): boolean {
  if (!req.url?.startsWith('/least/')) return false;
  held.push(() => echo(req, res, name));
  return true;
}

before(async () => {
  ups = [await startHttpEcho('a', holdLeast), await startHttpEcho('b'), await startHttpEcho('c')];
  const ports = ups.map((u) => u.port);
  sc = await startSidecar(
    bootstrap(
      [
        listener('ingress', [
          httpConnectionManager({
            virtualHosts: [
              {
                name: 'lb',
                domains: ['*'],
                routes: [
                  route({ prefix: '/rr/' }, 'rr'),
                  route({ prefix: '/least/' }, 'least', { timeout: '0s' }),
                  route({ prefix: '/random/' }, 'random'),
                  route({ prefix: '/ring-header/' }, 'ring', { hash_policy: [{ header: { header_name: 'x-user' } }] }),
                  route({ prefix: '/ring-cookie/' }, 'ring', { hash_policy: [{ cookie: { name: 'session' } }] }),
                  route({ prefix: '/ring-ip/' }, 'ring', { hash_policy: [{ connection_properties: { source_ip: true } }] }),
                ],
              },
            ],
          }),
        ]),
      ],
      [
        staticCluster('rr', ports, { lb_policy: 'ROUND_ROBIN' }),
        // choice_count 5: a host with requests in flight is picked only if all 5 random choices land on it.
        staticCluster('least', ports, { lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: 5 } }),
        staticCluster('random', ports, { lb_policy: 'RANDOM' }),
        staticCluster('ring', ports, { lb_policy: 'RING_HASH' }),
      ],
    ),
  );
  base = sc.url('ingress');
  client = new Client(base, { pipelining: 1, headersTimeout: 20_000, bodyTimeout: 20_000 });
});

after(async () => {
  for (const release of held.splice(0)) release();
  await client?.destroy().catch(() => undefined);
  await sc?.stop();
  await closeAll(...ups);
});

async function servedBy(path: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await client!.request({ path, method: 'GET', headers });
  await r.body.dump();
  assert.equal(r.statusCode, 200, `${path} → ${r.statusCode}`);
  return String(r.headers['x-upstream-name']);
}

function tally(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

test('ROUND_ROBIN spreads 30 sequential requests evenly over 3 hosts', T, async () => {
  const seq: string[] = [];
  for (let i = 0; i < 30; i++) seq.push(await servedBy(`/rr/${i}`));
  assert.deepEqual(tally(seq), { a: 10, b: 10, c: 10 });
  for (let i = 3; i < 30; i++) assert.equal(seq[i], seq[i - 3], 'round robin repeats the same order');
});

test('LEAST_REQUEST avoids the host that has requests in flight', T, async () => {
  const busy = ups[0];
  let toA = 0;
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < 60; i++) {
    const path = `/least/${i}`;
    const req = send(`${base}${path}`, { timeoutMs: 60_000 });
    pending.push(req.catch(() => undefined));
    // Each request is either answered (by b or c) or lands, and stays, on a.
    const outcome = await withTimeout(
      new Promise<string>((resolve, reject) => {
        const onRequest = (seen: SeenRequest) => {
          if (seen.url !== path) return;
          busy.events.off('request', onRequest);
          resolve('held');
        };
        busy.events.on('request', onRequest);
        req.then(
          (r) => {
            busy.events.off('request', onRequest);
            resolve(`done:${String(r.headers['x-upstream-name'])}`);
          },
          (err: unknown) => {
            busy.events.off('request', onRequest);
            reject(err);
          },
        );
      }),
      30_000,
      `outcome of ${path}`,
    );
    if (outcome === 'held') toA += 1;
    else assert.match(outcome, /^done:[bc]$/);
  }
  assert.ok(toA <= 8, `a had requests in flight yet got ${toA} of 60 (LEAST_REQUEST would give it about 1)`);
  for (const release of held.splice(0)) release();
  await withTimeout(Promise.all(pending), 30_000, 'held requests to complete');
});

test('RANDOM uses every host in rough proportion', T, async () => {
  const seq: string[] = [];
  for (let i = 0; i < 300; i++) seq.push(await servedBy(`/random/${i}`));
  const t = tally(seq);
  for (const n of NAMES) assert.ok((t[n] ?? 0) >= 50 && (t[n] ?? 0) <= 150, `${n} got ${t[n] ?? 0}/300: ${JSON.stringify(t)}`);
});

test('RING_HASH by header: the same key always reaches the same host, keys spread', T, async () => {
  const hosts = new Set<string>();
  for (let k = 0; k < 30; k++) {
    const first = await servedBy(`/ring-header/${k}`, { 'x-user': `user-${k}` });
    hosts.add(first);
    for (let i = 0; i < 4; i++) assert.equal(await servedBy(`/ring-header/${k}/${i}`, { 'x-user': `user-${k}` }), first);
  }
  assert.ok(hosts.size >= 2, `30 keys all hashed to ${[...hosts].join()}`);
});

test('RING_HASH by cookie: the same cookie always reaches the same host, cookies spread', T, async () => {
  const hosts = new Set<string>();
  for (let k = 0; k < 30; k++) {
    const cookie = `other=1; session=s-${k}`;
    const first = await servedBy(`/ring-cookie/${k}`, { cookie });
    hosts.add(first);
    for (let i = 0; i < 4; i++) assert.equal(await servedBy(`/ring-cookie/${k}/${i}`, { cookie }), first);
  }
  assert.ok(hosts.size >= 2, `30 cookies all hashed to ${[...hosts].join()}`);
});

test('RING_HASH by source_ip: one client address sticks to one host over new connections; addresses spread', T, async () => {
  const perIp = new Map<string, Set<string>>();
  for (let ip = 1; ip <= 20; ip++) {
    const localAddress = `127.0.0.${ip}`;
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await send(`${base}/ring-ip/${ip}/${i}`, { localAddress });
      assert.equal(r.status, 200);
      seen.add(String(r.headers['x-upstream-name']));
    }
    perIp.set(localAddress, seen);
  }
  for (const [ip, seen] of perIp) assert.equal(seen.size, 1, `${ip} reached ${[...seen].join()}`);
  const all = new Set([...perIp.values()].flatMap((s) => [...s]));
  assert.ok(all.size >= 2, `20 source addresses all hashed to ${[...all].join()}`);
});
