// Compiles the envoy.filters.network.http_connection_manager typed_config into HttpConnectionManagerConfig.
import { compileAccessLogs } from './access-log.ts';
import { HTTP1_PROTOCOL_OPTIONS, HTTP_PROTOCOL_OPTIONS_COMMON, RDS, REQUEST_ID_EXTENSION, UPGRADE_CONFIG, UUID_REQUEST_ID_CONFIG } from './fields-hcm.ts';
import { ROUTE_CONFIGURATION } from './fields-route.ts';
import { compileHttp2Options } from './http2-options.ts';
import { compileHttpFilters } from './http-filters.ts';
import type { Msg, MessageTable } from './proto-message.ts';
import { compileRouteConfigMsg } from './route-config.ts';
import { compileTracing } from './tracing.ts';
import { openTyped } from './typed-config.ts';
import type { HttpConnectionManagerConfig, RouteConfig } from './types.ts';
import { compileForwardClientCert } from './xfcc.ts';

const CODEC_TYPES = ['AUTO', 'HTTP1', 'HTTP2', 'HTTP3'] as const;
const SERVER_HEADER = ['OVERWRITE', 'APPEND_IF_ABSENT', 'PASS_THROUGH'] as const;
const UNDERSCORES = ['ALLOW', 'REJECT_REQUEST', 'DROP_HEADER'] as const;
/** HttpConnectionManager.PathWithEscapedSlashesAction, by enum number; IMPLEMENTATION_SPECIFIC_DEFAULT is KEEP_UNCHANGED. */
const ESCAPED_SLASHES = ['IMPLEMENTATION_SPECIFIC_DEFAULT', 'KEEP_UNCHANGED', 'REJECT_REQUEST', 'UNESCAPE_AND_REDIRECT', 'UNESCAPE_AND_FORWARD'] as const;

/** Downstream common options: max_requests_per_connection has no model field yet. */
const DOWNSTREAM_COMMON_OPTIONS: MessageTable = {
  message: HTTP_PROTOCOL_OPTIONS_COMMON.message,
  fields: { ...HTTP_PROTOCOL_OPTIONS_COMMON.fields, max_requests_per_connection: 'unsupported' },
};

export const DEFAULT_SERVER_NAME = 'pilotfish';

/** The ALPN list a TLS filter chain advertises by default for this codec. */
export function alpnForCodec(codec: HttpConnectionManagerConfig['codecType']): string[] {
  if (codec === 'HTTP1') return ['http/1.1'];
  if (codec === 'HTTP2') return ['h2'];
  return ['h2', 'http/1.1'];
}

function compileUpgradeTypes(h: Msg): string[] {
  const out: string[] = [];
  for (const u of h.msgList('upgrade_configs', UPGRADE_CONFIG)) {
    const type = u.requiredStr('upgrade_type').toLowerCase();
    if (type === 'connect') u.error('upgrade_type', 'CONNECT is not supported yet');
    else if (type !== '' && u.bool('enabled', true)) out.push(type);
  }
  return out;
}

function compileRouteSpecifier(h: Msg): { routeConfig: RouteConfig | null; rdsName: string | null } {
  switch (h.oneOf(['rds', 'route_config', 'scoped_routes'], true)) {
    case 'route_config': {
      const rc = h.msg('route_config', ROUTE_CONFIGURATION);
      return { routeConfig: rc ? compileRouteConfigMsg(rc, true) : null, rdsName: null };
    }
    case 'rds': {
      const rds = h.msg('rds', RDS);
      const name = rds?.requiredStr('route_config_name') ?? '';
      if (rds && name !== '') h.ctx.rdsRefs.push({ routeConfigName: name, resource: h.ctx.resource, field: rds.path });
      return { routeConfig: null, rdsName: name || null };
    }
    default:
      return { routeConfig: null, rdsName: null };
  }
}

function keepIfDefault(a: (typeof ESCAPED_SLASHES)[number]): Exclude<(typeof ESCAPED_SLASHES)[number], 'IMPLEMENTATION_SPECIFIC_DEFAULT'> {
  return a === 'IMPLEMENTATION_SPECIFIC_DEFAULT' ? 'KEEP_UNCHANGED' : a;
}

