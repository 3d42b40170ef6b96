// Collects the errors, warnings and cross-references found while compiling one Envoy resource.
import type { ConfigError, ConfigWarning } from './types.ts';

/** Reads an Envoy DataSource `filename`; injected so the model itself does no I/O. Throws on failure. */
export interface DataSourceReader {
  readFile(path: string): string;
}

/** A cluster name used by a route, weighted cluster or tcp_proxy, checked against the clusters by the bootstrap. */
export interface ClusterRef {
  readonly cluster: string;
  readonly resource: string;
  readonly field: string;
}

/** An HCM that waits for a route configuration over RDS. */
export interface RdsRef {
  readonly routeConfigName: string;
  readonly resource: string;
  readonly field: string;
}

export class CompileContext {
  readonly resource: string;
  readonly io: DataSourceReader | null;
  readonly errors: ConfigError[] = [];
  readonly warnings: ConfigWarning[] = [];
  readonly clusterRefs: ClusterRef[] = [];
  readonly rdsRefs: RdsRef[] = [];

  constructor(resource: string, io: DataSourceReader | null) {
    this.resource = resource;
    this.io = io;
  }

  error(field: string, message: string): void {
    this.errors.push({ resource: this.resource, field, message });
  }

  warn(field: string, message: string): void {
    this.warnings.push({ resource: this.resource, field, message });
  }

  refCluster(cluster: string, field: string): void {
    this.clusterRefs.push({ cluster, resource: this.resource, field });
  }
}

/** `base.name`, or `name` at the root. */
export function joinPath(base: string, name: string): string {
  return base === '' ? name : `${base}.${name}`;
}

/** One line: `listener "ingress": filter_chains[0].filters[0]...: message`. */
export function formatConfigError(e: ConfigError | ConfigWarning): string {
  return e.field === '' ? `${e.resource}: ${e.message}` : `${e.resource}: ${e.field}: ${e.message}`;
}

/** How a resource is named in errors: `listener "name"`. */
export function resourceLabel(kind: string, name: string): string {
  return `${kind} ${JSON.stringify(name)}`;
}
