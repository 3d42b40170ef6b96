// Compiles raw YAML documents into the MeshModel: dispatches on apiVersion/kind, rejects duplicates and checks every cross-reference.
import { DocContext, Fields, checkName } from './doc-reader.ts';
import { parseEndpointSlice, parseSecret, parseService, type Meta } from './core-kinds.ts';
import { GATEWAY_GROUP, parseGateway } from './gateway-kinds.ts';
import { parseGrpcRoute, parseHttpRoute } from './route-kinds.ts';
import { POLICY_API_VERSION, parseTrafficPolicy } from './policy-kind.ts';
import { parseRequestAuthentication } from './authn-kind.ts';
import { checkAuthentications } from './authn-checks.ts';
import type { RawDoc } from './load-files.ts';
import {
  key, type AnyRoute, type DocSource, type EndpointSlice, type Gateway, type InputError, type MeshModel, type OpaqueSecret,
  type RequestAuthentication, type Service, type TlsSecret, type TrafficPolicy,
} from './types.ts';

export type CompileResult =
  | { readonly ok: true; readonly model: MeshModel; readonly ignored: readonly string[] }
  | { readonly ok: false; readonly errors: readonly InputError[] };

type Parser = (root: Fields, meta: Meta) => unknown;

const KINDS: Record<string, { versions: readonly string[]; parse: Parser }> = {
  Service: { versions: ['v1'], parse: parseService },
  Secret: { versions: ['v1'], parse: parseSecret },
  EndpointSlice: { versions: ['discovery.k8s.io/v1'], parse: parseEndpointSlice },
  Gateway: { versions: [`${GATEWAY_GROUP}/v1`, `${GATEWAY_GROUP}/v1beta1`], parse: parseGateway },
  HTTPRoute: { versions: [`${GATEWAY_GROUP}/v1`, `${GATEWAY_GROUP}/v1beta1`], parse: parseHttpRoute },
  GRPCRoute: { versions: [`${GATEWAY_GROUP}/v1`, `${GATEWAY_GROUP}/v1alpha2`], parse: parseGrpcRoute },
  TrafficPolicy: { versions: [POLICY_API_VERSION], parse: parseTrafficPolicy },
  RequestAuthentication: { versions: [POLICY_API_VERSION], parse: parseRequestAuthentication },
};

/** Kinds in our API groups that are accepted and ignored. */
const IGNORED_OWN_GROUP = new Set(['GatewayClass', 'ReferenceGrant', 'BackendTLSPolicy', 'TCPRoute', 'TLSRoute', 'UDPRoute']);

interface Parsed {
  readonly kind: string;
  readonly value: unknown;
  readonly ctx: DocContext;
}

function readDoc(d: RawDoc, errors: InputError[], ignored: string[]): Parsed | undefined {
  const pre = new DocContext(d.src, '', '', errors);
  const root = Fields.of(pre, '', d.value);
  if (!root) return undefined;
  const apiVersion = root.str('apiVersion', true);
  const kind = root.str('kind', true);
  if (apiVersion === undefined || kind === undefined) return undefined;
  const spec = KINDS[kind];
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  const ownGroup = group === GATEWAY_GROUP || group === 'pilotfish.io';
  if (!spec || !spec.versions.includes(apiVersion)) {
    if (spec && (ownGroup || group === '' || group === 'discovery.k8s.io')) {
      root.error('apiVersion', `${kind} must have apiVersion ${spec.versions.join(' or ')}, got "${apiVersion}"`);
    } else if (ownGroup && !IGNORED_OWN_GROUP.has(kind)) {
      root.error('kind', `unknown kind "${kind}" in ${apiVersion} (supported: ${Object.keys(KINDS).join(', ')})`);
    } else {
      ignored.push(`${d.src.file}#${d.src.doc} ${apiVersion} ${kind}`);
    }
    return undefined;
  }
  const ctx = new DocContext(d.src, kind, '', errors);
  const r = new Fields(ctx, '', root.value);
  const md = r.obj('metadata', true);
  if (!md) return undefined;
  const name = md.str('name', true);
  const namespace = md.str('namespace') ?? 'default';
  checkName(md, 'name', name, kind === 'Service');
  checkName(md, 'namespace', namespace, true);
  if (name === undefined) return undefined;
  ctx.name = key(namespace, name);
  const labels = md.stringMap('labels');
  const meta: Meta = { name, namespace, labels, src: d.src };
  const value = spec.parse(r, meta);
  return value === undefined ? undefined : { kind, value, ctx };
}

