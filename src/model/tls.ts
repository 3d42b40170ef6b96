// Compiles TLS transport sockets: DownstreamTlsContext (listeners) and UpstreamTlsContext (clusters).
import { readDataSource } from './data-source.ts';
import {
  CERTIFICATE_VALIDATION_CONTEXT,
  COMBINED_VALIDATION_CONTEXT,
  COMMON_TLS_CONTEXT,
  SDS_CONFIG_SOURCE,
  SDS_SECRET_CONFIG,
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
  SdsSecretRef,
  StringMatcher,
  SubjectAltNameMatcher,
  TlsCertificate,
  TlsSdsRefs,
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
  readonly sds: TlsSdsRefs | null;
}

/** A TlsCertificate message (also the tls_certificate of a Secret). */
export function compileCertificate(c: Msg): TlsCertificate | null {
  for (const f of ['certificate_chain', 'private_key']) if (!c.has(f)) c.error(f, 'is required');
  const certificateChain = readDataSource(c.ctx, c.at('certificate_chain'), c.get('certificate_chain'));
  const privateKey = readDataSource(c.ctx, c.at('private_key'), c.get('private_key'));
  return certificateChain !== null && privateKey !== null ? { certificateChain, privateKey } : null;
}

/** match_typed_subject_alt_names and match_subject_alt_names of a CertificateValidationContext. */
export function compileSans(v: Msg): SubjectAltNameMatcher[] {
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

/** An SdsSecretConfig: the secret's name and where it comes from (see SdsSource). */
function compileSdsRef(m: Msg): SdsSecretRef | null {
  const name = m.str('name');
  if (name === '') { m.error('name', 'is required'); return null; }
  if (!m.has('sds_config')) return { name, source: 'static' };
  const cs = m.msg('sds_config', SDS_CONFIG_SOURCE);
  return { name, source: cs?.has('ads') ? 'ads' : 'local' };
}

/** The SDS references of a CommonTlsContext, or null when it names none. */
function compileSdsRefs(c: Msg, combined: Msg | null): TlsSdsRefs | null {
  const certificates: SdsSecretRef[] = [];
  for (const m of c.msgList('tls_certificate_sds_secret_configs', SDS_SECRET_CONFIG)) {
    const ref = compileSdsRef(m);
    if (ref) certificates.push(ref);
  }
  const owner = combined ?? c;
  if (combined && !combined.has('validation_context_sds_secret_config')) combined.error('validation_context_sds_secret_config', 'is required');
  const vm = owner.msg('validation_context_sds_secret_config', SDS_SECRET_CONFIG);
  const validation = vm ? compileSdsRef(vm) : null;
  return certificates.length > 0 || validation !== null ? { certificates, validation } : null;
}

function compileCommon(parent: Msg): CommonTls {
  const c = parent.msg('common_tls_context', COMMON_TLS_CONTEXT);
  const certificates: TlsCertificate[] = [];
  let trustedCa: string | null = null;
  let sans: SubjectAltNameMatcher[] = [];
  let minVersion: TlsVersion | null = null;
  let maxVersion: TlsVersion | null = null;
  if (!c) return { certificates, trustedCa, alpnProtocols: [], minVersion, maxVersion, sans, sds: null };
  for (const cert of c.msgList('tls_certificates', TLS_CERTIFICATE)) {
    const compiled = compileCertificate(cert);
    if (compiled) certificates.push(compiled);
  }
  c.oneOf(['validation_context', 'validation_context_sds_secret_config', 'combined_validation_context'], false);
  const combined = c.msg('combined_validation_context', COMBINED_VALIDATION_CONTEXT);
  const v = combined ? combined.msg('default_validation_context', CERTIFICATE_VALIDATION_CONTEXT) : c.msg('validation_context', CERTIFICATE_VALIDATION_CONTEXT);
  if (v) {
    trustedCa = readDataSource(v.ctx, v.at('trusted_ca'), v.get('trusted_ca'));
    sans = compileSans(v);
  }
  const sds = compileSdsRefs(c, combined);
  const p = c.msg('tls_params', TLS_PARAMETERS);
  if (p) {
    minVersion = VERSION_MAP[p.enumOf('tls_minimum_protocol_version', TLS_VERSIONS, 'TLS_AUTO')];
    maxVersion = VERSION_MAP[p.enumOf('tls_maximum_protocol_version', TLS_VERSIONS, 'TLS_AUTO')];
    if (minVersion !== null && maxVersion !== null && minVersion > maxVersion) {
      p.error('tls_minimum_protocol_version', `${minVersion} is above tls_maximum_protocol_version ${maxVersion}`);
    }
  }
  return { certificates, trustedCa, alpnProtocols: c.strList('alpn_protocols'), minVersion, maxVersion, sans, sds };
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
  if (common.certificates.length === 0 && (common.sds?.certificates.length ?? 0) === 0 && parent.ctx.errors.length === before) {
    t.error('common_tls_context.tls_certificates', 'a server certificate is required');
  }
  if (requireClientCertificate && common.trustedCa === null && !common.sds?.validation) {
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
    sds: common.sds,
    ...handshakeTimeout(parent),
  };
}

/** FilterChain.transport_socket_connect_timeout (0 or absent: the default). */
function handshakeTimeout(fc: Msg): { handshakeTimeoutMs?: number } {
  const ms = fc.optDurationMs('transport_socket_connect_timeout');
  return ms !== null && ms > 0 ? { handshakeTimeoutMs: ms } : {};
}

/** A cluster's transport_socket: null for plaintext, undefined after reporting errors. */
export function compileUpstreamTls(parent: Msg): UpstreamTlsConfig | null | undefined {
  const before = parent.ctx.errors.length;
  const t = openTlsSocket(parent, 'transport_socket', UPSTREAM_TLS_CONTEXT);
  if (!t) return parent.ctx.errors.length > before ? undefined : null;
  const common = compileCommon(t);
  if (common.certificates.length + (common.sds?.certificates.length ?? 0) > 1) {
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
    sds: common.sds,
  };
}
