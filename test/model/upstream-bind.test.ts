// Tests Cluster.upstream_bind_config compilation: source_address must be an IP with port 0; other BindConfig fields are refused.
import assert from 'node:assert/strict';
import { compileCluster } from '../../src/model/compile-bootstrap.ts';
import type { ClusterConfig } from '../../src/model/types.ts';
import { type Case, type Json, cluster, io, runCases } from './fixtures.ts';

const C = 'cluster "backend"';
const bind = (b: Json): Json => cluster('backend', { upstream_bind_config: b });

const cases: readonly Case<Json, ClusterConfig>[] = [
  { name: 'absent: no bind address', input: cluster(), expect: (c) => assert.equal('upstreamBindAddress' in c, false) },
  { name: 'IPv4 source address (Istio inbound passthrough)', input: bind({ source_address: { address: '127.0.0.6', port_value: 0 } }), expect: (c) => assert.equal(c.upstreamBindAddress, '127.0.0.6') },
  { name: 'port_value omitted means 0', input: bind({ source_address: { address: '10.1.2.3' } }), expect: (c) => assert.equal(c.upstreamBindAddress, '10.1.2.3') },
  { name: 'IPv6 source address', input: bind({ source_address: { address: '::6', port_value: 0 } }), expect: (c) => assert.equal(c.upstreamBindAddress, '::6') },
  { name: 'camelCase from a control plane', input: cluster('backend', { upstreamBindConfig: { sourceAddress: { address: '127.0.0.6', portValue: 0 } } }), expect: (c) => assert.equal(c.upstreamBindAddress, '127.0.0.6') },
  { name: 'ORIGINAL_DST with a bind address', input: { name: 'backend', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } } }, expect: (c) => assert.deepEqual([c.type, c.upstreamBindAddress], ['ORIGINAL_DST', '127.0.0.6']) },
  { name: 'hostname is not an IP', input: bind({ source_address: { address: 'localhost', port_value: 0 } }), errorContains: `${C}: upstream_bind_config.source_address.address: "localhost" is not an IP address` },
  { name: 'empty address', input: bind({ source_address: { address: '', port_value: 0 } }), errorContains: `${C}: upstream_bind_config.source_address.address: must not be empty` },
  { name: 'missing address', input: bind({ source_address: { port_value: 0 } }), errorContains: `${C}: upstream_bind_config.source_address.address: is required` },
  { name: 'missing source_address', input: bind({}), errorContains: `${C}: upstream_bind_config.source_address: is required` },
  { name: 'fixed source port', input: bind({ source_address: { address: '127.0.0.6', port_value: 4000 } }), errorContains: `${C}: upstream_bind_config.source_address.port_value: must be 0` },
  { name: 'port out of range', input: bind({ source_address: { address: '127.0.0.6', port_value: 70000 } }), errorContains: `${C}: upstream_bind_config.source_address.port_value` },
  { name: 'freebind not supported', input: bind({ source_address: { address: '127.0.0.6' }, freebind: true }), errorContains: `${C}: upstream_bind_config.freebind` },
  { name: 'freebind false accepted', input: bind({ source_address: { address: '127.0.0.6' }, freebind: false }), expect: (c) => assert.equal(c.upstreamBindAddress, '127.0.0.6') },
  { name: 'extra_source_addresses not supported', input: bind({ source_address: { address: '127.0.0.6' }, extra_source_addresses: [{ address: { address: '::6', port_value: 0 } }] }), errorContains: `${C}: upstream_bind_config.extra_source_addresses` },
  { name: 'unknown field', input: bind({ source_address: { address: '127.0.0.6' }, bogus: 1 }), errorContains: `${C}: upstream_bind_config.bogus` },
];

runCases('Cluster.upstream_bind_config', cases, (json) => compileCluster(json, io));
