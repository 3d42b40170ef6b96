// Parses core Kubernetes kinds: v1 Service, discovery.k8s.io/v1 EndpointSlice and v1 Secret (type kubernetes.io/tls).
import { isIP } from 'node:net';
import { checkName, Fields } from './doc-reader.ts';
import type { DocSource, EndpointSlice, OpaqueSecret, Service, ServicePort, SliceEndpoint, SlicePort, TlsSecret } from './types.ts';

export interface Meta {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly src: DocSource;
}

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

export function parseService(root: Fields, meta: Meta): Service | undefined {
  root.only(['apiVersion', 'kind', 'metadata', 'spec'], ['status']);
  const spec = root.obj('spec', true);
  if (!spec) return undefined;
  spec.only(['ports', 'selector', 'clusterIP', 'clusterIPs'], [
    'type', 'ipFamilies', 'ipFamilyPolicy', 'sessionAffinity', 'internalTrafficPolicy',
    'externalTrafficPolicy', 'publishNotReadyAddresses', 'trafficDistribution',
  ]);
  const items = spec.objList('ports', true);
  const ports: ServicePort[] = [];
  const names = new Set<string>();
  const numbers = new Set<number>();
  for (const p of items) {
    p.only(['name', 'port', 'targetPort', 'protocol', 'appProtocol'], ['nodePort']);
    const name = p.str('name') ?? '';
    if (name === '' && items.length > 1) p.error('name', 'required when a Service has more than one port');
    if (name !== '') checkName(p, 'name', name, true);
    if (name !== '' && names.has(name)) p.error('name', `duplicate port name "${name}"`);
    names.add(name);
    const port = p.port('port', true);
    if (port !== undefined && numbers.has(port)) p.error('port', `duplicate port ${port}`);
    if (port !== undefined) numbers.add(port);
    let targetPort: number | string | undefined = port;
    const tp = p.value.targetPort;
    if (typeof tp === 'string') {
      if (/^\d+$/.test(tp)) targetPort = Number(tp);
      else targetPort = tp;
    } else if (tp !== undefined && tp !== null) {
      targetPort = p.port('targetPort');
    }
    const protocol = p.oneOf('protocol', PROTOCOLS) ?? 'TCP';
    const appProtocol = p.str('appProtocol') ?? null;
    if (port !== undefined && targetPort !== undefined) ports.push({ name, port, targetPort, protocol, appProtocol });
  }
  const selector = spec.stringMap('selector');
  const clusterIPs = parseClusterIPs(spec);
  return { name: meta.name, namespace: meta.namespace, ports, selector, ...(clusterIPs.length > 0 ? { clusterIPs } : {}), src: meta.src };
}

/**
 * spec.clusterIP / spec.clusterIPs as Kubernetes defines them: IP addresses, "None" for a headless Service (no VIP),
 * clusterIPs[0] equal to clusterIP when both are given, at most one address per family.
 */
