// The demo's stand-in collector: receives the sidecars' spans as OTLP/HTTP JSON and prints one line per finished trace.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface JsonKeyValue { key: string; value?: { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number } }
interface JsonSpan {
  traceId: string; spanId: string; parentSpanId?: string; name: string; kind?: number;
  startTimeUnixNano: string; endTimeUnixNano: string; attributes?: JsonKeyValue[]; status?: { code?: number };
}
interface JsonRequest { resourceSpans?: { resource?: { attributes?: JsonKeyValue[] }; scopeSpans?: { spans?: JsonSpan[] }[] }[] }

/** One span as the summary needs it. */
export interface SummarySpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly service: string;
  readonly kind: 'SERVER' | 'CLIENT' | 'OTHER';
  readonly name: string;
  readonly startNs: bigint;
  readonly durationMs: number;
  readonly status: number | null;
  readonly error: boolean;
  /** http.request.resend_count: 1 for the first retry of a call, … (0 otherwise). */
  readonly resend: number;
}

function attr(list: JsonKeyValue[] | undefined, key: string): string | number | boolean | undefined {
  const v = list?.find((kv) => kv.key === key)?.value;
  return v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : undefined) ?? v?.boolValue ?? v?.doubleValue;
}

/** OTLP/JSON ids are hex; accept base64 (the protobuf JSON mapping) too. */
function hexId(id: string | undefined): string {
  if (!id) return '';
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

export function flattenOtlpJson(body: JsonRequest): SummarySpan[] {
  const out: SummarySpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = String(attr(rs.resource?.attributes, 'service.name') ?? 'unknown');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const start = BigInt(s.startTimeUnixNano);
        const status = attr(s.attributes, 'http.response.status_code');
        out.push({
          traceId: hexId(s.traceId), spanId: hexId(s.spanId), parentSpanId: hexId(s.parentSpanId), service,
          kind: s.kind === 2 ? 'SERVER' : s.kind === 3 ? 'CLIENT' : 'OTHER', name: s.name, startNs: start,
          durationMs: Number(BigInt(s.endTimeUnixNano) - start) / 1e6, status: typeof status === 'number' ? status : null,
          error: s.status?.code === 2,
          resend: Number(attr(s.attributes, 'http.request.resend_count') ?? 0),
        });
      }
    }
  }
  return out;
}

/** The SERVER spans called from `server` (through one of its CLIENT spans), in start order. */
function calls(spans: readonly SummarySpan[], server: SummarySpan): SummarySpan[] {
  const clients = new Set(spans.filter((s) => s.kind === 'CLIENT' && s.parentSpanId === server.spanId).map((s) => s.spanId));
  return spans.filter((s) => s.kind === 'SERVER' && clients.has(s.parentSpanId)).sort((a, b) => Number(a.startNs - b.startNs));
}

/** "frontend 6.3 ms → {orders 2.2 ms, payments 2.3 ms}": each hop with its SERVER span's duration. */
function hopTree(spans: readonly SummarySpan[], s: SummarySpan, depth = 0): string {
  const here = `${s.service} ${s.durationMs.toFixed(1)} ms${s.error ? ' !' : ''}`;
  const next = depth > 8 ? [] : calls(spans, s).map((c) => hopTree(spans, c, depth + 1));
  if (next.length === 0) return here;
  return `${here} → ${next.length === 1 ? next[0] : `{${next.join(', ')}}`}`;
}

/** "trace 4bf92f35 GET 200 12.3 ms, 5 spans, 3 services: frontend 12.3 ms → {orders 4.1 ms, payments 1.2 ms}". */
export function summarizeTrace(spans: readonly SummarySpan[]): string {
  const ids = new Set(spans.map((s) => s.spanId));
  const byStart = [...spans].sort((a, b) => Number(a.startNs - b.startNs));
  const root = byStart.find((s) => s.parentSpanId === '' || !ids.has(s.parentSpanId)) ?? byStart[0];
  const entry = root.kind === 'SERVER' ? root : byStart.find((s) => s.kind === 'SERVER');
  const services = new Set(spans.map((s) => s.service));
  const retries = spans.filter((s) => s.resend > 0).length;
  const failed = [...new Set(spans.filter((s) => s.error).map((s) => s.service))];
  return `trace ${root.traceId.slice(0, 8)} ${root.name} ${root.status ?? '-'} ${root.durationMs.toFixed(1)} ms, ${spans.length} spans, ${services.size} services: `
    + `${entry === undefined ? root.service : hopTree(spans, entry)}`
    + `${retries > 0 ? ` (${retries} retr${retries === 1 ? 'y' : 'ies'})` : ''}${failed.length > 0 ? ` (errors in ${failed.join(', ')})` : ''}`;
}

export interface TraceSummaryCollector {
  /** "http://127.0.0.1:PORT" for OTEL_EXPORTER_OTLP_ENDPOINT (protocol http/json). */
  readonly endpoint: string;
  close(): Promise<void>;
}

/** A trace is finished once no span of it arrived for `quietMs`; then `print` gets its summary line. */
export async function startTraceSummaryCollector(print: (line: string) => void, quietMs = 1500): Promise<TraceSummaryCollector> {
  const traces = new Map<string, { spans: SummarySpan[]; timer: NodeJS.Timeout }>();
  const add = (s: SummarySpan): void => {
    let t = traces.get(s.traceId);
    if (t === undefined) {
      t = { spans: [], timer: setTimeout(() => {}, 0) };
      traces.set(s.traceId, t);
    }
    t.spans.push(s);
    clearTimeout(t.timer);
    const entry = t;
    t.timer = setTimeout(() => { traces.delete(s.traceId); print(summarizeTrace(entry.spans)); }, quietMs);
    t.timer.unref();
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        for (const s of flattenOtlpJson(JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonRequest)) add(s);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end((err as Error).message);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => {
      for (const t of traces.values()) clearTimeout(t.timer);
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
