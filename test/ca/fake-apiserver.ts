// A local HTTPS stand-in for the Kubernetes API server's TokenReview endpoint, speaking its real JSON (a real API server cannot run here).
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateCert, type TestCert } from '../helpers/certs.ts';

export interface ServiceAccountToken {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Audiences the token was issued for (default the API server's own). */
  readonly audiences?: string[];
  /** A username other than system:serviceaccount:<ns>:<sa>, e.g. a human user. */
  readonly username?: string;
  /** Answer like an API server that ignores spec.audiences: authenticated, for its own audience only. */
  readonly ignoresAudiences?: boolean;
}

export interface SeenReview {
  readonly method: string;
  readonly path: string;
  readonly authorization: string;
  readonly contentType: string;
  readonly body: { apiVersion?: string; kind?: string; spec?: { token?: string; audiences?: string[] } };
}

export const API_SERVER_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

export class FakeApiServer {
  readonly tls: TestCert = generateCert();
  readonly tokens = new Map<string, ServiceAccountToken>();
  readonly seen: SeenReview[] = [];
  /** The bearer token the control plane must present. */
  callerToken = 'control-plane-sa-token';
  private readonly server = https.createServer({ key: this.tls.key, cert: this.tls.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.answer(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  port = 0;

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  private answer(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, text: string): void {
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    let body: SeenReview['body'] = {};
    try {
      body = JSON.parse(text) as SeenReview['body'];
    } catch { /* recorded as {} */ }
    this.seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: String(req.headers.authorization), contentType: String(req.headers['content-type']), body });
    const status = (code: number, reason: string, message: string) => json(code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
    if (req.method !== 'POST' || req.url !== '/apis/authentication.k8s.io/v1/tokenreviews') return status(404, 'NotFound', 'the server could not find the requested resource');
    if (req.headers.authorization !== `Bearer ${this.callerToken}`) return status(401, 'Unauthorized', 'Unauthorized');
    if (body.apiVersion !== 'authentication.k8s.io/v1' || body.kind !== 'TokenReview') return status(400, 'BadRequest', 'expected an authentication.k8s.io/v1 TokenReview');
    const spec = body.spec ?? {};
    const sa = this.tokens.get(spec.token ?? '');
    const wanted = spec.audiences?.length ? spec.audiences : [API_SERVER_AUDIENCE];
    const granted = sa?.ignoresAudiences ? [API_SERVER_AUDIENCE] : sa ? wanted.filter((a) => (sa.audiences ?? [API_SERVER_AUDIENCE]).includes(a)) : [];
    const review = { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec };
    if (!sa || granted.length === 0) {
      return json(201, { ...review, status: { user: {}, error: sa ? '[invalid bearer token, token audiences ["other"] is invalid for the target audiences]' : '[invalid bearer token, token lookup failed]' } });
    }
    json(201, {
      ...review,
      status: {
        authenticated: true,
        user: {
          username: sa.username ?? `system:serviceaccount:${sa.namespace}:${sa.serviceAccount}`,
          uid: '3c5c9f1e-0000-4000-8000-000000000001',
          groups: ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`, 'system:authenticated'],
          extra: { 'authentication.kubernetes.io/pod-name': [`${sa.serviceAccount}-7d9f`], 'authentication.kubernetes.io/pod-uid': ['5e1b0c2a-0000-4000-8000-000000000002'] },
        },
        audiences: granted,
      },
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.tls.remove();
  }
}
