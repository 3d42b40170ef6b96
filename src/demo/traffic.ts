// Sends requests to the mesh entry point and tallies what came back (statuses, whether orders and payments both answered, and over mTLS).
import { Pool } from 'undici';
import { demoSpiffeId } from './identity.ts';

export interface TrafficSummary {
  requests: number;
  succeeded: number;
  orders: number;
  payments: number;
  statuses: Record<string, number>;
  /** Requests where orders / payments saw frontend's SPIFFE ID as the caller (x-forwarded-client-cert from mTLS). */
  mtls: { orders: number; payments: number };
  sample: unknown;
  firstError: string | null;
}

export interface FrontendBody {
  orders?: { ok?: boolean; body?: { seenRoute?: string | null; seenPeer?: string | null } };
  payments?: { ok?: boolean; body?: { caller?: string } };
}

/** The x-demo-route header orders received (set by the HTTPRoute in src/demo/mesh/orders.yaml), null without one, undefined when orders did not answer. */
export function ordersRoute(body: FrontendBody | null): string | null | undefined {
  const o = body?.orders;
  return o?.ok === true ? (o.body?.seenRoute ?? null) : undefined;
}

/** Keep-alive client for the mesh entry point; close() it before stopping the sidecars so they have nothing to drain. */
export class MeshClient {
  readonly url: URL;
  readonly #pool: Pool;

  constructor(url: string) {
    this.url = new URL(url);
    this.#pool = new Pool(this.url.origin, { connections: 2 });
  }

  /** One request through the mesh; never throws. */
  async sendOne(query = ''): Promise<{ status: string; body: FrontendBody | null; error: string | null }> {
    try {
      const res = await this.#pool.request({ method: 'GET', path: `${this.url.pathname}${query}`, headersTimeout: 10_000, bodyTimeout: 10_000 });
      const text = await res.body.text();
      let body: FrontendBody | null = null;
      try { body = JSON.parse(text) as FrontendBody; } catch { /* not JSON: keep null */ }
      const error = res.statusCode === 200 ? null : `HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
      return { status: String(res.statusCode), body, error };
    } catch (err) {
      return { status: 'error', body: null, error: (err as Error).message };
    }
  }

  close(): Promise<void> {
    return this.#pool.destroy();
  }
}

/** Sends `count` requests one after another and summarizes them. */
export async function sendTraffic(client: MeshClient, count: number): Promise<TrafficSummary> {
  const s: TrafficSummary = { requests: count, succeeded: 0, orders: 0, payments: 0, statuses: {}, mtls: { orders: 0, payments: 0 }, sample: null, firstError: null };
  const frontend = demoSpiffeId('frontend');
  for (let i = 0; i < count; i++) {
    const r = await client.sendOne(`?user=user-${i + 1}`);
    s.statuses[r.status] = (s.statuses[r.status] ?? 0) + 1;
    const ordersOk = r.body?.orders?.ok === true;
    const paymentsOk = r.body?.payments?.ok === true;
    if (ordersOk) s.orders++;
    if (paymentsOk) s.payments++;
    if (r.body?.orders?.body?.seenPeer === frontend) s.mtls.orders++;
    if (r.body?.payments?.body?.caller === frontend) s.mtls.payments++;
    if (r.status === '200' && ordersOk && paymentsOk) {
      s.succeeded++;
      s.sample ??= r.body;
    } else {
      s.firstError ??= r.error ?? 'frontend answered 200 without both upstream answers';
      if (s.sample === null && r.body) s.sample = r.body;
    }
  }
  return s;
}

/** Human-readable summary lines plus one machine-readable `summary: {json}` line. */
export function formatSummary(s: TrafficSummary): string {
  const statuses = Object.entries(s.statuses).map(([k, v]) => `${k} × ${v}`).join(', ');
  const lines = [
    `  statuses: ${statuses}`,
    `  frontend got orders (HTTP/1.1 via sidecar) ${s.orders}/${s.requests}, payments (gRPC via sidecar) ${s.payments}/${s.requests}`,
    `  RESULT: ${s.succeeded}/${s.requests} requests succeeded`,
  ];
  if (s.firstError) lines.push(`  first failure: ${s.firstError}`);
  lines.push(`summary: ${JSON.stringify({ requests: s.requests, succeeded: s.succeeded, orders: s.orders, payments: s.payments, statuses: s.statuses, mtls: s.mtls })}`);
  return lines.join('\n');
}
