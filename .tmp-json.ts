import http from 'node:http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { TracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
const srv = http.createServer((req, res) => { let b=''; req.on('data', c => b += c); req.on('end', () => { console.log(req.headers['content-type'], b.slice(0, 900)); res.end('{}'); srv.close(); process.exit(0); }); });
srv.listen(0, '127.0.0.1', () => {
  const port = (srv.address() as any).port;
  const tp = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces` }))] });
  const s = tp.getTracer('t').startSpan('GET', { kind: SpanKind.SERVER, attributes: { 'http.response.status_code': 200 } }, ROOT_CONTEXT);
  s.end();
});
