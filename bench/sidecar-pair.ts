// The sidecar-pair rows: client → client sidecar (outbound) → plaintext or mTLS → server sidecar (inbound) → upstream, with a throwaway CA and static secrets.
import net from 'node:net';
import forge from 'node-forge';
import type { Pinning } from './processes.ts';
import { launchPilotfish, type Sidecar } from './sidecar.ts';

const TRUST_DOMAIN = 'cluster.local';
const CLIENT_ID = `spiffe://${TRUST_DOMAIN}/ns/bench/sa/client`;
const SERVER_ID = `spiffe://${TRUST_DOMAIN}/ns/bench/sa/server`;

interface Pki { readonly rootPem: string; readonly client: { cert: string; key: string }; readonly server: { cert: string; key: string } }

/** A root and two SPIFFE leaves (RSA 2048, empty subject and a critical URI SAN, as the control plane's CA issues them). */
function makePki(): Pki {
  const key = () => forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const rootKey = key();
  const root = forge.pki.createCertificate();
  root.publicKey = rootKey.publicKey;
  root.serialNumber = '01';
  root.validity.notBefore = new Date(Date.now() - 3600_000);
  root.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const subject = [{ name: 'organizationName', value: TRUST_DOMAIN }, { name: 'commonName', value: 'bench root' }];
  root.setSubject(subject);
  root.setIssuer(subject);
  root.setExtensions([{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }]);
  root.sign(rootKey.privateKey, forge.md.sha256.create());
  const leaf = (uri: string, serial: string) => {
    const k = key();
    const c = forge.pki.createCertificate();
    c.publicKey = k.publicKey;
    c.serialNumber = serial;
    c.validity.notBefore = new Date(Date.now() - 60_000);
    c.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
    c.setSubject([]);
    c.setIssuer(subject);
    c.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', critical: true, altNames: [{ type: 6, value: uri }] },
    ]);
    c.sign(rootKey.privateKey, forge.md.sha256.create());
    return { cert: forge.pki.certificateToPem(c), key: forge.pki.privateKeyToPem(k.privateKey) };
  };
  return { rootPem: forge.pki.certificateToPem(root), client: leaf(CLIENT_ID, '02'), server: leaf(SERVER_ID, '03') };
}

const addr = (port: number) => ({ socket_address: { address: '127.0.0.1', port_value: port } });

/** The identity agent's secret names, here as static secrets: the workload certificate and the trust bundle. */
function secrets(pki: Pki, own: { cert: string; key: string }): object[] {
  return [
    { name: 'default', tls_certificate: { certificate_chain: { inline_string: own.cert + pki.rootPem }, private_key: { inline_string: own.key } } },
    { name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: pki.rootPem } } },
  ];
}

/** CommonTlsContext as the control plane generates it, with the secrets static (no sds_config) instead of from the agent. */
function meshTls(sans: object[], alpn: string[]): Record<string, unknown> {
  return {
    tls_certificate_sds_secret_configs: [{ name: 'default' }],
    combined_validation_context: { default_validation_context: { match_typed_subject_alt_names: sans }, validation_context_sds_secret_config: { name: 'ROOTCA' } },
    ...(alpn.length > 0 ? { alpn_protocols: alpn } : {}),
  };
}

function hcm(statPrefix: string, cluster: string, inbound: boolean): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: statPrefix,
      ...(inbound ? { forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { uri: true } } : {}),
      route_config: { name: statPrefix, virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }] },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
    },
  };
}

/** The server side: inbound listener (mTLS required when `pki`) → the upstream. */
function serverBootstrap(upstreamPort: number, pki: Pki | null): object {
  const chain: Record<string, unknown> = { filters: [hcm('inbound', 'app', true)] };
  if (pki) {
    chain.transport_socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        require_client_certificate: true,
        common_tls_context: meshTls([{ san_type: 'URI', matcher: { prefix: `spiffe://${TRUST_DOMAIN}/` } }], ['h2', 'http/1.1']),
      },
    };
  }
  return {
    node: { id: 'bench-server-sidecar', cluster: 'bench' },
    admin: { address: addr(0) },
    static_resources: {
      listeners: [{ name: 'inbound', address: addr(0), filter_chains: [chain] }],
      clusters: [{ name: 'app', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'app', endpoints: [{ lb_endpoints: [{ endpoint: { address: addr(upstreamPort) } }] }] } }],
      ...(pki ? { secrets: secrets(pki, pki.server) } : {}),
    },
  };
}

/** The client side: outbound listener → the server sidecar, originating mTLS that accepts only the server's SPIFFE ID when `pki`. */
function clientBootstrap(serverPort: number, pki: Pki | null): object {
  const cluster: Record<string, unknown> = {
    name: 'server', type: 'STATIC', connect_timeout: '1s',
    load_assignment: { cluster_name: 'server', endpoints: [{ lb_endpoints: [{ endpoint: { address: addr(serverPort) } }] }] },
  };
  if (pki) {
    cluster.transport_socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        sni: 'outbound_.80_._.server.bench.svc.cluster.local',
        common_tls_context: meshTls([{ san_type: 'URI', matcher: { exact: SERVER_ID } }], []),
      },
    };
  }
  return {
    node: { id: 'bench-client-sidecar', cluster: 'bench' },
    admin: { address: addr(0) },
    static_resources: {
      listeners: [{ name: 'outbound', address: addr(0), filter_chains: [{ filters: [hcm('outbound', 'server', false)] }] }],
      clusters: [cluster],
      ...(pki ? { secrets: secrets(pki, pki.client) } : {}),
    },
  };
}

/** "refused" when a plaintext HTTP request to `port` gets the connection closed without a response, else what came back. */
function plaintextAnswer(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => { s.destroy(); resolve('no answer in 5 s'); }, 5000);
    const done = () => { clearTimeout(timer); resolve(got === '' ? 'refused' : got.split('\r\n')[0]); };
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    s.on('error', done);
    s.on('close', done);
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

export interface SidecarPair {
  /** The client sidecar's outbound listener: where the load goes. */
  readonly port: number;
  readonly pids: readonly number[];
  notes(): Promise<string[]>;
  stop(): Promise<void>;
}

let pki: Pki | null = null;

/** Starts the server sidecar, then the client sidecar pointing at it; both pinned with the upstream (CPU 0). */
export async function startSidecarPair(p: Pinning, upstreamPort: number, mtls: boolean): Promise<SidecarPair> {
  if (mtls) pki ??= makePki();
  const tls = mtls ? pki : null;
  const server = await launchPilotfish(p, mtls ? 'server-sidecar-mtls' : 'server-sidecar', serverBootstrap(upstreamPort, tls), 'inbound');
  let client: Sidecar;
  try {
    client = await launchPilotfish(p, mtls ? 'client-sidecar-mtls' : 'client-sidecar', clientBootstrap(server.port, tls), 'outbound');
  } catch (err) {
    await server.proc.stop();
    throw err;
  }
  return {
    port: client.port,
    pids: [client.proc.proc.pid, server.proc.proc.pid].filter((x): x is number => x !== undefined),
    notes: async () => (mtls ? [`the server sidecar's inbound listener answers plaintext with: ${await plaintextAnswer(server.port)} (mTLS required); RSA 2048 leaves, ${CLIENT_ID} → ${SERVER_ID}`] : []),
    stop: async () => {
      await client.proc.stop();
      await server.proc.stop();
    },
  };
}
