import { decodeAny, encodeAny, xdsProtoRoot } from '../src/xds/protos.ts';
import { compileCluster, compileClusterLoadAssignment, compileListener, compileRouteConfiguration } from '../src/model/compile-resources.ts';
import { formatConfigError } from '../src/model/compile-context.ts';
import { parseYamlText } from '../xds/input/load-files.ts';
import { compileMesh, formatInputError } from '../xds/input/mesh.ts';
import { MeshView } from '../xds/translate/mesh-view.ts';
import { readNodeIdentity } from '../xds/translate/node.ts';
import { Translator } from '../xds/translate/snapshot.ts';
import { TYPE_URLS, type ResourceType } from '../xds/translate/resource.ts';
import { readFileSync } from 'node:fs';
import { generateCert } from '../test/helpers/certs.ts';
const cert = generateCert({});
const b64 = (s: string) => Buffer.from(s).toString('base64');
const yaml = readFileSync('/tmp/xt/mesh.yaml', 'utf8') + `---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Secret
metadata: {name: tls}
type: kubernetes.io/tls
data: {tls.crt: ${b64(cert.cert)}, tls.key: ${b64(cert.key)}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: x
  listeners: [{name: h, port: 80, protocol: HTTP}, {name: s, port: 443, protocol: HTTPS, hostname: a.com, tls: {certificateRefs: [{name: tls}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{kind: Service, group: "", name: web}, {name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: x, value: y}], queryParams: [{name: q, value: v}], method: GET}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: a, value: b}], remove: [c]}}, {type: URLRewrite, urlRewrite: {hostname: h.com, path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]
    backendRefs: [{name: web, port: 80}]
    timeouts: {request: 5s}
  - matches: [{path: {type: Exact, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 301}}]
  - matches: [{path: {type: RegularExpression, value: "/r/.*"}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /x}}}]
    backendRefs: [{name: web, port: 80}]
`;
const r = parseYamlText('x.yaml', yaml);
const c = compileMesh(r.docs, r.errors);
if (!c.ok) { console.log(c.errors.map(formatInputError)); process.exit(1); }
const t = new Translator(new MeshView(c.model, []));
const root = await xdsProtoRoot();
const io = { read: () => { throw new Error('no io'); } } as any;
for (const meta of [{ service: 'echo-v2', ports: { grpc: 40002 }, inboundPort: 15006 }, { gateway: 'gw' }]) {
  const s = t.snapshot(readNodeIdentity('n', '', { pilotfish: meta }));
  for (const type of ['LDS', 'RDS', 'CDS', 'EDS'] as ResourceType[]) {
    for (const res of s.wildcard(type).values()) {
      const json = decodeAny(root, TYPE_URLS[type], encodeAny(root, TYPE_URLS[type], res.body).value);
      const out = type === 'LDS' ? compileListener(json, io) : type === 'RDS' ? compileRouteConfiguration(json, io) : type === 'CDS' ? compileCluster(json, io) : compileClusterLoadAssignment(json);
      console.log(type, res.name, out.ok ? 'OK' : out.errors.map(formatConfigError).join('; '));
    }
  }
}
cert.remove();
