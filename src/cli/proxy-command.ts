// `pilotfish proxy`: validate the bootstrap, then serve it (and its xDS config) in-process or with worker processes, until told to quit.
import type { Logger } from 'pino';
import type { Snapshot } from '../model/types.ts';
import type { XdsSource } from '../xds/xds-source.ts';
import { startAdminServer } from '../admin/admin-server.ts';
import type { ServerInfo, ServerState } from '../admin/admin-view.ts';
import { createEngineView } from '../admin/engine-view.ts';
import type { IdentityAgent } from '../identity/agent.ts';
import { createLogger, flushAccessLogs, setAccessLogFlushInterval } from '../observability/access-log.ts';
import { updateMemoryStats, updateServerStats } from '../observability/server-stats.ts';
import { StatsRegistry } from '../observability/stats.ts';
import { loadEngineFactory } from '../server/engine-factory.ts';
import { DRAIN_GRACE_MS, onShutdownSignals, quitTrigger, settleWithin, writeAdminAddress } from '../server/shutdown.ts';
import { loadConfig, loadModelApi } from './load-config.ts';
import { parseProxyArgs, proxyHelp, type ProxyOptions } from './proxy-args.ts';
import { serverVersionString } from './version.ts';
import { loadXdsModule, type XdsModule } from './xds-loader.ts';

/** Seams for tests; production uses the defaults. */
export interface ProxyDeps {
  /** File URL of a module exporting createProxyEngine (default src/server/proxy-engine.ts). */
  readonly engineModule?: string;
  /** File URL of a module exporting parseConfigText/compileBootstrap/formatConfigError (default src/model/compile-bootstrap.ts). */
  readonly modelModule?: string;
  /** Install SIGTERM/SIGINT handlers (default true). */
  readonly handleSignals?: boolean;
  readonly logger?: Logger;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
}

export const DEFAULT_ADMIN_ADDRESS = { host: '127.0.0.1', port: 15000 } as const;

/** Envoy's command_line_options as /server_info reports them. */
export function commandLineOptions(o: ProxyOptions): Record<string, unknown> {
  return {
    concurrency: o.concurrency,
    config_path: o.configPath ?? '',
    config_yaml: o.configYaml ?? '',
    admin_address_path: o.adminAddressPath ?? '',
    log_level: o.logLevel,
    service_cluster: o.serviceCluster ?? '',
    service_node: o.serviceNode ?? '',
    drain_time: `${o.drainTimeS}s`,
    mode: o.mode === 'validate' ? 'Validate' : 'Serve',
    disable_hot_restart: true,
  };
}

/** Runs the proxy command; resolves with the process exit code (0 ok, 1 config/startup error, 2 bad flags). */
export async function runProxy(argv: readonly string[], deps: ProxyDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((t: string) => process.stdout.write(t));
  const err = deps.stderr ?? ((t: string) => process.stderr.write(t));
  const parsed = parseProxyArgs(argv);
  if (!parsed.ok) {
    err(`pilotfish proxy: ${parsed.error} (see pilotfish proxy --help)\n`);
    return 2;
  }
  const o = parsed.options;
  if (o.help) {
    out(proxyHelp());
    return 0;
  }
  const logger = deps.logger ?? createLogger(o.logLevel);
  if (o.fileFlushIntervalMs !== null) setAccessLogFlushInterval(o.fileFlushIntervalMs);

  const model = await loadModelApi(deps.modelModule);
  const loaded = loadConfig(o, model);
  for (const w of loaded.warnings) err(`warning: ${w}\n`);
  if (!loaded.ok) {
    for (const e of loaded.errors) err(`${e}\n`);
    return 1;
  }
  // dynamic_resources is checked up front, so a bad one stops everything before the admin or a worker starts.
  const xds = await loadXdsModule(loaded.doc);
  if (xds) {
    const check = xds.checkDynamicResources(loaded.doc);
    if (o.mode === 'validate') for (const w of check.warnings) err(`warning: ${w}\n`); // serving logs them when the source starts
    if (check.errors.length) {
      for (const e of check.errors) err(`${e}\n`);
      return 1;
    }
  }
  if (o.mode === 'validate') {
    out(`configuration '${o.configPath ?? '--config-yaml'}' OK\n`);
    return 0;
  }
  if (o.concurrency > 1 && (o.caAddress || process.env.PILOTFISH_CA_ADDR)) {
    err('pilotfish proxy: the identity agent (--ca-address / PILOTFISH_CA_ADDR) needs --concurrency 1 for now\n');
    return 1;
  }
  if (o.concurrency > 1) {
    const { runPrimary } = await import('../server/workers.ts');
    return runPrimary({ options: o, doc: loaded.doc, snapshot: loaded.snapshot, xds: xds !== null, logger, deps, err });
  }
  return serveInProcess(o, { doc: loaded.doc, snapshot: loaded.snapshot, xds }, logger, deps, err);
}

