// Tests the field-table mechanism: unknown, unsupported, ignored and warned fields; camelCase names; null values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompileContext } from '../../src/model/compile-context.ts';
import { type MessageTable, Msg } from '../../src/model/proto-message.ts';

const TABLE: MessageTable = {
  message: 'test.Message',
  fields: {
    port_value: 'ok',
    stat_prefix: 'ignore',
    layered_runtime: 'warn',
    outlier_detection: 'unsupported',
    protocol: { unsupportedUnless: ['TCP'] },
  },
};

function open(value: unknown): { ctx: CompileContext; m: Msg | null } {
  const ctx = new CompileContext('cluster "c"', null);
  return { ctx, m: Msg.open(ctx, 'a.b', value, TABLE) };
}

test('known, ignored and camelCase fields', () => {
  const { ctx, m } = open({ portValue: 1, stat_prefix: 'x' });
  assert.deepEqual(ctx.errors, []);
  assert.equal(m?.get('port_value'), 1);
  assert.equal(m?.has('stat_prefix'), false, 'ignored fields are not exposed');
});

test('unknown field', () => {
  const { ctx } = open({ port: 1 });
  assert.deepEqual(ctx.errors, [{ resource: 'cluster "c"', field: 'a.b.port', message: 'unknown field "port" in test.Message' }]);
});

test('unsupported field: error when set, fine when default', () => {
  assert.deepEqual(open({ outlier_detection: {} }).ctx.errors, [
    { resource: 'cluster "c"', field: 'a.b.outlier_detection', message: 'outlier_detection is not supported yet' },
  ]);
  assert.deepEqual(open({ outlier_detection: null }).ctx.errors, []);
  assert.deepEqual(open({ protocol: 'tcp' }).ctx.errors, []);
  assert.equal(open({ protocol: 'UDP' }).ctx.errors.length, 1);
});

test('warned field', () => {
  const { ctx } = open({ layered_runtime: { layers: [] } });
  assert.deepEqual(ctx.errors, []);
  assert.deepEqual(ctx.warnings, [{ resource: 'cluster "c"', field: 'a.b.layered_runtime', message: 'is ignored (not supported yet)' }]);
});

test('a field given in both spellings', () => {
  const { ctx } = open({ port_value: 1, portValue: 2 });
  assert.equal(ctx.errors[0]?.field, 'a.b.port_value');
});

test('not an object', () => {
  const { ctx, m } = open('text');
  assert.equal(m, null);
  assert.deepEqual(ctx.errors, [{ resource: 'cluster "c"', field: 'a.b', message: 'expected an object (test.Message), got string "text"' }]);
});

test('camelCase names with digits map back to proto names', () => {
  const ctx = new CompileContext('x', null);
  const m = Msg.open(ctx, '', { acceptHttp10: true, http2ProtocolOptions: {} }, {
    message: 'm',
    fields: { accept_http_10: 'unsupported', http2_protocol_options: 'ok' },
  });
  assert.deepEqual(ctx.errors.map((e) => e.field), ['accept_http_10']);
  assert.equal(m?.has('http2_protocol_options'), true);
});

test('keys that are Object.prototype names are unknown fields, not crashes', () => {
  const { ctx } = open({ constructor: 1, toString: 2 });
  assert.deepEqual(ctx.errors.map((e) => e.field), ['a.b.constructor', 'a.b.toString']);
});
