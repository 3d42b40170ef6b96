// Compiles an Envoy v3 Bootstrap (proto3 JSON) into a frozen Snapshot, with cross-resource checks; the model's entry point.
import { compileAccessLogs } from './access-log.ts';
import { compileAddress, formatAddress } from './address.ts';
import { compileClusterValue } from './cluster.ts';
import { type ClusterRef, CompileContext, type DataSourceReader, type RdsRef, resourceLabel } from './compile-context.ts';
import { finish, listenerContext, rawString } from './compile-resources.ts';
import { ADMIN, BOOTSTRAP, DYNAMIC_RESOURCES, NODE, STATIC_RESOURCES } from './fields-listener.ts';
import { compileListenerValue } from './listener.ts';
import { type ListItem, Msg } from './proto-message.ts';
import { checkStaticSecretRefs, compileSecretValue } from './secret.ts';
import type { AdminConfig, ClusterConfig, CompileResult, ListenerConfig, NodeInfo, SecretConfig, Snapshot } from './types.ts';

export type { DataSourceReader } from './compile-context.ts';
export { formatConfigError } from './compile-context.ts';
export {
  compileCluster,
  compileClusterLoadAssignment,
  compileListener,
  compileRouteConfiguration,
} from './compile-resources.ts';
export { compileSecret } from './secret.ts';

function compileNode(b: Msg): NodeInfo {
  const n = b.msg('node', NODE);
  return { id: n?.str('id') ?? '', cluster: n?.str('cluster') ?? '', metadata: structuredClone(n?.map('metadata') ?? {}) };
}

function compileAdmin(b: Msg): AdminConfig | null {
  const a = b.msg('admin', ADMIN);
  if (!a) return null;
  a.oneOf(['access_log_path', 'access_log'], false);
  let accessLogPath = a.optStr('access_log_path');
  const logs = compileAccessLogs(a);
  if (logs.length > 0) {
    if (logs.length > 1) a.ctx.warn(a.at('access_log'), 'only the first admin access log is used');
    const first = logs[0];
    accessLogPath = first.sink === 'file' ? first.path : `/dev/${first.sink}`;
  }
  if (!a.has('address')) return null; // Envoy: no address, no admin endpoint
  const address = compileAddress(a.ctx, a.at('address'), a.get('address'), { requireIp: true, allowPortZero: true });
  return address ? { address, accessLogPath } : null;
}

/**
 * HOOK(xds): dynamic_resources (ads_config / lds_config / cds_config) is accepted and validated against its field
 * table, but not interpreted yet; the xDS workstream reads it from Snapshot.source.bootstrap.
 */
function acceptDynamicResources(b: Msg): boolean {
  return b.msg('dynamic_resources', DYNAMIC_RESOURCES) !== null;
}

interface Compiled<T> {
  readonly value: T | null;
  readonly name: string;
  readonly path: string;
  readonly raw: unknown;
}

function checkDuplicateNames(ctx: CompileContext, kind: string, items: readonly Compiled<unknown>[]): void {
  const seen = new Map<string, string>();
  for (const item of items) {
    if (item.name === '') continue;
    const previous = seen.get(item.name);
    if (previous !== undefined) ctx.error(`${item.path}.name`, `duplicate ${kind} name ${JSON.stringify(item.name)} (also ${previous})`);
    else seen.set(item.name, item.path);
  }
}

function checkAddresses(ctx: CompileContext, listeners: readonly Compiled<ListenerConfig>[], admin: AdminConfig | null): void {
  const seen = new Map<string, string>();
  if (admin && admin.address.port !== 0) seen.set(formatAddress(admin.address), 'the admin endpoint');
  for (const l of listeners) {
    if (!l.value || l.value.address.port === 0) continue;
    const key = formatAddress(l.value.address);
    const previous = seen.get(key);
    if (previous !== undefined) ctx.error(`${l.path}.address`, `listener ${JSON.stringify(l.name)} uses ${key}, as does ${previous}`);
    else seen.set(key, `listener ${JSON.stringify(l.name)}`);
  }
}

