// Envoy-compatible admin HTTP server: /ready, /server_info, /config_dump, /clusters, /listeners, /stats, and the POST mutations.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { StatsRegistry } from '../observability/stats.ts';
import type { AdminView, ServerState } from './admin-view.ts';
import { buildConfigDump, resourceNeedsEds, selectResource } from './config-dump.ts';
import { renderClustersJson, renderClustersText, renderListenersJson, renderListenersText } from './clusters-page.ts';
import { renderStatsJson, renderStatsText } from './stats-page.ts';
import { certsPage, secretsConfigDump } from '../secrets/secrets-dump.ts';

export interface AdminServerOptions {
  readonly address: { readonly host: string; readonly port: number };
  readonly engine: AdminView;
  readonly stats: () => StatsRegistry | Promise<StatsRegistry>;
  readonly logger: Logger;
}

export interface AdminServer {
  readonly port: number;
  /** The state the admin reports (view state, or DRAINING while /healthcheck/fail is in effect). */
  state(): ServerState;
  close(): Promise<void>;
}

interface Reply { status: number; type: string; body: string }
type Handler = (url: URL) => Reply | Promise<Reply>;
interface Endpoint { readonly mutates: boolean; readonly help: string; readonly handler: Handler }

const TEXT = 'text/plain; charset=UTF-8';
const JSON_TYPE = 'application/json';
const PROM = 'text/plain; version=0.0.4; charset=UTF-8';

const text = (body: string, status = 200): Reply => ({ status, type: TEXT, body });
const json = (v: unknown, status = 200): Reply => ({ status, type: JSON_TYPE, body: `${JSON.stringify(v, null, 2)}\n` });
const wantsJson = (url: URL): boolean => url.searchParams.get('format') === 'json';

function uptime(startMs: number): string {
  return `${Math.max(0, Math.floor((Date.now() - startMs) / 1000))}s`;
}

