// Kubernetes credentials: checks a pod's service-account token with the API server's TokenReview API (authentication.k8s.io/v1).
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { CaError } from './ca-error.ts';
import type { Authenticator } from './credentials.ts';
import { namespaceError, serviceAccountError, type WorkloadIdentity } from './spiffe.ts';

export const IN_CLUSTER_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';
export const IN_CLUSTER_CA_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface TokenReviewOptions {
  /** e.g. https://kubernetes.default.svc */
  readonly apiServer: string;
  /** The control plane's own service-account token (re-read for every review: projected tokens rotate). */
  readonly tokenFile?: string;
  /** PEM CA bundle for the API server's certificate (default: the in-cluster one when it exists, else the system's). */
  readonly caFile?: string;
  /** Audiences the workload's token must be valid for; empty = the API server's own. */
  readonly audiences?: readonly string[];
  readonly timeoutMs?: number;
  readonly logger: Logger;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string };
  audiences?: string[];
  error?: string;
}

export class TokenReviewAuthenticator implements Authenticator {
  readonly kind = 'kubernetes';
  readonly url: URL;
  private readonly tokenFile: string;
  private readonly ca: string | undefined;
  private readonly audiences: readonly string[];
  private readonly timeoutMs: number;

  constructor(o: TokenReviewOptions) {
    this.url = new URL('/apis/authentication.k8s.io/v1/tokenreviews', o.apiServer);
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:') throw new Error(`--k8s-api-server must be an http(s) URL, got ${o.apiServer}`);
    this.tokenFile = o.tokenFile ?? IN_CLUSTER_TOKEN_FILE;
    if (!fs.existsSync(this.tokenFile)) throw new Error(`the control plane's own service-account token ${this.tokenFile} does not exist (--k8s-token-file)`);
    const caFile = o.caFile ?? (fs.existsSync(IN_CLUSTER_CA_FILE) ? IN_CLUSTER_CA_FILE : undefined);
    this.ca = caFile ? fs.readFileSync(caFile, 'utf8') : undefined;
    this.audiences = o.audiences ?? [];
    this.timeoutMs = o.timeoutMs ?? 5000;
  }

  async authenticate(token: string): Promise<WorkloadIdentity> {
    const review = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(this.audiences.length ? { audiences: this.audiences } : {}) } };
    const { status, text } = await this.post(JSON.stringify(review));
    let body: { status?: TokenReviewStatus; message?: string };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new CaError('UNAVAILABLE', `TokenReview answered HTTP ${status} with a body that is not JSON`);
    }
    if (status !== 200 && status !== 201) throw new CaError('UNAVAILABLE', `TokenReview answered HTTP ${status}${body.message ? `: ${body.message}` : ''}`);
    const s = body.status ?? {};
    if (s.authenticated !== true) throw new CaError('UNAUTHENTICATED', `Kubernetes did not authenticate the token${s.error ? `: ${s.error}` : ''}`);
    if (this.audiences.length && !(s.audiences ?? []).some((a) => this.audiences.includes(a))) {
      throw new CaError('UNAUTHENTICATED', `the token is not valid for the audience ${this.audiences.join(', ')}`);
    }
    const username = s.user?.username ?? '';
    const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
    if (!m) throw new CaError('UNAUTHENTICATED', `the token belongs to "${username}", not to a service account`);
    const [, namespace, serviceAccount] = m;
    const err = namespaceError(namespace) ?? serviceAccountError(serviceAccount);
    if (err) throw new CaError('UNAUTHENTICATED', `the token's user ${username}: ${err}`);
    return { namespace, serviceAccount };
  }

  private async post(body: string): Promise<{ status: number; text: string }> {
    let own: string;
    try {
      own = (await fs.promises.readFile(this.tokenFile, 'utf8')).trim();
    } catch (err) {
      throw new CaError('UNAVAILABLE', `cannot read the control plane's own token ${this.tokenFile}: ${(err as Error).message}`);
    }
    const mod = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(this.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${own}`, 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: this.timeoutMs,
        ...(this.ca ? { ca: this.ca } : {}),
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('response larger than 1 MiB'));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(new CaError('UNAVAILABLE', `TokenReview failed: ${err.message}`)));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) => reject(new CaError('UNAVAILABLE', `TokenReview request to ${this.url.origin} failed: ${err.message}`)));
      req.end(body);
    });
  }
}