function checkReferences(
  ctx: CompileContext,
  clusterRefs: readonly ClusterRef[],
  rdsRefs: readonly RdsRef[],
  clusterNames: ReadonlySet<string>,
  hasDynamic: boolean,
): void {
  for (const ref of clusterRefs) {
    if (!clusterNames.has(ref.cluster)) {
      ctx.errors.push({ resource: ref.resource, field: ref.field, message: `unknown cluster ${JSON.stringify(ref.cluster)}` });
    }
  }
  if (hasDynamic) return;
  for (const ref of rdsRefs) {
    ctx.errors.push({
      resource: ref.resource,
      field: ref.field,
      message: `route configuration ${JSON.stringify(ref.routeConfigName)} is to come from RDS, but the bootstrap has no dynamic_resources`,
    });
  }
}

function compileEach<T>(
  items: readonly ListItem[],
  into: CompileContext,
  compile: (item: ListItem, index: number) => { ctx: CompileContext; name: string; value: T | null },
): Compiled<T>[] {
  return items.map((item, index) => {
    const r = compile(item, index);
    into.errors.push(...r.ctx.errors);
    into.warnings.push(...r.ctx.warnings);
    into.clusterRefs.push(...r.ctx.clusterRefs);
    into.rdsRefs.push(...r.ctx.rdsRefs);
    return { value: r.value, name: r.name, path: item.path, raw: item.value };
  });
}

/** Compiles a bootstrap document; `io` reads DataSource files (certificates, direct_response bodies, log formats). */
export function compileBootstrap(doc: unknown, io: DataSourceReader): CompileResult<Snapshot> {
  const ctx = new CompileContext('bootstrap', io);
  const b = Msg.open(ctx, '', doc, BOOTSTRAP);
  if (!b) return finish<Snapshot>(ctx, null);
  const node = compileNode(b);
  const admin = compileAdmin(b);
  const hasDynamic = acceptDynamicResources(b);
  const sr = b.msg('static_resources', STATIC_RESOURCES);
  // Per-resource errors carry the resource's own label; cluster and RDS references are checked below.
  const refs = new CompileContext('bootstrap', io);
  const listeners = compileEach<ListenerConfig>(sr?.list('listeners') ?? [], refs, (item, index) => {
    const { ctx: lctx, name } = listenerContext(item.value, io, index);
    return { ctx: lctx, name, value: compileListenerValue(lctx, item.value, name) };
  });
  const clusters = compileEach<ClusterConfig>(sr?.list('clusters') ?? [], refs, (item) => {
    const name = rawString(item.value, 'name');
    const cctx = new CompileContext(resourceLabel('cluster', name), io);
    return { ctx: cctx, name, value: compileClusterValue(cctx, item.value) };
  });
  const secrets = compileEach<SecretConfig>(sr?.list('secrets') ?? [], refs, (item) => {
    const name = rawString(item.value, 'name');
    const sctx = new CompileContext(resourceLabel('secret', name), io);
    return { ctx: sctx, name, value: compileSecretValue(sctx, item.value) };
  });
  ctx.errors.push(...refs.errors);
  ctx.warnings.push(...refs.warnings);
  checkDuplicateNames(ctx, 'listener', listeners);
  checkDuplicateNames(ctx, 'cluster', clusters);
  checkDuplicateNames(ctx, 'secret', secrets);
  checkStaticSecretRefs(ctx, listeners, clusters, new Set(secrets.map((s) => s.name)),
    new Set(secrets.filter((s) => s.value?.genericSecret != null).map((s) => s.name)));
  checkAddresses(ctx, listeners, admin);
  checkReferences(ctx, refs.clusterRefs, refs.rdsRefs, new Set(clusters.map((c) => c.name)), hasDynamic);
  if (ctx.errors.length > 0) return finish<Snapshot>(ctx, null);
  const snapshot: Snapshot = {
    version: 'static',
    node,
    admin,
    listeners: listeners.map((l) => l.value!),
    clusters: new Map(clusters.map((c) => [c.name, c.value!])),
    ...(secrets.length > 0 ? { secrets: new Map(secrets.map((s) => [s.name, { config: s.value!, source: 'static' as const, version: '' }])) } : {}),
    source: {
      bootstrap: structuredClone(doc),
      listeners: listeners.map((l) => structuredClone(l.raw)),
      clusters: clusters.map((c) => structuredClone(c.raw)),
    },
  };
  return finish(ctx, snapshot);
}
