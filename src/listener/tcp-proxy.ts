// tcp_proxy network filter: connects a downstream connection to an upstream host and pipes bytes both ways, half-close preserved.
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { TcpProxyConfig } from '../model/types.ts';
import type { AccessLogEntry, AccessLogger } from '../observability/types.ts';
import { bindOptions } from '../upstream/bind-options.ts';
import { usesHash } from '../upstream/load-balancer/index.ts';
import { sourceIpHash } from '../upstream/request-hash.ts';
import type { Host, OriginalDstSource, UpstreamCluster } from '../upstream/types.ts';
import { upstreamTlsOptions } from '../upstream/upstream-tls.ts';

/** Process-wide tcp_proxy counters (until the stats registry exists). */
export const tcpStats = { cx_total: 0, cx_active: 0, connect_fail: 0 };

export interface TcpProxyOptions {
  readonly accessLoggers: readonly AccessLogger[];
  readonly onDone?: () => void;
  /** Istio-style TCP metrics: opened once the cluster is known, closed (with bytes) at the end. */
  readonly mesh?: { opened(cluster: string): void; closed(entry: AccessLogEntry): void } | null;
  /** The connection's local address as the listener saw it (restored by original_dst); absent: the socket's. */
  readonly local?: OriginalDstSource;
  /**
   * Bytes the listener already read from the downstream (protocol detection); written upstream before anything else.
   * The downstream may have ended already (half-closed during detection): the FIN follows these bytes upstream.
   */
  readonly initialData?: Buffer | null;
}

function pickClusterName(cfg: TcpProxyConfig): string | null {
  const wc = cfg.weightedClusters;
  if (!wc || wc.length === 0) return cfg.cluster;
  let total = cfg.totalWeight;
  if (!(total > 0)) total = wc.reduce((s, c) => s + c.weight, 0);
  let r = Math.random() * total;
  for (const c of wc) {
    r -= c.weight;
    if (r < 0) return c.name;
  }
  return wc[wc.length - 1].name;
}

