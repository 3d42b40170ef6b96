// TCP health check probe: connect (TLS when the cluster has it), write `send`, wait until the reply holds every `receive` segment.
import net from 'node:net';
import tls from 'node:tls';
import type { ClusterConfig, TcpHealthCheckConfig } from '../model/types.ts';
import { networkFailure, PASS, payloadMatches, type Prober, type ProbeResult, withDeadline } from './health-check-probes.ts';
import type { Host } from './types.ts';
import { upstreamTlsOptions } from './upstream-tls.ts';
import { bindOptions } from './bind-options.ts';

export class TcpProber implements Prober {
  readonly #host: Host;
  readonly #cluster: ClusterConfig;
  readonly #hc: TcpHealthCheckConfig;
  readonly #reuse: boolean;
  /** Kept between checks with reuse_connection when the check exchanges bytes. */
  #socket: net.Socket | null = null;

  constructor(host: Host, cluster: ClusterConfig, hc: TcpHealthCheckConfig, reuse: boolean) {
    this.#host = host;
    this.#cluster = cluster;
    this.#hc = hc;
    // A connect-only check must connect every time to mean anything.
    this.#reuse = reuse && (hc.send !== null || hc.receive.length > 0);
  }

  async check(timeoutMs: number): Promise<ProbeResult> {
    let socket: net.Socket | null = null;
    const r = await withDeadline(timeoutMs, (finish) => {
      const hc = this.#hc;
      let received = Buffer.alloc(0);
      const kept = this.#socket;
      const s = kept !== null && !kept.destroyed ? kept : this.#connect();
      socket = s;
      // Listeners of this check only: a kept socket serves the next check with fresh ones.
      const done = (res: ProbeResult): void => {
        s.off('data', onData);
        s.off('close', onClose);
        s.off('error', onError);
        finish(res);
      };
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk]);
        if (payloadMatches(received, hc.receive)) done(PASS);
      };
      const onClose = (): void => done(networkFailure('connection closed'));
      const onError = (err: Error): void => done(networkFailure((err as NodeJS.ErrnoException).code ?? err.message));
      const exchange = (): void => {
        if (hc.send !== null) s.write(Buffer.from(hc.send, 'hex'));
        if (hc.receive.length === 0) done(PASS);
      };
      s.on('data', onData);
      s.once('close', onClose);
      s.once('error', onError);
      if (s === kept) exchange();
      else s.once(this.#cluster.tls ? 'secureConnect' : 'connect', exchange);
    }, () => (socket as net.Socket | null)?.destroy());
    const used = socket as net.Socket | null;
    if (this.#reuse && r.ok && used !== null && !used.destroyed) {
      this.#socket = used;
    } else {
      used?.destroy();
      if (this.#socket === used) this.#socket = null;
    }
    return r;
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = null;
  }

  #connect(): net.Socket {
    const t = this.#cluster.tls;
    const bind = bindOptions(this.#cluster);
    const s = t ? tls.connect({ ...upstreamTlsOptions(t, this.#host), ...bind }) : net.connect({ host: this.#host.address, port: this.#host.port, ...bind });
    s.on('error', () => { /* reported by the check */ });
    s.unref();
    return s;
  }
}
