// Tests parseConfigText: YAML and JSON parsing with file:line error messages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/model/parse-config-text.ts';

interface ParseCase {
  readonly name: string;
  readonly text: string;
  readonly file?: string;
  readonly expect?: unknown;
  readonly errorContains?: readonly string[];
}

const cases: readonly ParseCase[] = [
  { name: 'YAML mapping', text: 'admin:\n  address: {socket_address: {address: 127.0.0.1, port_value: 9901}}\n', expect: { admin: { address: { socket_address: { address: '127.0.0.1', port_value: 9901 } } } } },
  { name: 'YAML keeps durations as strings', text: 'connect_timeout: 0.25s\n', expect: { connect_timeout: '0.25s' } },
  { name: 'YAML quoted "@type" and "*"', text: '"@type": x\ndomains: ["*"]\n', expect: { '@type': 'x', domains: ['*'] } },
  { name: 'YAML anchors and merge keys', text: 'a: &x {k: 1}\nb:\n  <<: *x\n  j: 2\n', expect: { a: { k: 1 }, b: { k: 1, j: 2 } } },
  { name: 'JSON text in a .yaml file', text: '{"a": [1, 2]}', expect: { a: [1, 2] } },
  { name: 'JSON file', text: '{\n  "a": true\n}\n', file: 'envoy.json', expect: { a: true } },
  { name: 'empty YAML is null', text: '', expect: null },
  { name: 'YAML syntax error has file and line', text: 'a: 1\nb: [1, 2\nc: 3\n', errorContains: ['envoy.yaml:', 'invalid YAML'] },
  { name: 'YAML bad indentation has the line', text: 'static_resources:\n  listeners:\n  - name: a\n   address: x\n', errorContains: ['envoy.yaml:4:'] },
  { name: 'YAML duplicate key is an error', text: 'a: 1\na: 2\n', errorContains: ['envoy.yaml:2:', 'invalid YAML'] },
  { name: 'several YAML documents', text: 'a: 1\n---\nb: 2\n', errorContains: ['envoy.yaml:2:', 'single YAML document'] },
  { name: 'JSON syntax error has the line', text: '{\n  "a": 1,\n  "b": }\n', file: 'envoy.json', errorContains: ['envoy.json:3:', 'invalid JSON'] },
];

describe('parseConfigText', () => {
  for (const c of cases) {
    test(c.name, () => {
      const r = parseConfigText(c.text, c.file ?? 'envoy.yaml');
      if (c.errorContains) {
        assert.equal(r.ok, false, 'expected a parse error');
        if (!r.ok) for (const f of c.errorContains) assert.ok(r.error.includes(f), `${JSON.stringify(r.error)} should contain ${JSON.stringify(f)}`);
      } else {
        assert.equal(r.ok, true, r.ok ? '' : r.error);
        if (r.ok) assert.deepEqual(r.value, c.expect);
      }
    });
  }

  test('YAML error message is one line naming the position', () => {
    const r = parseConfigText('key: "unterminated\n', 'boot.yaml');
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.match(r.error, /^boot\.yaml:\d+:\d+: invalid YAML: /);
      assert.ok(!r.error.includes('\n'));
    }
  });
});
