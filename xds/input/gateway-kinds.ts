// Parses the Gateway API Gateway kind plus the pieces routes share: parentRefs, backendRefs and filters.
import { checkName, Fields } from './doc-reader.ts';
import type { Meta } from './core-kinds.ts';
import type { BackendRef, Gateway, GatewayListener, HeaderModifier, ParentRef, RouteFilter } from './types.ts';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
/** Gateway API `tls.options` keys (implementation-specific) naming certificate files on the gateway's disk. */
export const CERT_FILE_OPTION = 'pilotfish.io/certificate-file';
export const KEY_FILE_OPTION = 'pilotfish.io/private-key-file';

const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function checkHostname(f: Fields, k: string, h: string): void {
  if (!HOSTNAME.test(h) || h.length > 253) f.error(k, `"${h}" is not a valid hostname (lower-case DNS name, optionally starting with "*.")`);
}

export function parseGateway(root: Fields, meta: Meta): Gateway | undefined {
  root.only(['apiVersion', 'kind', 'metadata', 'spec'], ['status']);
  const spec = root.obj('spec', true);
  if (!spec) return undefined;
  spec.only(['gatewayClassName', 'listeners'], ['addresses', 'infrastructure', 'backendTLS', 'allowedListeners']);
  const className = spec.str('gatewayClassName', true) ?? '';
  const listeners: GatewayListener[] = [];
  const names = new Set<string>();
  for (const l of spec.objList('listeners', true)) {
    l.only(['name', 'port', 'protocol', 'hostname', 'tls'], ['allowedRoutes']);
    const name = l.str('name', true);
    checkName(l, 'name', name, false);
    if (name !== undefined && names.has(name)) l.error('name', `duplicate listener name "${name}"`);
    if (name !== undefined) names.add(name);
    const port = l.port('port', true);
    const protocol = l.oneOf('protocol', ['HTTP', 'HTTPS'] as const, true);
    const hostname = l.str('hostname') ?? null;
    if (hostname !== null) checkHostname(l, 'hostname', hostname);
    const certificateRefs: string[] = [];
    const certificateFiles: { certFile: string; keyFile: string }[] = [];
    const tls = l.obj('tls');
    if (tls) {
      tls.only(['mode', 'certificateRefs', 'options'], ['frontendValidation']);
      const opts = tls.stringMap('options');
      const certFile = opts[CERT_FILE_OPTION];
      const keyFile = opts[KEY_FILE_OPTION];
      if ((certFile === undefined) !== (keyFile === undefined)) {
        tls.error('options', `${CERT_FILE_OPTION} and ${KEY_FILE_OPTION} go together`);
      } else if (certFile !== undefined && keyFile !== undefined) {
        for (const [k, v] of [[CERT_FILE_OPTION, certFile], [KEY_FILE_OPTION, keyFile]]) {
          if (!v.startsWith('/')) tls.error(`options.${k}`, `"${v}" must be an absolute path on the gateway's file system`);
        }
        certificateFiles.push({ certFile, keyFile });
      }
      const mode = tls.oneOf('mode', ['Terminate', 'Passthrough'] as const);
      if (mode === 'Passthrough') tls.error('mode', 'Passthrough is not supported (only Terminate)');
      for (const c of tls.objList('certificateRefs')) {
        c.only(['name', 'namespace', 'kind', 'group']);
        const kind = c.str('kind') ?? 'Secret';
        if (kind !== 'Secret') c.error('kind', `only Secret certificate references are supported, got "${kind}"`);
        const group = c.str('group') ?? '';
        if (group !== '' && group !== 'core') c.error('group', `must be "" (core) for a Secret, got "${group}"`);
        const n = c.str('name', true);
        if (n !== undefined) certificateRefs.push(`${c.str('namespace') ?? meta.namespace}/${n}`);
      }
    }
    if (protocol === 'HTTPS' && certificateRefs.length + certificateFiles.length === 0) {
      l.error('tls.certificateRefs', `an HTTPS listener needs a certificate: a Secret reference, or files in tls.options ${CERT_FILE_OPTION} / ${KEY_FILE_OPTION}`);
    }
    if (protocol === 'HTTP' && tls) l.error('tls', 'tls is only allowed on HTTPS listeners');
    if (name !== undefined && port !== undefined && protocol !== undefined) listeners.push({ name, port, protocol, hostname, certificateRefs, certificateFiles });
  }
  listeners.forEach((l, i) => {
    const clash = listeners.slice(0, i).find((o) => o.port === l.port && (o.protocol !== l.protocol || o.hostname === l.hostname));
    if (clash) {
      spec.error(`listeners[${i}]`, clash.protocol !== l.protocol
        ? `port ${l.port} is used by listener "${clash.name}" with protocol ${clash.protocol}`
        : `listener "${clash.name}" already serves port ${l.port} with the same hostname`);
    }
  });
  return { name: meta.name, namespace: meta.namespace, className, listeners, src: meta.src };
}

