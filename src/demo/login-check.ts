// A scripted browser for the demo: follows the gateway's OIDC login (redirects, cookies, the provider's form) and reports what frontend saw.
import http from 'node:http';

interface Page { status: number; url: string; text: string; location: string | null }

/** A cookie jar per host name (ports share cookies, as in browsers) and redirect following, enough for one login. */
class ScriptedBrowser {
  readonly #jar = new Map<string, Map<string, string>>();

  async go(method: 'GET' | 'POST', url: string, form: Record<string, string> | null = null): Promise<Page> {
    let body = form === null ? null : new URLSearchParams(form).toString();
    for (let i = 0; i < 15; i++) {
      const page = await this.#one(method, url, body);
      if (page.location === null || page.status < 300 || page.status > 399) return page;
      url = new URL(page.location, url).toString();
      if (page.status !== 307 && page.status !== 308) { method = 'GET'; body = null; }
    }
    throw new Error(`too many redirects (last ${url})`);
  }

  #one(method: string, url: string, body: string | null): Promise<Page> {
    const u = new URL(url);
    const jar = this.#jar.get(u.hostname) ?? new Map<string, string>();
    const headers: Record<string, string> = { accept: 'text/html', 'user-agent': 'pilotfish-demo-login' };
    if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body !== null) headers['content-type'] = 'application/x-www-form-urlencoded';
    return new Promise((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, family: 4, agent: false, timeout: 10_000 }, (res) => {
        for (const line of res.headers['set-cookie'] ?? []) {
          const [pair, ...attrs] = line.split(';');
          const eq = pair.indexOf('=');
          if (eq <= 0) continue;
          const expired = attrs.some((a) => /^\s*max-age=\s*(0|-)/i.test(a)) || attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now());
          if (expired) jar.delete(pair.slice(0, eq).trim());
          else jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
        }
        this.#jar.set(u.hostname, jar);
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, url, text, location: typeof res.headers.location === 'string' ? res.headers.location : null }));
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within 10 s`)));
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  }
}

export interface LoginResult {
  readonly ok: boolean;
  /** One line for the printout. */
  readonly line: string;
  /** The identity headers frontend reported (x-user-sub, x-user-email, x-user-groups). */
  readonly user: Record<string, string> | null;
}

/**
 * GET the gateway's URL without a session (→ the provider's login page), submit the form as the demo user, follow the
 * redirects back through the gateway's callback to frontend, and read the identity headers frontend echoes.
 */
export async function scriptedLogin(gatewayUrl: string, username: string, password: string): Promise<LoginResult> {
  try {
    const b = new ScriptedBrowser();
    const login = await b.go('GET', gatewayUrl);
    const uid = /\/interaction\/([\w-]+)/.exec(login.url)?.[1];
    if (uid === undefined) return { ok: false, line: `no login page: ${login.status} ${login.url} ${login.text.slice(0, 200)}`, user: null };
    const done = await b.go('POST', new URL(`/interaction/${uid}/login`, login.url).toString(), { username, password });
    let body: { user?: Record<string, string> } | null = null;
    try { body = JSON.parse(done.text) as { user?: Record<string, string> }; } catch { /* not frontend's JSON */ }
    const user = body?.user ?? null;
    if (done.status !== 200 || !user || user['x-user-sub'] !== username) {
      return { ok: false, line: `after the login the gateway answered ${done.status} at ${done.url}: ${done.text.slice(0, 300)}`, user };
    }
    return { ok: true, line: `${username} logged in through the gateway; frontend saw ${Object.entries(user).map(([k, v]) => `${k}: ${v}`).join(', ')}`, user };
  } catch (err) {
    return { ok: false, line: `login failed: ${(err as Error).message}`, user: null };
  }
}
