// One proxy worker process: compiles the config the primary sends, runs an engine on it, answers the primary's IPC queries.
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { clusterStatuses } from '../admin/admin-view.ts';
import { compileDoc, loadModelApi } from '../cli/load-config.ts';
import { createLogger, flushAccessLogs, pinoLevel, setAccessLogFlushInterval } from '../observability/access-log.ts';
import { updateMemoryStats } from '../observability/server-stats.ts';
import { StatsRegistry } from '../observability/stats.ts';
import { loadEngineFactory } from './engine-factory.ts';
import { DRAIN_GRACE_MS, settleWithin } from './shutdown.ts';
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
  try {
    engine = (await loadEngineFactory(start.engineModule))({ stats, logger });
    await engine.apply(snapshot);
  } catch (e) {
    return fatal((e as Error).message);
  }
  process.on('message', (m: unknown) => { if (isToWorker(m)) void handle(engine, stats, logger, m); });
  process.on('disconnect', () => {
    // The primary is gone: nobody will coordinate a drain, so finish quickly.
    void finish(engine, Math.min(o.drainTimeS * 1000, 1000), logger);
  });
  send({ pf: 'ready' });
  logger.debug({ listeners: engine.listeners() }, 'worker ready');
}

let finishing = false;

async function finish(engine: ProxyEngine, timeoutMs: number, logger: Logger): Promise<void> {
  if (finishing) return;
  finishing = true;
  const drain = engine.drain(timeoutMs).catch((e: unknown) => logger.error({ err: e }, 'drain failed'));
  if (!(await settleWithin(drain, timeoutMs + DRAIN_GRACE_MS))) logger.warn({ timeoutMs }, 'drain did not finish in time; exiting anyway');
  await flushAccessLogs();
  process.exit(0);
}

async function handle(engine: ProxyEngine, stats: StatsRegistry, logger: Logger, m: ToWorker): Promise<void> {
  switch (m.pf) {
    case 'query': {
      let data: Extract<FromWorker, { pf: 'reply' }>['data'] = null;
      try {
        if (m.what === 'stats') { updateMemoryStats(stats); data = stats.toJSON(); }
        else if (m.what === 'listeners') data = engine.listeners();
        else if (m.what === 'clusters') data = clusterStatuses(engine.clusters(), engine.current());
        else if (m.what === 'stopListening') await engine.stopListening();
      } catch (e) {
        logger.error({ err: e, what: m.what }, 'worker query failed');
      }
      send({ pf: 'reply', id: m.id, data });
      return;
    }
    case 'drainListeners':
      // Graceful drain without exiting: the worker keeps answering queries; the primary decides when to quit.
      engine.drain(m.timeoutMs).catch((e: unknown) => logger.error({ err: e }, 'drain failed'));
      return;
    case 'drain':
      await finish(engine, m.timeoutMs, logger);
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
