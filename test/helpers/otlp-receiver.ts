// A real OTLP trace receiver for tests, as Jaeger's collector is: TraceService/Export over gRPC and POST /v1/traces (protobuf) over HTTP.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { withTimeout } from './wait.ts';

const OTLP_DIR = path.resolve(import.meta.dirname, '..', 'fixtures', 'otlp');
const SERVICE_PROTO = 'opentelemetry/proto/collector/trace/v1/trace_service.proto';

export type AttrValue = string | number | boolean | null;

/** One received span, flattened: ids in lower-case hex, kind without its prefix ("SERVER"), attributes as a plain record. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** "" for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: string;
  readonly attributes: Readonly<Record<string, AttrValue>>;
  /** "UNSET" | "OK" | "ERROR". */
  readonly status: string;
  readonly statusMessage: string;
  readonly resource: Readonly<Record<string, AttrValue>>;
  readonly startNs: bigint;
  readonly endNs: bigint;
}

interface RawKeyValue { key: string; value?: Record<string, unknown> | null }
interface RawSpan {
  trace_id: Buffer; span_id: Buffer; parent_span_id: Buffer; name: string; kind: string | number;
  attributes: RawKeyValue[]; status?: { code: string | number; message: string } | null;
  start_time_unix_nano: string; end_time_unix_nano: string;
}
interface RawRequest { resource_spans: { resource?: { attributes: RawKeyValue[] } | null; scope_spans: { spans: RawSpan[] }[] }[] }

function anyValue(v: Record<string, unknown> | null | undefined): AttrValue {
  if (!v) return null;
  if (typeof v.string_value === 'string') return v.string_value;
  if (typeof v.bool_value === 'boolean') return v.bool_value;
  if (v.int_value !== undefined && v.int_value !== null) return Number(v.int_value);
  if (typeof v.double_value === 'number') return v.double_value;
  return null;
}

function attrs(list: RawKeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

const hex = (b: Buffer | Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex') : '');
const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const CODES = ['UNSET', 'OK', 'ERROR'];
const enumName = (v: string | number | undefined, names: string[], prefix: string): string =>
  typeof v === 'number' ? names[v] ?? String(v) : (v ?? `${prefix}${names[0]}`).replace(prefix, '');

function flatten(req: RawRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of req.resource_spans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scope_spans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: hex(s.trace_id), spanId: hex(s.span_id), parentSpanId: hex(s.parent_span_id), name: s.name,
          kind: enumName(s.kind, KINDS, 'SPAN_KIND_'), attributes: attrs(s.attributes),
          status: enumName(s.status?.code, CODES, 'STATUS_CODE_'), statusMessage: s.status?.message ?? '', resource,
          startNs: BigInt(s.start_time_unix_nano ?? 0), endNs: BigInt(s.end_time_unix_nano ?? 0),
        });
      }
    }
  }
  return out;
}

export interface OtlpReceiver {
  /** 127.0.0.1 port of the gRPC TraceService (what :4317 is for Jaeger). */
  readonly grpcPort: number;
  /** 127.0.0.1 port of the HTTP receiver; POST /v1/traces with application/x-protobuf (what :4318 is). */
  readonly httpPort: number;
  readonly spans: ReceivedSpan[];
  /** Export calls received (gRPC and HTTP). */
  exports(): number;
  /** Waits until `pred` holds for the spans received so far. */
  waitFor(pred: (spans: readonly ReceivedSpan[]) => boolean, what: string, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  let exports = 0;
  const waiters = new Set<() => void>();
  const received = (batch: ReceivedSpan[]): void => {
    exports++;
    spans.push(...batch);
    for (const w of [...waiters]) w();
  };
  const def = protoLoader.loadSync(SERVICE_PROTO, { includeDirs: [OTLP_DIR], keepCase: true, longs: String, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    opentelemetry: { proto: { collector: { trace: { v1: { TraceService: grpc.ServiceClientConstructor } } } } };
  };
  const server = new grpc.Server();
  server.addService(pkg.opentelemetry.proto.collector.trace.v1.TraceService.service, {
    Export: (call: grpc.ServerUnaryCall<RawRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      received(flatten(call.request));
      cb(null, {});
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });

  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(OTLP_DIR, target);
  await root.load(SERVICE_PROTO, { keepCase: true });
  const Req = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  const Resp = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
  const httpServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') { res.writeHead(404).end(); return; }
      const msg = Req.toObject(Req.decode(Buffer.concat(chunks)), { longs: String, enums: String, defaults: true }) as RawRequest;
      received(flatten(msg));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(Resp.encode(Resp.create({})).finish()));
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const httpPort = (httpServer.address() as AddressInfo).port;

  return {
    grpcPort,
    httpPort,
    spans,
    exports: () => exports,
    waitFor: (pred, what, timeoutMs = 20_000) => {
      let check: () => void = () => {};
      const met = new Promise<ReceivedSpan[]>((resolve) => {
        check = () => { if (pred(spans)) { waiters.delete(check); resolve(spans.slice()); } };
        waiters.add(check);
        check();
      });
      return withTimeout(met, timeoutMs, what).finally(() => waiters.delete(check));
    },
    close: async () => {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
