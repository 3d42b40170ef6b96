// Input parsing: multi-document files and directories compile to the mesh model; every error names file, document and field.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadInputs, parseYamlText } from '../../xds/input/load-files.ts';
import { compileMesh, formatInputError } from '../../xds/input/mesh.ts';
import { parseGatewayDuration } from '../../xds/input/duration.ts';
import type { InputError } from '../../xds/input/types.ts';
import { InputDir, service, slice } from './fixtures.ts';

function compile(text: string, file = 'mesh.yaml') {
  const r = parseYamlText(file, text);
  return compileMesh(r.docs, r.errors);
}

function errorsOf(text: string): InputError[] {
  const r = compile(text);
  assert.equal(r.ok, false, 'expected errors');
  return r.ok ? [] : [...r.errors];
}

type Want = { [K in keyof InputError]?: InputError[K] extends string ? string | RegExp : InputError[K] };

function hasError(errs: InputError[], want: Want): void {
  const found = errs.some((e) => Object.entries(want).every(([k, v]: [string, unknown]) => {
    const actual = e[k as keyof InputError];
    return v instanceof RegExp ? v.test(String(actual)) : actual === v;
  }));
  assert.ok(found, `no error like ${JSON.stringify(want, (_k, v) => (v instanceof RegExp ? String(v) : v))} in:\n${errs.map(formatInputError).join('\n')}`);
}

const SVC = service('orders', '[{name: http, port: 8080}, {name: grpc, port: 9090, appProtocol: grpc}]');

