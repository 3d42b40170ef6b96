// Builders and assertions shared by the model compiler tests (Envoy resources as proto3-JSON objects).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DataSourceReader, formatConfigError } from '../../src/model/compile-bootstrap.ts';
import type { CompileResult } from '../../src/model/types.ts';

export type Json = Record<string, unknown>;

export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
export const DOWNSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const UPSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const HTTP_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
export const HTTP_OPTIONS_TYPE = `type.googleapis.com/${HTTP_OPTIONS_KEY}`;

export const CERT_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
export const KEY_PEM = '-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----\n';
export const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n';

/** A DataSourceReader over an in-memory file table. */
export function fakeIo(files: Readonly<Record<string, string>> = {}): DataSourceReader {
  return {
    readFile(path: string): string {
      const content = files[path];
      if (content === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return content;
    },
  };
}

export const io = fakeIo({
  '/certs/server.pem': CERT_PEM,
  '/certs/server.key': KEY_PEM,
  '/certs/ca.pem': CA_PEM,
  '/www/maintenance.html': '<h1>down for maintenance</h1>',
  '/formats/log.txt': '[%START_TIME%] %REQ(:PATH)%\n',
});

export const router: Json = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };

export function routeTo(cluster: string, prefix = '/'): Json {
  return { match: { prefix }, route: { cluster } };
}

export function virtualHost(routes: unknown[], extra: Json = {}): Json {
  return { name: 'vh', domains: ['*'], routes, ...extra };
}

export function routeConfig(routes: unknown[], vhostExtra: Json = {}, extra: Json = {}): Json {
  return { name: 'local_route', virtual_hosts: [virtualHost(routes, vhostExtra)], ...extra };
}

/** An HttpConnectionManager typed_config routing everything to cluster "backend". */
export function hcm(extra: Json = {}): Json {
  return {
    '@type': HCM_TYPE,
    stat_prefix: 'ingress_http',
    route_config: routeConfig([routeTo('backend')]),
    http_filters: [router],
    ...extra,
  };
}

export function tcpProxy(extra: Json = {}): Json {
  return { '@type': TCP_PROXY_TYPE, stat_prefix: 'tcp', cluster: 'backend', ...extra };
}

export function socketAddress(address: string, port: number): Json {
  return { socket_address: { address, port_value: port } };
}

/** A listener named "ingress" on 0.0.0.0:8080 with one filter chain holding `typedConfig` (HCM by default). */
export function listener(typedConfig: Json = hcm(), extra: Json = {}, chainExtra: Json = {}): Json {
  const filterName = typedConfig['@type'] === TCP_PROXY_TYPE ? 'envoy.filters.network.tcp_proxy' : 'envoy.filters.network.http_connection_manager';
  return {
    name: 'ingress',
    address: socketAddress('0.0.0.0', 8080),
    filter_chains: [{ filters: [{ name: filterName, typed_config: typedConfig }], ...chainExtra }],
    ...extra,
  };
}

export function endpoint(address: string, port: number, extra: Json = {}): Json {
  return { endpoint: { address: socketAddress(address, port) }, ...extra };
}

/** A STATIC cluster with one endpoint 127.0.0.1:9000. */
export function cluster(name = 'backend', extra: Json = {}): Json {
  return {
    name,
    type: 'STATIC',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [endpoint('127.0.0.1', 9000)] }] },
    ...extra,
  };
}

export function bootstrap(listeners: unknown[] = [listener()], clusters: unknown[] = [cluster()], extra: Json = {}): Json {
  return { static_resources: { listeners, clusters }, ...extra };
}

export function errorLines(r: CompileResult<unknown>): string[] {
  return r.ok ? [] : r.errors.map(formatConfigError);
}

export function warningLines(r: CompileResult<unknown>): string[] {
  return r.warnings.map(formatConfigError);
}

/** The compiled value; fails the test with every error line otherwise. */
export function valueOf<T>(r: CompileResult<T>): T {
  if (!r.ok) assert.fail(`expected the config to compile, got:\n  ${errorLines(r).join('\n  ')}`);
  return r.value;
}

export function assertHasError(r: CompileResult<unknown>, ...fragments: string[]): void {
  const lines = errorLines(r);
  assert.equal(r.ok, false, 'expected a compile error');
  for (const f of fragments) {
    assert.ok(lines.some((l) => l.includes(f)), `expected an error containing ${JSON.stringify(f)}, got:\n  ${lines.join('\n  ')}`);
  }
}

export interface Case<I, V> {
  readonly name: string;
  readonly input: I;
  /** Checks on the compiled value (and its warnings). */
  readonly expect?: (value: V, warnings: string[]) => void;
  /** Every fragment must appear in some formatted error line. */
  readonly errorContains?: string | readonly string[];
  /** Every fragment must appear in some formatted warning line. */
  readonly warningContains?: string | readonly string[];
}

/** Runs a table of cases through `compile` as one describe block. */
export function runCases<I, V>(title: string, cases: readonly Case<I, V>[], compile: (input: I) => CompileResult<V>): void {
  describe(title, () => {
    for (const c of cases) {
      test(c.name, () => {
        const r = compile(c.input);
        if (c.errorContains !== undefined) {
          assertHasError(r, ...(typeof c.errorContains === 'string' ? [c.errorContains] : c.errorContains));
        } else {
          const value = valueOf(r);
          c.expect?.(value, warningLines(r));
        }
        if (c.warningContains !== undefined) {
          const lines = warningLines(r);
          for (const f of typeof c.warningContains === 'string' ? [c.warningContains] : c.warningContains) {
            assert.ok(lines.some((l) => l.includes(f)), `expected a warning containing ${JSON.stringify(f)}, got:\n  ${lines.join('\n  ')}`);
          }
        }
      });
    }
  });
}
