// One proxy worker process: compiles the config the primary sends, runs an engine (and its own xDS source) on it, answers IPC queries.
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { clusterStatuses } from '../admin/admin-view.ts';
import { compileDoc, loadModelApi } from '../cli/load-config.ts';
import { loadXdsModule, type XdsModule } from '../cli/xds-loader.ts';
import { createLogger, flushAccessLogs, pinoLevel, setAccessLogFlushInterval } from '../observability/access-log.ts';
import { updateMemoryStats } from '../observability/server-stats.ts';
import { StatsRegistry } from '../observability/stats.ts';
import { loadEngineFactory } from './engine-factory.ts';
import { DRAIN_GRACE_MS, settleWithin } from './shutdown.ts';
import type { XdsSource } from '../xds/xds-source.ts';
import type { ProxyEngine } from './types.ts';
import { isToWorker, type FromWorker, type ToWorker } from './worker-protocol.ts';

function send(m: FromWorker): void {
  if (process.connected) process.send?.(m);
}

function nextMessage(): Promise<ToWorker> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown): void => {
      if (isToWorker(m)) { process.off('message', onMessage); resolve(m); }
    };
    process.on('message', onMessage);
  });
}

/** Entry of a worker (see worker-main.ts). Exits the process when done. */
export async function runWorker(): Promise<void> {
  // The primary coordinates shutdown; a terminal's Ctrl-C reaches the whole process group, so workers ignore signals.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  const first = nextMessage();
  send({ pf: 'hello' });
  const start = await first;
  if (start.pf !== 'start') process.exit(1);
  const o = start.options;
  const logger = createLogger(o.logLevel, { worker: cluster.worker?.id ?? 0 });
  if (o.fileFlushIntervalMs !== null) setAccessLogFlushInterval(o.fileFlushIntervalMs);

  const fatal: (message: string) => never = (message) => {
    send({ pf: 'fatal', message });
    logger.error({ message }, 'worker failed to start');
    process.exit(1);
  };

  const model = await loadModelApi(start.modelModule);
  const compiled = compileDoc(start.doc, model);
  if (!compiled.ok) fatal(compiled.errors.join('\n'));
  const snapshot = compiled.snapshot;

  const stats = new StatsRegistry();
  let engine: ProxyEngine;
  let xds: XdsModule | null = null;
  let source: XdsSource | null = null;
  try {
    engine = (await loadEngineFactory(start.engineModule))({ stats, logger });
    // Each worker runs its own xDS source (see workers.ts); it applies the static part itself.
    xds = await loadXdsModule(start.doc);
    if (xds) source = await xds.startXdsSource({ bootstrap: start.doc, staticSnapshot: snapshot, engine, logger });
    else await engine.apply(snapshot);
  } catch (e) {
    return fatal(xds && e instanceof xds.XdsBootstrapError ? e.errors.join('\n') : (e as Error).message);
  }
  const w: WorkerContext = { engine, stats, logger, source, xds };
  process.on('message', (m: unknown) => { if (isToWorker(m)) void handle(w, m); });
  process.on('disconnect', () => {
    // The primary is gone: nobody will coordinate a drain, so finish quickly.
    void finish(w, Math.min(o.drainTimeS * 1000, 1000));
  });
  send({ pf: 'ready', xds: source !== null });
  if (source) void source.ready.then(() => send({ pf: 'xdsReady' }));
  logger.debug({ listeners: engine.listeners() }, 'worker ready');
}

interface WorkerContext {
  readonly engine: ProxyEngine;
  readonly stats: StatsRegistry;
  readonly logger: Logger;
  readonly source: XdsSource | null;
  readonly xds: XdsModule | null;
}

let finishing = false;

async function finish({ engine, logger, source }: WorkerContext, timeoutMs: number): Promise<void> {
  if (finishing) return;
  finishing = true;
  // No config changes while draining: the ADS stream goes first.
  if (source) await settleWithin(source.close().catch((e: unknown) => logger.error({ err: e }, 'closing the xDS source failed')), DRAIN_GRACE_MS);
  const drain = engine.drain(timeoutMs).catch((e: unknown) => logger.error({ err: e }, 'drain failed'));
  if (!(await settleWithin(drain, timeoutMs + DRAIN_GRACE_MS))) logger.warn({ timeoutMs }, 'drain did not finish in time; exiting anyway');
  await flushAccessLogs();
  process.exit(0);
}

async function handle(w: WorkerContext, m: ToWorker): Promise<void> {
  const { engine, stats, logger } = w;
  switch (m.pf) {
    case 'query': {
      let data: Extract<FromWorker, { pf: 'reply' }>['data'] = null;
      try {
        if (m.what === 'stats') { updateMemoryStats(stats); data = stats.toJSON(); }
        else if (m.what === 'listeners') data = engine.listeners();
        else if (m.what === 'clusters') data = clusterStatuses(engine.clusters(), engine.current());
        else if (m.what === 'stopListening') await engine.stopListening();
        else if (m.what === 'xdsDump') data = w.source && w.xds ? w.xds.xdsConfigDump(w.source.dump()) : null;
      } catch (e) {
        logger.error({ err: e, what: m.what }, 'worker query failed');
      }
      send({ pf: 'reply', id: m.id, data });
      return;
    }
    case 'drainListeners':
      // Drain without exiting: the worker keeps answering queries; the primary decides when to quit.
      engine.drainListeners({ graceful: m.graceful, inboundOnly: m.inboundOnly }).catch((e: unknown) => logger.error({ err: e }, 'drain failed'));
      return;
    case 'drain':
      await finish(w, m.timeoutMs);
      return;
    case 'logLevel': {
      const l = pinoLevel(m.level);
      if (l) logger.level = l;
      return;
    }
    case 'start':
      return;
  }
}
