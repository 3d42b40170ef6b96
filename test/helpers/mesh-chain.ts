// A three-service mesh for e2e tests: frontend → orders (HTTP) → payments (gRPC), each app behind its own pilotfish sidecar.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { bootstrap, httpConnectionManager, http2Upstream, listener, route, staticCluster } from './bootstrap.ts';
import { echoClient, startGrpcServer, type EchoClient, type GrpcUpstream } from './grpc-upstream.ts';
import { send } from './http-client.ts';
import { startSidecar, type Sidecar } from './sidecar.ts';

/** The headers an app copies from its inbound request to its outbound calls (Istio's list, plus B3 single). */
export const TRACE_HEADERS = ['traceparent', 'tracestate', 'x-request-id', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags', 'b3'];

export function copyTraceHeaders(from: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of TRACE_HEADERS) {
    const v = from[h];
    if (typeof v === 'string') out[h] = v;
  }
  return out;
}

export type ServiceName = 'frontend' | 'orders' | 'payments';

export interface ChainOptions {
  /** HCM `tracing` per service (null: no tracing). */
  readonly tracing?: (service: ServiceName) => object | null;
  /** More clusters per sidecar (e.g. a collector cluster for envoy_grpc). */
  readonly extraClusters?: (service: ServiceName) => object[];
  /** More listeners per sidecar. */
  readonly extraListeners?: (service: ServiceName) => object[];
}

export interface MeshChain {
  readonly sidecars: Readonly<Record<ServiceName, Sidecar>>;
  /** "http://127.0.0.1:PORT" of the frontend sidecar's inbound listener: the mesh entry. */
  readonly entry: string;
  /** Request headers each app received, in order. */
  readonly seen: Record<'frontend' | 'orders', http.IncomingHttpHeaders[]>;
  close(): Promise<void>;
}

interface App { server: http.Server; port: number; target: string }

async function startApp(handler: (req: http.IncomingMessage, res: http.ServerResponse, app: App) => void): Promise<App> {
  const app: App = { server: http.createServer(), port: 0, target: '' };
  app.server.on('request', (req, res) => handler(req, res, app));
  await new Promise<void>((r) => app.server.listen(0, '127.0.0.1', r));
  app.port = (app.server.address() as AddressInfo).port;
  return app;
}

function node(service: ServiceName): Record<string, unknown> {
  return { node: { id: `${service}-sidecar`, cluster: service, metadata: { pilotfish: { service, namespace: 'shop' } } } };
}

function hcm(name: string, cluster: string, tracing: object | null, routes?: object[]): object {
  return httpConnectionManager({
    statPrefix: name,
    virtualHosts: [{ name, domains: ['*'], routes: routes ?? [route({ prefix: '/' }, cluster, { timeout: '10s' })] }],
    extra: tracing === null ? {} : { tracing },
  });
}

function directed(name: string, filters: object[], direction: 'INBOUND' | 'OUTBOUND'): object {
  return { ...listener(name, filters), traffic_direction: direction };
}

export async function startMeshChain(opts: ChainOptions = {}): Promise<MeshChain> {
  const tracing = opts.tracing ?? (() => null);
  const seen: MeshChain['seen'] = { frontend: [], orders: [] };
  const closers: (() => Promise<unknown>)[] = [];
  try {
    // payments: the gRPC Echo service.
    const payments: GrpcUpstream = await startGrpcServer('payments');
    closers.push(() => payments.close());
    const paymentsSidecar = await startSidecar(bootstrap(
      [directed('inbound', [hcm('inbound_payments', 'local_payments', tracing('payments'))], 'INBOUND'), ...(opts.extraListeners?.('payments') ?? [])],
      [staticCluster('local_payments', [payments.port], http2Upstream()), ...(opts.extraClusters?.('payments') ?? [])],
      node('payments'),
    ));
    closers.push(() => paymentsSidecar.stop());

    // orders: HTTP; /orders calls payments over gRPC, /flaky fails the first attempt of each request id.
    let grpcClient: EchoClient | null = null;
    const failedOnce = new Set<string>();
    const orders = await startApp((req, res) => {
      seen.orders.push(req.headers);
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/flaky') {
        const id = String(req.headers['x-request-id']);
        if (!failedOnce.has(id)) { failedOnce.add(id); res.writeHead(503).end('try again'); return; }
        res.writeHead(200).end('ok after retry');
        return;
      }
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(copyTraceHeaders(req.headers))) md.set(k, v);
      const fail = url.searchParams.get('fail');
      const done = (err: grpc.ServiceError | null, reply?: { message: string }) => {
        if (err) res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ grpcCode: err.code }));
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ payments: reply?.message }));
      };
      if (fail !== null) grpcClient!.Fail({ code: Number(fail), message: 'no', trailers: {} }, md, {}, done);
      else grpcClient!.Unary({ message: 'charge' }, md, {}, done);
    });
    closers.push(() => new Promise((r) => { orders.server.closeAllConnections(); orders.server.close(r); }));
    const ordersSidecar = await startSidecar(bootstrap(
      [
        directed('inbound', [hcm('inbound_orders', 'local_orders', tracing('orders'))], 'INBOUND'),
        directed('outbound_payments', [hcm('outbound_payments', 'payments', tracing('orders'))], 'OUTBOUND'),
        ...(opts.extraListeners?.('orders') ?? []),
      ],
      [staticCluster('local_orders', [orders.port]), staticCluster('payments', [paymentsSidecar.port('inbound')], http2Upstream()), ...(opts.extraClusters?.('orders') ?? [])],
      node('orders'),
    ));
    closers.push(() => ordersSidecar.stop());
    grpcClient = echoClient(`127.0.0.1:${ordersSidecar.port('outbound_payments')}`);
    closers.push(async () => grpcClient?.close());

    // frontend: forwards each request's path to orders, copying the trace headers.
    const frontend = await startApp((req, res, app) => {
      seen.frontend.push(req.headers);
      send(`${app.target}${req.url}`, { headers: copyTraceHeaders(req.headers) }).then(
        (r) => res.writeHead(r.status, { 'content-type': 'text/plain' }).end(r.text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    closers.push(() => new Promise((r) => { frontend.server.closeAllConnections(); frontend.server.close(r); }));
    const retryRoutes = [
      route({ prefix: '/flaky' }, 'orders', { timeout: '10s', retry_policy: { retry_on: '5xx', num_retries: 1 } }),
      route({ prefix: '/' }, 'orders', { timeout: '10s' }),
    ];
    const frontendSidecar = await startSidecar(bootstrap(
      [
        directed('inbound', [hcm('inbound_frontend', 'local_frontend', tracing('frontend'))], 'INBOUND'),
        directed('outbound_orders', [hcm('outbound_orders', 'orders', tracing('frontend'), retryRoutes)], 'OUTBOUND'),
        ...(opts.extraListeners?.('frontend') ?? []),
      ],
      [staticCluster('local_frontend', [frontend.port]), staticCluster('orders', [ordersSidecar.port('inbound')]), ...(opts.extraClusters?.('frontend') ?? [])],
      node('frontend'),
    ));
    closers.push(() => frontendSidecar.stop());
    frontend.target = `http://127.0.0.1:${frontendSidecar.port('outbound_orders')}`;
    return {
      sidecars: { frontend: frontendSidecar, orders: ordersSidecar, payments: paymentsSidecar },
      entry: frontendSidecar.url('inbound'),
      seen,
      close: async () => {
        for (const c of closers.reverse()) await c().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    throw err;
  }
}
