// Proxies an HTTP/1.1 Upgrade (WebSocket) request: forwards the handshake to a host, then relays bytes both ways.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { bindOptions } from '../upstream/bind-options.ts';
import type { Host, UpstreamCluster } from '../upstream/types.ts';
import { upstreamTlsOptions } from '../upstream/upstream-tls.ts';
import type { ActiveRequest } from './active-request.ts';
import { upstreamFailureReply, sendLocalReply } from './error-response.ts';
import type { HeaderRecord } from './exchange.ts';
import { UpstreamFailure } from '../upstream/upstream-failure.ts';

export function tunnelUpgrade(req: ActiveRequest, cluster: UpstreamCluster, host: Host, headers: HeaderRecord, path: string): void {
  const ex = req.ex;
  const up = ex.upgrade!;
  const authority = typeof headers[':authority'] === 'string' ? headers[':authority'] as string : ex.head.authority;
  delete headers[':authority'];
  const cfg = cluster.config;
  const bind = bindOptions(cfg);
  const upstream: net.Socket = cfg.tls
    ? tls.connect({ host: host.address, port: host.port, ...upstreamTlsOptions(cfg.tls, host, ['http/1.1']), ...bind })
    : net.connect({ host: host.address, port: host.port, ...bind });
  host.activeRequests++;
  host.rqTotal++;
  let connected = false;
  let sawResponse = false;
  const timer = setTimeout(() => upstream.destroy(new UpstreamFailure('connect_timeout', 'connect timeout')), cfg.connectTimeoutMs);
  const onConnect = (): void => {
    connected = true;
    clearTimeout(timer);
    let head = `${ex.head.method} ${path} HTTP/1.1\r\nhost: ${authority}\r\nconnection: Upgrade\r\nupgrade: ${String(ex.head.headers.upgrade ?? up.type)}\r\n`;
    for (const name in headers) {
      if (name === 'connection' || name === 'upgrade' || name === 'host') continue;
      const v = headers[name];
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) head += `${name}: ${one}\r\n`;
    }
    upstream.write(head + '\r\n');
    if (up.head.length > 0) upstream.write(up.head);
    upstream.once('data', (first: Buffer) => {
      sawResponse = true;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(first.subarray(0, 16).toString('latin1'));
      req.responseCode = m ? Number(m[1]) : 0;
      req.upstreamServiceTimeMs = Math.round(performance.now() - req.startHr);
    });
    upstream.pipe(up.socket);
    up.socket.pipe(upstream);
  };
  upstream.once(cfg.tls ? 'secureConnect' : 'connect', onConnect);
  const done = (): void => {
    if (req.finished) return;
    clearTimeout(timer);
    host.activeRequests--;
    upstream.destroy();
    up.socket.destroy();
    req.finish();
  };
  upstream.on('error', (err) => {
    if (!connected || !sawResponse) {
      clearTimeout(timer);
      const failure = connected ? new UpstreamFailure('reset_before_headers', String((err as NodeJS.ErrnoException).code ?? err.message))
        : err instanceof UpstreamFailure ? err : new UpstreamFailure('connect_failure', String((err as NodeJS.ErrnoException).code ?? err.message));
      host.rqError++;
      if (failure.kind === 'connect_failure' || failure.kind === 'connect_timeout') host.cxConnectFail++;
      const reply = upstreamFailureReply(failure);
      if (reply.flag) req.addFlag(reply.flag);
      req.details = reply.details;
      req.responseCode = sendLocalReply(ex, reply, false, {});
      host.activeRequests--;
      req.finish();
      return;
    }
    done();
  });
  upstream.on('close', done);
  up.socket.on('error', () => done());
  up.socket.on('close', done);
}