function errAt(errors: InputError[], src: DocSource, kind: string, name: string, field: string, message: string): void {
  errors.push({ file: src.file, doc: src.doc, kind, name, field, message });
}

function checkRoutes(routes: readonly AnyRoute[], services: Map<string, Service>, gateways: Map<string, Gateway>, errors: InputError[]): void {
  for (const r of routes) {
    const name = key(r.namespace, r.name);
    const err = (field: string, msg: string) => errAt(errors, r.src, r.kind, name, field, msg);
    r.parentRefs.forEach((p, i) => {
      const f = `spec.parentRefs[${i}]`;
      if (p.kind === 'Service') {
        const svc = services.get(key(p.namespace, p.name));
        if (!svc) err(`${f}.name`, `no Service ${p.namespace}/${p.name}`);
        else if (p.port !== null && !svc.ports.some((sp) => sp.port === p.port)) err(`${f}.port`, `Service ${p.namespace}/${p.name} has no port ${p.port}`);
        if (p.sectionName !== null && svc && !svc.ports.some((sp) => sp.name === p.sectionName)) err(`${f}.sectionName`, `Service ${p.namespace}/${p.name} has no port named "${p.sectionName}"`);
      } else {
        const gw = gateways.get(key(p.namespace, p.name));
        if (!gw) err(`${f}.name`, `no Gateway ${p.namespace}/${p.name}`);
        else if (p.sectionName !== null && !gw.listeners.some((l) => l.name === p.sectionName)) err(`${f}.sectionName`, `Gateway ${p.namespace}/${p.name} has no listener "${p.sectionName}"`);
        else if (p.port !== null && !gw.listeners.some((l) => l.port === p.port)) err(`${f}.port`, `Gateway ${p.namespace}/${p.name} has no listener on port ${p.port}`);
      }
    });
    r.rules.forEach((rule, ri) => {
      rule.backendRefs.forEach((b, bi) => {
        const f = `spec.rules[${ri}].backendRefs[${bi}]`;
        const svc = services.get(key(b.namespace, b.name));
        if (!svc) err(`${f}.name`, `no Service ${b.namespace}/${b.name}`);
        else if (b.port !== null && !svc.ports.some((sp) => sp.port === b.port)) err(`${f}.port`, `Service ${b.namespace}/${b.name} has no port ${b.port}`);
        else if (b.port === null && svc.ports.length !== 1) err(`${f}.port`, `required: Service ${b.namespace}/${b.name} has ${svc.ports.length} ports`);
      });
    });
  }
}

