// Builds the Envoy v3 bootstrap of `pilotfish sidecar`: node identity and metadata for the control plane, admin, and the ADS connection.
import { isIP } from 'node:net';
import type { SidecarOptions } from './sidecar-args.ts';

/** The node id the control plane shows (`/debug/syncz`): `<pod>.<namespace>`. */
export function nodeId(o: SidecarOptions): string {
  return `${o.podName}.${o.namespace}`;
}

/** `metadata.pilotfish` (xds/README.md "Node metadata"). */
export function sidecarMetadata(o: SidecarOptions): Record<string, unknown> {
  const m: Record<string, unknown> = { namespace: o.namespace, address: o.address };
  if (o.service !== null) m.service = o.service;
  if (o.serviceAccount !== null) m.serviceAccount = o.serviceAccount;
  if (Object.keys(o.ports).length > 0) m.ports = { ...o.ports };
  if (o.dependencies !== null) m.dependencies = [...o.dependencies];
  m.outboundPort = o.outboundPort;
  if (o.interception === 'iptables') {
    m.interception = 'iptables';
    m.inboundPort = o.inboundPort;
  } else if (Object.keys(o.ports).length > 0) {
    // Without capture: the classic inbound listener on <address>:<inbound port> in front of the first app port.
    m.inboundPort = o.inboundPort;
  }
  return m;
}

function xdsCluster(address: string): Record<string, unknown> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(i + 1));
  return {
    name: 'xds_cluster',
    type: isIP(host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '5s',
    load_assignment: {
      cluster_name: 'xds_cluster',
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }],
    },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  };
}

/**
 * Everything comes from the control plane over ADS (LDS, CDS, then RDS and EDS). Plaintext: an envoy_grpc service on
 * the static xds_cluster. TLS (--xds-root-cert): a google_grpc service with ssl_credentials root_certs as a file,
 * read again for every new connection (a rotated root ConfigMap is picked up); the server's certificate must name the
 * host of --xds-address.
 */
export function sidecarBootstrap(o: SidecarOptions): Record<string, unknown> {
  const ads = () => ({ ads: {}, resource_api_version: 'V3' });
  const grpcService = o.xdsRootCert === null
    ? { envoy_grpc: { cluster_name: 'xds_cluster' } }
    : { google_grpc: { target_uri: o.xdsAddress, stat_prefix: 'xds', channel_credentials: { ssl_credentials: { root_certs: { filename: o.xdsRootCert } } } } };
  return {
    node: { id: nodeId(o), cluster: o.service ?? o.podName, metadata: { pilotfish: sidecarMetadata(o) } },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: o.adminPort } } },
    static_resources: { clusters: o.xdsRootCert === null ? [xdsCluster(o.xdsAddress)] : [] },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [grpcService] },
      lds_config: ads(),
      cds_config: ads(),
    },
  };
}
