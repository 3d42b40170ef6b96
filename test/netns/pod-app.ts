// An unmodified "app" for the namespace tests: plain Node servers (HTTP, TCP echo, server-first banner) and a driver port the test uses to make the app call out, with no proxy settings.
import http from 'node:http';
import net from 'node:net';

const NAME = process.env.APP_NAME ?? 'app';
const HTTP_PORT = Number(process.env.HTTP_PORT ?? 8080);
const ECHO_PORT = Number(process.env.ECHO_PORT ?? 0);
const BANNER_PORT = Number(process.env.BANNER_PORT ?? 0);
const DRIVER_PORT = Number(process.env.DRIVER_PORT ?? 0);
/** A second HTTP port whose Service port declares no protocol (the sidecars detect it). */
const WEB_PORT = Number(process.env.WEB_PORT ?? 0);
/** An HTTP port no Service declares (the inbound sidecar passes it through). */
const UNDECLARED_PORT = Number(process.env.UNDECLARED_PORT ?? 0);

function listening(server: net.Server, port: number, what: string): void {
  server.listen(port, '0.0.0.0', () => process.stdout.write(`${what} listening on ${port}\n`));
}

/** The app's own HTTP answer: who it is and what it saw (peer address, x-forwarded-client-cert), so the test can tell who called. */
const answer = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  let body = '';
  req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ from: NAME, path: req.url, peer: req.socket.remoteAddress, xfcc: req.headers['x-forwarded-client-cert'] ?? null, body }));
  });
};
listening(http.createServer(answer), HTTP_PORT, 'http');
if (WEB_PORT) listening(http.createServer(answer), WEB_PORT, 'web');
if (UNDECLARED_PORT) listening(http.createServer(answer), UNDECLARED_PORT, 'undeclared');

if (ECHO_PORT) listening(net.createServer((s) => s.pipe(s)), ECHO_PORT, 'echo');

/** Server-first, like SMTP: it speaks before the client sends anything, then echoes lines upper-cased. */
if (BANNER_PORT) {
  listening(net.createServer((s) => {
    s.write(`220 ${NAME} ready\r\n`);
    s.on('data', (d: Buffer) => s.write(d.toString('utf8').toUpperCase()));
    s.on('error', () => undefined);
  }), BANNER_PORT, 'banner');
}

type Result = Record<string, unknown>;

function callHttp(url: string, body: string | null): Promise<Result> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: body === null ? 'GET' : 'POST', timeout: 8000, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString('utf8'); });
      res.on('end', () => resolve({ ok: true, status: res.statusCode, headers: res.headers, body: text }));
      res.on('error', (e) => resolve({ ok: false, error: `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}` }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, error: `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`.trim() }));
    req.end(body ?? undefined);
  });
}

/** Connects, optionally sends, and collects what comes back until `expect` bytes, the peer closes, or 8 s pass. */
function callTcp(host: string, port: number, send: string, expect: number): Promise<Result> {
  return new Promise((resolve) => {
    let data = '';
    let done = false;
    const s = net.connect({ host, port });
    const finish = (r: Result): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ data, ...r });
    };
    const timer = setTimeout(() => finish({ ok: data.length > 0, error: 'timeout' }), 8000);
    s.on('connect', () => { if (send) s.write(send); });
    s.on('data', (d: Buffer) => {
      data += d.toString('utf8');
      if (data.length >= expect) finish({ ok: true });
    });
    s.on('end', () => finish({ ok: data.length >= expect, error: data.length >= expect ? undefined : 'closed by peer' }));
    s.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, error: `${e.code ?? ''} ${e.message}`.trim() }));
  });
}

if (DRIVER_PORT) {
  listening(http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://driver');
    const reply = (r: Result): void => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(r)); };
    if (u.pathname === '/http') void callHttp(u.searchParams.get('url') ?? '', u.searchParams.get('body')).then(reply);
    else if (u.pathname === '/tcp') {
      void callTcp(u.searchParams.get('host') ?? '', Number(u.searchParams.get('port')), u.searchParams.get('send') ?? '', Number(u.searchParams.get('expect') ?? 1)).then(reply);
    } else { res.statusCode = 404; res.end(); }
  }), DRIVER_PORT, 'driver');
}
