// The demo's frontend service: for each request it calls orders (HTTP/1.1, Host: orders) and payments (gRPC, :authority payments) through its sidecar's outbound listener.
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { Pool } from 'undici';
import { announceReady, onShutdown, portFromEnv } from './announce.ts';
import { PaymentsClient, type AuthorizeReply } from './payments-proto.ts';

const port = portFromEnv();
const ordersUrl = process.env.ORDERS_URL;
const paymentsAddr = process.env.PAYMENTS_ADDR;
if (!ordersUrl || !paymentsAddr) throw new Error('frontend needs ORDERS_URL and PAYMENTS_ADDR (its sidecar\'s outbound listener)');

const orders = new Pool(ordersUrl, { connections: 8 });
const payments = new PaymentsClient(`ipv4:${paymentsAddr}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'payments' });

type Outcome<T> = { ok: true; status: number; body: T } | { ok: false; status: number | null; error: string };

/** What an app must pass from the request it serves to the calls it makes, so the sidecars can join the spans into one trace. */
const TRACE_HEADERS = ['traceparent', 'tracestate', 'x-request-id', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags', 'b3'];

function traceHeaders(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of TRACE_HEADERS) {
    const v = req.headers[h];
    if (typeof v === 'string') out[h] = v;
  }
  return out;
}

async function callOrders(user: string, trace: Record<string, string>): Promise<Outcome<unknown>> {
  try {
    const res = await orders.request({ method: 'GET', path: `/orders?user=${encodeURIComponent(user)}`, headers: { ...trace, host: 'orders' }, headersTimeout: 5000 });
    const text = await res.body.text();
    if (res.statusCode !== 200) return { ok: false, status: res.statusCode, error: text.slice(0, 200) };
    return { ok: true, status: 200, body: JSON.parse(text) };
  } catch (err) {
    return { ok: false, status: null, error: (err as Error).message };
  }
}

function callPayments(orderId: string, trace: Record<string, string>): Promise<Outcome<AuthorizeReply>> {
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + 5000);
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(trace)) md.set(k, v);
    payments.Authorize({ orderId, amountCents: 6298 }, md, { deadline }, (err: grpc.ServiceError | null, reply: AuthorizeReply) => {
      if (err) resolve({ ok: false, status: err.code, error: `gRPC ${grpc.status[err.code] ?? err.code}: ${err.details}` });
      else resolve({ ok: true, status: 0, body: reply });
    });
  });
}

/** The signed-in user's identity headers the gateway's login set (x-user-sub, x-user-email, x-user-groups), or null. */
function identityHeaders(req: http.IncomingMessage): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const h of ['x-user-sub', 'x-user-email', 'x-user-groups']) {
    const v = req.headers[h];
    if (typeof v === 'string') out[h] = v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

let seq = 0;
const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://frontend');
  const user = url.searchParams.get('user') ?? 'demo-user';
  const orderId = `web-${++seq}`;
  const trace = traceHeaders(req);
  Promise.all([callOrders(user, trace), callPayments(orderId, trace)]).then(([o, p]) => {
    const ok = o.ok && p.ok;
    res.writeHead(ok ? 200 : 502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ service: 'frontend', orderId, user: identityHeaders(req), orders: o, payments: p }));
  });
});

server.listen(port, '127.0.0.1', () => announceReady('frontend', port));
onShutdown(async () => {
  server.close();
  server.closeAllConnections();
  payments.close();
  await orders.close();
});
