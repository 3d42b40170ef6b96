// Loads the AggregatedDiscoveryService definition (envoy/service/discovery/v3/ads.proto) with @grpc/proto-loader, and its message shapes.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_INCLUDE_DIRS } from '../../src/xds/protos.ts';

export interface Any {
  type_url: string;
  value: Uint8Array;
}

export interface NodeMsg {
  id: string;
  cluster: string;
  metadata: unknown;
  user_agent_name?: string;
}

export interface Status {
  code: number;
  message: string;
}

export interface DiscoveryRequest {
  version_info: string;
  node: NodeMsg | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail: Status | null;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: Any[];
  type_url: string;
  nonce: string;
}

export interface DeltaDiscoveryRequest {
  node: NodeMsg | null;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail: Status | null;
}

export interface DeltaResource {
  name: string;
  version: string;
  resource: Any;
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: DeltaResource[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

/** Options shared by server and test clients: snake_case names, enums and 64-bit ints as strings, defaults filled in. */
export const ADS_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [...PROTO_INCLUDE_DIRS],
};

let cached: Promise<grpc.ServiceClientConstructor> | null = null;

/** The generated AggregatedDiscoveryService (its `.service` is the server-side definition). Loaded once per process. */
export function adsService(): Promise<grpc.ServiceClientConstructor> {
  cached ??= (async () => {
    const def = await protoLoader.load('envoy/service/discovery/v3/ads.proto', ADS_LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      envoy: { service: { discovery: { v3: { AggregatedDiscoveryService: grpc.ServiceClientConstructor } } } };
    };
    return pkg.envoy.service.discovery.v3.AggregatedDiscoveryService;
  })();
  return cached;
}
