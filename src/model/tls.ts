// Compiles TLS transport sockets: DownstreamTlsContext (listeners) and UpstreamTlsContext (clusters).
import { readDataSource } from './data-source.ts';
import {
  CERTIFICATE_VALIDATION_CONTEXT,
  COMMON_TLS_CONTEXT,
  DOWNSTREAM_TLS_CONTEXT,
  SUBJECT_ALT_NAME_MATCHER,
  TLS_CERTIFICATE,
  TLS_PARAMETERS,
  TRANSPORT_SOCKET,
  UPSTREAM_TLS_CONTEXT,
  STRING_MATCHER,
} from './fields-common.ts';
import { stringMatcherFrom } from './matchers.ts';
import { Msg, type MessageTable } from './proto-message.ts';
import { messageNameOf, typeUrlOf } from './typed-config.ts';
import type {
  DownstreamTlsConfig,
  StringMatcher,
  SubjectAltNameMatcher,
  TlsCertificate,
  TlsVersion,
  UpstreamTlsConfig,
} from './types.ts';

const TLS_SOCKET_NAME = 'envoy.transport_sockets.tls';
const RAW_BUFFER_NAME = 'envoy.transport_sockets.raw_buffer';
const RAW_BUFFER_TYPE = 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';

const TLS_VERSIONS = ['TLS_AUTO', 'TLSv1_0', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'] as const;
const VERSION_MAP: Readonly<Record<(typeof TLS_VERSIONS)[number], TlsVersion | null>> = {
  TLS_AUTO: null,
  TLSv1_0: 'TLSv1',
  TLSv1_1: 'TLSv1.1',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};
const SAN_TYPES = ['SAN_TYPE_UNSPECIFIED', 'EMAIL', 'DNS', 'URI', 'IP_ADDRESS', 'OTHER_NAME'] as const;

interface CommonTls {
  readonly certificates: TlsCertificate[];
  readonly trustedCa: string | null;
  readonly alpnProtocols: string[];
  readonly minVersion: TlsVersion | null;
  readonly maxVersion: TlsVersion | null;
  readonly sans: SubjectAltNameMatcher[];
}

function compileCertificate(c: Msg): TlsCertificate | null {
  for (const f of ['certificate_chain', 'private_key']) if (!c.has(f)) c.error(f, 'is required');
  const certificateChain = readDataSource(c.ctx, c.at('certificate_chain'), c.get('certificate_chain'));
  const privateKey = readDataSource(c.ctx, c.at('private_key'), c.get('private_key'));
  return certificateChain !== null && privateKey !== null ? { certificateChain, privateKey } : null;
}

function compileSans(v: Msg): SubjectAltNameMatcher[] {
  const out: SubjectAltNameMatcher[] = [];
  for (const s of v.msgList('match_typed_subject_alt_names', SUBJECT_ALT_NAME_MATCHER)) {
    const t = s.enumOf('san_type', SAN_TYPES, 'SAN_TYPE_UNSPECIFIED');
    if (t === 'SAN_TYPE_UNSPECIFIED') s.error('san_type', 'is required (DNS, URI, EMAIL or IP_ADDRESS)');
    if (t === 'OTHER_NAME') s.error('san_type', 'OTHER_NAME is not supported yet');
    if (!s.has('matcher')) s.error('matcher', 'is required');
    const matcher = s.msg('matcher', STRING_MATCHER);
    const compiled = matcher ? stringMatcherFrom(matcher) : null;
    if (compiled && t !== 'SAN_TYPE_UNSPECIFIED' && t !== 'OTHER_NAME') out.push({ sanType: t, matcher: compiled });
  }
  for (const m of v.msgList('match_subject_alt_names', STRING_MATCHER)) {
    const compiled = stringMatcherFrom(m);
    if (compiled) out.push({ sanType: 'ANY', matcher: compiled });
  }
  return out;
}

function compileCommon(parent: Msg): CommonTls {
  const c = parent.msg('common_tls_context', COMMON_TLS_CONTEXT);
  const certificates: TlsCertificate[] = [];
  let trustedCa: string | null = null;
  let sans: SubjectAltNameMatcher[] = [];
  let minVersion: TlsVersion | null = null;
  let maxVersion: TlsVersion | null = null;
  if (!c) return { certificates, trustedCa, alpnProtocols: [], minVersion, maxVersion, sans };
  for (const cert of c.msgList('tls_certificates', TLS_CERTIFICATE)) {
    const compiled = compileCertificate(cert);
    if (compiled) certificates.push(compiled);
  }
  const v = c.msg('validation_context', CERTIFICATE_VALIDATION_CONTEXT);
  if (v) {
    trustedCa = readDataSource(v.ctx, v.at('trusted_ca'), v.get('trusted_ca'));
    sans = compileSans(v);
  }
  const p = c.msg('tls_params', TLS_PARAMETERS);
  if (p) {
    minVersion = VERSION_MAP[p.enumOf('tls_minimum_protocol_version', TLS_VERSIONS, 'TLS_AUTO')];
    maxVersion = VERSION_MAP[p.enumOf('tls_maximum_protocol_version', TLS_VERSIONS, 'TLS_AUTO')];
    if (minVersion !== null && maxVersion !== null && minVersion > maxVersion) {
      p.error('tls_minimum_protocol_version', `${minVersion} is above tls_maximum_protocol_version ${maxVersion}`);
    }
  }
  return { certificates, trustedCa, alpnProtocols: c.strList('alpn_protocols'), minVersion, maxVersion, sans };
}

function matchersOf(sans: readonly SubjectAltNameMatcher[]): StringMatcher[] {
  return sans.map((s) => s.matcher);
}

/**
 * Opens a transport_socket: null for plaintext (absent or raw_buffer), the TLS context message otherwise.
 * Anything else is reported as unsupported.
 */
function openTlsSocket(parent: Msg, name: string, table: MessageTable): Msg | null {
  const ts = parent.msg(name, TRANSPORT_SOCKET);
  if (!ts) return null;
  const socketName = ts.str('name');
  const typed = ts.get('typed_config');
  const url = typeUrlOf(typed);
  const message = url === null ? null : messageNameOf(url);
  if (message === RAW_BUFFER_TYPE || (message === null && socketName === RAW_BUFFER_NAME)) return null;
  if (message !== table.message) {
    if (message === null && socketName !== TLS_SOCKET_NAME) {
      ts.error('name', `transport socket ${JSON.stringify(socketName)} is not supported yet`);
    } else if (message === null) {
      ts.error('typed_config', `is required (${table.message})`);
    } else {
      ts.error('typed_config.@type', `expected type.googleapis.com/${table.message} (or raw_buffer), got ${url}`);
    }
    return null;
  }
  return Msg.open(ts.ctx, ts.at('typed_config'), typed, table);
}

/**
 * A listener filter chain's transport_socket. `defaultAlpn` is used when alpn_protocols is empty
 * (derived from the chain's codec). Returns undefined after reporting errors, null for plaintext.
 */
export function compileDownstreamTls(parent: Msg, defaultAlpn: readonly string[]): DownstreamTlsConfig | null | undefined {
  const before = parent.ctx.errors.length;
  const t = openTlsSocket(parent, 'transport_socket', DOWNSTREAM_TLS_CONTEXT);
  if (!t) return parent.ctx.errors.length > before ? undefined : null;
  const common = compileCommon(t);
  const requireClientCertificate = t.bool('require_client_certificate', false);
  if (common.certificates.length === 0 && parent.ctx.errors.length === before) {
    t.error('common_tls_context.tls_certificates', 'a server certificate is required');
  }
  if (requireClientCertificate && common.trustedCa === null) {
    const message = 'no validation_context.trusted_ca: client certificates are checked against the system CAs';
    t.ctx.warn(t.at('require_client_certificate'), message);
  }
  return {
    certificates: common.certificates,
    trustedCa: common.trustedCa,
    requireClientCertificate,
    alpnProtocols: common.alpnProtocols.length > 0 ? common.alpnProtocols : [...defaultAlpn],
    minVersion: common.minVersion,
    maxVersion: common.maxVersion,
    matchSubjectAltNames: matchersOf(common.sans),
    subjectAltNameMatchers: common.sans,
  };
}

/** A cluster's transport_socket: null for plaintext, undefined after reporting errors. */
export function compileUpstreamTls(parent: Msg): UpstreamTlsConfig | null | undefined {
  const before = parent.ctx.errors.length;
  const t = openTlsSocket(parent, 'transport_socket', UPSTREAM_TLS_CONTEXT);
  if (!t) return parent.ctx.errors.length > before ? undefined : null;
  const common = compileCommon(t);
  if (common.certificates.length > 1) {
    t.error('common_tls_context.tls_certificates', 'at most one client certificate is supported');
  }
  return {
    sni: t.optStr('sni'),
    trustedCa: common.trustedCa,
    certificate: common.certificates[0] ?? null,
    alpnProtocols: common.alpnProtocols,
    matchSubjectAltNames: matchersOf(common.sans),
    subjectAltNameMatchers: common.sans,
    minVersion: common.minVersion,
    maxVersion: common.maxVersion,
  };
}