/** Starts the admin server; resolves once it listens (port 0 resolved to the real port). */
export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const view = opts.engine;
  let healthCheckFailed = false;
  const state = (): ServerState => {
    const s = view.state();
    return s === 'LIVE' && healthCheckFailed ? 'DRAINING' : s;
  };

  const endpoints: Record<string, Endpoint> = {
    '/': { mutates: false, help: 'Admin home page', handler: () => text(helpText()) },
    '/help': { mutates: false, help: 'print out list of admin commands', handler: () => text(helpText()) },
    '/ready': {
      mutates: false, help: 'print server state, return 200 if LIVE, otherwise return 503',
      handler: () => { const s = state(); return text(`${s}\n`, s === 'LIVE' ? 200 : 503); },
    },
    '/server_info': {
      mutates: false, help: 'print server version/status information',
      handler: () => {
        const info = view.serverInfo();
        const node = view.current()?.node;
        return json({
          version: info.version,
          state: state(),
          hot_restart_version: 'disabled',
          command_line_options: info.commandLineOptions,
          node: node ? { id: node.id, cluster: node.cluster, metadata: node.metadata, user_agent_name: 'pilotfish' } : {},
          uptime_current_epoch: uptime(info.startTimeMs),
          uptime_all_epochs: uptime(info.startTimeMs),
        });
      },
    },
    '/config_dump': {
      mutates: false, help: 'dump current Envoy configs (experimental) (params: resource, include_eds)',
      handler: async (url) => {
        const resource = url.searchParams.get('resource');
        const xds = (await view.xdsDump?.()) ?? null;
        const includeEds = url.searchParams.has('include_eds') || resourceNeedsEds(resource);
        const entries = view.secretEntries?.() ?? [];
        const secrets = entries.length > 0 ? secretsConfigDump(entries) : null;
        const dump = buildConfigDump(view.current(), view.lastUpdated(), { xds, includeEds, secrets });
        if (!resource) return json(dump);
        const sel = selectResource(dump, resource);
        return sel ? json(sel) : text(`${resource} not found in config dump\n`, 404);
      },
    },
    '/certs': {
      mutates: false, help: 'print certs on machine',
      handler: () => json(certsPage(view.secretEntries?.() ?? [], view.current())),
    },
    '/clusters': {
      mutates: false, help: 'upstream cluster status',
      handler: async (url) => {
        const cs = await view.clusters();
        return wantsJson(url) ? json(renderClustersJson(cs)) : text(renderClustersText(cs));
      },
    },
    '/listeners': {
      mutates: false, help: 'print listener info',
      handler: async (url) => {
        const ls = await view.listeners();
        return wantsJson(url) ? json(renderListenersJson(ls)) : text(renderListenersText(ls));
      },
    },
    '/stats': {
      mutates: false, help: 'print server stats',
      handler: async (url) => {
        const reg = await opts.stats();
        const format = url.searchParams.get('format');
        if (format === 'prometheus') return { status: 200, type: PROM, body: reg.renderPrometheus() };
        let filter: RegExp | null = null;
        const f = url.searchParams.get('filter');
        if (f) {
          try { filter = new RegExp(f); } catch { return text(`Invalid regex: ${f}\n`, 400); }
        }
        const usedOnly = url.searchParams.has('usedonly');
        if (format === 'json') return json(renderStatsJson(reg, filter, usedOnly));
        return text(renderStatsText(reg, filter, usedOnly));
      },
    },
    '/stats/prometheus': {
      mutates: false, help: 'print server stats in prometheus format',
      handler: async () => ({ status: 200, type: PROM, body: (await opts.stats()).renderPrometheus() }),
    },
    '/memory': {
      mutates: false, help: 'print current allocation/heap usage',
      handler: () => {
        const m = process.memoryUsage();
        return json({ allocated: String(m.heapUsed), heap_size: String(m.heapTotal), resident: String(m.rss), total_physical_bytes: String(m.rss) });
      },
    },
    '/drain_listeners': {
      mutates: true, help: 'drain listeners (params: graceful, inboundonly)',
      handler: async (url) => {
        await view.drainListeners({ graceful: url.searchParams.has('graceful'), inboundOnly: url.searchParams.has('inboundonly') });
        return text('OK\n');
      },
    },
    '/healthcheck/fail': {
      mutates: true, help: 'cause the server to fail health checks',
      handler: () => { healthCheckFailed = true; view.setHealthCheckFailed?.(true); return text('OK\n'); },
    },
    '/healthcheck/ok': {
      mutates: true, help: 'cause the server to pass health checks',
      handler: () => { healthCheckFailed = false; view.setHealthCheckFailed?.(false); return text('OK\n'); },
    },
    '/logging': {
      mutates: true, help: 'change the log level (param: level)',
      handler: (url) => {
        const level = url.searchParams.get('level');
        if (!level) return text(`active loggers:\n  pilotfish: ${opts.logger.level}\n`);
        if (!view.setLogLevel?.(level)) return text(`error: unknown logger level "${level}"\n`, 400);
        return text(`active loggers:\n  pilotfish: ${level}\n`);
      },
    },
    '/quitquitquit': { mutates: true, help: 'exit the server', handler: () => text('OK\n') },
  };

  function helpText(): string {
    const lines = Object.entries(endpoints).filter(([p]) => p !== '/help').map(([p, e]) => `  ${p}: ${e.help}`);
    return `admin commands are:\n${lines.join('\n')}\n`;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const ep = Object.hasOwn(endpoints, url.pathname) ? endpoints[url.pathname] : undefined;
    let reply: Reply;
    if (!ep) reply = text(`invalid path. ${helpText()}`, 404);
    else if (ep.mutates && req.method !== 'POST') reply = text('Method Not Allowed: this endpoint requires POST\n', 405);
    else {
      try { reply = await ep.handler(url); } catch (err) {
        opts.logger.error({ err, path: url.pathname }, 'admin handler failed');
        reply = text(`error: ${(err as Error).message}\n`, 500);
      }
    }
    const body = Buffer.from(reply.body);
    const headers: Record<string, string | number> = {
      'content-type': reply.type, 'content-length': body.length, 'cache-control': 'no-cache, max-age=0', 'x-content-type-options': 'nosniff',
    };
    if (reply.status === 405) headers.allow = 'POST';
    res.writeHead(reply.status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    if (ep && url.pathname === '/quitquitquit' && reply.status === 200) res.once('finish', () => setImmediate(() => view.quit()));
  }

  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => { void handle(req, res); });
  });
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.address.port, opts.address.host, () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.address.port;
  opts.logger.info({ host: opts.address.host, port }, 'admin listening');

  return {
    port,
    state,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
