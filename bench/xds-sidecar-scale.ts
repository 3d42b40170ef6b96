// xDS scale, sidecar side: the real bin/pilotfish takes 1,000 EDS clusters and 10,000 routes over ADS; time to ACK, readiness, RSS, one route change.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { stringify } from 'yaml';
import { encodeAny, TYPE_URL, xdsProtoRoot } from '../src/xds/protos.ts';
import { memoryKiB, pinned, startProcess, type Pinning } from './processes.ts';
import type { XdsRow } from './report.ts';
import { PILOTFISH } from './sidecar.ts';
import { BenchAdsServer, type EncodedAny } from './xds-ads-server.ts';

type Json = Record<string, unknown>;
const CLUSTERS = 1000;
const VHOSTS = 1000;
const ROUTES_PER_VHOST = 10;
const ADS = { ads: {}, resource_api_version: 'V3' };
const TYPES = [TYPE_URL.cluster, TYPE_URL.clusterLoadAssignment, TYPE_URL.listener, TYPE_URL.routeConfiguration];
const SHORT: Record<string, string> = { [TYPE_URL.cluster]: 'CDS', [TYPE_URL.clusterLoadAssignment]: 'EDS', [TYPE_URL.listener]: 'LDS', [TYPE_URL.routeConfiguration]: 'RDS' };
const addr = (port: number) => ({ socket_address: { address: '127.0.0.1', port_value: port } });
const LAST_HOST = `svc-${VHOSTS - 1}.bench`;
const LAST_PATH = `/r${ROUTES_PER_VHOST - 1}/x`;
const LAST_CLUSTER = `c-${(VHOSTS * ROUTES_PER_VHOST - 1) % CLUSTERS}`;

function bootstrap(cpPort: number): Json {
  return {
    node: { id: 'bench-xds-sidecar', cluster: 'bench' },
    admin: { address: addr(0) },
    static_resources: {
      clusters: [{
        name: 'xds_cluster', type: 'STATIC', connect_timeout: '1s',
        load_assignment: { cluster_name: 'xds_cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: addr(cpPort) } }] }] },
        typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} },
        } },
      }],
    },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }] },
      lds_config: { ...ADS, initial_fetch_timeout: '0s' },
      cds_config: { ...ADS, initial_fetch_timeout: '0s' },
    },
  };
}

const listener: Json = {
  name: 'ingress', address: addr(0),
  filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'ingress', rds: { config_source: ADS, route_config_name: 'big' },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
  } }] }],
};

/** 1,000 virtual hosts × 10 prefix routes; `changed` turns the very last route into a direct response. */
function routeConfig(changed: boolean): Json {
  const virtual_hosts = Array.from({ length: VHOSTS }, (_, v) => ({
    name: `vh-${v}`, domains: [`svc-${v}.bench`],
    routes: Array.from({ length: ROUTES_PER_VHOST }, (_, r) => {
      const match = { prefix: `/r${r}/` };
      if (changed && v === VHOSTS - 1 && r === ROUTES_PER_VHOST - 1) return { match, direct_response: { status: 200, body: { inline_string: 'changed' } } };
      return { match, route: { cluster: `c-${(v * ROUTES_PER_VHOST + r) % CLUSTERS}` } };
    }),
  }));
  return { name: 'big', virtual_hosts };
}

