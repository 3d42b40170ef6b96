// Starts `bin/pilotfish proxy --concurrency 1` with a minimal Envoy bootstrap (one listener on port 0 → one cluster) and finds its ports.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { stringify } from 'yaml';
import { pinned, startProcess, type BenchProcess, type Pinning } from './processes.ts';

export const PILOTFISH = process.env.PILOTFISH_BIN ?? fileURLToPath(new URL('../bin/pilotfish', import.meta.url));

/** HCM tracing for the tracing rows: OpenTelemetry over OTLP/HTTP protobuf to `otlpUrl`, `percent` of new traces sampled. */
export interface BenchTracing { readonly percent: number; readonly otlpUrl: string }

/** Envoy v3 bootstrap: admin and listener on port 0, no access log, router only (plus tracing when given). */
export function benchBootstrap(upstreamPort: number, tracing: BenchTracing | null = null): Record<string, unknown> {
  const addr = (port: number) => ({ socket_address: { address: '127.0.0.1', port_value: port } });
  return {
    node: { id: 'bench-sidecar', cluster: 'bench' },
    admin: { address: addr(0) },
    static_resources: {
      listeners: [{
        name: 'bench_ingress',
        address: addr(0),
        filter_chains: [{ filters: [{
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: 'bench',
            route_config: { name: 'bench', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'bench_upstream' } }] }] },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            ...(tracing === null ? {} : {
              tracing: {
                random_sampling: { value: tracing.percent },
                provider: {
                  name: 'envoy.tracers.opentelemetry',
                  typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig', http_service: { http_uri: { uri: tracing.otlpUrl, timeout: '5s' } } },
                },
              },
            }),
          },
        }] }],
      }],
      clusters: [{
        name: 'bench_upstream', type: 'STATIC', connect_timeout: '1s',
        load_assignment: { cluster_name: 'bench_upstream', endpoints: [{ lb_endpoints: [{ endpoint: { address: addr(upstreamPort) } }] }] },
      }],
    },
  };
}

export interface Sidecar { readonly proc: BenchProcess; readonly port: number; readonly admin: string }

interface ListenersJson { listener_statuses?: { name: string; local_address?: { socket_address?: { port_value?: number } } }[] }

/** Starts the sidecar, waits for /ready, and reads the listener's real port from /listeners?format=json. */
export function startSidecar(p: Pinning, upstreamPort: number, tracing: BenchTracing | null = null): Promise<Sidecar> {
  return launchPilotfish(p, 'pilotfish', benchBootstrap(upstreamPort, tracing), 'bench_ingress');
}

/** Runs `bin/pilotfish proxy` on `bootstrap` (pinned to CPU 0), waits for /ready and returns `listener`'s real port. */
export async function launchPilotfish(p: Pinning, name: string, bootstrap: object, listener: string): Promise<Sidecar> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pilotfish-bench-${name}-`));
  const cfg = path.join(dir, 'bootstrap.yaml');
  const addrFile = path.join(dir, 'admin-address');
  fs.writeFileSync(cfg, stringify(bootstrap), { mode: 0o600 });
  const env = { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` };
  const proc = startProcess(name, pinned(p, 0, PILOTFISH, ['proxy', '-c', cfg, '--admin-address-path', addrFile, '--concurrency', '1']), env);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && proc.proc.exitCode === null) {
    const admin = fs.existsSync(addrFile) ? fs.readFileSync(addrFile, 'utf8').trim() : '';
    if (admin) {
      try {
        const ready = await fetch(`http://${admin}/ready`);
        await ready.arrayBuffer();
        if (ready.status === 200) {
          const body = (await (await fetch(`http://${admin}/listeners?format=json`)).json()) as ListenersJson;
          const port = body.listener_statuses?.find((l) => l.name === listener)?.local_address?.socket_address?.port_value;
          if (port) return { proc, port, admin };
        }
      } catch { /* not up yet */ }
    }
    await delay(50);
  }
  await proc.stop();
  throw new Error(`${name} not ready (config ${cfg}):\n${proc.output().slice(-3000)}`);
}