describe('input parsing', () => {
  const dirs: InputDir[] = [];
  after(() => dirs.forEach((d) => d.remove()));

  it('compiles every supported kind from a multi-document file', () => {
    const r = compile(`${SVC}${service('orders-v2', '[{port: 8080}]')}${slice('orders', ['10.0.0.1', '10.0.0.2'], 'http', 8081)}
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: orders-split}
spec:
  parentRefs: [{kind: Service, group: "", name: orders, port: 8080}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: X-Canary, value: "yes"}], method: GET}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-a, value: b}], remove: [x-c]}}]
    backendRefs: [{name: orders, port: 8080, weight: 90}, {name: orders-v2, weight: 10}]
    timeouts: {request: 1m30s}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: orders-grpc}
spec:
  parentRefs: [{kind: Service, group: "", name: orders, port: 9090}]
  rules:
  - matches: [{method: {service: shop.Orders, method: Get}}]
    backendRefs: [{name: orders, port: 9090}]
---
apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: orders}
spec:
  targetRef: {kind: Service, name: orders}
  timeout: 3s
  retry: {attempts: 3, perTryTimeout: 500ms, retryOn: [5xx, reset], backoff: {base: 25ms, max: 250ms}, budget: {percent: 20, minRetryConcurrency: 3}}
  circuitBreaker: {maxConnections: 100, maxPendingRequests: 10, maxRequests: 1000, maxRetries: 3}
  outlierDetection: {consecutive5xx: 5, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50}
  loadBalancer: {policy: RING_HASH, hashOn: {header: X-User}}
  mtls: {mode: STRICT}
  authorization: {action: ALLOW, rules: [{from: [{serviceAccounts: [default/frontend]}], to: [{methods: [GET], paths: [/api/*]}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ignored}
`);
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatInputError).join('\n'));
    const m = r.model;
    assert.equal(m.services.size, 2);
    assert.deepEqual(m.services.get('default/orders')!.ports.map((p) => [p.name, p.port, p.targetPort, p.appProtocol]), [['http', 8080, 8080, null], ['grpc', 9090, 9090, 'grpc']]);
    assert.equal(m.endpointSlices.get('default/orders')![0].endpoints.length, 2);
    const http = m.routes.find((x) => x.kind === 'HTTPRoute')!;
    assert.equal(http.kind, 'HTTPRoute');
    if (http.kind === 'HTTPRoute') {
      assert.equal(http.rules[0].requestTimeoutMs, 90_000);
      assert.deepEqual(http.rules[0].matches[0].headers, [{ type: 'Exact', name: 'x-canary', value: 'yes' }]);
      assert.deepEqual(http.rules[0].backendRefs.map((b) => [b.name, b.port, b.weight]), [['orders', 8080, 90], ['orders-v2', null, 10]]);
    }
    const pol = m.policies.get('default/orders')!;
    assert.equal(pol.retry?.attempts, 3);
    assert.deepEqual(pol.retry?.budget, { percent: 20, minRetryConcurrency: 3 });
    assert.deepEqual(pol.loadBalancer, { policy: 'RING_HASH', hashOn: { header: 'x-user' } });
    assert.equal(pol.mtls?.mode, 'STRICT');
    assert.equal(pol.authorization?.[0].rules[0].from[0].serviceAccounts[0], 'default/frontend');
    assert.equal(r.ignored.length, 1);
  });

  it('reads a directory of files and reports YAML syntax errors with file and document', async () => {
    const d = new InputDir();
    dirs.push(d);
    d.write('a.yaml', SVC);
    d.write('b.yml', `${service('pay', '[{port: 80}]')}---\nkind: [unclosed\n`);
    const loaded = await loadInputs([d.dir]);
    assert.equal(loaded.files.length, 2);
    assert.equal(loaded.docs.length, 2);
    assert.equal(loaded.errors.length >= 1, true);
    assert.equal(loaded.errors[0].file.endsWith('b.yml'), true);
    assert.equal(loaded.errors[0].doc, 3);
    assert.match(loaded.errors[0].message, /YAML syntax error/);
    const missing = await loadInputs([`${d.dir}/nope.yaml`]);
    assert.match(missing.errors[0].message, /cannot read input/);
  });

  it('names file, document, kind, resource and field for schema errors', () => {
    const errs = errorsOf(`${SVC}apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad, namespace: default}
spec:
  parentRefs: [{kind: Service, group: "", name: orders}]
  rules:
  - matches: [{path: {type: Prefix, value: /x}}]
    backendRefs: [{name: orders, port: 8080, weight: -1}]
    timeouts: {request: 10 seconds}
    bogus: 1
`);
    hasError(errs, { file: 'mesh.yaml', doc: 2, kind: 'HTTPRoute', name: 'default/bad', field: 'spec.rules[0].matches[0].path.type', message: /one of PathPrefix, Exact, RegularExpression/ });
    hasError(errs, { doc: 2, field: 'spec.rules[0].backendRefs[0].weight', message: /out of range/ });
    hasError(errs, { doc: 2, field: 'spec.rules[0].timeouts.request', message: /invalid duration/ });
    hasError(errs, { doc: 2, field: 'spec.rules[0].bogus', message: /unknown or unsupported field/ });
    const text = formatInputError(errs[0]);
    assert.match(text, /^mesh\.yaml: document 2 \(HTTPRoute default\/bad\): spec\.rules\[0\]/);
  });

  it('checks cross references: backends, parents, sections, policy targets, slices, certificates', () => {
    const errs = errorsOf(`${SVC}apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{kind: Service, group: "", name: ghost}, {name: gw, sectionName: nope}]
  rules:
  - backendRefs: [{name: orders}, {name: orders, port: 1234}, {name: missing, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: pilotfish
  listeners: [{name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: no-such-secret}]}}]
---
apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: p}
spec: {targetRef: {kind: Service, name: nobody}}
---
${slice('ghost', ['10.0.0.9'], 'http', 80)}${slice('orders', ['10.0.0.9'], 'metrics', 80, 'orders-2')}`);
    hasError(errs, { doc: 2, field: 'spec.parentRefs[0].name', message: 'no Service default/ghost' });
    hasError(errs, { doc: 2, field: 'spec.parentRefs[1].sectionName', message: /no listener "nope"/ });
    hasError(errs, { doc: 2, field: 'spec.rules[0].backendRefs[0].port', message: /required: Service default\/orders has 2 ports/ });
    hasError(errs, { doc: 2, field: 'spec.rules[0].backendRefs[1].port', message: /has no port 1234/ });
    hasError(errs, { doc: 2, field: 'spec.rules[0].backendRefs[2].name', message: 'no Service default/missing' });
    hasError(errs, { doc: 3, kind: 'Gateway', field: 'spec.listeners[0].tls.certificateRefs[0]', message: /no Secret default\/no-such-secret/ });
    hasError(errs, { doc: 4, kind: 'TrafficPolicy', field: 'spec.targetRef.name', message: 'no Service default/nobody' });
    hasError(errs, { kind: 'EndpointSlice', name: 'default/ghost-1', field: 'metadata.labels' });
    hasError(errs, { kind: 'EndpointSlice', name: 'default/orders-2', field: 'ports[0].name', message: /no port named "metrics"/ });
  });

  it('rejects duplicates, bad names, wrong apiVersions, unknown kinds in our groups and bad policies', () => {
    const errs = errorsOf(`${SVC}${SVC}apiVersion: v1
kind: Service
metadata: {name: Bad_Name}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1alpha9
kind: HTTPRoute
metadata: {name: x}
---
apiVersion: pilotfish.io/v1alpha1
kind: RetryPolicy
metadata: {name: x}
---
apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: p}
spec:
  targetRef: {kind: Service, name: orders}
  retry: {retryOn: [sometimes], backoff: {base: 0s}}
  loadBalancer: {policy: RING_HASH}
  mtls: {mode: MAYBE}
`);
    hasError(errs, { doc: 2, field: 'metadata.name', message: /duplicate Service default\/orders \(first defined in mesh\.yaml document 1\)/ });
    hasError(errs, { doc: 3, field: 'metadata.name', message: /not a valid DNS label/ });
    hasError(errs, { doc: 4, field: 'apiVersion', message: /HTTPRoute must have apiVersion/ });
    hasError(errs, { doc: 5, field: 'kind', message: /unknown kind "RetryPolicy"/ });
    hasError(errs, { doc: 6, field: 'spec.retry.retryOn[0]', message: /unknown retry condition "sometimes"/ });
    hasError(errs, { doc: 6, field: 'spec.retry.backoff.base', message: /greater than 0/ });
    hasError(errs, { doc: 6, field: 'spec.loadBalancer.hashOn', message: /required with policy RING_HASH/ });
    hasError(errs, { doc: 6, field: 'spec.mtls.mode', message: /STRICT, PERMISSIVE, DISABLE/ });
  });

  it('validates GRPCRoute methods, Gateway listeners and EndpointSlice addresses', () => {
    const errs = errorsOf(`${SVC}apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g}
spec:
  parentRefs: [{kind: Service, group: "", name: orders, port: 9090}]
  rules:
  - matches: [{method: {service: "bad service"}}, {method: {type: RegularExpression, method: "(unclosed"}}, {method: {}}]
    backendRefs: [{name: orders, port: 9090}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: pilotfish
  listeners:
  - {name: a, port: 80, protocol: HTTP}
  - {name: b, port: 80, protocol: HTTPS, tls: {certificateRefs: [{name: s}]}}
  - {name: c, port: 81, protocol: TCP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: e, labels: {kubernetes.io/service-name: orders}}
addressType: IPv4
endpoints: [{addresses: [not-an-ip]}, {addresses: ["::1"]}]
ports: [{name: http, port: 8080}]
`);
    hasError(errs, { doc: 2, field: 'spec.rules[0].matches[0].method.service', message: /not a valid gRPC service name/ });
    hasError(errs, { doc: 2, field: 'spec.rules[0].matches[1].method.method', message: /invalid regular expression/ });
    hasError(errs, { doc: 2, field: 'spec.rules[0].matches[2].method', message: /one of service or method is required/ });
    hasError(errs, { doc: 3, field: 'spec.listeners[1]', message: /port 80 is used by listener "a" with protocol HTTP/ });
    hasError(errs, { doc: 3, field: 'spec.listeners[2].protocol', message: /HTTP, HTTPS/ });
    hasError(errs, { doc: 4, field: 'endpoints[0].addresses[0]', message: /not an IP address/ });
    hasError(errs, { doc: 4, field: 'endpoints[1].addresses[0]', message: /not an IPv4 address/ });
  });

  it('parses Gateway API durations', () => {
    assert.equal(parseGatewayDuration('1h'), 3_600_000);
    assert.equal(parseGatewayDuration('1m30s'), 90_000);
    assert.equal(parseGatewayDuration('250ms'), 250);
    assert.equal(parseGatewayDuration('0s'), 0);
    assert.equal(typeof parseGatewayDuration('1.5s'), 'string');
    assert.equal(typeof parseGatewayDuration('10'), 'string');
  });
});
