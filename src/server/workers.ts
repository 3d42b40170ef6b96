// --concurrency N > 1: the primary forks N proxy workers (node:cluster, kernel-distributed sockets), runs the admin server and aggregates.
//
// With dynamic_resources every worker runs its own xDS source (its own ADS stream to the control plane, same node):
// the simple, robust choice — no config relay through the primary, a worker restarted after a crash fetches its config
// like a fresh sidecar, and each worker ACKs only what its own engine applied. The cost is N streams per sidecar
// instead of one. The primary is LIVE once every worker has its first complete config; its /config_dump shows the
// xDS state of the first worker that answers.
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { startAdminServer } from '../admin/admin-server.ts';
import { mergeClusterStatuses, type AdminView, type ClusterStatus, type ServerInfo, type ServerState } from '../admin/admin-view.ts';
import type { ProxyOptions } from '../cli/proxy-args.ts';
import { commandLineOptions, DEFAULT_ADMIN_ADDRESS, type ProxyDeps } from '../cli/proxy-command.ts';
import { serverVersionString } from '../cli/version.ts';
import type { Snapshot } from '../model/types.ts';
import { flushAccessLogs, pinoLevel } from '../observability/access-log.ts';
import { updateServerStats } from '../observability/server-stats.ts';
import { StatsRegistry, type StatsJSON } from '../observability/stats.ts';
import { DRAIN_GRACE_MS, onShutdownSignals, quitTrigger, writeAdminAddress } from './shutdown.ts';
import type { BoundListener } from './types.ts';
import { isFromWorker, type FromWorker, type QueryKind, type ToWorker } from './worker-protocol.ts';

export interface PrimaryContext {
  readonly options: ProxyOptions;
  readonly doc: unknown;
  readonly snapshot: Snapshot;
  /** The bootstrap has dynamic_resources: each worker runs an xDS source. */
  readonly xds: boolean;
  readonly logger: Logger;
  readonly deps: ProxyDeps;
  readonly err: (text: string) => void;
}

interface Slot {
  readonly index: number;
  worker: Worker;
  ready: boolean;
  /** Serving its full config: ready, and with xDS its first complete config arrived. */
  live: boolean;
  startedAt: number;
}

const QUERY_TIMEOUT_MS = 5000;

