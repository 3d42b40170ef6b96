// Reads the bootstrap the way Envoy does (--config-path, --config-yaml merged over it, --service-* overrides) and compiles it.
import { readFileSync } from 'node:fs';
import type { AccessLogConfig, CompileResult, ConfigError, ConfigWarning, Snapshot } from '../model/types.ts';
import { compileJsonFormat, validateFormat } from '../observability/access-log-format.ts';
import type { ProxyOptions } from './proxy-args.ts';

/** The model functions the CLI uses (src/model/parse-config-text.ts and compile-bootstrap.ts); injectable for tests. */
export interface ModelApi {
  parseConfigText(text: string, fileName: string): { ok: true; value: unknown } | { ok: false; error: string };
  compileBootstrap(doc: unknown, io: { readFile(path: string): string }): CompileResult<Snapshot>;
  formatConfigError(e: ConfigError | ConfigWarning): string;
}

/** Loads the model lazily (so `--help` and flag errors never load the compiler); `specifier` (a file URL) replaces it in tests. */
export async function loadModelApi(specifier?: string): Promise<ModelApi> {
  if (specifier) return (await import(specifier)) as ModelApi;
  const [{ parseConfigText }, { compileBootstrap, formatConfigError }] = await Promise.all([
    import('../model/parse-config-text.ts'),
    import('../model/compile-bootstrap.ts'),
  ]);
  return { parseConfigText, compileBootstrap, formatConfigError };
}

/** Envoy's proto MergeFrom on JSON: objects merged recursively, lists appended, scalars replaced. */
export function mergeConfig(base: unknown, over: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(over)) return [...base, ...over];
  if (isObject(base) && isObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in out ? mergeConfig(out[k], v) : v;
    return out;
  }
  return over;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export type LoadResult =
  | { ok: true; doc: unknown }
  | { ok: false; errors: string[] };

/** Reads and parses the bootstrap document (no compilation). */
export function readBootstrap(opts: ProxyOptions, model: ModelApi): LoadResult {
  let doc: unknown = {};
  if (opts.configPath) {
    let text: string;
    try {
      text = readFileSync(opts.configPath, 'utf8');
    } catch (err) {
      return { ok: false, errors: [`cannot read config file ${opts.configPath}: ${(err as Error).message}`] };
    }
    const parsed = model.parseConfigText(text, opts.configPath);
    if (!parsed.ok) return { ok: false, errors: [parsed.error] };
    doc = parsed.value;
  }
  if (opts.configYaml) {
    const parsed = model.parseConfigText(opts.configYaml, 'config-yaml.yaml');
    if (!parsed.ok) return { ok: false, errors: [`--config-yaml: ${parsed.error}`] };
    doc = mergeConfig(doc, parsed.value);
  }
  if (opts.serviceCluster !== null || opts.serviceNode !== null) {
    const node = isObject(doc) && isObject(doc.node) ? doc.node : {};
    doc = {
      ...(isObject(doc) ? doc : {}),
      node: { ...node, ...(opts.serviceNode !== null ? { id: opts.serviceNode } : {}), ...(opts.serviceCluster !== null ? { cluster: opts.serviceCluster } : {}) },
    };
  }
  return { ok: true, doc };
}

export type CompiledConfig =
  | { ok: true; snapshot: Snapshot; warnings: string[] }
  | { ok: false; errors: string[]; warnings: string[] };

/** Compiles a parsed bootstrap; DataSource files are read relative to the working directory, as Envoy does. */
export function compileDoc(doc: unknown, model: ModelApi): CompiledConfig {
  const r = model.compileBootstrap(doc, { readFile: (p) => readFileSync(p, 'utf8') });
  const warnings = r.warnings.map((w) => model.formatConfigError(w));
  if (!r.ok) return { ok: false, errors: r.errors.map((e) => model.formatConfigError(e)), warnings };
  const formatErrors = accessLogFormatErrors(r.value);
  if (formatErrors.length) return { ok: false, errors: formatErrors, warnings };
  return { ok: true, snapshot: r.value, warnings };
}

function formatError(c: AccessLogConfig): string | null {
  if (c.textFormat !== null) return validateFormat(c.textFormat);
  if (c.jsonFormat) {
    try { compileJsonFormat(c.jsonFormat); } catch (e) { return (e as Error).message; }
  }
  return null;
}

/** Access-log format strings the compiler accepted but the formatter cannot run (unknown %COMMAND%, stray %). */
export function accessLogFormatErrors(snapshot: Snapshot): string[] {
  const errors: string[] = [];
  const check = (resource: string, field: string, logs: readonly AccessLogConfig[]): void => {
    logs.forEach((c, i) => {
      const msg = formatError(c);
      if (msg) errors.push(`${resource}: ${field}access_log[${i}]: ${msg}`);
    });
  };
  // The network filter carrying the access log is the chain's terminal (last) filter.
  const terminal = (chain: unknown): number => {
    const filters = (chain as { filters?: unknown } | undefined)?.filters;
    return Array.isArray(filters) && filters.length > 0 ? filters.length - 1 : 0;
  };
  for (const l of snapshot.listeners) {
    const resource = `listener ${JSON.stringify(l.name)}`;
    const src = snapshot.source.listeners.find((x) => (x as { name?: unknown } | null)?.name === l.name) as
      | { filter_chains?: unknown[]; default_filter_chain?: unknown } | undefined;
    check(resource, '', l.accessLog);
    l.filterChains.forEach((fc, i) => {
      check(resource, `filter_chains[${i}].filters[${terminal(src?.filter_chains?.[i])}].typed_config.`, fc.network.accessLog);
    });
    if (l.defaultFilterChain) {
      check(resource, `default_filter_chain.filters[${terminal(src?.default_filter_chain)}].typed_config.`, l.defaultFilterChain.network.accessLog);
    }
  }
  return errors;
}

/** readBootstrap + compileDoc. */
export function loadConfig(opts: ProxyOptions, model: ModelApi): { ok: true; doc: unknown; snapshot: Snapshot; warnings: string[] } | { ok: false; errors: string[]; warnings: string[] } {
  const read = readBootstrap(opts, model);
  if (!read.ok) return { ok: false, errors: read.errors, warnings: [] };
  const c = compileDoc(read.doc, model);
  return c.ok ? { ...c, doc: read.doc } : c;
}
