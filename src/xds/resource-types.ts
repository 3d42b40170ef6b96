// The xDS resource types Pilotfish subscribes to (LDS, RDS, CDS, EDS, SDS): type URLs, names, request order and how each is compiled.
import type { ClusterConfig, CompileResult, ConfigError, ConfigWarning, ListenerConfig, LoadAssignment, RouteConfig, SecretConfig } from '../model/types.ts';
import { TYPE_URL } from './protos.ts';

export type XdsKind = 'listener' | 'route_configuration' | 'cluster' | 'cluster_load_assignment' | 'secret';

/** Envoy's order for ADS: clusters, then their endpoints, then listeners, then their routes; SDS secrets as named. */
export const KINDS: readonly XdsKind[] = ['cluster', 'cluster_load_assignment', 'listener', 'route_configuration', 'secret'];

/** Listeners and clusters are subscribed by wildcard; SotW responses for them carry the complete set. */
export function isWildcardKind(kind: XdsKind): boolean {
  return kind === 'listener' || kind === 'cluster';
}

export const KIND_TYPE_URL: Readonly<Record<XdsKind, string>> = {
  listener: TYPE_URL.listener,
  route_configuration: TYPE_URL.routeConfiguration,
  cluster: TYPE_URL.cluster,
  cluster_load_assignment: TYPE_URL.clusterLoadAssignment,
  secret: TYPE_URL.secret,
};

/** Short names used in logs ("LDS", "RDS", "CDS", "EDS"). */
export const KIND_SERVICE: Readonly<Record<XdsKind, string>> = {
  listener: 'LDS',
  route_configuration: 'RDS',
  cluster: 'CDS',
  cluster_load_assignment: 'EDS',
  secret: 'SDS',
};

export function kindOfTypeUrl(typeUrl: string): XdsKind | null {
  for (const k of KINDS) if (KIND_TYPE_URL[k] === typeUrl) return k;
  return null;
}

/** The name a resource is known by (cluster_load_assignment: cluster_name). */
export function resourceName(kind: XdsKind, json: Readonly<Record<string, unknown>>): string {
  const v = kind === 'cluster_load_assignment' ? json.cluster_name : json.name;
  return typeof v === 'string' ? v : '';
}

/** The model's per-resource compilers (src/model/compile-bootstrap.ts); injectable for tests. */
export interface XdsModelApi {
  compileListener(json: unknown, io: { readFile(path: string): string }): CompileResult<ListenerConfig>;
  compileRouteConfiguration(json: unknown, io: { readFile(path: string): string }): CompileResult<RouteConfig>;
  compileCluster(json: unknown, io: { readFile(path: string): string }): CompileResult<ClusterConfig>;
  compileClusterLoadAssignment(json: unknown): CompileResult<LoadAssignment>;
  /** SDS Secret resources (src/model/secret.ts); without it, SDS responses are rejected. */
  compileSecret?(json: unknown, io: { readFile(path: string): string }): CompileResult<SecretConfig>;
  formatConfigError(e: ConfigError | ConfigWarning): string;
}

/** Compiled value type per kind. */
export interface CompiledByKind {
  listener: ListenerConfig;
  route_configuration: RouteConfig;
  cluster: ClusterConfig;
  cluster_load_assignment: LoadAssignment;
  secret: SecretConfig;
}

export function compileResource<K extends XdsKind>(
  model: XdsModelApi,
  io: { readFile(path: string): string },
  kind: K,
  json: unknown,
): CompileResult<CompiledByKind[K]> {
  switch (kind) {
    case 'listener': return model.compileListener(json, io) as CompileResult<CompiledByKind[K]>;
    case 'route_configuration': return model.compileRouteConfiguration(json, io) as CompileResult<CompiledByKind[K]>;
    case 'cluster': return model.compileCluster(json, io) as CompileResult<CompiledByKind[K]>;
    case 'secret': {
      if (model.compileSecret) return model.compileSecret(json, io) as CompileResult<CompiledByKind[K]>;
      const error = { resource: label('secret', resourceName('secret', json as Record<string, unknown>)), field: '', message: 'SDS is not supported by this model' };
      return { ok: false, errors: [error], warnings: [] } as CompileResult<CompiledByKind[K]>;
    }
    default: return model.compileClusterLoadAssignment(json) as CompileResult<CompiledByKind[K]>;
  }
}

/** `listener "name"`, the way the model labels resources in errors. */
export function label(kind: XdsKind, name: string): string {
  return `${kind} ${JSON.stringify(name)}`;
}