/** Runs the primary until shutdown; resolves with the exit code (0 after a drain, 1 when workers fail to start). */
export async function runPrimary(ctx: PrimaryContext): Promise<number> {
  const { options: o, logger } = ctx;
  const n = o.concurrency;
  const drainTimeMs = o.drainTimeS * 1000;
  const startTimeMs = Date.now();
  const info: ServerInfo = { version: serverVersionString(), startTimeMs, commandLineOptions: commandLineOptions(o) };
  const own = new StatsRegistry();
  const restarts = own.counter('envoy_server_worker_restarts');
  const quit = quitTrigger();
  let draining = false;
  let lastUpdated: number | null = null;
  let nextQueryId = 1;
  const pending = new Map<number, (data: unknown) => void>();
  const slots: Slot[] = [];

  cluster.schedulingPolicy = cluster.SCHED_NONE; // the kernel distributes connections over the shared listening sockets
  // Workers inherit the primary's V8 flags (e.g. the small young generation bin/pilotfish asks for).
  cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.ts', import.meta.url)), args: [], execArgv: process.execArgv });

  let startupDone = false;
  let startupResult!: (error: string | null) => void;
  const startup = new Promise<string | null>((resolve) => { startupResult = resolve; });

  const send = (w: Worker, m: ToWorker): void => { if (w.isConnected()) w.send(m); };

  /** Starts a worker process into `slot` (initial start and restarts). */
  const spawnInto = (slot: Slot): void => {
    const worker = cluster.fork({ PILOTFISH_WORKER_INDEX: String(slot.index) });
    slot.worker = worker;
    slot.ready = false;
    slot.live = false;
    slot.startedAt = Date.now();
    worker.on('message', (m: unknown) => {
      if (isFromWorker(m) && slot.worker === worker) onMessage(slot, m);
    });
    worker.on('exit', (code, signal) => onExit(slot, worker, code, signal));
  };

  const onMessage = (slot: Slot, m: FromWorker): void => {
    switch (m.pf) {
      case 'hello':
        send(slot.worker, { pf: 'start', doc: ctx.doc, options: o, engineModule: ctx.deps.engineModule, modelModule: ctx.deps.modelModule });
        return;
      case 'ready':
        slot.ready = true;
        slot.live = !m.xds;
        if (draining) { send(slot.worker, { pf: 'drain', timeoutMs: drainTimeMs }); return; } // its drain request arrived too early
        if (!startupDone && slots.length === n && slots.every((s) => s.ready)) { startupDone = true; startupResult(null); }
        if (startupDone) logger.info({ worker: slot.worker.id, index: slot.index }, 'worker ready');
        return;
      case 'xdsReady':
        slot.live = true;
        logger.info({ worker: slot.worker.id, index: slot.index, live: slots.filter((s) => s.live).length }, 'worker has its xDS config');
        return;
      case 'fatal':
        logger.error({ worker: slot.worker.id, message: m.message }, 'worker failed');
        if (!startupDone) { startupDone = true; startupResult(m.message); }
        return;
      case 'reply':
        pending.get(m.id)?.(m.data);
        pending.delete(m.id);
        return;
    }
  };

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null): void => {
    if (slot.worker !== worker) return;
    slot.ready = false;
    slot.live = false;
    if (draining) return;
    if (!startupDone) {
      startupDone = true;
      startupResult(`worker ${slot.index} exited during startup (code ${code}, signal ${signal})`);
      return;
    }
    restarts.inc();
    const delay = Date.now() - slot.startedAt < 5000 ? 1000 : 0; // no hot crash loop
    logger.warn({ worker: worker.id, index: slot.index, code, signal, restartInMs: delay }, 'worker died; restarting it');
    setTimeout(() => { if (!draining) spawnInto(slot); }, delay).unref();
  };

  const ask = (slot: Slot, what: QueryKind): Promise<unknown> => new Promise((resolve) => {
    if (!slot.ready || !slot.worker.isConnected()) { resolve(null); return; }
    const id = nextQueryId++;
    const timer = setTimeout(() => { pending.delete(id); resolve(null); }, QUERY_TIMEOUT_MS);
    pending.set(id, (data) => { clearTimeout(timer); resolve(data); });
    send(slot.worker, { pf: 'query', id, what });
  });

  const state = (): ServerState => (draining ? 'DRAINING' : slots.length === n && slots.every((s) => s.ready && s.live) && startupDone ? 'LIVE' : 'PRE_INITIALIZING');

  const view: AdminView = {
    current: () => ctx.snapshot,
    lastUpdated: () => lastUpdated,
    state,
    listeners: async () => {
      for (const s of slots) {
        const r = await ask(s, 'listeners');
        if (r) return r as BoundListener[];
      }
      return [];
    },
    clusters: async () => mergeClusterStatuses((await Promise.all(slots.map((s) => ask(s, 'clusters')))).filter(Boolean) as ClusterStatus[][]),
    serverInfo: () => info,
    drainListeners: async ({ graceful, inboundOnly }) => {
      logger.info({ graceful, inboundOnly }, 'admin: drain listeners');
      for (const s of slots) send(s.worker, { pf: 'drainListeners', graceful, inboundOnly });
    },
    quit: () => quit.fire('quitquitquit'),
    ...(ctx.xds ? {
      // The first worker that answers: every worker has its own ADS stream, normally all at the same versions.
      xdsDump: async () => {
        for (const s of slots) {
          const r = await ask(s, 'xdsDump');
          if (r) return r as object[];
        }
        return null;
      },
    } : {}),
    setLogLevel: (level) => {
      const l = pinoLevel(level);
      if (!l) return false;
      logger.level = l;
      for (const s of slots) send(s.worker, { pf: 'logLevel', level });
      return true;
    },
  };

  const aggregateStats = async (): Promise<StatsRegistry> => {
    updateServerStats(own, { state: admin.state(), startTimeMs, concurrency: n });
    const reg = new StatsRegistry();
    reg.mergeFrom(own.toJSON());
    for (const r of await Promise.all(slots.map((s) => ask(s, 'stats')))) if (r) reg.mergeFrom(r as StatsJSON);
    return reg;
  };

  const adminAddress = ctx.snapshot.admin?.address ?? DEFAULT_ADMIN_ADDRESS;
  let admin: Awaited<ReturnType<typeof startAdminServer>>;
  try {
    admin = await startAdminServer({ address: adminAddress, engine: view, stats: aggregateStats, logger });
  } catch (e) {
    ctx.err(`pilotfish: cannot start admin server on ${adminAddress.host}:${adminAddress.port}: ${(e as Error).message}\n`);
    return 1;
  }
  if (o.adminAddressPath) writeAdminAddress(o.adminAddressPath, adminAddress.host, admin.port);

  const uninstall = ctx.deps.handleSignals === false ? () => undefined : onShutdownSignals(quit, () => process.exit(1));
  for (let index = 0; index < n; index++) {
    const slot = { index, ready: false, live: false, startedAt: 0 } as Slot; // `worker` is set by spawnInto just below
    slots.push(slot);
    spawnInto(slot);
  }
  const failure = await Promise.race([startup, quit.reason.then(() => null)]);
  if (failure !== null) {
    ctx.err(`pilotfish: cannot start: ${failure}\n`);
    draining = true;
    await stopAll(slots, 0, logger);
    await admin.close();
    uninstall();
    return 1;
  }
  lastUpdated = Date.now();
  logger.info({ workers: n, admin: admin.port }, 'ready');

  const reason = await quit.reason;
  draining = true;
  logger.info({ reason, drainTimeMs }, 'shutting down: draining workers');
  await stopAll(slots, drainTimeMs, logger);
  await flushAccessLogs();
  await admin.close();
  uninstall();
  logger.info('exited');
  return 0;
}

/** Asks every worker to drain and exit; kills those still alive after the drain time plus a grace period. */
async function stopAll(slots: readonly Slot[], drainTimeMs: number, logger: Logger): Promise<void> {
  await Promise.all(slots.map((s) => new Promise<void>((resolve) => {
    const w = s.worker;
    if (w.isDead()) { resolve(); return; }
    const timer = setTimeout(() => {
      logger.warn({ worker: w.id }, 'worker did not exit after draining; killing it');
      w.process.kill('SIGKILL');
    }, drainTimeMs + 2 * DRAIN_GRACE_MS);
    w.once('exit', () => { clearTimeout(timer); resolve(); });
    if (w.isConnected()) w.send({ pf: 'drain', timeoutMs: drainTimeMs } satisfies ToWorker);
    else w.process.kill('SIGKILL');
  })));
}
