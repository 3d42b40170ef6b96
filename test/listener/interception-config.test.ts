// Config validation for interception: listener handoff fields, listener filters, ORIGINAL_DST clusters — values and clear errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileBootstrap } from '../../src/model/compile-bootstrap.ts';
import { bootstrap, socketAddress, tcpProxy } from '../helpers/bootstrap.ts';
import { listenerFilter } from './engine-fixture.ts';

function compileDoc(listeners: object[], clusters: object[]) {
  return compileBootstrap(bootstrap(listeners, clusters), { readFile: () => { throw new Error('no files'); } });
}

const passthrough = { name: 'passthrough', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '1s' };

function tcpListener(extra: Record<string, unknown>): object {
  return { name: 'l', address: socketAddress(15001, '0.0.0.0'), filter_chains: [{ filters: [tcpProxy('passthrough')] }], ...extra };
}

function errorsOf(r: ReturnType<typeof compileDoc>): string[] {
  return r.ok ? [] : r.errors.map((e) => `${e.resource}: ${e.field}: ${e.message}`);
}

test('listener interception fields compile with Envoy defaults', () => {
  const r = compileDoc([
    tcpListener({ use_original_dst: true, listener_filters: [listenerFilter('originalDst')] }),
    { ...tcpListener({ bind_to_port: false, listener_filters_timeout: '0.1s', continue_on_listener_filters_timeout: true,
      listener_filters: [listenerFilter('tls'), listenerFilter('http')] }), name: 'v', address: socketAddress(8080, '0.0.0.0') },
  ], [passthrough]);
  assert.ok(r.ok, errorsOf(r).join('\n'));
  const [capture, virtual] = r.value.listeners;
  assert.equal(capture.useOriginalDst, true);
  assert.equal(capture.bindToPort, undefined);
  assert.equal(capture.listenerFiltersTimeoutMs, undefined);
  assert.deepEqual(capture.listenerFilters, ['envoy.filters.listener.original_dst']);
  assert.equal(virtual.bindToPort, false);
  assert.equal(virtual.listenerFiltersTimeoutMs, 100);
  assert.equal(virtual.continueOnListenerFiltersTimeout, true);
  assert.deepEqual(virtual.listenerFilters, ['envoy.filters.listener.tls_inspector', 'envoy.filters.listener.http_inspector']);
});

test('listener filters by name alone (no typed_config) are accepted', () => {
  const r = compileDoc([tcpListener({ listener_filters: [{ name: 'envoy.filters.listener.http_inspector' }, { name: 'envoy.filters.listener.original_dst' }] })], [passthrough]);
  assert.ok(r.ok, errorsOf(r).join('\n'));
});

test('an unknown listener filter is an error naming it', () => {
  const r = compileDoc([tcpListener({ listener_filters: [{ name: 'envoy.filters.listener.proxy_protocol', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol' } }] })], [passthrough]);
  assert.equal(r.ok, false);
  assert.match(errorsOf(r).join('\n'), /listener_filters\[0\]: unsupported listener filter envoy\.filters\.listener\.proxy_protocol .*supported: envoy\.filters\.listener\.tls_inspector/);
});

test('ORIGINAL_DST cluster: original_dst_lb_config and cleanup_interval compile', () => {
  const r = compileDoc([tcpListener({})], [{ ...passthrough, cleanup_interval: '2s',
    original_dst_lb_config: { use_http_header: true, http_header_name: 'X-Dst', upstream_port_override: 8443 } }]);
  assert.ok(r.ok, errorsOf(r).join('\n'));
  assert.deepEqual(r.value.clusters.get('passthrough')!.originalDst,
    { useHttpHeader: true, httpHeaderName: 'x-dst', upstreamPortOverride: 8443, cleanupIntervalMs: 2000 });
});

test('ORIGINAL_DST cluster errors: load_assignment, another lb_policy, metadata_key, bad header name, zero cleanup_interval', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ load_assignment: { cluster_name: 'passthrough', endpoints: [] } }, /load_assignment: ORIGINAL_DST clusters must not have a load_assignment/],
    [{ lb_policy: 'ROUND_ROBIN' }, /lb_policy: ROUND_ROBIN is not valid for cluster type ORIGINAL_DST; only CLUSTER_PROVIDED/],
    [{ original_dst_lb_config: { metadata_key: { key: 'k', path: [{ key: 'p' }] } } }, /metadata_key: metadata_key is not supported yet/],
    [{ original_dst_lb_config: { use_http_header: true, http_header_name: 'bad header' } }, /http_header_name: is not a valid HTTP header name/],
    [{ cleanup_interval: '0s' }, /cleanup_interval: must be greater than 0/],
  ];
  for (const [extra, want] of cases) {
    const r = compileDoc([tcpListener({})], [{ ...passthrough, ...extra }]);
    assert.equal(r.ok, false, JSON.stringify(extra));
    assert.match(errorsOf(r).join('\n'), want);
  }
});

test('original_dst_lb_config on a STATIC cluster is a warning, not an error', () => {
  const r = compileDoc([tcpListener({})], [passthrough, {
    name: 's', type: 'STATIC', connect_timeout: '1s', original_dst_lb_config: { use_http_header: true },
    load_assignment: { cluster_name: 's', endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(80) } }] }] },
  }]);
  assert.ok(r.ok, errorsOf(r).join('\n'));
  assert.ok(r.warnings.some((w) => w.field.endsWith('original_dst_lb_config') && /only ORIGINAL_DST/.test(w.message)));
});
