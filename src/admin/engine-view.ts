// AdminView backed by one in-process ProxyEngine (concurrency 1, or the view a worker answers IPC questions from).
import type { Logger } from 'pino';
import type { ProxyEngine } from '../server/types.ts';
import { pinoLevel } from '../observability/access-log.ts';
import { processSecretStore } from '../secrets/process-secrets.ts';
import { clusterStatuses, type AdminView, type ServerInfo, type ServerState } from './admin-view.ts';

export interface EngineViewOptions {
  readonly state: () => ServerState;
  readonly serverInfo: () => ServerInfo;
  readonly lastUpdated: () => number | null;
  /** Called by POST /quitquitquit. */
  readonly onQuit: () => void;
  readonly logger: Logger;
  /** The xDS source's dynamic /config_dump sections (see AdminView.xdsDump); absent without xDS. */
  readonly xdsDump?: () => readonly object[] | null;
}

export function createEngineView(engine: ProxyEngine, o: EngineViewOptions): AdminView {
  return {
    current: () => engine.current(),
    lastUpdated: o.lastUpdated,
    state: o.state,
    listeners: () => engine.listeners(),
    clusters: () => clusterStatuses(engine.clusters(), engine.current()),
    serverInfo: o.serverInfo,
    drainListeners: async ({ graceful, inboundOnly }) => {
      o.logger.info({ graceful, inboundOnly }, 'admin: drain listeners');
      await engine.drainListeners({ graceful, inboundOnly });
    },
    quit: () => o.onQuit(),
    setLogLevel: (level) => {
      const l = pinoLevel(level);
      if (!l) return false;
      o.logger.level = l;
      return true;
    },
    ...(o.xdsDump ? { xdsDump: o.xdsDump } : {}),
    secretEntries: () => processSecretStore().entries(),
  };
}
