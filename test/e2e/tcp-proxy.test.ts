// End-to-end tcp_proxy: bytes both ways to a TCP echo upstream, half-close, access log byte counts, and a refused upstream.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, listener, staticCluster, tcpProxy } from '../helpers/bootstrap.ts';
import { startSidecar, type Sidecar } from '../helpers/sidecar.ts';
import { closedPort, startTcpEcho, type SocketUpstream } from '../helpers/socket-upstreams.ts';
import { withTimeout } from '../helpers/wait.ts';

const T = { timeout: 60_000 };
const TCP_LOG = 'ACCESS tcp %DOWNSTREAM_REMOTE_ADDRESS% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT%\n';

let sc: Sidecar | undefined;
let up: SocketUpstream | undefined;
const sockets: net.Socket[] = [];

before(async () => {
  up = await startTcpEcho();
  const dead = await closedPort();
  sc = await startSidecar(
    bootstrap(
      [listener('tcp', [tcpProxy('echo_tcp', 'tcp', TCP_LOG)]), listener('tcp_dead', [tcpProxy('dead_tcp', 'tcp_dead', TCP_LOG)])],
      [staticCluster('echo_tcp', [up.port]), staticCluster('dead_tcp', [dead])],
    ),
  );
});

after(async () => {
  for (const s of sockets) s.destroy();
  await sc?.stop();
  await up?.close();
});

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  sockets.push(s);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    }),
    10_000,
    'TCP connect to the sidecar',
  );
  return s;
}

/** Reads from `s` until `n` bytes arrived. */
function readBytes(s: net.Socket, n: number): Promise<Buffer> {
  return withTimeout(
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let got = 0;
      const onData = (c: Buffer) => {
        chunks.push(c);
        got += c.length;
        if (got >= n) {
          s.off('data', onData);
          s.pause();
          resolve(Buffer.concat(chunks));
        }
      };
      s.on('data', onData);
      s.once('error', reject);
      s.once('end', () => got < n && reject(new Error(`stream ended after ${got} of ${n} bytes`)));
      s.resume();
    }),
    20_000,
    `${n} bytes through tcp_proxy`,
  );
}

/** Reads everything until the peer's FIN. */
function readToEnd(s: net.Socket): Promise<Buffer> {
  return withTimeout(
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.once('end', () => resolve(Buffer.concat(chunks)));
      s.once('error', reject);
      s.resume();
    }),
    20_000,
    'the peer to finish',
  );
}

test('bytes flow both ways: 1 MiB echoed intact, then an interactive exchange', T, async () => {
  const s = await connect(sc!.port('tcp'));
  const payload = randomBytes(1024 * 1024);
  s.write(payload);
  const back = await readBytes(s, payload.length);
  assert.equal(back.length, payload.length);
  assert.ok(back.equals(payload), '1 MiB came back unchanged');
  s.write('second message');
  assert.equal((await readBytes(s, 14)).toString(), 'second message');
  s.destroy();
});

test('half-close: the client ends its write side and still receives the reply', T, async () => {
  const s = await connect(sc!.port('tcp'));
  const local = `${s.localAddress}:${s.localPort}`;
  const all = readToEnd(s);
  s.end('ping');
  const got = (await all).toString();
  assert.equal(got, 'ping<<EOF 4>>', 'the upstream saw our FIN (it answers <<EOF n>> then) and its reply reached us');

  const line = await sc!.waitForLine((l) => l.startsWith(`ACCESS tcp ${local} `));
  const [, , , flags, received, sent] = line.split(' ');
  assert.equal(flags, '-');
  assert.equal(Number(received), 4);
  assert.equal(Number(sent), 'ping<<EOF 4>>'.length);
});

test('refused upstream: the downstream connection is closed and UF is logged', T, async () => {
  const s = await connect(sc!.port('tcp_dead'));
  const local = `${s.localAddress}:${s.localPort}`;
  const closed = withTimeout(
    new Promise<void>((resolve) => {
      // The client is half-open capable, so the sidecar's close shows up as 'end' (FIN) first.
      s.once('end', () => resolve());
      s.once('close', () => resolve());
      s.resume();
    }),
    20_000,
    'the sidecar to close the downstream connection',
  );
  await closed;
  const line = await sc!.waitForLine((l) => l.startsWith(`ACCESS tcp ${local} `));
  assert.ok(line.split(' ')[3].split(',').includes('UF'), line);
});
