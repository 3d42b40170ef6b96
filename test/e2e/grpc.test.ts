// End-to-end gRPC: @grpc/grpc-js client → sidecar (h2c listener) → gRPC server over an HTTP/2 cluster, all four call shapes, errors and no-route.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { bootstrap, flagList, http2Upstream, httpConnectionManager, listener, route, staticCluster } from '../helpers/bootstrap.ts';
import {
  FAIL_BIN_TRAILER,
  echoClient,
  startGrpcServer,
  unroutedClient,
  type EchoClient,
  type EchoReply,
  type GrpcUpstream,
  type UnroutedClient,
} from '../helpers/grpc-upstream.ts';
import { testId } from '../helpers/http-client.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { withTimeout } from '../helpers/wait.ts';

const T = { timeout: 60_000 };
const opts = (): grpc.CallOptions => ({ deadline: Date.now() + 20_000 });

let sc: Sidecar | undefined;
let server: GrpcUpstream | undefined;
let client: EchoClient | undefined;
let unrouted: UnroutedClient | undefined;

function md(id: string, meta = ''): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('x-test-id', id);
  if (meta) m.set('x-client-meta', meta);
  return m;
}

before(async () => {
  server = await startGrpcServer('grpc-a');
  sc = await startSidecar(
    bootstrap(
      [
        listener('grpc', [
          httpConnectionManager({
            statPrefix: 'grpc',
            virtualHosts: [{ name: 'grpc', domains: ['*'], routes: [route({ prefix: '/pilotfish.test.Echo/', grpc: {} }, 'echo_grpc')] }],
          }),
        ]),
      ],
      [staticCluster('echo_grpc', [server.port], http2Upstream())],
    ),
  );
  const address = `127.0.0.1:${sc.port('grpc')}`;
  client = echoClient(address);
  unrouted = unroutedClient(address);
});

after(async () => {
  client?.close();
  unrouted?.close();
  await sc?.stop();
  await server?.close();
});

test('unary call with request metadata', T, async () => {
  const reply = await withTimeout(
    new Promise<EchoReply>((resolve, reject) => {
      client!.Unary({ message: 'hello' }, md(testId('unary'), 'meta-1'), opts(), (err, v) => (err ? reject(err) : resolve(v!)));
    }),
    30_000,
    'unary reply',
  );
  assert.equal(reply.message, 'hello');
  assert.equal(reply.server, 'grpc-a');
  assert.equal(reply.metadata, 'meta-1');
});

test('server streaming delivers every message in order, then OK', T, async () => {
  const call = client!.ServerStream({ message: 'tick', count: 5 }, md(testId('ss')), opts());
  const got: EchoReply[] = [];
  const status = await withTimeout(
    new Promise<grpc.StatusObject>((resolve, reject) => {
      call.on('data', (m: EchoReply) => got.push(m));
      call.on('error', reject);
      call.on('status', resolve);
    }),
    30_000,
    'server stream to finish',
  );
  assert.equal(status.code, grpc.status.OK);
  assert.deepEqual(
    got.map((m) => [m.index, m.message]),
    [0, 1, 2, 3, 4].map((i) => [i, `tick-${i}`]),
  );
});

test('client streaming: all messages reach the server, one reply', T, async () => {
  const reply = await withTimeout(
    new Promise<EchoReply>((resolve, reject) => {
      const call = client!.ClientStream(md(testId('cs')), opts(), (err, v) => (err ? reject(err) : resolve(v!)));
      for (const m of ['a', 'b', 'c']) call.write({ message: m });
      call.end();
    }),
    30_000,
    'client stream reply',
  );
  assert.equal(reply.message, 'a,b,c');
  assert.equal(reply.index, 3);
});

test('bidi streaming: each reply arrives before the next message is sent', T, async () => {
  const call = client!.Bidi(md(testId('bidi')), opts());
  const replies: EchoReply[] = [];
  let wake: (() => void) | undefined;
  call.on('data', (m: EchoReply) => {
    replies.push(m);
    wake?.();
  });
  const ended = new Promise<void>((resolve, reject) => {
    call.on('end', resolve);
    call.on('error', reject);
  });
  for (const [i, word] of ['ping', 'pong', 'done'].entries()) {
    call.write({ message: word });
    await withTimeout(
      new Promise<void>((r) => {
        wake = r;
        if (replies.length > i) r();
      }),
      20_000,
      `bidi reply ${i}`,
    );
    assert.equal(replies[i].message, word.toUpperCase());
    assert.equal(replies[i].index, i);
  }
  call.end();
  await withTimeout(ended, 20_000, 'bidi stream end');
});

test('a failing call keeps its exact grpc-status, message and trailing metadata', T, async () => {
  const message = 'precondition not met: ünïcode, 100% (percent-encoded)';
  const err = await withTimeout(
    new Promise<grpc.ServiceError>((resolve, reject) => {
      client!.Fail(
        { code: grpc.status.FAILED_PRECONDITION, message, trailers: { 'x-fail-reason': 'because', 'x-other': 'two' } },
        md(testId('fail')),
        opts(),
        (e) => (e ? resolve(e) : reject(new Error('Fail succeeded'))),
      );
    }),
    30_000,
    'failed call',
  );
  assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
  assert.equal(err.details, message);
  assert.deepEqual(err.metadata.get('x-fail-reason'), ['because']);
  assert.deepEqual(err.metadata.get('x-other'), ['two']);
  assert.deepEqual(err.metadata.get('x-fail-bin'), [FAIL_BIN_TRAILER]);
});

test('a gRPC call matching no route gets UNIMPLEMENTED (404 mapped to grpc-status 12) and NR', T, async () => {
  const id = testId('nr');
  const err = await withTimeout(
    new Promise<grpc.ServiceError>((resolve, reject) => {
      unrouted!.Unary({ message: 'x' }, md(id), opts(), (e) => (e ? resolve(e) : reject(new Error('unrouted call succeeded: it reached the upstream'))));
    }),
    30_000,
    'unrouted call',
  );
  assert.equal(err.code, grpc.status.UNIMPLEMENTED);
  assert.equal(server!.unroutedCalls(), 0, 'the call must not reach the upstream');
  const line = await sc!.waitForAccess(id);
  assert.ok(flagList(line).includes('NR'), `expected NR in ${line.raw}`);
});
