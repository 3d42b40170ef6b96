// The demo's OpenID provider: the certified `oidc-provider` package on loopback with one client (the gateway) and one user, and a login form.
import http from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';

/* eslint-disable @typescript-eslint/no-explicit-any -- oidc-provider ships no type declarations. */
type Ctx = any;
interface ProviderLike {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
  on(event: string, fn: (...args: any[]) => void): void;
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<{ uid: string; prompt: { name: string }; params: Record<string, unknown>; session?: { accountId?: string } }>;
  Grant: new (init: { accountId?: string; clientId: string }) => { addOIDCScope(scope: string): void; save(): Promise<string> };
  interactionFinished(req: http.IncomingMessage, res: http.ServerResponse, result: object, opts: object): Promise<void>;
}

export interface DemoUser {
  readonly username: string;
  readonly password: string;
  readonly email: string;
  readonly name: string;
  readonly groups: readonly string[];
}

export interface DemoIdp {
  readonly issuer: string;
  readonly endpoints: { readonly authorization: string; readonly token: string; readonly jwks: string; readonly endSession: string };
  close(): Promise<void>;
}

/** `s` with the HTML special characters escaped (also used by the tests' provider). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid: string, error: string | null, hint: string): string {
  return `<!DOCTYPE html><html><head><title>Pilotfish demo sign-in</title></head><body><h1>Sign in to the Pilotfish demo</h1>
<p>${escapeHtml(hint)}</p>${error === null ? '' : `<p style="color:red">${escapeHtml(error)}</p>`}
<form method="post" action="/interaction/${escapeHtml(uid)}/login"><label>user <input name="username" autofocus></label>
<label>password <input name="password" type="password"></label><button type="submit">Sign in</button></form></body></html>`;
}

/** The urlencoded form body of `req` (also used by the tests' provider). */
export function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/**
 * Starts the provider on 127.0.0.1:`port` with issuer `http://localhost:<port>` (another host name than the gateway's
 * 127.0.0.1, so the two keep their cookies apart). The client is a web app redirecting to `redirectUris` (the gateway's
 * callback). Authorization code flow with PKCE required, refresh tokens, ID tokens with sub, email, name, groups.
 * Consent is implicit (a first-party app): a consent prompt is answered with a grant of the requested scopes.
 */
export async function startDemoIdp(port: number, client: { id: string; secret: string; redirectUris: readonly string[] }, user: DemoUser): Promise<DemoIdp> {
  const issuer = `http://localhost:${port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'demo-key', alg: 'RS256', use: 'sig' };
  const { Provider } = (await import('oidc-provider' as string)) as { Provider: new (issuer: string, config: object) => ProviderLike };
  const provider = new Provider(issuer, {
    clients: [{
      client_id: client.id, client_secret: client.secret, application_type: 'web', redirect_uris: [...client.redirectUris],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(client.secret))).toString('base64url')] },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
    pkce: { required: () => true },
    ttl: { AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60, RefreshToken: 86_400, Grant: 86_400, Session: 86_400, Interaction: 600 },
    issueRefreshToken: async (_ctx: Ctx, c: Ctx) => c.grantTypeAllowed('refresh_token'),
    // A first-party client: consent is implicit.
    loadExistingGrant: async (ctx: Ctx) => {
      const oidc = ctx.oidc;
      const id = oidc.session.grantIdFor(oidc.client.clientId);
      const found = id ? await oidc.provider.Grant.find(id) : undefined;
      if (found) return found;
      const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
      grant.addOIDCScope(String(oidc.params.scope ?? 'openid'));
      await grant.save();
      oidc.session.grantIdFor(oidc.client.clientId, grant.jti);
      return grant;
    },
    findAccount: async (_ctx: Ctx, sub: string) => sub !== user.username ? undefined : {
      accountId: sub,
      claims: async () => ({ sub, email: user.email, email_verified: true, name: user.name, groups: [...user.groups] }),
    },
    interactions: { url: async (_ctx: Ctx, interaction: Ctx) => `/interaction/${interaction.uid}` },
    renderError: async (ctx: Ctx, out: Ctx) => {
      ctx.type = 'text/plain';
      ctx.body = `error: ${out.error}${out.error_description ? ` (${out.error_description})` : ''}`;
    },
  });
  provider.on('server_error', () => undefined);
  const koa = provider.callback();
  const hint = `Demo user: ${user.username} / ${user.password}`;
  const server = http.createServer((req, res) => {
    const m = /^\/interaction\/([\w-]+)(\/login)?$/.exec((req.url ?? '').split('?')[0]);
    if (m === null) { void koa(req, res); return; }
    void (async () => {
      try {
        const details = await provider.interactionDetails(req, res);
        if (details.prompt.name === 'consent') {
          const grant = new provider.Grant({ accountId: details.session?.accountId, clientId: String(details.params.client_id) });
          grant.addOIDCScope(String(details.params.scope ?? 'openid'));
          await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
          return;
        }
        if (m[2] === undefined) { res.writeHead(200, { 'content-type': 'text/html' }).end(loginPage(details.uid, null, hint)); return; }
        const form = await readForm(req);
        if (form.get('username') !== user.username || form.get('password') !== user.password) {
          res.writeHead(401, { 'content-type': 'text/html' }).end(loginPage(details.uid, 'wrong user or password', hint));
          return;
        }
        await provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`login failed: ${(err as Error).message}`);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    issuer,
    endpoints: { authorization: `${issuer}/auth`, token: `${issuer}/token`, jwks: `${issuer}/jwks`, endSession: `${issuer}/session/end` },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
