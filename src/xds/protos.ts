// Loads Envoy's v3 xDS protos from the @grpc/grpc-js-xds package and converts resources between bytes and proto3 JSON.
import { accessSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { decodeAnyJson, encodeAnyJson } from './proto-json.ts';

const require = createRequire(import.meta.url);
const XDS_DEPS = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const PROTOBUFJS = dirname(require.resolve('protobufjs/package.json'));

/** Folders searched for imports, in order. */
export const PROTO_INCLUDE_DIRS: readonly string[] = [
  join(XDS_DEPS, 'envoy-api'), join(XDS_DEPS, 'xds'), join(XDS_DEPS, 'googleapis'), join(XDS_DEPS, 'protoc-gen-validate'), PROTOBUFJS,
];

export const TYPE_URL = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  routeConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  clusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;

/** Every proto a resource we send or accept may embed (typed_config Any values included). */
const ENTRY_PROTOS = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/http/oauth2/v3/oauth.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/config/trace/v3/opentelemetry.proto',
];

let rootPromise: Promise<protobuf.Root> | null = null;

/** The loaded proto root (loaded once per process, ~0.3 s). Field names keep their proto (snake_case) spelling. */
export function xdsProtoRoot(): Promise<protobuf.Root> {
  rootPromise ??= (async () => {
    const root = new protobuf.Root();
    root.resolvePath = (_origin: string, target: string): string => {
      for (const d of PROTO_INCLUDE_DIRS) {
        const p = join(d, target);
        try { accessSync(p); return p; } catch { /* next */ }
      }
      return target;
    };
    const present = ENTRY_PROTOS.filter((p) => PROTO_INCLUDE_DIRS.some((d) => { try { accessSync(join(d, p)); return true; } catch { return false; } }));
    await root.load(present, { keepCase: true });
    root.resolveAll();
    return root;
  })();
  return rootPromise;
}

/** Decodes an Any's bytes into Envoy's proto3-JSON shape (snake_case names, Durations as "1s", "@type" on nested Any). */
export function decodeAny(root: protobuf.Root, typeUrl: string, value: Uint8Array): Record<string, unknown> {
  const { '@type': _type, ...resource } = decodeAnyJson(root, typeUrl, value);
  return resource;
}

/** Encodes a resource given in proto3-JSON shape (Durations as "1s" or {seconds,nanos}, nested Any with "@type") into an Any. */
export function encodeAny(root: protobuf.Root, typeUrl: string, resource: Record<string, unknown>): { type_url: string; value: Uint8Array } {
  return encodeAnyJson(root, { ...resource, '@type': typeUrl });
}