export function parseParentRefs(spec: Fields, namespace: string): ParentRef[] {
  const out: ParentRef[] = [];
  for (const p of spec.objList('parentRefs', true)) {
    p.only(['group', 'kind', 'name', 'namespace', 'sectionName', 'port']);
    const kind = p.oneOf('kind', ['Gateway', 'Service'] as const) ?? 'Gateway';
    const group = p.str('group') ?? (kind === 'Service' ? '' : GATEWAY_GROUP);
    if (kind === 'Service' && group !== '' && group !== 'core') p.error('group', `must be "" (core) for kind Service, got "${group}"`);
    if (kind === 'Gateway' && group !== GATEWAY_GROUP) p.error('group', `must be "${GATEWAY_GROUP}" for kind Gateway, got "${group}"`);
    const name = p.str('name', true);
    const port = p.port('port') ?? null;
    const sectionName = p.str('sectionName') ?? null;
    if (name !== undefined) out.push({ kind, name, namespace: p.str('namespace') ?? namespace, port, sectionName });
  }
  return out;
}

export function parseBackendRefs(rule: Fields, namespace: string): BackendRef[] {
  const out: BackendRef[] = [];
  for (const b of rule.objList('backendRefs')) {
    b.only(['group', 'kind', 'name', 'namespace', 'port', 'weight']);
    const kind = b.str('kind') ?? 'Service';
    if (kind !== 'Service') b.error('kind', `only Service backends are supported, got "${kind}"`);
    const group = b.str('group') ?? '';
    if (group !== '' && group !== 'core') b.error('group', `must be "" (core) for a Service, got "${group}"`);
    const name = b.str('name', true);
    const port = b.port('port') ?? null;
    const weight = b.int('weight', { min: 0, max: 1_000_000 }) ?? 1;
    if (name !== undefined) out.push({ name, namespace: b.str('namespace') ?? namespace, port, weight });
  }
  return out;
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

function parseHeaderModifier(f: Fields | undefined): HeaderModifier {
  if (!f) return { set: [], add: [], remove: [] };
  f.only(['set', 'add', 'remove']);
  const pairs = (k: string) =>
    f.objList(k).flatMap((h) => {
      h.only(['name', 'value']);
      const name = h.str('name', true);
      const value = h.str('value') ?? '';
      if (name !== undefined && !HEADER_NAME.test(name)) h.error('name', `"${name}" is not a valid header name`);
      return name === undefined ? [] : [{ name: name.toLowerCase(), value }];
    });
  return { set: pairs('set'), add: pairs('add'), remove: f.strList('remove').map((s) => s.toLowerCase()) };
}

function parsePathModifier(f: Fields | undefined): { type: 'ReplaceFullPath' | 'ReplacePrefixMatch'; value: string } | null {
  if (!f) return null;
  f.only(['type', 'replaceFullPath', 'replacePrefixMatch']);
  const type = f.oneOf('type', ['ReplaceFullPath', 'ReplacePrefixMatch'] as const, true);
  if (!type) return null;
  const k = type === 'ReplaceFullPath' ? 'replaceFullPath' : 'replacePrefixMatch';
  const value = f.str(k, true);
  if (value !== undefined && !value.startsWith('/')) f.error(k, 'must start with "/"');
  return value === undefined ? null : { type, value };
}

/** Route filters; `grpc` limits them to what GRPCRoute allows. */
export function parseFilters(rule: Fields, grpc: boolean): RouteFilter[] {
  const out: RouteFilter[] = [];
  const allowed = grpc
    ? (['RequestHeaderModifier', 'ResponseHeaderModifier'] as const)
    : (['RequestHeaderModifier', 'ResponseHeaderModifier', 'URLRewrite', 'RequestRedirect'] as const);
  for (const f of rule.objList('filters')) {
    f.only(['type', 'requestHeaderModifier', 'responseHeaderModifier', 'urlRewrite', 'requestRedirect']);
    const type = f.oneOf('type', allowed, true);
    switch (type) {
      case 'RequestHeaderModifier':
        out.push({ type, modifier: parseHeaderModifier(f.obj('requestHeaderModifier', true)) });
        break;
      case 'ResponseHeaderModifier':
        out.push({ type, modifier: parseHeaderModifier(f.obj('responseHeaderModifier', true)) });
        break;
      case 'URLRewrite': {
        const u = f.obj('urlRewrite', true);
        u?.only(['hostname', 'path']);
        const hostname = u?.str('hostname') ?? null;
        if (u && hostname !== null) checkHostname(u, 'hostname', hostname);
        out.push({ type, hostname, path: parsePathModifier(u?.obj('path')) });
        break;
      }
      case 'RequestRedirect': {
        const r = f.obj('requestRedirect', true);
        r?.only(['scheme', 'hostname', 'path', 'port', 'statusCode']);
        const code = r?.int('statusCode', { min: 301, max: 308 }) ?? 302;
        if (![301, 302, 303, 307, 308].includes(code)) r?.error('statusCode', `must be one of 301, 302, 303, 307, 308, got ${code}`);
        out.push({
          type,
          scheme: r?.oneOf('scheme', ['http', 'https'] as const) ?? null,
          hostname: r?.str('hostname') ?? null,
          port: r?.port('port') ?? null,
          statusCode: code as 301 | 302 | 303 | 307 | 308,
          path: parsePathModifier(r?.obj('path')),
        });
        break;
      }
      default:
        break;
    }
  }
  const counts = new Map<string, number>();
  for (const f of out) counts.set(f.type, (counts.get(f.type) ?? 0) + 1);
  for (const [t, n] of counts) if (n > 1) rule.error('filters', `filter type ${t} may appear only once per rule`);
  if (out.some((f) => f.type === 'URLRewrite') && out.some((f) => f.type === 'RequestRedirect')) {
    rule.error('filters', 'URLRewrite and RequestRedirect cannot be used together');
  }
  return out;
}
