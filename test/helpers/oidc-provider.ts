// A live OpenID provider (the certified `oidc-provider` package) on loopback for tests, and a browser-like client with a cookie jar.
//
// Usage:
//   const idp = await startOidcProvider({
//     clients: [{ clientId: 'web', clientSecret: 's3cret', redirectUris: ['http://127.0.0.1/callback'] }],
//     users: [{ username: 'alice', password: 'pw', email: 'alice@example.com', groups: ['admins'] }],
//   });
//   idp.issuer                       // "http://localhost:PORT" (listens on 127.0.0.1)
//   idp.endpoints.authorization / token / endSession / jwks
//   const browser = new Browser();
//   const page = await browser.get(`${proxy}/app`);        // follows redirects: proxy → provider's login page
//   const done = await idp.login(browser, page, 'alice');  // submits the login form, follows redirects back to the app
//   idp.grants                        // every token endpoint call: { grantType, clientId, ok, error }
//   await idp.close();
//
// Clients are "native" (RFC 8252): an http://127.0.0.1/... or http://localhost/... redirect URI matches any port, so a
// proxy started on port 0 can be registered before its port is known. PKCE is required for every client; the
// authorization_code and refresh_token grants are enabled (a refresh token is issued without offline_access). ID tokens
// carry sub, email, email_verified, name and groups. Consent is given automatically (first-party clients); login is a plain HTML
// form at /interaction/<uid> (POST username, password) that `login()` fills in like a user would.
// `accessTokenTtlS` (per client) sets the lifetime of both the access token and the ID token, for refresh tests.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { escapeHtml, readForm } from '../../src/demo/oidc-provider.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- oidc-provider ships no type declarations (and @types is not installed). */
type Ctx = any;
interface ProviderLike {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
  on(event: string, fn: (...args: any[]) => void): void;
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<{
    uid: string; grantId?: string; session?: { accountId: string }; params: Record<string, unknown>; prompt: { name: string; details: Record<string, any> };
  }>;
  Grant: any;
  interactionFinished(req: http.IncomingMessage, res: http.ServerResponse, result: object, opts: object): Promise<void>;
}
type ProviderCtor = new (issuer: string, config: Record<string, unknown>) => ProviderLike;

export interface OidcClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  /** client_secret_basic (default) or client_secret_post (Envoy's URL_ENCODED_BODY). */
  readonly tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Access token and ID token lifetime (default 3600 s). */
  readonly accessTokenTtlS?: number;
}

export interface OidcUser {
  readonly username: string;
  readonly password?: string;
  readonly email?: string;
  readonly name?: string;
  readonly groups?: readonly string[];
}

export interface GrantEvent {
  readonly grantType: string;
  readonly clientId: string;
  readonly ok: boolean;
  readonly error: string | null;
}

export interface OidcProviderHandle {
  readonly issuer: string;
  readonly port: number;
  readonly endpoints: { readonly authorization: string; readonly token: string; readonly endSession: string; readonly jwks: string };
  /** Token endpoint calls in order; `events` emits 'grant' with each. */
  readonly grants: GrantEvent[];
  readonly events: EventEmitter;
  /** Waits for a token endpoint call (already seen or future) matching `pred`. */
  waitForGrant(pred: (g: GrantEvent) => boolean, timeoutMs?: number): Promise<GrantEvent>;
  /** Submits the login form shown by `page` (or at `page` URL) as `username` and follows the redirects that follow. */
  login(browser: Browser, page: BrowserResponse | string, username: string, password?: string): Promise<BrowserResponse>;
  close(): Promise<void>;
}

export interface StartOidcOptions {
  readonly clients: readonly OidcClient[];
  readonly users: readonly OidcUser[];
  /** Issuer host name (default "localhost", so its cookies stay apart from a proxy on 127.0.0.1). */
  readonly hostname?: string;
}

function loginPage(uid: string, error: string | null): string {
  return `<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Sign in</h1>${error === null ? '' : `<p class="error">${escapeHtml(error)}</p>`}
<form method="post" action="/interaction/${escapeHtml(uid)}/login"><input name="username"><input name="password" type="password"><button type="submit">Sign in</button></form></body></html>`;
}

