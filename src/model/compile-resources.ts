// Public per-resource compilers (Listener, RouteConfiguration, Cluster, ClusterLoadAssignment) returning frozen CompileResults.
import { compileClusterValue } from './cluster.ts';
import { CompileContext, type DataSourceReader, resourceLabel } from './compile-context.ts';
import { deepFreeze } from './deep-freeze.ts';
import { compileLoadAssignmentValue } from './endpoints.ts';
import { ROUTE_CONFIGURATION } from './fields-route.ts';
import { compileListenerValue } from './listener.ts';
import { Msg, isPlainObject } from './proto-message.ts';
import { compileRouteConfigMsg } from './route-config.ts';
import type { ClusterConfig, CompileResult, ListenerConfig, LoadAssignment, RouteConfig } from './types.ts';

/** Freezes the value (or the errors) of a finished compilation. */
export function finish<T>(ctx: CompileContext, value: T | null): CompileResult<T> {
  if (ctx.errors.length > 0 || value === null) {
    if (ctx.errors.length === 0) ctx.error('', 'invalid configuration');
    return deepFreeze({ ok: false, errors: [...ctx.errors], warnings: [...ctx.warnings] });
  }
  return deepFreeze({ ok: true, value, warnings: [...ctx.warnings] });
}

/** The string field `name` of a raw resource, or ''. */
export function rawString(json: unknown, name: string): string {
  return isPlainObject(json) && typeof json[name] === 'string' ? json[name] : '';
}

/** A name for a listener without one: "<address>_<port>" (as Istio names them), else "listener_<index>". */
export function fallbackListenerName(json: unknown, index: number): string {
  const address = isPlainObject(json) && isPlainObject(json.address) ? json.address : null;
  const sa = address && isPlainObject(address.socket_address) ? address.socket_address : null;
  if (sa && typeof sa.address === 'string' && sa.address !== '') return `${sa.address}_${String(sa.port_value ?? 0)}`;
  return `listener_${index}`;
}

export function listenerContext(json: unknown, io: DataSourceReader | null, index = 0): { ctx: CompileContext; name: string } {
  const name = rawString(json, 'name') || fallbackListenerName(json, index);
  return { ctx: new CompileContext(resourceLabel('listener', name), io), name };
}

export function compileListener(json: unknown, io: DataSourceReader): CompileResult<ListenerConfig> {
  const { ctx, name } = listenerContext(json, io);
  return finish(ctx, compileListenerValue(ctx, json, name));
}

/** An RDS RouteConfiguration (validate_clusters defaults to false, as in Envoy). */
export function compileRouteConfiguration(json: unknown, io: DataSourceReader): CompileResult<RouteConfig> {
  const ctx = new CompileContext(resourceLabel('route_configuration', rawString(json, 'name')), io);
  const m = Msg.open(ctx, '', json, ROUTE_CONFIGURATION);
  return finish(ctx, m ? compileRouteConfigMsg(m, false) : null);
}

export function compileCluster(json: unknown, io: DataSourceReader): CompileResult<ClusterConfig> {
  const ctx = new CompileContext(resourceLabel('cluster', rawString(json, 'name')), io);
  return finish(ctx, compileClusterValue(ctx, json));
}

/** An EDS ClusterLoadAssignment (endpoint addresses must be IPs). */
export function compileClusterLoadAssignment(json: unknown): CompileResult<LoadAssignment> {
  const ctx = new CompileContext(resourceLabel('cluster_load_assignment', rawString(json, 'cluster_name')), null);
  return finish(ctx, compileLoadAssignmentValue(ctx, json));
}