/** What serveInProcess serves: the compiled static bootstrap, and with dynamic_resources the xDS client to fetch the rest. */
interface ServeConfig {
  readonly doc: unknown;
  readonly snapshot: Snapshot;
  readonly xds: XdsModule | null;
}

/**
 * Serves in this process. Without dynamic_resources the snapshot is applied and the server is LIVE at once; with it,
 * an xDS source applies the static part, then the control plane's config, and the server is PRE_INITIALIZING (so
 * /ready answers 503) until the first complete config or the initial fetch timeout, as Envoy does.
 */
async function serveInProcess(o: ProxyOptions, cfg: ServeConfig, logger: Logger, deps: ProxyDeps, err: (t: string) => void): Promise<number> {
  const { snapshot, xds } = cfg;
  const startTimeMs = Date.now();
  const drainTimeMs = o.drainTimeS * 1000;
  const stats = new StatsRegistry();
  let state: ServerState = 'PRE_INITIALIZING';
  let lastUpdated: number | null = null;
  let source: XdsSource | null = null;
  const info: ServerInfo = { version: serverVersionString(), startTimeMs, commandLineOptions: commandLineOptions(o) };

  const createEngine = await loadEngineFactory(deps.engineModule);
  const engine = createEngine({ stats, logger });
  const quit = quitTrigger();
  const view = createEngineView(engine, {
    state: () => state, serverInfo: () => info, lastUpdated: () => lastUpdated, logger,
    onQuit: () => quit.fire('quitquitquit'),
    ...(xds ? { xdsDump: () => (source ? xds.xdsConfigDump(source.dump()) : null) } : {}),
  });

  const adminAddress = snapshot.admin?.address ?? DEFAULT_ADMIN_ADDRESS;
  let admin: Awaited<ReturnType<typeof startAdminServer>>;
  try {
    admin = await startAdminServer({
      address: adminAddress,
      engine: view,
      stats: () => {
        updateServerStats(stats, { state: admin.state(), startTimeMs, concurrency: 1 });
        updateMemoryStats(stats);
        return stats;
      },
      logger,
    });
  } catch (e) {
    err(`pilotfish: cannot start admin server on ${adminAddress.host}:${adminAddress.port}: ${(e as Error).message}\n`);
    await engine.drain(0).catch(() => undefined);
    return 1;
  }
  if (o.adminAddressPath) writeAdminAddress(o.adminAddressPath, adminAddress.host, admin.port);
  const uninstall = deps.handleSignals === false ? () => undefined : onShutdownSignals(quit, () => process.exit(1));

  let identity: IdentityAgent | null = null;
  try {
    // The identity agent fills the secrets "default" and "ROOTCA" before any TLS context needs them; LIVE waits for it.
    if (o.caAddress || process.env.PILOTFISH_CA_ADDR) {
      const { startIdentityAgent } = await import('../identity/start-identity.ts');
      identity = startIdentityAgent({ flags: o, metadata: snapshot.node.metadata, logger });
    }
    if (xds) source = await xds.startXdsSource({ bootstrap: cfg.doc, staticSnapshot: snapshot, engine, logger });
    else await engine.apply(snapshot);
    lastUpdated = Date.now();
  } catch (e) {
    if (xds && e instanceof xds.XdsBootstrapError) for (const line of e.errors) err(`${line}\n`);
    else err(`pilotfish: cannot start: ${(e as Error).message}\n`);
    logger.error({ err: e }, 'startup failed');
    identity?.stop();
    await engine.drain(0).catch(() => undefined);
    await admin.close();
    uninstall();
    return 1;
  }
  const live = (): void => {
    if (state !== 'PRE_INITIALIZING') return;
    state = 'LIVE';
    logger.info({ listeners: engine.listeners(), admin: admin.port }, 'ready');
  };
  const identityReady = identity ? identity.ready : Promise.resolve();
  if (identity) logger.info({ admin: admin.port }, 'waiting for the workload certificate');
  if (source) {
    logger.info({ admin: admin.port }, 'waiting for the first complete xDS config');
    void Promise.all([source.ready, identityReady]).then(live);
  } else if (identity) {
    void identityReady.then(live);
  } else {
    live();
  }

  const reason = await quit.reason;
  state = 'DRAINING';
  // No config changes while draining: the ADS stream goes first (an apply in progress is waited for, within bounds).
  if (source) await settleWithin(source.close().catch((e: unknown) => logger.error({ err: e }, 'closing the xDS source failed')), DRAIN_GRACE_MS);
  identity?.stop();
  logger.info({ reason, drainTimeMs }, 'shutting down: draining');
  const drain = engine.drain(drainTimeMs).catch((e: unknown) => logger.error({ err: e }, 'drain failed'));
  if (!(await settleWithin(drain, drainTimeMs + DRAIN_GRACE_MS))) logger.warn({ drainTimeMs }, 'drain did not finish in time; exiting anyway');
  await flushAccessLogs();
  await admin.close();
  uninstall();
  logger.info('exited');
  return 0;
}
