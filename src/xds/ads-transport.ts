// gRPC plumbing shared by both ADS variants: the service definition, the channel to the control plane, the node, backoff.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type protobuf from 'protobufjs';
import { packageVersion } from '../cli/version.ts';
import type { UpstreamTlsConfig } from '../model/types.ts';
import type { XdsBootstrap } from './bootstrap-dynamic.ts';
import { jsonToProto } from './proto-json.ts';
import { PROTO_INCLUDE_DIRS } from './protos.ts';

/** proto-loader options for ads.proto: proto field names, enums by name, repeated fields always present. */
export const ADS_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [...PROTO_INCLUDE_DIRS],
};

let adsService: grpc.ServiceClientConstructor | null = null;

/** The client constructor of envoy.service.discovery.v3.AggregatedDiscoveryService (its `.service` serves it too). */
export function aggregatedDiscoveryService(): grpc.ServiceClientConstructor {
  if (!adsService) {
    const def = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', ADS_LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      envoy: { service: { discovery: { v3: { AggregatedDiscoveryService: grpc.ServiceClientConstructor } } } };
    };
    adsService = pkg.envoy.service.discovery.v3.AggregatedDiscoveryService;
  }
  return adsService;
}

/** A bidirectional ADS stream as grpc-js returns it; messages are plain objects in the proto-loader shape. */
export type AdsCall = grpc.ClientDuplexStream<Record<string, unknown>, Record<string, unknown>>;

export interface AdsChannel {
  readonly client: grpc.Client;
  open(method: 'StreamAggregatedResources' | 'DeltaAggregatedResources'): AdsCall;
}

/** A new channel to the control plane; plaintext unless the static xDS cluster has upstream TLS. */
export function openAdsChannel(xds: XdsBootstrap, tls: UpstreamTlsConfig | null): AdsChannel {
  const Service = aggregatedDiscoveryService();
  const options: grpc.ChannelOptions = {
    'grpc.default_authority': xds.authority,
    'grpc.primary_user_agent': `pilotfish/${packageVersion()}`,
    // Our own backoff governs reconnects; a fresh channel is made for every attempt.
    'grpc.initial_reconnect_backoff_ms': 100,
  };
  let creds = grpc.credentials.createInsecure();
  if (tls) {
    creds = grpc.credentials.createSsl(
      tls.trustedCa ? Buffer.from(tls.trustedCa) : null,
      tls.certificate ? Buffer.from(tls.certificate.privateKey) : null,
      tls.certificate ? Buffer.from(tls.certificate.certificateChain) : null,
    );
    if (tls.sni) options['grpc.ssl_target_name_override'] = tls.sni;
  }
  const client = new Service(xds.target, creds, options);
  return {
    client,
    open(method) {
      const fn = (client as unknown as Record<string, () => AdsCall>)[method];
      return fn.call(client);
    },
  };
}

/** The node sent to the control plane (proto-loader object shape): the bootstrap's node plus our user agent. */
export function nodeMessage(root: protobuf.Root, node: Readonly<Record<string, unknown>>, warn: (msg: string) => void): Record<string, unknown> {
  const json = { ...node, user_agent_name: 'pilotfish', user_agent_version: packageVersion() };
  delete (json as Record<string, unknown>).user_agent_build_version;
  try {
    return jsonToProto(root, root.lookupType('envoy.config.core.v3.Node'), json) as Record<string, unknown>;
  } catch (err) {
    warn(`bootstrap node cannot be sent as is (${(err as Error).message}); sending id and cluster only`);
    return { id: String(node.id ?? ''), cluster: String(node.cluster ?? ''), user_agent_name: 'pilotfish', user_agent_version: packageVersion() };
  }
}

export interface BackoffOptions {
  readonly initialMs: number;
  readonly multiplier: number;
  readonly maxMs: number;
  readonly jitter: number;
}

/** gRPC's connection backoff: 1 s initial, ×1.6, at most 120 s, ±20 % jitter. */
export const GRPC_BACKOFF: BackoffOptions = { initialMs: 1000, multiplier: 1.6, maxMs: 120_000, jitter: 0.2 };

/** Exponential backoff with jitter; reset() after any response on a stream. */
export class Backoff {
  readonly #o: BackoffOptions;
  readonly #random: () => number;
  #current: number;

  constructor(opts: BackoffOptions, random: () => number = Math.random) {
    this.#o = opts;
    this.#random = random;
    this.#current = opts.initialMs;
  }

  /** The delay before the next attempt (jittered), then grows the base for the one after. */
  next(): number {
    const base = this.#current;
    this.#current = Math.min(this.#current * this.#o.multiplier, this.#o.maxMs);
    return Math.max(0, base * (1 + this.#o.jitter * (this.#random() * 2 - 1)));
  }

  reset(): void {
    this.#current = this.#o.initialMs;
  }
}
