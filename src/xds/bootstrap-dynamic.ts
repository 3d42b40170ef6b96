// Parses the bootstrap's dynamic_resources (ads_config, lds_config, cds_config) into the settings of the ADS client.

/** An Envoy DataSource kept by reference: a file is read each time a channel opens (so a rotated root file is picked up). */
export type DataSourceRef = { readonly filename: string } | { readonly inline: string };

/** google_grpc.channel_credentials.ssl_credentials: TLS to the control plane (gRPC's SslCredentials). */
export interface SslChannelCredentials {
  /** Roots that verify the server; null: the system roots. */
  readonly rootCerts: DataSourceRef | null;
  readonly privateKey: DataSourceRef | null;
  readonly certChain: DataSourceRef | null;
}

/** What the xDS client needs from the bootstrap. */
export interface XdsBootstrap {
  /** State-of-the-world (GRPC) or incremental (DELTA_GRPC) ADS. */
  readonly apiType: 'GRPC' | 'DELTA_GRPC';
  /** gRPC target ("127.0.0.1:18000", "dns:///cp.example:18000"). */
  readonly target: string;
  /** The static cluster named by envoy_grpc (null for google_grpc). */
  readonly clusterName: string | null;
  /** Authority sent to the control plane (envoy_grpc.authority, else the cluster name, else the target). */
  readonly authority: string;
  readonly lds: boolean;
  readonly cds: boolean;
  /** Longest initial_fetch_timeout of lds_config/cds_config; 0 waits forever. Envoy's default is 15 s. */
  readonly initialFetchTimeoutMs: number;
  /** ads_config.set_node_on_first_message_only (default false: every request carries the node). */
  readonly nodeOnFirstMessageOnly: boolean;
  /** The bootstrap's node, proto3 JSON. */
  readonly node: Readonly<Record<string, unknown>>;
  /** google_grpc with ssl_credentials: TLS with these roots (the server name is checked against the target host). */
  readonly sslCredentials?: SslChannelCredentials | null;
}

export type ParseResult = { ok: true; value: XdsBootstrap | null; warnings: string[] } | { ok: false; errors: string[]; warnings: string[] };

type Json = Record<string, unknown>;
const DEFAULT_INITIAL_FETCH_TIMEOUT_MS = 15_000;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function durationMs(v: unknown): number | null {
  if (typeof v === 'string') {
    const m = /^(\d+)(?:\.(\d{1,9}))?s$/.exec(v.trim());
    return m ? Number(m[1]) * 1000 + (m[2] ? Number(m[2].padEnd(9, '0')) / 1e6 : 0) : null;
  }
  if (isObject(v)) {
    const s = Number(v.seconds ?? 0);
    const n = Number(v.nanos ?? 0);
    return Number.isFinite(s) && Number.isFinite(n) && s >= 0 && n >= 0 ? s * 1000 + n / 1e6 : null;
  }
  return null;
}

function at(field: string): string {
  return field === '' ? 'dynamic_resources' : `dynamic_resources.${field}`;
}

class Errors {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  error(field: string, message: string): void { this.errors.push(`bootstrap: ${at(field)}: ${message}`); }
  warn(field: string, message: string): void { this.warnings.push(`bootstrap: ${at(field)}: ${message}`); }
  unknown(field: string, v: Json, known: readonly string[]): void {
    for (const k of Object.keys(v)) if (!known.includes(k)) this.error(field === '' ? k : `${field}.${k}`, 'is not supported');
  }
}

/** lds_config / cds_config: must point at ADS. Returns its initial fetch timeout in ms, or null when absent/invalid. */
function parseConfigSource(e: Errors, field: string, v: unknown): number | null {
  if (v === undefined) return null;
  if (!isObject(v)) { e.error(field, 'must be a ConfigSource object'); return null; }
  e.unknown(field, v, ['ads', 'resource_api_version', 'initial_fetch_timeout', 'authorities']);
  if (!isObject(v.ads)) e.error(field, 'only ADS config sources ({ads: {}}) are supported');
  if (v.resource_api_version !== undefined && v.resource_api_version !== 'V3' && v.resource_api_version !== 2) {
    e.error(`${field}.resource_api_version`, `must be V3, got ${JSON.stringify(v.resource_api_version)}`);
  }
  if (v.initial_fetch_timeout === undefined) return DEFAULT_INITIAL_FETCH_TIMEOUT_MS;
  const ms = durationMs(v.initial_fetch_timeout);
  if (ms === null) e.error(`${field}.initial_fetch_timeout`, `invalid duration ${JSON.stringify(v.initial_fetch_timeout)}`);
  return ms ?? DEFAULT_INITIAL_FETCH_TIMEOUT_MS;
}

