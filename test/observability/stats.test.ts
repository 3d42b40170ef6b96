// Tests of StatsRegistry: cached handles, Prometheus text format (parsed back line by line), dotted names, JSON merge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatsRegistry, envoyDottedName } from '../../src/observability/stats.ts';

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Parsed { help: Map<string, string>; type: Map<string, string>; samples: Sample[] }

/** A strict parser of the text exposition format 0.0.4 (throws on any malformed line). */
function parsePrometheus(text: string): Parsed {
  assert.ok(text.endsWith('\n'), 'exposition ends with a newline');
  const out: Parsed = { help: new Map(), type: new Map(), samples: [] };
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) { assert.ok(!out.help.has(m[1]), `one HELP for ${m[1]}`); out.help.set(m[1], m[2]); continue; }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) { assert.ok(!out.type.has(m[1]), `one TYPE for ${m[1]}`); out.type.set(m[1], m[2]); continue; }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    assert.ok(m, `sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const body = m[2].slice(1, -1);
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\["\\n])*)"(,|$)/y;
      let pos = 0;
      while (pos < body.length) {
        re.lastIndex = pos;
        const lm = re.exec(body);
        assert.ok(lm, `label syntax in ${line}`);
        labels[lm[1]] = lm[2].replace(/\\(["\\n])/g, (_s, c: string) => (c === 'n' ? '\n' : c));
        pos = re.lastIndex;
      }
    }
    const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(v) || m[3] === 'NaN', `value of ${line}`);
    out.samples.push({ name: m[1], labels, value: v });
  }
  return out;
}

function sample(p: Parsed, name: string, labels: Record<string, string>): number | undefined {
  return p.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()))?.value;
}

test('handles are cached by name and labels regardless of label order', () => {
  const r = new StatsRegistry();
  const a = r.counter('envoy_cluster_upstream_rq_total', { envoy_cluster_name: 'x', b: '1' });
  const b = r.counter('envoy_cluster_upstream_rq_total', { b: '1', envoy_cluster_name: 'x' });
  assert.equal(a, b);
  a.inc();
  b.inc(2);
  assert.equal(a.value, 3);
  assert.notEqual(r.counter('envoy_cluster_upstream_rq_total', { envoy_cluster_name: 'y' }), a);
  assert.throws(() => r.gauge('envoy_cluster_upstream_rq_total'), /is a counter/);
  assert.throws(() => r.counter('bad name'), /invalid stat name/);
});

test('prometheus output has HELP/TYPE once per family, escaped labels and valid histograms', () => {
  const r = new StatsRegistry();
  r.counter('envoy_cluster_upstream_rq_total', { envoy_cluster_name: 'a"b\\c\nd' }).inc(5);
  r.counter('envoy_cluster_upstream_rq_total', { envoy_cluster_name: 'plain' }).inc();
  const g = r.gauge('envoy_http_downstream_rq_active', { envoy_http_conn_manager_prefix: 'ingress_http' });
  g.inc(3);
  g.dec();
  const h = r.histogram('envoy_cluster_upstream_rq_time', { envoy_cluster_name: 'plain' }, [1, 10, 100]);
  for (const v of [0.5, 1, 5, 50, 500, 5000]) h.record(v);
  r.counter('envoy_http_downstream_rq_xx', { envoy_response_code_class: '2', envoy_http_conn_manager_prefix: 'ingress_http' }).inc(7);

  const p = parsePrometheus(r.renderPrometheus());
  assert.equal(p.type.get('envoy_cluster_upstream_rq_total'), 'counter');
  assert.equal(p.type.get('envoy_http_downstream_rq_active'), 'gauge');
  assert.equal(p.type.get('envoy_cluster_upstream_rq_time'), 'histogram');
  for (const name of p.type.keys()) assert.ok(p.help.has(name), `HELP for ${name}`);
  assert.equal(sample(p, 'envoy_cluster_upstream_rq_total', { envoy_cluster_name: 'a"b\\c\nd' }), 5);
  assert.equal(sample(p, 'envoy_cluster_upstream_rq_total', { envoy_cluster_name: 'plain' }), 1);
  assert.equal(sample(p, 'envoy_http_downstream_rq_active', { envoy_http_conn_manager_prefix: 'ingress_http' }), 2);
  assert.equal(sample(p, 'envoy_http_downstream_rq_xx', { envoy_response_code_class: '2', envoy_http_conn_manager_prefix: 'ingress_http' }), 7);

  const l = { envoy_cluster_name: 'plain' };
  assert.equal(sample(p, 'envoy_cluster_upstream_rq_time_bucket', { ...l, le: '1' }), 2);
  assert.equal(sample(p, 'envoy_cluster_upstream_rq_time_bucket', { ...l, le: '10' }), 3);
  assert.equal(sample(p, 'envoy_cluster_upstream_rq_time_bucket', { ...l, le: '100' }), 4);
  assert.equal(sample(p, 'envoy_cluster_upstream_rq_time_bucket', { ...l, le: '+Inf' }), 6);
  assert.equal(sample(p, 'envoy_cluster_upstream_rq_time_count', l), 6);
  assert.equal(sample(p, 'envoy_cluster_upstream_rq_time_sum', l), 5556.5);
  // Buckets are cumulative and non-decreasing.
  const buckets = p.samples.filter((s) => s.name === 'envoy_cluster_upstream_rq_time_bucket').map((s) => s.value);
  assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b));
  // Every sample belongs to a declared family (histogram suffixes included).
  for (const s of p.samples) assert.ok(p.type.has(s.name.replace(/_(bucket|sum|count)$/, '')) || p.type.has(s.name), s.name);
});

test('an empty registry renders nothing', () => {
  assert.equal(new StatsRegistry().renderPrometheus(), '');
});

test('toJSON/mergeFrom sums counters and histograms, sums gauges except per-process ones', () => {
  const workers = [new StatsRegistry(), new StatsRegistry()];
  workers.forEach((w, i) => {
    w.counter('envoy_cluster_upstream_rq_total', { envoy_cluster_name: 'b' }).inc(10 + i);
    w.gauge('envoy_http_downstream_cx_active', { envoy_http_conn_manager_prefix: 'in' }).set(2);
    w.gauge('envoy_server_uptime').set(100 + i);
    w.histogram('envoy_http_downstream_rq_time', { envoy_http_conn_manager_prefix: 'in' }).record(3);
  });
  const primary = new StatsRegistry();
  for (const w of workers) primary.mergeFrom(JSON.parse(JSON.stringify(w.toJSON())));
  assert.equal(primary.counter('envoy_cluster_upstream_rq_total', { envoy_cluster_name: 'b' }).value, 21);
  assert.equal(primary.gauge('envoy_http_downstream_cx_active', { envoy_http_conn_manager_prefix: 'in' }).value, 4);
  assert.equal(primary.gauge('envoy_server_uptime').value, 101);
  const p = parsePrometheus(primary.renderPrometheus());
  assert.equal(sample(p, 'envoy_http_downstream_rq_time_count', { envoy_http_conn_manager_prefix: 'in' }), 2);
  assert.equal(sample(p, 'envoy_http_downstream_rq_time_bucket', { envoy_http_conn_manager_prefix: 'in', le: '5' }), 2);
});

test('Envoy dotted names are rebuilt from tags', () => {
  assert.equal(envoyDottedName('envoy_cluster_upstream_rq_total', { envoy_cluster_name: 'backend' }), 'cluster.backend.upstream_rq_total');
  assert.equal(
    envoyDottedName('envoy_http_downstream_rq_xx', { envoy_http_conn_manager_prefix: 'ingress_http', envoy_response_code_class: '2' }),
    'http.ingress_http.downstream_rq_2xx',
  );
  assert.equal(envoyDottedName('envoy_cluster_upstream_rq', { envoy_cluster_name: 'b', envoy_response_code: '503' }), 'cluster.b.upstream_rq_503');
  assert.equal(envoyDottedName('envoy_server_live', {}), 'server.live');
  assert.equal(envoyDottedName('envoy_cluster_manager_active_clusters', {}), 'cluster_manager.active_clusters');
  assert.equal(envoyDottedName('envoy_listener_downstream_cx_total', { envoy_listener_address: '0.0.0.0_80' }), 'listener.0.0.0.0_80.downstream_cx_total');
  assert.equal(
    envoyDottedName('envoy_cluster_outlier_detection_ejections_active', { envoy_cluster_name: 'b' }),
    'cluster.b.outlier_detection.ejections_active',
  );
  assert.equal(envoyDottedName('envoy_cluster_health_check_attempt', { envoy_cluster_name: 'b' }), 'cluster.b.health_check.attempt');
});

test('entries() lists counters and gauges before histograms, with quantiles', () => {
  const r = new StatsRegistry();
  r.histogram('envoy_cluster_upstream_rq_time', { envoy_cluster_name: 'b' }).record(7);
  r.histogram('envoy_cluster_upstream_cx_connect_ms', { envoy_cluster_name: 'b' });
  r.counter('envoy_cluster_upstream_rq_total', { envoy_cluster_name: 'b' }).inc();
  const e = r.entries();
  assert.equal(e[0].name, 'cluster.b.upstream_rq_total');
  assert.equal(e[0].value, 1);
  const h = e.find((x) => x.name === 'cluster.b.upstream_rq_time');
  assert.match(h?.quantiles ?? '', /^P0\(nan,[\d.]+\) P25/);
  assert.equal(e.find((x) => x.name === 'cluster.b.upstream_cx_connect_ms')?.quantiles, 'No recorded values');
});
