// End-to-end WebSocket through the sidecar (HCM upgrade_configs websocket): Node's global WebSocket client to a ws echo server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { withTimeout } from '../helpers/wait.ts';
import { startWsEcho, type WsUpstream } from '../helpers/ws-upstream.ts';

const T = { timeout: 60_000 };

let sc: Sidecar | undefined;
let up: WsUpstream | undefined;
const sockets: WebSocket[] = [];

before(async () => {
  up = await startWsEcho('ws-a');
  sc = await startSidecar(
    bootstrap(
      [
        listener('ingress', [
          httpConnectionManager({
            virtualHosts: [{ name: 'ws', domains: ['*'], routes: [route({ prefix: '/' }, 'ws_backend')] }],
            extra: { upgrade_configs: [{ upgrade_type: 'websocket' }] },
          }),
        ]),
      ],
      [staticCluster('ws_backend', [up.port])],
    ),
  );
});

after(async () => {
  for (const s of sockets) if (s.readyState !== WebSocket.CLOSED) s.close();
  await sc?.stop();
  await up?.close();
});

/** A connected client with a queue of received messages. */
async function connect(path: string): Promise<{ ws: WebSocket; next: () => Promise<string | ArrayBuffer>; closed: Promise<CloseEvent> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${sc!.port('ingress')}${path}`);
  ws.binaryType = 'arraybuffer';
  sockets.push(ws);
  const queue: (string | ArrayBuffer)[] = [];
  let wake: (() => void) | undefined;
  ws.addEventListener('message', (e: MessageEvent) => {
    queue.push(e.data as string | ArrayBuffer);
    wake?.();
  });
  const closed = new Promise<CloseEvent>((r) => ws.addEventListener('close', (e) => r(e)));
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve());
      ws.addEventListener('error', () => reject(new Error('WebSocket handshake through the sidecar failed')));
    }),
    15_000,
    'WebSocket open',
  );
  const next = () =>
    withTimeout(
      new Promise<string | ArrayBuffer>((resolve) => {
        const take = () => {
          if (queue.length > 0) {
            wake = undefined;
            resolve(queue.shift()!);
          } else wake = take;
        };
        take();
      }),
      15_000,
      'a WebSocket message',
    );
  return { ws, next, closed };
}

test('upgrade reaches the upstream; text and binary messages flow both ways', T, async () => {
  const { ws, next } = await connect('/chat?room=1');
  assert.equal(await next(), 'hello from ws-a', 'server-initiated message');
  ws.send('ping');
  assert.equal(await next(), 'echo:ping');
  ws.send(new Uint8Array([1, 2, 3, 0, 250, 255]));
  const bin = await next();
  assert.ok(bin instanceof ArrayBuffer, 'binary frame must stay binary');
  assert.deepEqual([...new Uint8Array(bin)], [1, 2, 3, 0, 250, 255]);
  const big = 'x'.repeat(200_000);
  ws.send(big);
  assert.equal(await next(), `echo:${big}`);
  const h = up!.upgrades.at(-1)!;
  assert.equal(String(h.upgrade).toLowerCase(), 'websocket');
});

test('client close is delivered to the server with its code and reason', T, async () => {
  const { ws, next, closed } = await connect('/client-close');
  await next();
  const serverSaw = withTimeout(
    new Promise<{ code: number; reason: string }>((r) => {
      const onClose = (c: { code: number; reason: string }) => {
        if (c.code !== 4001) return;
        up!.events.off('close', onClose);
        r(c);
      };
      up!.events.on('close', onClose);
    }),
    15_000,
    'the server to see the close',
  );
  ws.close(4001, 'client bye');
  assert.deepEqual(await serverSaw, { code: 4001, reason: 'client bye' });
  const ev = await withTimeout(closed, 15_000, 'client close event');
  assert.equal(ev.code, 4001);
});

test('server close reaches the client with its code and reason', T, async () => {
  const { ws, next, closed } = await connect('/server-close');
  await next();
  ws.send('close 4000 server bye');
  const ev = await withTimeout(closed, 15_000, 'client close event');
  assert.equal(ev.code, 4000);
  assert.equal(ev.reason, 'server bye');
});
