// The demo's orders service: a plain HTTP/1.1 JSON API behind its sidecar's inbound listener.
import http from 'node:http';
import { announceReady, onShutdown, portFromEnv } from './announce.ts';

const port = portFromEnv();

/** The URI of the last element of an x-forwarded-client-cert header ("By=…;Hash=…;URI=spiffe://…"), or null. */
function peerUri(xfcc: string | string[] | undefined): string | null {
  const last = (Array.isArray(xfcc) ? xfcc.join(',') : xfcc ?? '').split(',').pop() ?? '';
  return /(?:^|;)URI=([^;,]+)/.exec(last)?.[1] ?? null;
}
let served = 0;

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://orders');
  if (req.method !== 'GET' || !url.pathname.startsWith('/orders')) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: `no route for ${req.method} ${url.pathname}` }));
    return;
  }
  served++;
  const user = url.searchParams.get('user') ?? 'anonymous';
  const body = {
    service: 'orders',
    user,
    orders: [
      { id: `ord-${served}`, item: 'pilot fish food', quantity: 2, amountCents: 1299 },
      { id: `ord-${served}b`, item: 'shark-proof net', quantity: 1, amountCents: 4999 },
    ],
    seenHost: req.headers.host ?? null,
    seenRequestId: req.headers['x-request-id'] ?? null,
    // Set by the HTTPRoute in src/demo/mesh/orders.yaml (RequestHeaderModifier): shows a route edit reaching the sidecars.
    seenRoute: req.headers['x-demo-route'] ?? null,
    // The caller's SPIFFE ID, from the x-forwarded-client-cert orders' sidecar set after verifying its mTLS certificate.
    seenPeer: peerUri(req.headers['x-forwarded-client-cert']),
  };
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
});

server.listen(port, '127.0.0.1', () => announceReady('orders', port));
onShutdown(() => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }));
