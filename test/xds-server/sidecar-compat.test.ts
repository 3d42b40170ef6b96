// Interop guard: every resource the control plane serves compiles with the Pilotfish sidecar's own Envoy model (src/model).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type protobuf from 'protobufjs';
import { formatConfigError } from '../../src/model/compile-context.ts';
import { compileCluster, compileClusterLoadAssignment, compileListener, compileRouteConfiguration } from '../../src/model/compile-resources.ts';
import { decodeAny, encodeAny, xdsProtoRoot } from '../../src/xds/protos.ts';
import { parseYamlText } from '../../xds/input/load-files.ts';
import { compileMesh, formatInputError } from '../../xds/input/mesh.ts';
import { announcementOf, MeshView } from '../../xds/translate/mesh-view.ts';
import { readNodeIdentity } from '../../xds/translate/node.ts';
import { TYPE_URLS, type Resource, type ResourceType } from '../../xds/translate/resource.ts';
import { Translator } from '../../xds/translate/snapshot.ts';
import { generateCert } from '../helpers/certs.ts';
import { service, slice } from './fixtures.ts';

/** Cluster fields the sidecar model does not support yet (it NACKs them); the control plane emits them only when a policy asks. */

describe('sidecar compatibility', () => {
  let root: protobuf.Root;
  before(async () => {
    root = await xdsProtoRoot();
  });

  it('compiles listeners, routes, clusters and endpoints for a sidecar and a gateway', () => {
    const cert = generateCert({ dnsNames: ['shop.example.com'] });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const yaml = service('web', '[{name: http, port: 80}]') + service('web-v2', '[{name: http, port: 80}]')
      + service('api', '[{name: grpc, port: 9090, appProtocol: grpc}]') + slice('web', ['10.0.0.1'], 'http', 8080) + `apiVersion: v1
kind: Secret
metadata: {name: tls}
type: kubernetes.io/tls
data: {tls.crt: ${b64(cert.cert)}, tls.key: ${b64(cert.key)}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: pilotfish
  listeners: [{name: h, port: 80, protocol: HTTP}, {name: s, port: 443, protocol: HTTPS, hostname: shop.example.com, tls: {certificateRefs: [{name: tls}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{kind: Service, group: "", name: web}, {name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: x, value: y}], queryParams: [{name: q, value: v}], method: GET}]
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: a, value: b}], add: [{name: d, value: e}], remove: [c]}}
    - {type: ResponseHeaderModifier, responseHeaderModifier: {remove: [server]}}
    - {type: URLRewrite, urlRewrite: {hostname: h.example.com, path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}
    backendRefs: [{name: web, port: 80, weight: 3}, {name: web-v2, port: 80, weight: 1}]
    timeouts: {request: 5s}
  - matches: [{path: {type: Exact, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, hostname: new.example.com, port: 8443, statusCode: 308}}]
  - matches: [{path: {type: RegularExpression, value: "/r/[a-z]+"}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /x}}}]
    backendRefs: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: api}
spec:
  parentRefs: [{kind: Service, group: "", name: api}]
  rules: [{matches: [{method: {service: a.Api, method: Get}}, {method: {method: List}}], backendRefs: [{name: api, port: 9090}]}]
---
apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: web}
spec:
  targetRef: {kind: Service, name: web}
  timeout: 2s
  retry: {attempts: 2, perTryTimeout: 500ms, retryOn: [5xx, reset], backoff: {base: 25ms, max: 250ms}, budget: {percent: 20}}
  circuitBreaker: {maxConnections: 10, maxPendingRequests: 10, maxRequests: 10, maxRetries: 2}
  outlierDetection: {consecutive5xx: 5}
  loadBalancer: {policy: RING_HASH, hashOn: {header: x-user}}
---
apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: api}
spec:
  targetRef: {kind: Service, name: api}
  loadBalancer: {policy: LEAST_REQUEST}
  circuitBreaker: {maxRequests: 100}
`;
    const r = parseYamlText('compat.yaml', yaml);
    const c = compileMesh(r.docs, r.errors);
    assert.ok(c.ok, c.ok ? '' : c.errors.map(formatInputError).join('\n'));
    const t = new Translator(new MeshView(c.model, []));
    let checked = 0;
    for (const meta of [{ service: 'web', ports: { http: 18080 }, inboundPort: 15006 }, { gateway: 'gw' }, { service: 'api', ports: { grpc: 19090 }, inboundPort: 15007 }]) {
      const s = t.snapshot(readNodeIdentity('n', '', { pilotfish: meta }));
      checked += compileAll(root, s.wildcard.bind(s));
    }
    assert.ok(checked > 15);
    cert.remove();
  });

  it('compiles an mTLS mesh (STRICT, PERMISSIVE, DISABLE, per port) with authorization: TLS contexts, SDS, XFCC, RBAC', () => {
    const yaml = service('orders', '[{name: http, port: 8080}]') + service('payments', '[{name: grpc, port: 9090, appProtocol: grpc}, {name: tcp-db, port: 5432}]')
      + service('frontend', '[{name: http, port: 80}]') + service('legacy', '[{name: http, port: 80}]') + `apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: orders}
spec:
  targetRef: {kind: Service, name: orders}
  mtls: {mode: STRICT}
  authorization:
  - name: no-admin
    action: DENY
    rules: [{to: [{paths: [/admin/*], methods: [DELETE]}]}, {from: [{namespaces: [untrusted]}]}]
  - name: callers
    action: ALLOW
    rules:
    - from: [{principals: ["*"]}, {principals: [ns/default/sa/frontend, ns/ops/*, spiffe://cluster.local/ns/x/sa/y]}, {serviceAccounts: [frontend, ops/*], namespaces: [default]}]
      to: [{methods: [GET], paths: [/orders, /orders/*, "*.json", "*"], ports: [8080, 7777], headers: [{name: x-tenant, value: acme}, {name: x-debug, value: "*"}, {name: x-v, value: "v1*"}, {name: x-s, value: "*-b"}]}]
    - {}
---
apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: payments}
spec:
  targetRef: {kind: Service, name: payments}
  mtls: {mode: PERMISSIVE, ports: {tcp-db: STRICT}}
  authorization: {action: ALLOW, rules: [{from: [{serviceAccounts: [frontend]}], to: [{paths: ["/demo.Payments/*"]}]}]}
---
apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: legacy}
spec:
  targetRef: {kind: Service, name: legacy}
  mtls: {mode: DISABLE}
  authorization: {action: ALLOW, rules: []}
`;
    const r = parseYamlText('compat-mtls.yaml', yaml);
    const c = compileMesh(r.docs, r.errors);
    assert.ok(c.ok, c.ok ? '' : c.errors.map(formatInputError).join('\n'));
    const nodes = [
      { service: 'orders', ports: { http: 18080 }, inboundPort: 15006, dependencies: [] },
      { service: 'payments', ports: { grpc: 19090, 'tcp-db': 15432 }, inboundPort: { grpc: 15007, 'tcp-db': 15008 }, dependencies: [] },
      { service: 'frontend', serviceAccount: 'web', ports: { http: 18000 }, inboundPort: 15009 },
      { service: 'legacy', ports: { http: 18001 }, inboundPort: 15010, dependencies: [] },
    ];
    const ids = nodes.map((m, i) => readNodeIdentity(`n${i}`, '', { pilotfish: m }));
    const t = new Translator(new MeshView(c.model, ids.map((n) => announcementOf(n)!), { trustDomain: 'cluster.local', defaultMode: 'PERMISSIVE' }));
    let checked = 0;
    let tls = 0;
    let rbac = 0;
    for (const n of [...ids, readNodeIdentity('g', '', { pilotfish: { namespace: 'default' } }, 'gRPC Node Pure JS')]) {
      const s = t.snapshot(n);
      checked += compileAll(root, s.wildcard.bind(s), (res) => {
        const text = JSON.stringify(res.body);
        if (text.includes('TlsContext')) tls += 1;
        if (text.includes('rbac.v3.RBAC')) rbac += 1;
      });
    }
    assert.ok(checked > 20);
    assert.ok(tls >= 6, `TLS contexts compiled: ${tls}`);
    assert.ok(rbac >= 3, `RBAC filters compiled: ${rbac}`);
  });
});

/** Compiles every wildcard resource of a snapshot with the sidecar model; fails naming the resource and the errors. */
function compileAll(root: protobuf.Root, wildcard: (type: ResourceType) => Iterable<[string, Resource]>, seen: (r: Resource) => void = () => {}): number {
  const io = { read: () => { throw new Error('no files'); } } as never;
  let checked = 0;
  for (const type of ['LDS', 'RDS', 'CDS', 'EDS'] as ResourceType[]) {
    for (const [, res] of wildcard(type)) {
      seen(res);
      const json = decodeAny(root, TYPE_URLS[type], encodeAny(root, TYPE_URLS[type], res.body).value);
      const out = type === 'LDS' ? compileListener(json, io)
        : type === 'RDS' ? compileRouteConfiguration(json, io)
          : type === 'CDS' ? compileCluster(json, io) : compileClusterLoadAssignment(json);
      checked += 1;
      if (out.ok) continue;
      const msgs = out.errors.map(formatConfigError);
      assert.fail(`${type} ${res.name} rejected by the sidecar model:\n${msgs.join('\n')}`);
    }
  }
  return checked;
}
