// Compiles a cluster's upstream HTTP protocol: HttpProtocolOptions extension options, or the deprecated cluster fields.
import {
  AUTO_HTTP_CONFIG,
  EXPLICIT_HTTP_CONFIG,
  UPSTREAM_HTTP_PROTOCOL_OPTIONS,
  USE_DOWNSTREAM_HTTP_CONFIG,
} from './fields-cluster.ts';
import { HTTP1_PROTOCOL_OPTIONS, HTTP_PROTOCOL_OPTIONS_COMMON } from './fields-hcm.ts';
import { DEFAULT_HTTP2_OPTIONS, compileHttp2Options } from './http2-options.ts';
import type { Msg, MessageTable } from './proto-message.ts';
import { messageNameOf, openTyped, typeUrlOf } from './typed-config.ts';
import type { ClusterConfig, Http2Options } from './types.ts';

export const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

const PROTOCOL_SELECTION = ['USE_CONFIGURED_PROTOCOL', 'USE_DOWNSTREAM_PROTOCOL'] as const;

/** Upstream common options: connection duration and header policies have no model field yet. */
const UPSTREAM_COMMON_OPTIONS: MessageTable = {
  message: HTTP_PROTOCOL_OPTIONS_COMMON.message,
  fields: {
    ...HTTP_PROTOCOL_OPTIONS_COMMON.fields,
    max_connection_duration: 'unsupported',
    headers_with_underscores_action: 'unsupported',
    max_headers_count: 'ignore',
  },
};

export interface ClusterProtocol {
  readonly protocol: ClusterConfig['protocol'];
  readonly http2: Http2Options;
  readonly idleTimeoutMs: number;
  readonly maxRequestsPerConnection: number;
  /** max_stream_duration of the common options, only when set and non-zero. */
  readonly maxStreamDurationMs?: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 3_600_000;

function commonOptions(m: Msg, name: string): { idleTimeoutMs: number; maxRequestsPerConnection: number; maxStreamDurationMs?: number } {
  const c = m.msg(name, UPSTREAM_COMMON_OPTIONS);
  const maxStreamDurationMs = c?.durationMs('max_stream_duration', 0) ?? 0;
  return {
    idleTimeoutMs: c?.durationMs('idle_timeout', DEFAULT_IDLE_TIMEOUT_MS) ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxRequestsPerConnection: c?.uint('max_requests_per_connection', 0) ?? 0,
    ...(maxStreamDurationMs > 0 ? { maxStreamDurationMs } : {}),
  };
}

/**
 * Protocol choice inside ExplicitHttpConfig (a oneof: exactly one) / UseDownstreamHttpConfig / AutoHttpConfig (plain
 * fields: options for each protocol the connection may end up speaking, any of them may be set, as Istio does).
 */
function http1Or2(m: Msg, required: boolean, oneOf = true): { http2: boolean; options: Http2Options } {
  const which = oneOf ? m.oneOf(['http_protocol_options', 'http2_protocol_options'], required) : null;
  if (m.has('http_protocol_options')) m.msg('http_protocol_options', HTTP1_PROTOCOL_OPTIONS);
  return { http2: which === 'http2_protocol_options', options: compileHttp2Options(m, 'http2_protocol_options') };
}

function fromHttpProtocolOptions(o: Msg, hasTls: boolean): ClusterProtocol {
  const common = commonOptions(o, 'common_http_protocol_options');
  switch (o.oneOf(['explicit_http_config', 'use_downstream_protocol_config', 'auto_config'], true)) {
    case 'explicit_http_config': {
      const e = o.msg('explicit_http_config', EXPLICIT_HTTP_CONFIG);
      const p = e ? http1Or2(e, true) : { http2: false, options: DEFAULT_HTTP2_OPTIONS };
      return { protocol: p.http2 ? 'http2' : 'http1', http2: p.options, ...common };
    }
    case 'use_downstream_protocol_config': {
      const d = o.msg('use_downstream_protocol_config', USE_DOWNSTREAM_HTTP_CONFIG);
      const p = d ? http1Or2(d, false, false) : { http2: false, options: DEFAULT_HTTP2_OPTIONS };
      return { protocol: 'downstream', http2: p.options, ...common };
    }
    case 'auto_config': {
      const a = o.msg('auto_config', AUTO_HTTP_CONFIG);
      const p = a ? http1Or2(a, false, false) : { http2: false, options: DEFAULT_HTTP2_OPTIONS };
      o.ctx.warn(
        o.at('auto_config'),
        hasTls
          ? 'auto_config: choosing HTTP/2 by ALPN is not implemented yet; the cluster uses HTTP/1.1'
          : 'auto_config without TLS uses HTTP/1.1 (HTTP/2 is only chosen by ALPN)',
      );
      return { protocol: 'http1', http2: p.options, ...common };
    }
    default:
      return { protocol: 'http1', http2: DEFAULT_HTTP2_OPTIONS, ...common };
  }
}

const DEPRECATED_FIELDS = [
  'http_protocol_options',
  'http2_protocol_options',
  'common_http_protocol_options',
  'protocol_selection',
  'max_requests_per_connection',
];

/** The cluster's protocol settings from typed_extension_protocol_options (or the deprecated per-cluster fields). */
export function compileClusterProtocol(c: Msg, hasTls: boolean): ClusterProtocol {
  const options = c.map('typed_extension_protocol_options');
  let result: ClusterProtocol | null = null;
  for (const [key, value] of Object.entries(options)) {
    const path = `${c.at('typed_extension_protocol_options')}[${JSON.stringify(key)}]`;
    const url = typeUrlOf(value);
    if (key !== HTTP_PROTOCOL_OPTIONS_KEY && (url === null || messageNameOf(url) !== HTTP_PROTOCOL_OPTIONS_KEY)) {
      c.ctx.warn(path, `protocol options ${key} are not supported yet and are ignored`);
      continue;
    }
    const o = openTyped(c.ctx, path, value, UPSTREAM_HTTP_PROTOCOL_OPTIONS);
    if (o) result = fromHttpProtocolOptions(o, hasTls);
    const deprecated = DEPRECATED_FIELDS.find((f) => c.has(f));
    if (deprecated) c.error(deprecated, `cannot be combined with typed_extension_protocol_options["${HTTP_PROTOCOL_OPTIONS_KEY}"]`);
  }
  if (result) return result;
  const common = commonOptions(c, 'common_http_protocol_options');
  c.oneOf(['http_protocol_options', 'http2_protocol_options'], false);
  if (c.has('http_protocol_options')) c.msg('http_protocol_options', HTTP1_PROTOCOL_OPTIONS);
  const downstream = c.enumOf('protocol_selection', PROTOCOL_SELECTION, 'USE_CONFIGURED_PROTOCOL') === 'USE_DOWNSTREAM_PROTOCOL';
  const http2 = c.has('http2_protocol_options');
  return {
    protocol: downstream ? 'downstream' : http2 ? 'http2' : 'http1',
    http2: compileHttp2Options(c, 'http2_protocol_options'),
    idleTimeoutMs: common.idleTimeoutMs,
    maxRequestsPerConnection: c.uint('max_requests_per_connection', common.maxRequestsPerConnection),
    ...(common.maxStreamDurationMs ? { maxStreamDurationMs: common.maxStreamDurationMs } : {}),
  };
}