function get(port: number, host: string, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

const ms = (x: number) => `${Math.round(x)} ms`;
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

/** Runs the whole sidecar scenario against `upstreamPort` (every endpoint points there) and returns table rows and notes. */
export async function measureSidecarScale(pin: Pinning, upstreamPort: number): Promise<{ rows: XdsRow[]; notes: string[] }> {
  const root = await xdsProtoRoot();
  const enc = (typeUrl: string, named: [string, Json][]) => new Map<string, EncodedAny>(named.map(([n, r]) => [n, encodeAny(root, typeUrl, r)]));
  const tEnc = performance.now();
  const ids = Array.from({ length: CLUSTERS }, (_, i) => `c-${i}`);
  const server = new BenchAdsServer();
  server.set(TYPE_URL.cluster, 'c1', enc(TYPE_URL.cluster, ids.map((n) => [n, { name: n, type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: ADS } }])));
  server.set(TYPE_URL.clusterLoadAssignment, 'e1', enc(TYPE_URL.clusterLoadAssignment, ids.map((n) => [n, { cluster_name: n, endpoints: [{ lb_endpoints: [{ endpoint: { address: addr(upstreamPort) } }] }] }])));
  server.set(TYPE_URL.listener, 'l1', enc(TYPE_URL.listener, [['ingress', listener]]));
  const routes = enc(TYPE_URL.routeConfiguration, [['big', routeConfig(false)]]);
  server.set(TYPE_URL.routeConfiguration, 'r1', routes);
  const routesChanged = enc(TYPE_URL.routeConfiguration, [['big', routeConfig(true)]]);
  const encodeMs = performance.now() - tEnc;
  const rdsBytes = routes.get('big')!.value.length;
  await server.start();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-bench-xds-'));
  const cfg = path.join(dir, 'bootstrap.yaml');
  const addrFile = path.join(dir, 'admin-address');
  fs.writeFileSync(cfg, stringify(bootstrap(server.port)));
  const env = { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` };
  const proc = startProcess('pilotfish', pinned(pin, 0, PILOTFISH, ['proxy', '-c', cfg, '--admin-address-path', addrFile]), env);
  const pid = proc.proc.pid!;
  try {
    const allAcked = () => TYPES.every((t) => server.sent.get(t)?.ackedAt != null)
      && server.sent.get(TYPE_URL.clusterLoadAssignment)!.count === CLUSTERS && server.sent.get(TYPE_URL.routeConfiguration)!.count === 1;
    await server.waitFor(allAcked, 30_000, 'all four types ACKed').catch((err: Error) => { throw new Error(`${err.message}\n${proc.output().slice(-2000)}`); });
    const t0 = server.firstSentAt!;
    const lastAck = Math.max(...TYPES.map((t) => server.sent.get(t)!.ackedAt!));
    const perType = TYPES.map((t) => server.sent.get(t)!).map((s, i) => `${SHORT[TYPES[i]]} sent ${ms(s.sentAt - t0)} → ACK ${ms(s.ackedAt! - t0)}`).join(', ');
    const admin = fs.readFileSync(addrFile, 'utf8').trim();
    let readyAt = 0;
    for (const deadline = performance.now() + 10_000; readyAt === 0; await delay(5)) {
      const res = await fetch(`http://${admin}/ready`);
      await res.arrayBuffer();
      if (res.status === 200) readyAt = performance.now();
      else if (performance.now() > deadline) throw new Error(`/ready still ${res.status} 10 s after the last ACK`);
    }
    const mem = memoryKiB(pid);
    const lj = (await (await fetch(`http://${admin}/listeners?format=json`)).json()) as { listener_statuses?: { name: string; local_address?: { socket_address?: { port_value?: number } } }[] };
    const port = lj.listener_statuses?.find((l) => l.name === 'ingress')?.local_address?.socket_address?.port_value;
    if (!port) throw new Error('listener "ingress" is not bound');
    const last = await get(port, LAST_HOST, LAST_PATH);
    const miss = await get(port, 'nope.bench', LAST_PATH);
    if (last.status !== 200 || miss.status !== 404) throw new Error(`sanity: ${LAST_HOST}${LAST_PATH} → ${last.status}, unknown host → ${miss.status} (want 200, 404)`);
    const clusters = await (await fetch(`http://${admin}/clusters`)).text();
    if (!clusters.includes(`${LAST_CLUSTER}::127.0.0.1:${upstreamPort}::rq_total::1\n`)) throw new Error(`sanity: ${LAST_CLUSTER} did not count the request in /clusters`);

    server.set(TYPE_URL.routeConfiguration, 'r2', routesChanged);
    const upd = server.sent.get(TYPE_URL.routeConfiguration)!;
    await server.waitFor(() => upd.ackedAt !== null, 10_000, 'the RDS r2 ACK');
    const changed = await get(port, LAST_HOST, LAST_PATH);
    if (changed.body !== 'changed') throw new Error(`after the route change ${LAST_HOST}${LAST_PATH} → ${changed.status} ${changed.body.slice(0, 100)}`);
    const after = memoryKiB(pid);

    const rssOk = (kib: number) => kib * 1024 < 150e6;
    return {
      rows: [
        { measure: `sidecar: first LDS/CDS response → all 4 types ACKed (${CLUSTERS} EDS clusters, ${VHOSTS * ROUTES_PER_VHOST} routes)`, value: ms(lastAck - t0), target: '< 1 s', ok: lastAck - t0 < 1000 },
        { measure: 'sidecar: first response → /ready 200', value: ms(readyAt - t0), target: '', ok: null },
        { measure: 'sidecar: one route changed (RDS r2, SotW) → ACK', value: ms(upd.ackedAt! - upd.sentAt), target: '', ok: null },
        { measure: 'sidecar RSS (VmRSS) once ready', value: mib(mem.rss), target: '< 150 MB', ok: rssOk(mem.rss) },
        { measure: 'sidecar RSS peak (VmHWM) after the route change', value: mib(after.hwm), target: '< 150 MB', ok: rssOk(after.hwm) },
      ],
      notes: [
        `sidecar, per type from the first response: ${perType}; RDS response ${(rdsBytes / 1024).toFixed(0)} KiB; encoding all resources in the bench took ${ms(encodeMs)} (not timed)`,
        `sanity: ${LAST_HOST}${LAST_PATH} (last route of the table) → 200 through cluster ${LAST_CLUSTER} (its rq_total in /clusters), unknown host → 404, and the changed route answers after its ACK`,
      ],
    };
  } finally {
    await proc.stop();
    server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
