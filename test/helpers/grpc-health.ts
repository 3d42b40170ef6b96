// A real gRPC server (grpc-js, 127.0.0.1 port 0) implementing grpc.health.v1.Health/Check, with per-service statuses a test can flip.
import * as grpc from '@grpc/grpc-js';

/** grpc.health.v1.HealthCheckResponse.ServingStatus */
export const SERVING = 1;
export const NOT_SERVING = 2;

export interface GrpcHealthServer {
  readonly port: number;
  /** Status per service name ("" is the whole server); a name not in the map answers NOT_FOUND, as grpc health servers do. */
  readonly statuses: Map<string, number>;
  /** Check calls received, with their service name and metadata. */
  readonly calls: { service: string; metadata: Record<string, string> }[];
  close(): Promise<void>;
}

/** HealthCheckRequest { string service = 1; } → service (hand-decoded: the tests must not share the code under test). */
function decodeService(buf: Buffer): string {
  if (buf.length === 0) return '';
  if (buf[0] !== 0x0a) throw new Error('unexpected field');
  let len = 0;
  let shift = 0;
  let i = 1;
  for (;;) {
    const b = buf[i++];
    len |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  return buf.subarray(i, i + len).toString('utf8');
}

const serviceDefinition: grpc.ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: Buffer) => v,
    // An object, not the bare string: grpc-js treats a falsy request ('' for the whole server) as no request.
    requestDeserialize: (b: Buffer) => ({ service: decodeService(b) }),
    responseSerialize: (status: number) => (status === 0 ? Buffer.alloc(0) : Buffer.from([0x08, status])),
    responseDeserialize: (b: Buffer) => b,
  },
};

export async function startGrpcHealthServer(): Promise<GrpcHealthServer> {
  const statuses = new Map<string, number>([['', SERVING]]);
  const calls: GrpcHealthServer['calls'] = [];
  const server = new grpc.Server();
  server.addService(serviceDefinition, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, number>, cb: grpc.sendUnaryData<number>) => {
      const md: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap())) md[k] = String(v);
      calls.push({ service: call.request.service, metadata: md });
      const status = statuses.get(call.request.service);
      if (status === undefined) cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else cb(null, status);
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port,
    statuses,
    calls,
    close: () => new Promise<void>((r) => server.tryShutdown(() => r())).then(() => server.forceShutdown()),
  };
}
