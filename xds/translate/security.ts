// Mesh mTLS building blocks: SDS references to the sidecar's identity agent, inbound and outbound TLS transport sockets, SNI and XFCC.
import type { MtlsMode } from '../input/types.ts';
import { fqdn } from './names.ts';
import type { Json } from './resource.ts';

export const TLS_SOCKET = 'envoy.transport_sockets.tls';
export const DOWNSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const UPSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

/** The identity agent's secrets (Istio's names): the workload certificate and the trust bundle. */
export const WORKLOAD_SECRET = 'default';
export const ROOT_SECRET = 'ROOTCA';

/**
 * Where the secrets come from: the node's local SDS server (Istio's `sds-grpc` cluster). A Pilotfish sidecar serves any
 * non-ADS sds_config from its built-in identity agent; Envoy needs the `sds-grpc` cluster in its bootstrap, as with Istio.
 */
function localSds(): Json {
  return {
    api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] },
    resource_api_version: 'V3',
  };
}

/** CommonTlsContext: certificate "default" and trust bundle "ROOTCA" from the agent, peers' URI SANs matched by `sans`. */
function meshTlsContext(sans: readonly Json[], alpn: readonly string[]): Json {
  const c: Json = {
    tls_certificate_sds_secret_configs: [{ name: WORKLOAD_SECRET, sds_config: localSds() }],
    combined_validation_context: {
      default_validation_context: sans.length > 0 ? { match_typed_subject_alt_names: sans } : {},
      validation_context_sds_secret_config: { name: ROOT_SECRET, sds_config: localSds() },
    },
  };
  if (alpn.length > 0) c.alpn_protocols = [...alpn];
  return c;
}

function uriSan(matcher: Json): Json {
  return { san_type: 'URI', matcher };
}

/**
 * The inbound transport socket: mTLS with a client certificate required, from the mesh's trust domain. HTTP ports
 * offer ALPN h2 and http/1.1 (the HCM's AUTO codec), TCP ports none.
 */
export function inboundTlsSocket(trustDomain: string, http: boolean): Json {
  return {
    name: TLS_SOCKET,
    typed_config: {
      '@type': DOWNSTREAM_TLS_TYPE,
      require_client_certificate: { value: true },
      common_tls_context: meshTlsContext([uriSan({ prefix: `spiffe://${trustDomain}/` })], http ? ['h2', 'http/1.1'] : []),
    },
  };
}

/** Istio's SNI for a mesh destination: `outbound_.<port>_._.<svc>.<ns>.svc.cluster.local`. */
export function meshSni(svc: { name: string; namespace: string }, port: number): string {
  return `outbound_.${port}_._.${fqdn(svc.name, svc.namespace)}`;
}

/** The outbound transport socket to a mesh service: our certificate, and the server must be one of `identities` (SPIFFE IDs). */
export function outboundTlsSocket(sni: string, identities: readonly string[]): Json {
  return {
    name: TLS_SOCKET,
    typed_config: {
      '@type': UPSTREAM_TLS_TYPE,
      sni,
      common_tls_context: meshTlsContext(identities.map((exact) => uriSan({ exact })), []),
    },
  };
}

/** The tls_inspector listener filter a PERMISSIVE listener uses to tell TLS from plaintext by the first bytes. */
export const TLS_INSPECTOR: Json = {
  name: 'envoy.filters.listener.tls_inspector',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' },
};

/** HCM fields that pass the caller's identity to the app: a client's own XFCC is dropped, the verified peer URI set. */
export const INBOUND_XFCC: Json = { forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { uri: true } };

/**
 * Listener fields for a mode, around the given network filters: STRICT one TLS chain, PERMISSIVE a TLS chain and a
 * plaintext chain chosen by tls_inspector, DISABLE (or no mTLS in the mesh: `mode` null) one plaintext chain.
 */
export function inboundChains(mode: MtlsMode | null, trustDomain: string, filters: readonly Json[], http: boolean): Json {
  if (mode === null || mode === 'DISABLE') return { filter_chains: [{ filters: [...filters] }] };
  const tls = (match: boolean): Json => ({
    name: 'mtls',
    ...(match ? { filter_chain_match: { transport_protocol: 'tls' } } : {}),
    filters: [...filters],
    transport_socket: inboundTlsSocket(trustDomain, http),
    transport_socket_connect_timeout: { seconds: 10 },
  });
  // STRICT: the only chain is TLS, so plaintext fails its handshake ("plaintext (not TLS) on a TLS-only filter chain").
  if (mode === 'STRICT') return { filter_chains: [tls(false)] };
  return {
    listener_filters: [TLS_INSPECTOR],
    filter_chains: [tls(true), { name: 'plaintext', filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [...filters] }],
  };
}