function parseClusterIPs(spec: Fields): string[] {
  const single = spec.str('clusterIP');
  const list = spec.value.clusterIPs === undefined ? [] : spec.strList('clusterIPs');
  if (single !== undefined && list.length > 0 && list[0] !== single) {
    spec.error('clusterIPs', `clusterIPs[0] must equal clusterIP ("${single}"), got "${list[0]}"`);
    return [];
  }
  const field = list.length > 0 ? 'clusterIPs' : 'clusterIP';
  const all = list.length > 0 ? list : single !== undefined && single !== '' ? [single] : [];
  if (all.includes('None')) {
    if (all.length > 1) spec.error(field, '"None" (headless) must be the only value');
    return [];
  }
  const families = new Set<number>();
  const out: string[] = [];
  all.forEach((ip, i) => {
    const at = field === 'clusterIPs' ? `clusterIPs[${i}]` : 'clusterIP';
    const fam = isIP(ip);
    if (fam === 0) spec.error(at, `"${ip}" is not an IP address (or "None" for a headless Service)`);
    else if (families.has(fam)) spec.error(at, `a second IPv${fam} address; a Service has at most one per family`);
    else { families.add(fam); out.push(ip); }
  });
  return out;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function parseEndpointSlice(root: Fields, meta: Meta): EndpointSlice | undefined {
  root.only(['apiVersion', 'kind', 'metadata', 'addressType', 'endpoints', 'ports']);
  const serviceName = meta.labels[SERVICE_NAME_LABEL];
  if (!serviceName) root.error('metadata.labels', `label "${SERVICE_NAME_LABEL}" is required (it names the Service this slice belongs to)`);
  const addressType = root.oneOf('addressType', ['IPv4', 'IPv6', 'FQDN'] as const, true);
  if (addressType === 'FQDN') root.error('addressType', 'FQDN endpoints are not supported; use IPv4 or IPv6 addresses');
  const endpoints: SliceEndpoint[] = [];
  for (const e of root.objList('endpoints')) {
    e.only(['addresses', 'conditions'], ['hostname', 'nodeName', 'zone', 'targetRef', 'hints', 'deprecatedTopology']);
    const addresses = e.strList('addresses');
    if (addresses.length === 0) e.error('addresses', 'required: at least one address');
    addresses.forEach((a, i) => {
      const fam = isIP(a);
      if (fam === 0) e.error(`addresses[${i}]`, `"${a}" is not an IP address`);
      else if (addressType && addressType !== 'FQDN' && `IPv${fam}` !== addressType) e.error(`addresses[${i}]`, `"${a}" is not an ${addressType} address`);
    });
    const cond = e.obj('conditions');
    cond?.only(['ready', 'serving', 'terminating']);
    const ready = cond?.bool('ready') ?? true;
    endpoints.push({ addresses, ready });
  }
  const ports: SlicePort[] = [];
  for (const p of root.objList('ports')) {
    p.only(['name', 'port', 'protocol', 'appProtocol']);
    const port = p.port('port', true);
    p.oneOf('protocol', PROTOCOLS);
    if (port !== undefined) ports.push({ name: p.str('name') ?? '', port, appProtocol: p.str('appProtocol') ?? null });
  }
  if (!serviceName) return undefined;
  return { name: meta.name, namespace: meta.namespace, serviceName, endpoints, ports, src: meta.src };
}

function pemField(root: Fields, k: string): string | undefined {
  const data = root.obj('data');
  const sd = root.obj('stringData');
  const plain = sd?.str(k);
  if (plain !== undefined) return plain;
  const b64 = data?.str(k);
  if (b64 === undefined) return undefined;
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(b64)) {
    data?.error(k, 'not valid base64');
    return undefined;
  }
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** An Opaque Secret (OIDC client secrets, HMAC keys): every key of `data` (base64) and `stringData`. */
function parseOpaqueSecret(root: Fields, meta: Meta): OpaqueSecret | undefined {
  const out: Record<string, string> = {};
  for (const k of Object.keys(root.obj('data')?.value ?? {})) {
    const v = pemField(root, k);
    if (v !== undefined) out[k] = v;
  }
  const sd = root.obj('stringData');
  for (const k of Object.keys(sd?.value ?? {})) {
    const v = sd?.str(k);
    if (v !== undefined) out[k] = v;
  }
  return { name: meta.name, namespace: meta.namespace, data: out, src: meta.src };
}

export function parseSecret(root: Fields, meta: Meta): TlsSecret | OpaqueSecret | undefined {
  root.only(['apiVersion', 'kind', 'metadata', 'type', 'data', 'stringData'], ['immutable']);
  const type = root.str('type');
  if (type === undefined || type === 'Opaque') return parseOpaqueSecret(root, meta);
  if (type !== 'kubernetes.io/tls') {
    root.error('type', `only Secrets of type kubernetes.io/tls (gateway certificates) or Opaque (OIDC client secrets) are used, got "${type}"`);
    return undefined;
  }
  const certPem = pemField(root, 'tls.crt');
  const keyPem = pemField(root, 'tls.key');
  if (certPem === undefined) root.error('data', 'tls.crt is required (in data, base64, or stringData)');
  else if (!certPem.includes('-----BEGIN CERTIFICATE-----')) root.error('data', 'tls.crt is not a PEM certificate');
  if (keyPem === undefined) root.error('data', 'tls.key is required (in data, base64, or stringData)');
  else if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem)) root.error('data', 'tls.key is not a PEM private key');
  if (certPem === undefined || keyPem === undefined) return undefined;
  return { name: meta.name, namespace: meta.namespace, certPem, keyPem, src: meta.src };
}
