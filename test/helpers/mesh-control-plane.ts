// Starts the real control plane on a mesh.yaml (optionally with its CA and workload tokens) and gives sidecars what they need to join it: free ports, ADS bootstraps and identity-agent arguments.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pino from 'pino';
import YAML from 'yaml';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../../xds/control-plane.ts';
import { socketAddress } from './bootstrap.ts';

/** A port that is free now (the control plane must know the sidecars' listener ports before they bind them). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A sidecar bootstrap that gets everything over ADS from the control plane at `xdsPort`, announcing `pilotfish` node metadata. */
export function adsBootstrap(xdsPort: number, id: string, pilotfish: Record<string, unknown>, cluster = id): object {
  return {
    node: { id, cluster, metadata: { pilotfish } },
    admin: { address: socketAddress(0) },
    static_resources: {
      clusters: [{
        name: 'xds_cluster', type: 'STATIC', connect_timeout: '1s',
        load_assignment: { cluster_name: 'xds_cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(xdsPort) } }] }] },
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} },
          },
        },
      }],
    },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }] },
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
    },
  };
}

/** The CA's local credentials: token → the workload it stands for. */
export type CaTokens = Record<string, { namespace?: string; serviceAccount: string }>;

export interface MeshControlPlane {
  readonly cp: ControlPlane;
  /** A 0600 file holding the CA token of `serviceAccount`; needs the CA. */
  tokenFile(serviceAccount: string): string;
  /** Sidecar arguments for the identity agent of `serviceAccount` (its token written to a 0600 file); needs the CA. */
  identity(serviceAccount: string): string[];
}

/**
 * The control plane on `meshYaml` (written to `dir`/mesh.yaml), silent and not watching. With `ca`, also its CA in
 * `dir`/ca: with the given `tokens`, or else with the token per Service the CA writes itself. `options` overrides the rest (addresses, secureXds).
 */
export async function startMeshControlPlane(
  dir: string, meshYaml: string, opts: { ca?: boolean | { tokens: CaTokens }; options?: Partial<ControlPlaneOptions> } = {},
): Promise<MeshControlPlane> {
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), meshYaml);
  const caDir = path.join(dir, 'ca');
  if (typeof opts.ca === 'object') {
    fs.mkdirSync(caDir, { mode: 0o700 });
    const line = (token: string, id: Record<string, string | undefined>) => `${token}: {${Object.entries(id).map(([k, v]) => `${k}: ${v}`).join(', ')}}\n`;
    fs.writeFileSync(path.join(caDir, 'tokens.yaml'), Object.entries(opts.ca.tokens).map(([t, id]) => line(t, id)).join(''), { mode: 0o600 });
  }
  const cp = await startControlPlane({
    inputs: [path.join(dir, 'mesh.yaml')], xdsAddress: '127.0.0.1:0', statusAddress: '127.0.0.1:0', logger: pino({ level: 'silent' }), watch: false,
    ...(opts.ca ? { ca: { dir: caDir } } : {}), ...opts.options,
  });
  const tokenFile = (serviceAccount: string): string => {
    if (!opts.ca) throw new Error('a token file needs the control plane started with its CA');
    const tokens = YAML.parse(fs.readFileSync(path.join(caDir, 'tokens.yaml'), 'utf8')) as CaTokens;
    const token = Object.entries(tokens).find(([, id]) => id.serviceAccount === serviceAccount)?.[0];
    if (token === undefined) throw new Error(`no CA token for service account ${serviceAccount}`);
    const file = path.join(dir, `${serviceAccount}.token`);
    fs.writeFileSync(file, token, { mode: 0o600 });
    return file;
  };
  const identity = (serviceAccount: string): string[] => ['--ca-address', `127.0.0.1:${cp.xdsPort}`, '--identity-token-file', tokenFile(serviceAccount)];
  return { cp, tokenFile, identity };
}