/**
 * request_id_extension: only Envoy's UUID extension (Istio sets it on every connection manager), which is what we do
 * anyway. Errors go to `h`'s context.
 */
function compileRequestIdExtension(h: Msg): void {
  const r = h.msg('request_id_extension', REQUEST_ID_EXTENSION);
  if (r === null) return;
  if (!r.has('typed_config')) r.error('typed_config', 'is required');
  else openTyped(r.ctx, r.at('typed_config'), r.get('typed_config'), UUID_REQUEST_ID_CONFIG);
}

/** `h` is the opened HttpConnectionManager typed_config. Null after reporting errors. */
export function compileHcm(h: Msg): HttpConnectionManagerConfig | null {
  const before = h.ctx.errors.length;
  const statPrefix = h.requiredStr('stat_prefix');
  const codecType = h.enumOf('codec_type', CODEC_TYPES, 'AUTO');
  if (codecType === 'HTTP3') h.error('codec_type', 'HTTP3 is not supported yet');
  const { routeConfig, rdsName } = compileRouteSpecifier(h);
  compileRequestIdExtension(h);
  const common = h.msg('common_http_protocol_options', DOWNSTREAM_COMMON_OPTIONS);
  h.msg('http_protocol_options', HTTP1_PROTOCOL_OPTIONS);
  const config: HttpConnectionManagerConfig = {
    kind: 'http',
    statPrefix,
    codecType: codecType === 'HTTP3' ? 'AUTO' : codecType,
    routeConfig,
    rdsRouteConfigName: rdsName,
    httpFilters: compileHttpFilters(h),
    accessLog: compileAccessLogs(h),
    upgradeTypes: compileUpgradeTypes(h),
    generateRequestId: h.bool('generate_request_id', true),
    preserveExternalRequestId: h.bool('preserve_external_request_id', false),
    useRemoteAddress: h.bool('use_remote_address', false),
    xffNumTrustedHops: h.uint('xff_num_trusted_hops', 0),
    skipXffAppend: h.bool('skip_xff_append', false),
    ...compileForwardClientCert(h),
    serverName: h.optStr('server_name') ?? DEFAULT_SERVER_NAME,
    serverHeaderTransformation: h.enumOf('server_header_transformation', SERVER_HEADER, 'OVERWRITE'),
    streamIdleTimeoutMs: h.durationMs('stream_idle_timeout', 300_000),
    requestTimeoutMs: h.durationMs('request_timeout', 0),
    requestHeadersTimeoutMs: h.durationMs('request_headers_timeout', 0),
    idleTimeoutMs: common?.durationMs('idle_timeout', 3_600_000) ?? 3_600_000,
    maxConnectionDurationMs: common?.durationMs('max_connection_duration', 0) ?? 0,
    ...(common?.has('max_stream_duration') ? { maxStreamDurationMs: common.durationMs('max_stream_duration', 0) } : {}),
    maxRequestHeadersKb: h.uint('max_request_headers_kb', 60, 1, 8192),
    maxHeadersCount: common?.uint('max_headers_count', 100, 1) ?? 100,
    headersWithUnderscoresAction: common?.enumOf('headers_with_underscores_action', UNDERSCORES, 'ALLOW') ?? 'ALLOW',
    normalizePath: h.bool('normalize_path', false),
    mergeSlashes: h.bool('merge_slashes', false),
    pathWithEscapedSlashesAction: keepIfDefault(h.enumOf('path_with_escaped_slashes_action', ESCAPED_SLASHES, 'IMPLEMENTATION_SPECIFIC_DEFAULT')),
    http2: compileHttp2Options(h, 'http2_protocol_options'),
    delayedCloseTimeoutMs: h.durationMs('delayed_close_timeout', 1000),
    drainTimeoutMs: h.durationMs('drain_timeout', 5000),
    tracing: compileTracing(h),
  };
  return h.ctx.errors.length > before ? null : config;
}
