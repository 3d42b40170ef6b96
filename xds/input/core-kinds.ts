// Parses core Kubernetes kinds: v1 Service, discovery.k8s.io/v1 EndpointSlice and v1 Secret (type kubernetes.io/tls).
import { isIP } from 'node:net';
import { checkName, Fields } from './doc-reader.ts';
import type { DocSource, EndpointSlice, Service, ServicePort, SliceEndpoint, SlicePort, TlsSecret } from './types.ts';

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
  spec.only(['ports', 'selector'], [
    'type', 'clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy', 'sessionAffinity', 'internalTrafficPolicy',
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
  return { name: meta.name, namespace: meta.namespace, ports, selector, src: meta.src };
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

export function parseSecret(root: Fields, meta: Meta): TlsSecret | undefined {
  root.only(['apiVersion', 'kind', 'metadata', 'type', 'data', 'stringData'], ['immutable']);
  const type = root.str('type');
  if (type !== 'kubernetes.io/tls') {
    root.error('type', `only Secrets of type kubernetes.io/tls are used (gateway certificates), got ${type === undefined ? 'none' : `"${type}"`}`);
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
