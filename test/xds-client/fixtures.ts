// Builders for xDS tests: bootstraps pointing at the fake control plane, LDS/RDS/CDS/EDS resources, a recording engine.
import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import { compileBootstrap } from '../../src/model/compile-bootstrap.ts';
import type { Snapshot } from '../../src/model/types.ts';
import type { BoundListener, ProxyEngine } from '../../src/server/types.ts';
import { TYPE_URL } from '../../src/xds/protos.ts';
import { startXdsSource, type XdsSource, type XdsSourceOptions } from '../../src/xds/xds-source.ts';
import { HCM_TYPE, HTTP_PROTOCOL_OPTIONS_TYPE, routerFilter, socketAddress, staticCluster } from '../helpers/bootstrap.ts';
import { withTimeout } from '../helpers/wait.ts';
import type { FakeControlPlane } from './fake-control-plane.ts';

export const LDS = TYPE_URL.listener;
export const RDS = TYPE_URL.routeConfiguration;
export const CDS = TYPE_URL.cluster;
export const EDS = TYPE_URL.clusterLoadAssignment;

type Json = Record<string, unknown>;

export const ADS = { ads: {}, resource_api_version: 'V3' };

export interface XdsBootstrapOptions {
  apiType?: 'GRPC' | 'DELTA_GRPC';
  initialFetchTimeout?: string;
  listeners?: object[];
  clusters?: object[];
}

/** A bootstrap whose static xds_cluster points at the control plane, with LDS and CDS over ADS. */
export function xdsBootstrap(cpPort: number, o: XdsBootstrapOptions = {}): Json {
  const source = { ...ADS, ...(o.initialFetchTimeout ? { initial_fetch_timeout: o.initialFetchTimeout } : {}) };
  return {
    node: { id: 'sidecar-1', cluster: 'payments', metadata: { team: 'mesh', canary: true } },
    static_resources: {
      listeners: o.listeners ?? [],
      clusters: [
        staticCluster('xds_cluster', [cpPort], {
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': HTTP_PROTOCOL_OPTIONS_TYPE, explicit_http_config: { http2_protocol_options: {} } },
          },
        }),
        ...(o.clusters ?? []),
      ],
    },
    dynamic_resources: {
      ads_config: { api_type: o.apiType ?? 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }] },
      lds_config: source,
      cds_config: source,
    },
  };
}

/** A listener on 127.0.0.1:0 whose HTTP connection manager takes route configuration `routeName` from RDS. */
export function rdsListener(name: string, routeName: string, port = 0): Json {
  return {
    name,
    address: socketAddress(port),
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': HCM_TYPE,
          stat_prefix: name,
          rds: { config_source: ADS, route_config_name: routeName },
          http_filters: [routerFilter],
        },
      }],
    }],
  };
}

/** A route configuration sending everything to `cluster` (or answering `direct` with status 200 and that body). */
export function routeConfig(name: string, target: { cluster: string } | { direct: string }, regex?: string): Json {
  const match = regex === undefined ? { prefix: '/' } : { safe_regex: { regex } };
  const action = 'cluster' in target ? { route: { cluster: target.cluster } } : { direct_response: { status: 200, body: { inline_string: target.direct } } };
  return { name, virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match, ...action }] }] };
}

export function edsCluster(name: string, serviceName?: string): Json {
  return {
    name,
    type: 'EDS',
    connect_timeout: '1s',
    eds_cluster_config: { eds_config: ADS, ...(serviceName ? { service_name: serviceName } : {}) },
  };
}

export function cla(name: string, ports: number[]): Json {
  return {
    cluster_name: name,
    endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: socketAddress(port) } })) }],
  };
}

/** An engine double that records every snapshot applied (protocol tests need no sockets of their own). */
export class RecordingEngine implements ProxyEngine {
  readonly applied: Snapshot[] = [];
  readonly events = new EventEmitter();
  /** The next apply() rejects with this error. */
  failNext: Error | null = null;

  async apply(snapshot: Snapshot): Promise<void> {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = null;
      throw err;
    }
    this.applied.push(snapshot);
    this.events.emit('apply', snapshot);
  }
  current(): Snapshot | null { return this.applied.at(-1) ?? null; }
  listeners(): readonly BoundListener[] { return []; }
  clusters() { return []; }
  async stopListening(): Promise<void> {}
  async drainListeners(): Promise<void> {}
  async drain(): Promise<void> {}
  inflight(): number { return 0; }

  /** The snapshot in force if it satisfies `pred`, else the first one applied later that does. */
  waitFor(pred: (s: Snapshot) => boolean, what = 'a snapshot'): Promise<Snapshot> {
    const now = this.current();
    if (now && pred(now)) return Promise.resolve(now);
    return withTimeout(new Promise<Snapshot>((resolve) => {
      const on = (s: Snapshot): void => { if (pred(s)) { this.events.off('apply', on); resolve(s); } };
      this.events.on('apply', on);
    }), 10_000, what);
  }
}

export function listenerNames(s: Snapshot | null): string[] {
  return (s?.listeners ?? []).map((l) => l.name);
}

export function clusterNames(s: Snapshot | null): string[] {
  return [...(s?.clusters.keys() ?? [])];
}

export function testLogger(): Logger {
  return pino({ level: process.env.XDS_TEST_LOG ?? 'silent' });
}

export function compileStatic(doc: Json): Snapshot {
  const r = compileBootstrap(doc, { readFile: () => { throw new Error('no files in tests'); } });
  if (!r.ok) throw new Error(`bootstrap does not compile: ${r.errors.map((e) => `${e.resource}: ${e.field}: ${e.message}`).join('; ')}`);
  return r.value;
}

/** Starts an xDS source against the control plane with a recording engine and a short backoff. */
export async function startSource(cp: FakeControlPlane, o: XdsBootstrapOptions & Partial<XdsSourceOptions> = {}): Promise<{ source: XdsSource; engine: RecordingEngine }> {
  const engine = new RecordingEngine();
  const doc = (o.bootstrap as Json | undefined) ?? xdsBootstrap(cp.port, o);
  const source = await startXdsSource({
    bootstrap: doc,
    staticSnapshot: compileStatic(doc),
    engine: (o.engine as RecordingEngine | undefined) ?? engine,
    logger: testLogger(),
    backoff: o.backoff ?? { initialMs: 20, maxMs: 200 },
    ...(o.initialFetchTimeoutMs !== undefined ? { initialFetchTimeoutMs: o.initialFetchTimeoutMs } : {}),
    ...(o.routeRetentionMs !== undefined ? { routeRetentionMs: o.routeRetentionMs } : {}),
  });
  return { source, engine };
}
