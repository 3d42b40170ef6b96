// gRPC plumbing shared by both ADS variants: the service definition, the channel to the control plane, the node, backoff.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type protobuf from 'protobufjs';
import { packageVersion } from '../cli/version.ts';
import type { UpstreamTlsConfig } from '../model/types.ts';
import type { DataSourceRef, SslChannelCredentials, XdsBootstrap } from './bootstrap-dynamic.ts';
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

function readSource(ref: DataSourceRef | null, what: string): Buffer | null {
  if (ref === null) return null;
  if ('inline' in ref) return Buffer.from(ref.inline);
  try {
    return readFileSync(ref.filename);
  } catch (err) {
    throw new Error(`xDS TLS: cannot read ${what} ${ref.filename}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * A TLS verification failure in a gRPC error, explained: grpc-js reports Node's reason ("unable to verify the first
 * certificate", "… altnames …") with a hint about system CAs that misleads here. Null when `message` is no such failure.
 */
export function explainTlsFailure(message: string, roots: string): string | null {
  if (/altname|does not match certificate/i.test(message)) {
    const why = /Hostname\/IP does not match.*?(?=\. Resolution note|$)/.exec(message)?.[0] ?? 'the server certificate does not name this address';
    return `TLS: ${why}: connect by a name in the control plane's certificate (--secure-xds-dns-names)`;
  }
  if (/unable to (verify|get)|self[- ]signed|certificate (signature failure|has expired|is not yet valid)|CERT_/i.test(message)) {
    const why = /(unable to [^;.]+|self[- ]signed certificate[^;.]*|certificate (signature failure|has expired|is not yet valid))/i.exec(message)?.[0] ?? 'verification failed';
    return `TLS: the server certificate is not trusted by ${roots} (${why}): is that the control plane's root?`;
  }
  return null;
}

/** gRPC SSL credentials from google_grpc ssl_credentials; files are read now, so every new channel sees the current root file. */
export function sslChannelCredentials(ssl: SslChannelCredentials): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(readSource(ssl.rootCerts, 'root_certs'), readSource(ssl.privateKey, 'private_key'), readSource(ssl.certChain, 'cert_chain'));
}

/**
 * A new channel to the control plane: TLS for google_grpc with ssl_credentials (the certificate must name the target's
 * host) or for an envoy_grpc cluster with upstream TLS; else plaintext. Throws when a credentials file cannot be read.
 */
export function openAdsChannel(xds: XdsBootstrap, tls: UpstreamTlsConfig | null): AdsChannel {
  const Service = aggregatedDiscoveryService();
  const options: grpc.ChannelOptions = {
    'grpc.default_authority': xds.authority,
    'grpc.primary_user_agent': `pilotfish/${packageVersion()}`,
    // Our own backoff governs reconnects; a fresh channel is made for every attempt.
    'grpc.initial_reconnect_backoff_ms': 100,
  };
  let creds = grpc.credentials.createInsecure();
  if (xds.sslCredentials) {
    creds = sslChannelCredentials(xds.sslCredentials);
  } else if (tls) {
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