export async function startOidcProvider(opts: StartOidcOptions): Promise<OidcProviderHandle> {
  const hostname = opts.hostname ?? 'localhost';
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://${hostname}:${port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  const users = new Map(opts.users.map((u) => [u.username, u]));
  const ttlOf = (clientId: string | undefined): number => opts.clients.find((c) => c.clientId === clientId)?.accessTokenTtlS ?? 3600;

  const { Provider } = (await import('oidc-provider' as string)) as { Provider: ProviderCtor };
  const provider = new Provider(issuer, {
    clients: opts.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      application_type: 'native',
      redirect_uris: [...c.redirectUris],
      post_logout_redirect_uris: [...(c.postLogoutRedirectUris ?? [])],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? 'client_secret_basic',
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: ['pilotfish-test-cookie-key'] },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
    pkce: { required: () => true },
    ttl: {
      AccessToken: (_ctx: Ctx, _token: Ctx, client: Ctx) => ttlOf(client?.clientId),
      IdToken: (_ctx: Ctx, _token: Ctx, client: Ctx) => ttlOf(client?.clientId),
      AuthorizationCode: 60,
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      Session: 24 * 3600,
      Interaction: 600,
    },
    issueRefreshToken: async (_ctx: Ctx, client: Ctx) => client.grantTypeAllowed('refresh_token'),
    findAccount: async (_ctx: Ctx, sub: string) => {
      const u = users.get(sub);
      if (u === undefined) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, email: u.email, email_verified: u.email !== undefined, name: u.name ?? sub, groups: [...(u.groups ?? [])] }),
      };
    },
    interactions: { url: async (_ctx: Ctx, interaction: Ctx) => `/interaction/${interaction.uid}` },
    renderError: async (ctx: Ctx, out: Ctx) => {
      ctx.type = 'text/plain';
      ctx.body = `error: ${out.error}${out.error_description ? ` (${out.error_description})` : ''}`;
    },
  });

  const grants: GrantEvent[] = [];
  const events = new EventEmitter();
  const record = (ctx: { oidc?: { params?: Record<string, unknown>; client?: { clientId: string } } }, error: Error | null): void => {
    const g: GrantEvent = {
      grantType: String(ctx.oidc?.params?.grant_type ?? ''),
      clientId: ctx.oidc?.client?.clientId ?? '',
      ok: error === null,
      error: error === null ? null : `${(error as { error?: string }).error ?? error.name}: ${(error as { error_description?: string }).error_description ?? error.message}`,
    };
    grants.push(g);
    events.emit('grant', g);
  };
  provider.on('grant.success', (ctx: Ctx) => record(ctx, null));
  provider.on('grant.error', (ctx: Ctx, err: Error) => record(ctx, err));
  // Errors are answered to the client; keep the test output quiet.
  provider.on('server_error', () => undefined);

  const koa = provider.callback();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const m = /^\/interaction\/([\w-]+)(\/login)?$/.exec((req.url ?? '').split('?')[0]);
    if (m === null) { void koa(req, res); return; }
    void (async () => {
      try {
        const details = await provider.interactionDetails(req, res);
        if (details.prompt.name === 'consent') {
          // First-party clients: consent is given at once, for whatever the client asked.
          const grant = details.grantId
            ? await provider.Grant.find(details.grantId)
            : new provider.Grant({ accountId: details.session?.accountId, clientId: String(details.params.client_id) });
          const missing = details.prompt.details;
          if (Array.isArray(missing.missingOIDCScope)) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
          if (Array.isArray(missing.missingOIDCClaims)) grant.addOIDCClaims(missing.missingOIDCClaims);
          await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
          return;
        }
        if (m[2] === undefined) {
          res.writeHead(200, { 'content-type': 'text/html' }).end(loginPage(details.uid, null));
          return;
        }
        const form = await readForm(req);
        const u = users.get(form.get('username') ?? '');
        if (u === undefined || (u.password !== undefined && u.password !== form.get('password'))) {
          res.writeHead(401, { 'content-type': 'text/html' }).end(loginPage(details.uid, 'wrong username or password'));
          return;
        }
        await provider.interactionFinished(req, res, { login: { accountId: u.username } }, { mergeWithLastSubmission: false });
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`interaction failed: ${(err as Error).message}`);
      }
    })();
  });

  const waitForGrant = (pred: (g: GrantEvent) => boolean, timeoutMs = 15_000): Promise<GrantEvent> => {
    const seen = grants.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { events.off('grant', on); reject(new Error(`no matching token endpoint call within ${timeoutMs} ms (seen: ${JSON.stringify(grants)})`)); }, timeoutMs);
      const on = (g: GrantEvent): void => { if (pred(g)) { clearTimeout(timer); events.off('grant', on); resolve(g); } };
      events.on('grant', on);
    });
  };

  return {
    issuer,
    port,
    endpoints: { authorization: `${issuer}/auth`, token: `${issuer}/token`, endSession: `${issuer}/session/end`, jwks: `${issuer}/jwks` },
    grants,
    events,
    waitForGrant,
    async login(browser, page, username, password) {
      const url = typeof page === 'string' ? page : page.url;
      const uid = /\/interaction\/([\w-]+)/.exec(url)?.[1];
      if (uid === undefined) throw new Error(`not a login page: ${url}${typeof page === 'string' ? '' : ` (status ${page.status}: ${page.text.slice(0, 200)})`}`);
      const user = users.get(username);
      return browser.post(new URL(`/interaction/${uid}/login`, url).toString(), { username, password: password ?? user?.password ?? '' });
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

// ---------------------------------------------------------------- browser

export interface BrowserResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  /** The URL of this (last) response. */
  readonly url: string;
  /** Every response on the way, in order (redirects included). */
  readonly chain: readonly { readonly url: string; readonly status: number; readonly location: string | null }[];
}

interface StoredCookie { value: string; path: string }

export interface BrowserRequest {
  readonly headers?: Record<string, string>;
  /** Follow 3xx redirects (default true). */
  readonly follow?: boolean;
  readonly maxRedirects?: number;
  readonly timeoutMs?: number;
}

/**
 * A browser-like HTTP/1.1 client: a cookie jar per host name (ports share cookies, as in browsers; Secure and
 * SameSite are not enforced on loopback), redirects followed (303 and 302 become GET), "localhost" reached over IPv4.
 */
export class Browser {
  readonly jar = new Map<string, Map<string, StoredCookie>>();

  /** The cookie `name` stored for `host` (a host name or URL), or undefined. */
  cookie(host: string, name: string): string | undefined {
    return this.jar.get(hostOf(host))?.get(name)?.value;
  }

  setCookie(host: string, name: string, value: string, path = '/'): void {
    const h = hostOf(host);
    if (!this.jar.has(h)) this.jar.set(h, new Map());
    this.jar.get(h)!.set(name, { value, path });
  }

  deleteCookie(host: string, name: string): void {
    this.jar.get(hostOf(host))?.delete(name);
  }

  get(url: string, opts: BrowserRequest = {}): Promise<BrowserResponse> {
    return this.#go('GET', url, null, opts);
  }

  post(url: string, form: Record<string, string>, opts: BrowserRequest = {}): Promise<BrowserResponse> {
    return this.#go('POST', url, new URLSearchParams(form).toString(), opts);
  }

  async #go(method: string, url: string, body: string | null, opts: BrowserRequest): Promise<BrowserResponse> {
    const chain: { url: string; status: number; location: string | null }[] = [];
    let current = url;
    for (let i = 0; ; i++) {
      const res = await this.#one(method, current, body, opts);
      const location = typeof res.headers.location === 'string' ? res.headers.location : null;
      chain.push({ url: current, status: res.status, location });
      if (opts.follow === false || location === null || res.status < 300 || res.status > 399) return { ...res, url: current, chain };
      if (i >= (opts.maxRedirects ?? 20)) throw new Error(`too many redirects: ${chain.map((c) => `${c.status} ${c.url}`).join(' → ')}`);
      current = new URL(location, current).toString();
      if (res.status !== 307 && res.status !== 308) { method = 'GET'; body = null; }
    }
  }

  #one(method: string, url: string, body: string | null, opts: BrowserRequest): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
    const u = new URL(url);
    const headers: Record<string, string> = { 'user-agent': 'pilotfish-test-browser', accept: 'text/html', ...opts.headers };
    const cookie = this.#cookieHeader(u);
    if (cookie !== '') headers.cookie = cookie;
    if (body !== null) headers['content-type'] = 'application/x-www-form-urlencoded';
    return new Promise((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, family: 4, agent: false }, (res) => {
        this.#store(u, res.headers['set-cookie'] ?? []);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }); });
        res.on('error', reject);
      });
      const timer = setTimeout(() => req.destroy(new Error(`${method} ${url}: no response within ${opts.timeoutMs ?? 15_000} ms`)), opts.timeoutMs ?? 15_000);
      req.on('error', (err) => { clearTimeout(timer); reject(err); });
      req.end(body ?? undefined);
    });
  }

  #cookieHeader(u: URL): string {
    const jar = this.jar.get(u.hostname);
    if (jar === undefined) return '';
    const out: string[] = [];
    for (const [name, c] of jar) if (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)) out.push(`${name}=${c.value}`);
    return out.join('; ');
  }

  #store(u: URL, lines: readonly string[]): void {
    for (const line of lines) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let expired = false;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=').map((x) => x.trim());
        const key = k.toLowerCase();
        if (key === 'path' && v.startsWith('/')) path = v;
        else if (key === 'max-age' && Number(v) <= 0) expired = true;
        else if (key === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      if (!this.jar.has(u.hostname)) this.jar.set(u.hostname, new Map());
      const jar = this.jar.get(u.hostname)!;
      if (expired) jar.delete(name);
      else jar.set(name, { value, path });
    }
  }
}

function hostOf(hostOrUrl: string): string {
  return hostOrUrl.includes('://') ? new URL(hostOrUrl).hostname : hostOrUrl;
}
