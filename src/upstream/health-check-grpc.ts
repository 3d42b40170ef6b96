// gRPC health check probe: grpc.health.v1.Health/Check over HTTP/2, passing only when the reply says SERVING with grpc-status 0.
import type { ClusterConfig, GrpcHealthCheckConfig } from '../model/types.ts';
import { H2Connection } from './health-check-http.ts';
import { activeFailure, applyHeaderOptions, HC_USER_AGENT, PASS, type Prober, type ProbeResult } from './health-check-probes.ts';
import type { Host } from './types.ts';

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
/** grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING */
const SERVING = 1;

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** A length-prefixed gRPC message holding HealthCheckRequest { string service = 1; }. */
export function encodeHealthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const message = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** The `status` (field 1) of a HealthCheckResponse message body; 0 (UNKNOWN) when absent; null when malformed. */
export function decodeServingStatus(message: Buffer): number | null {
  let i = 0;
  let status = 0;
  const readVarint = (): number | null => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (i >= message.length) return null;
      const b = message[i++];
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    return null;
  };
  while (i < message.length) {
    const tag = readVarint();
    if (tag === null) return null;
    const wire = tag & 7;
    if (wire === 0) {
      const v = readVarint();
      if (v === null) return null;
      if (tag >>> 3 === 1) status = v;
    } else if (wire === 2) {
      const len = readVarint();
      if (len === null || i + len > message.length) return null;
      i += len;
    } else if (wire === 1 || wire === 5) {
      i += wire === 1 ? 8 : 4;
    } else {
      return null;
    }
  }
  return status;
}

/** The first length-prefixed message of a gRPC response body (uncompressed), or null. */
function firstMessage(body: Buffer): Buffer | null {
  if (body.length < 5 || body[0] !== 0) return null;
  const len = body.readUInt32BE(1);
  return body.length < 5 + len ? null : body.subarray(5, 5 + len);
}

export class GrpcProber implements Prober {
  readonly #cluster: ClusterConfig;
  readonly #hc: GrpcHealthCheckConfig;
  readonly #conn: H2Connection;

  constructor(host: Host, cluster: ClusterConfig, hc: GrpcHealthCheckConfig, reuse: boolean) {
    this.#cluster = cluster;
    this.#hc = hc;
    this.#conn = new H2Connection(host, cluster, reuse);
  }

  check(timeoutMs: number): Promise<ProbeResult> {
    return this.#conn.probe(timeoutMs, (session, finish) => {
      const hc = this.#hc;
      const headers = applyHeaderOptions({
        ':method': 'POST',
        ':path': HEALTH_CHECK_PATH,
        ':authority': hc.authority || this.#cluster.name,
        'content-type': 'application/grpc',
        te: 'trailers',
        'user-agent': HC_USER_AGENT,
      }, hc.initialMetadata, []);
      const s = session.request(headers);
      let status = 0;
      let grpcStatus: string | null = null;
      const chunks: Buffer[] = [];
      s.on('response', (h) => {
        status = Number(h[':status'] ?? 0);
        if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
      });
      s.on('trailers', (t) => { if (t['grpc-status'] !== undefined) grpcStatus = String(t['grpc-status']); });
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => {
        if (status !== 200) return finish(activeFailure(`HTTP status ${status}`));
        if (grpcStatus !== '0') return finish(activeFailure(`grpc-status ${grpcStatus ?? 'missing'}`));
        const message = firstMessage(Buffer.concat(chunks));
        const serving = message === null ? null : decodeServingStatus(message);
        finish(serving === SERVING ? PASS : activeFailure(serving === null ? 'malformed HealthCheckResponse' : `serving status ${serving}`));
      });
      s.end(encodeHealthCheckRequest(hc.serviceName));
      return s;
    });
  }

  close(): void {
    this.#conn.close();
  }
}