/** The first endpoint's socket address of a static cluster ("host:port"), or an error message. */
function clusterTarget(bootstrap: Json, name: string): { target: string; http2: boolean } | string {
  const sr = isObject(bootstrap.static_resources) ? bootstrap.static_resources : {};
  const clusters = Array.isArray(sr.clusters) ? sr.clusters : [];
  const c = clusters.find((x): x is Json => isObject(x) && x.name === name);
  if (!c) return `names cluster ${JSON.stringify(name)}, which is not in static_resources.clusters`;
  const la = isObject(c.load_assignment) ? c.load_assignment : {};
  const eps = Array.isArray(la.endpoints) && isObject(la.endpoints[0]) ? la.endpoints[0] : {};
  const lbe = Array.isArray(eps.lb_endpoints) && isObject(eps.lb_endpoints[0]) ? eps.lb_endpoints[0] : {};
  const ep = isObject(lbe.endpoint) ? lbe.endpoint : {};
  const addr = isObject(ep.address) && isObject(ep.address.socket_address) ? ep.address.socket_address : null;
  if (!addr || typeof addr.address !== 'string' || addr.address === '') {
    return `cluster ${JSON.stringify(name)} has no endpoint (load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address)`;
  }
  const port = Number(addr.port_value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `cluster ${JSON.stringify(name)}: endpoint port_value must be in [1, 65535]`;
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  const http2 = isObject(c.http2_protocol_options) || JSON.stringify(c.typed_extension_protocol_options ?? {}).includes('http2_protocol_options');
  return { target: `${host}:${port}`, http2 };
}

function dataSourceRef(e: Errors, field: string, v: unknown): DataSourceRef | null {
  if (v === undefined) return null;
  if (!isObject(v)) { e.error(field, 'must be a DataSource object'); return null; }
  e.unknown(field, v, ['filename', 'inline_string', 'inline_bytes']);
  if (typeof v.filename === 'string' && v.filename !== '') return { filename: v.filename };
  if (typeof v.inline_string === 'string' && v.inline_string !== '') return { inline: v.inline_string };
  if (typeof v.inline_bytes === 'string' && v.inline_bytes !== '') return { inline: Buffer.from(v.inline_bytes, 'base64').toString('utf8') };
  e.error(field, 'one of filename, inline_string or inline_bytes is required');
  return null;
}

/** google_grpc.channel_credentials: ssl_credentials (TLS) or insecure; null for plaintext. */
function parseChannelCredentials(e: Errors, field: string, v: unknown): SslChannelCredentials | null {
  if (v === undefined) return null;
  if (!isObject(v)) { e.error(field, 'must be a ChannelCredentials object'); return null; }
  e.unknown(field, v, ['ssl_credentials', 'insecure']);
  if (v.ssl_credentials === undefined) return null;
  const ssl = v.ssl_credentials;
  const f = `${field}.ssl_credentials`;
  if (!isObject(ssl)) { e.error(f, 'must be an SslCredentials object'); return null; }
  e.unknown(f, ssl, ['root_certs', 'private_key', 'cert_chain']);
  const out = { rootCerts: dataSourceRef(e, `${f}.root_certs`, ssl.root_certs), privateKey: dataSourceRef(e, `${f}.private_key`, ssl.private_key), certChain: dataSourceRef(e, `${f}.cert_chain`, ssl.cert_chain) };
  if ((out.privateKey === null) !== (out.certChain === null)) e.error(f, 'private_key and cert_chain go together');
  return out;
}

function parseAdsConfig(e: Errors, bootstrap: Json, v: unknown): Pick<XdsBootstrap, 'apiType' | 'target' | 'clusterName' | 'authority' | 'nodeOnFirstMessageOnly' | 'sslCredentials'> | null {
  if (!isObject(v)) { e.error('ads_config', 'must be an ApiConfigSource object'); return null; }
  e.unknown('ads_config', v, ['api_type', 'transport_api_version', 'grpc_services', 'set_node_on_first_message_only', 'rate_limit_settings', 'refresh_delay', 'request_timeout']);
  const apiType = v.api_type === 'GRPC' || v.api_type === 'AGGREGATED_GRPC' ? 'GRPC'
    : v.api_type === 'DELTA_GRPC' || v.api_type === 'AGGREGATED_DELTA_GRPC' ? 'DELTA_GRPC' : null;
  if (apiType === null) e.error('ads_config.api_type', `must be GRPC or DELTA_GRPC, got ${JSON.stringify(v.api_type ?? null)}`);
  if (v.transport_api_version !== undefined && v.transport_api_version !== 'V3' && v.transport_api_version !== 2) {
    e.error('ads_config.transport_api_version', `must be V3, got ${JSON.stringify(v.transport_api_version)}`);
  }
  const services = Array.isArray(v.grpc_services) ? v.grpc_services : [];
  if (services.length === 0) { e.error('ads_config.grpc_services', 'exactly one gRPC service is required'); return null; }
  if (services.length > 1) e.warn('ads_config.grpc_services', 'only the first gRPC service is used');
  const svc = services[0];
  const field = 'ads_config.grpc_services[0]';
  if (!isObject(svc)) { e.error(field, 'must be a GrpcService object'); return null; }
  e.unknown(field, svc, ['envoy_grpc', 'google_grpc', 'timeout', 'initial_metadata']);
  const nodeOnFirstMessageOnly = v.set_node_on_first_message_only === true;
  if (isObject(svc.envoy_grpc)) {
    const g = svc.envoy_grpc;
    if (typeof g.cluster_name !== 'string' || g.cluster_name === '') { e.error(`${field}.envoy_grpc.cluster_name`, 'is required'); return null; }
    const t = clusterTarget(bootstrap, g.cluster_name);
    if (typeof t === 'string') { e.error(`${field}.envoy_grpc.cluster_name`, t); return null; }
    if (!t.http2) e.warn(`${field}.envoy_grpc.cluster_name`, `cluster ${JSON.stringify(g.cluster_name)} should enable http2_protocol_options (gRPC needs HTTP/2; used anyway)`);
    const authority = typeof g.authority === 'string' && g.authority !== '' ? g.authority : g.cluster_name;
    return apiType && { apiType, target: t.target, clusterName: g.cluster_name, authority, nodeOnFirstMessageOnly };
  }
  if (isObject(svc.google_grpc)) {
    const g = svc.google_grpc;
    e.unknown(`${field}.google_grpc`, g, ['target_uri', 'stat_prefix', 'channel_credentials', 'channel_args']);
    const uri = g.target_uri;
    if (typeof uri !== 'string' || uri === '') { e.error(`${field}.google_grpc.target_uri`, 'is required'); return null; }
    const sslCredentials = parseChannelCredentials(e, `${field}.google_grpc.channel_credentials`, g.channel_credentials);
    return apiType && { apiType, target: uri, clusterName: null, authority: uri, nodeOnFirstMessageOnly, sslCredentials };
  }
  e.error(field, 'one of envoy_grpc or google_grpc is required');
  return null;
}

/** Reads `dynamic_resources` of a raw bootstrap; value null when there is none (a static-only bootstrap). */
export function parseDynamicResources(raw: unknown): ParseResult {
  const bootstrap = isObject(raw) ? raw : {};
  const dr = bootstrap.dynamic_resources;
  if (dr === undefined || dr === null) return { ok: true, value: null, warnings: [] };
  const e = new Errors();
  if (!isObject(dr)) return { ok: false, errors: ['bootstrap: dynamic_resources: must be an object'], warnings: [] };
  e.unknown('', dr, ['ads_config', 'lds_config', 'cds_config']);
  const lds = parseConfigSource(e, 'lds_config', dr.lds_config);
  const cds = parseConfigSource(e, 'cds_config', dr.cds_config);
  if (lds === null && cds === null && e.errors.length === 0) e.error('', 'lds_config or cds_config is required');
  const ads = dr.ads_config === undefined ? null : parseAdsConfig(e, bootstrap, dr.ads_config);
  if (dr.ads_config === undefined) e.error('ads_config', 'is required (lds_config/cds_config use ADS)');
  if (e.errors.length > 0 || ads === null) return { ok: false, errors: e.errors, warnings: e.warnings };
  const timeouts = [lds, cds].filter((t): t is number => t !== null);
  return {
    ok: true,
    value: {
      ...ads,
      lds: lds !== null,
      cds: cds !== null,
      initialFetchTimeoutMs: timeouts.includes(0) ? 0 : Math.max(...timeouts),
      node: isObject(bootstrap.node) ? bootstrap.node : {},
    },
    warnings: e.warnings,
  };
}