function addr(ip: string | undefined, port: number | undefined): string {
  if (!ip) return '-';
  return net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Opens a plaintext or TLS connection to the host, both with half-close allowed. */
function connectUpstream(cluster: UpstreamCluster, host: Host): net.Socket {
  const tlsConfig = cluster.config.tls;
  // upstream_bind_config: the connection's source address (e.g. 127.0.0.6, which pilotfish iptables never captures).
  const bind = bindOptions(cluster.config);
  if (!tlsConfig) return net.connect({ host: host.address, port: host.port, allowHalfOpen: true, ...bind });
  // allowHalfOpen is honoured by tls.connect (passed on to the TLSSocket) though missing from its option type.
  const options: tls.ConnectionOptions & { allowHalfOpen: boolean } = { ...upstreamTlsOptions(tlsConfig, host), allowHalfOpen: true, ...bind };
  const socket = tls.connect(options);
  socket.allowHalfOpen = true;
  return socket;
}

/** Proxies one downstream connection; never throws, always ends in exactly one access-log entry and one onDone call. */
export function proxyTcpConnection(
  downstream: net.Socket,
  cfg: TcpProxyConfig,
  clusters: { get(name: string): UpstreamCluster | undefined },
  opts: TcpProxyOptions,
): void {
  const startTime = Date.now();
  const startMono = performance.now();
  tcpStats.cx_total++;
  tcpStats.cx_active++;
  downstream.allowHalfOpen = true;
  downstream.pause();

  const flags: string[] = [];
  let termination: string | null = null;
  let cluster: UpstreamCluster | undefined;
  let host: Host | null = null;
  let upstream: net.Socket | null = null;
  let upstreamLocal: string | null = null;
  let bytesReceived = 0;
  let bytesSent = 0;
  let downstreamClosed = false;
  let upstreamClosed = true;
  let finished = false;
  let connectTimer: NodeJS.Timeout | null = null;
  let idleTimer: NodeJS.Timeout | null = null;
  let lastActivity = 0;
  const tried = new Set<Host>();
  const remote = addr(downstream.remoteAddress, downstream.remotePort);
  const local = opts.local !== undefined ? addr(opts.local.localAddress, opts.local.localPort) : addr(downstream.localAddress, downstream.localPort);
  const originalDst = opts.local?.localAddressRestored === true ? opts.local : null;

  const finish = (): void => {
    if (finished || !downstreamClosed || !upstreamClosed) return;
    finished = true;
    if (idleTimer) clearTimeout(idleTimer);
    tcpStats.cx_active--;
    const entry: AccessLogEntry = {
      startTime, method: null, path: null, protocol: null, responseCode: 0,
      responseFlags: flags.length > 0 ? flags.join(',') : '-',
      bytesReceived, bytesSent, durationMs: Math.round(performance.now() - startMono),
      upstreamServiceTimeMs: null, upstreamHost: host ? host.key : null, upstreamCluster: cluster ? cluster.name : null,
      upstreamLocalAddress: upstreamLocal, downstreamRemoteAddress: remote, downstreamLocalAddress: local,
      requestId: null, authority: null, userAgent: null, forwardedFor: null, routeName: null,
      requestHeaders: null, responseHeaders: null, responseTrailers: null,
      responseCodeDetails: null, connectionTerminationDetails: termination,
    };
    if (cluster) opts.mesh?.closed(entry);
    for (const logger of opts.accessLoggers) {
      try {
        logger.log(entry);
      } catch {
        // An access logger must not break the connection lifecycle.
      }
    }
    opts.onDone?.();
  };

  const failDownstream = (flag: string, details: string): void => {
    flags.push(flag);
    termination = details;
    downstream.destroy();
  };

  downstream.on('error', () => {
    upstream?.destroy();
  });
  downstream.on('close', () => {
    downstreamClosed = true;
    if (connectTimer) clearTimeout(connectTimer);
    upstream?.destroy();
    finish();
  });

  if (downstream.destroyed) {
    downstreamClosed = true;
    termination = 'downstream_closed_before_proxying';
    return finish();
  }

  const clusterName = pickClusterName(cfg);
  cluster = clusterName === null ? undefined : clusters.get(clusterName);
  if (!cluster) return failDownstream('NR', 'cluster_not_found');
  opts.mesh?.opened(cluster.name);
  const c = cluster;
  const hash = usesHash(c.config.lbPolicy) && downstream.remoteAddress ? sourceIpHash(downstream.remoteAddress) : null;
  const maxAttempts = Math.max(1, cfg.maxConnectAttempts);

  const onIdle = (): void => {
    idleTimer = null;
    const elapsed = performance.now() - lastActivity;
    if (elapsed < cfg.idleTimeoutMs) {
      idleTimer = setTimeout(onIdle, cfg.idleTimeoutMs - elapsed);
      return;
    }
    termination = 'idle_timeout';
    upstream?.destroy();
    downstream.destroy();
  };

  const startPiping = (up: net.Socket): void => {
    upstreamLocal = addr(up.localAddress, up.localPort);
    up.setNoDelay(true);
    lastActivity = performance.now();
    if (cfg.idleTimeoutMs > 0) idleTimer = setTimeout(onIdle, cfg.idleTimeoutMs);
    downstream.on('data', (chunk: Buffer) => {
      bytesReceived += chunk.length;
      lastActivity = performance.now();
    });
    up.on('data', (chunk: Buffer) => {
      bytesSent += chunk.length;
      lastActivity = performance.now();
    });
    const initial = opts.initialData;
    if (initial !== undefined && initial !== null && initial.length > 0) {
      bytesReceived += initial.length;
      up.write(initial);
    }
    // pipe() ends the destination when the source ends (also when it ended before piping, after a half-close during
    // detection): a FIN travels on while the other direction keeps flowing.
    downstream.pipe(up);
    up.pipe(downstream);
  };

  let attempts = 0;
  const attempt = (): void => {
    if (downstreamClosed) return;
    const h = c.chooseHost({ hash, avoid: tried.size > 0 ? tried : null, originalDst });
    if (!h) return failDownstream('UH', 'no_healthy_upstream');
    attempts++;
    host = h;
    tried.add(h);
    h.activeRequests++;
    h.rqTotal++;
    const up = connectUpstream(c, h);
    upstream = up;
    upstreamClosed = false;
    let settled = false;
    let established = false;

    const settleFailed = (details: string, countFailure: boolean): void => {
      if (settled) return;
      settled = true;
      if (connectTimer) clearTimeout(connectTimer);
      connectTimer = null;
      h.activeRequests--;
      if (countFailure) {
        h.cxConnectFail++;
        tcpStats.connect_fail++;
        termination = details;
        c.reportOutcome?.(h, details === 'upstream_connect_timeout' ? 'timeout' : 'connect_failure');
      }
      up.destroy();
    };
    connectTimer = setTimeout(() => settleFailed('upstream_connect_timeout', true), c.config.connectTimeoutMs);
    up.once(c.config.tls ? 'secureConnect' : 'connect', () => {
      if (settled) return;
      settled = true;
      established = true;
      if (connectTimer) clearTimeout(connectTimer);
      connectTimer = null;
      c.reportOutcome?.(h, 'connect_success');
      startPiping(up);
    });
    up.on('error', () => {
      if (!settled) settleFailed('upstream_connect_failure', true);
      else if (established) downstream.destroy();
    });
    up.on('close', () => {
      if (!established) {
        settleFailed('upstream_connect_aborted', false);
        upstreamClosed = true;
        if (downstreamClosed) return finish();
        if (attempts < maxAttempts) return attempt();
        return failDownstream('UF', termination ?? 'upstream_connect_failure');
      }
      h.activeRequests--;
      upstreamClosed = true;
      // A clean upstream close has already ended the downstream through pipe(); anything else resets it.
      if (up.errored || !up.readableEnded) downstream.destroy();
      finish();
    });
  };
  attempt();
}
