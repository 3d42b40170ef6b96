// The gRPC Echo upstream (server on 127.0.0.1 port 0) and its typed client, from test/fixtures/echo.proto.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const ECHO_PROTO = path.resolve(import.meta.dirname, '..', 'fixtures', 'echo.proto');

export interface EchoRequest {
  message: string;
  count?: number;
}
export interface EchoReply {
  message: string;
  index: number;
  server: string;
  metadata: string;
}
export interface FailRequest {
  code: number;
  message: string;
  trailers: Record<string, string>;
}

type Cb<T> = (err: grpc.ServiceError | null, value?: T) => void;

/** The Echo client as grpc-js builds it from the proto (only the call forms the tests use). */
export interface EchoClient extends grpc.Client {
  Unary(req: EchoRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: Cb<EchoReply>): grpc.ClientUnaryCall;
  ServerStream(req: EchoRequest, md: grpc.Metadata, opts: grpc.CallOptions): grpc.ClientReadableStream<EchoReply>;
  ClientStream(md: grpc.Metadata, opts: grpc.CallOptions, cb: Cb<EchoReply>): grpc.ClientWritableStream<EchoRequest>;
  Bidi(md: grpc.Metadata, opts: grpc.CallOptions): grpc.ClientDuplexStream<EchoRequest, EchoReply>;
  Fail(req: FailRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: Cb<EchoReply>): grpc.ClientUnaryCall;
}
export interface UnroutedClient extends grpc.Client {
  Unary(req: EchoRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: Cb<EchoReply>): grpc.ClientUnaryCall;
}

interface EchoPackage {
  Echo: grpc.ServiceClientConstructor;
  Unrouted: grpc.ServiceClientConstructor;
}

let cached: EchoPackage | undefined;
export function echoPackage(): EchoPackage {
  if (!cached) {
    const def = protoLoader.loadSync(ECHO_PROTO, { keepCase: true, longs: Number, defaults: true, oneofs: true });
    const loaded = grpc.loadPackageDefinition(def) as unknown as { pilotfish: { test: EchoPackage } };
    cached = loaded.pilotfish.test;
  }
  return cached;
}

/** Binary trailer every Fail call carries, to check "-bin" metadata survives the proxy. */
export const FAIL_BIN_TRAILER = Buffer.from([0, 1, 2, 0xfe, 0xff]);

export interface GrpcUpstream {
  readonly port: number;
  /** Calls handled by the Unrouted service (must stay 0 when the sidecar has no route for it). */
  unroutedCalls(): number;
  close(): Promise<void>;
}

function meta(call: { metadata: grpc.Metadata }): string {
  const v = call.metadata.get('x-client-meta')[0];
  return v === undefined ? '' : String(v);
}

export async function startGrpcServer(name: string): Promise<GrpcUpstream> {
  const pkg = echoPackage();
  const server = new grpc.Server();
  let unrouted = 0;
  server.addService(pkg.Echo.service, {
    Unary(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
      cb(null, { message: call.request.message, index: 0, server: name, metadata: meta(call) });
    },
    ServerStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
      const n = call.request.count ?? 0;
      for (let i = 0; i < n; i++) call.write({ message: `${call.request.message}-${i}`, index: i, server: name, metadata: meta(call) });
      call.end();
    },
    ClientStream(call: grpc.ServerReadableStream<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
      const got: string[] = [];
      call.on('data', (m: EchoRequest) => got.push(m.message));
      call.on('end', () => cb(null, { message: got.join(','), index: got.length, server: name, metadata: meta(call) }));
    },
    Bidi(call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) {
      let i = 0;
      call.on('data', (m: EchoRequest) => {
        call.write({ message: m.message.toUpperCase(), index: i++, server: name, metadata: meta(call) });
      });
      call.on('end', () => call.end());
    },
    Fail(call: grpc.ServerUnaryCall<FailRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(call.request.trailers)) md.set(k, v);
      md.set('x-fail-bin', FAIL_BIN_TRAILER);
      cb({ code: call.request.code, details: call.request.message, metadata: md });
    },
  });
  server.addService(pkg.Unrouted.service, {
    Unary(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
      unrouted += 1;
      cb(null, { message: 'unrouted service reached', index: 0, server: name, metadata: meta(call) });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port,
    unroutedCalls: () => unrouted,
    close: async () => {
      server.forceShutdown();
    },
  };
}

/** An Echo client for `address` ("127.0.0.1:PORT"), plaintext HTTP/2. */
export function echoClient(address: string): EchoClient {
  return new (echoPackage().Echo)(address, grpc.credentials.createInsecure()) as unknown as EchoClient;
}

export function unroutedClient(address: string): UnroutedClient {
  return new (echoPackage().Unrouted)(address, grpc.credentials.createInsecure()) as unknown as UnroutedClient;
}