/** Compiles every document; returns all errors, or the model when there are none. */
export function compileMesh(docs: readonly RawDoc[], loadErrors: readonly InputError[] = []): CompileResult {
  const errors: InputError[] = [...loadErrors];
  const ignored: string[] = [];
  const services = new Map<string, Service>();
  const slices = new Map<string, EndpointSlice[]>();
  const sliceNames = new Map<string, EndpointSlice>();
  const gateways = new Map<string, Gateway>();
  const secrets = new Map<string, TlsSecret>();
  const opaqueSecrets = new Map<string, OpaqueSecret>();
  const authentications: RequestAuthentication[] = [];
  const authnNames = new Map<string, RequestAuthentication>();
  const routes: AnyRoute[] = [];
  const routeNames = new Map<string, AnyRoute>();
  const policies = new Map<string, TrafficPolicy>();
  const policyNames = new Map<string, TrafficPolicy>();

  const dup = (p: Parsed, prev: { src: DocSource } | undefined): boolean => {
    if (!prev) return false;
    p.ctx.error('metadata.name', `duplicate ${p.kind} ${p.ctx.name} (first defined in ${prev.src.file} document ${prev.src.doc})`);
    return true;
  };

  for (const d of docs) {
    const p = readDoc(d, errors, ignored);
    if (!p) continue;
    const k = p.ctx.name;
    switch (p.kind) {
      case 'Service':
        if (!dup(p, services.get(k))) services.set(k, p.value as Service);
        break;
      case 'Secret':
        if (dup(p, secrets.get(k) ?? opaqueSecrets.get(k))) break;
        if ('data' in (p.value as object)) opaqueSecrets.set(k, p.value as OpaqueSecret);
        else secrets.set(k, p.value as TlsSecret);
        break;
      case 'RequestAuthentication':
        if (dup(p, authnNames.get(k))) break;
        authnNames.set(k, p.value as RequestAuthentication);
        authentications.push(p.value as RequestAuthentication);
        break;
      case 'EndpointSlice': {
        const s = p.value as EndpointSlice;
        if (dup(p, sliceNames.get(k))) break;
        sliceNames.set(k, s);
        const sk = key(s.namespace, s.serviceName);
        slices.set(sk, [...(slices.get(sk) ?? []), s]);
        break;
      }
      case 'Gateway':
        if (!dup(p, gateways.get(k))) gateways.set(k, p.value as Gateway);
        break;
      case 'HTTPRoute':
      case 'GRPCRoute': {
        const rk = `${p.kind}/${k}`;
        if (dup(p, routeNames.get(rk))) break;
        routeNames.set(rk, p.value as AnyRoute);
        routes.push(p.value as AnyRoute);
        break;
      }
      case 'TrafficPolicy': {
        const pol = p.value as TrafficPolicy;
        if (dup(p, policyNames.get(k))) break;
        policyNames.set(k, pol);
        const tk = key(pol.target.namespace, pol.target.name);
        const prev = policies.get(tk);
        if (prev) p.ctx.error('spec.targetRef', `Service ${tk} already has TrafficPolicy ${prev.namespace}/${prev.name} (${prev.src.file} document ${prev.src.doc}); merge them`);
        else policies.set(tk, pol);
        break;
      }
    }
  }

  for (const [sk, list] of slices) {
    const svc = services.get(sk);
    for (const s of list) {
      const name = key(s.namespace, s.name);
      if (!svc) {
        errAt(errors, s.src, 'EndpointSlice', name, 'metadata.labels', `no Service ${sk} for label kubernetes.io/service-name`);
        continue;
      }
      s.ports.forEach((sp, i) => {
        if (!svc.ports.some((p) => p.name === sp.name)) errAt(errors, s.src, 'EndpointSlice', name, `ports[${i}].name`, `Service ${sk} has no port named "${sp.name}"`);
      });
      if (s.ports.length === 0 && s.endpoints.length > 0) errAt(errors, s.src, 'EndpointSlice', name, 'ports', 'required: the ports the endpoints listen on');
    }
  }
  for (const gw of gateways.values()) {
    gw.listeners.forEach((l, i) => {
      l.certificateRefs.forEach((ref, j) => {
        if (!secrets.has(ref)) errAt(errors, gw.src, 'Gateway', key(gw.namespace, gw.name), `spec.listeners[${i}].tls.certificateRefs[${j}]`, `no Secret ${ref} of type kubernetes.io/tls`);
      });
    });
  }
  for (const pol of policyNames.values()) {
    const tk = key(pol.target.namespace, pol.target.name);
    const svc = services.get(tk);
    if (!svc) errAt(errors, pol.src, 'TrafficPolicy', key(pol.namespace, pol.name), 'spec.targetRef.name', `no Service ${tk}`);
    for (const p of Object.keys(pol.mtls?.ports ?? {})) {
      if (svc && !svc.ports.some((sp) => String(sp.port) === p || sp.name === p)) {
        errAt(errors, pol.src, 'TrafficPolicy', key(pol.namespace, pol.name), `spec.mtls.ports.${p}`, `Service ${tk} has no port ${/^\d+$/.test(p) ? p : `named "${p}"`}`);
      }
    }
  }
  checkRoutes(routes, services, gateways, errors);
  const claimIssuers = checkAuthentications({ services, gateways, routes, opaqueSecrets, policies: policyNames }, authentications, errors);
  for (const [tk, pol] of policies) {
    const iss = claimIssuers.get(pol);
    if (iss) policies.set(tk, { ...pol, claimIssuers: iss });
  }

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, model: { services, endpointSlices: slices, gateways, secrets, routes, policies, opaqueSecrets, authentications }, ignored };
}

/** One line per error: "file: document N (Kind ns/name): field: message". */
export function formatInputError(e: InputError): string {
  const what = e.kind ? ` (${e.kind}${e.name ? ` ${e.name}` : ''})` : '';
  const doc = e.doc > 0 ? `: document ${e.doc}` : '';
  return `${e.file}${doc}${what}: ${e.field ? `${e.field}: ` : ''}${e.message}`;
}
