// Loads the ProxyEngine factory lazily (a module specifier can replace it, e.g. a test double module).
import type { Logger } from 'pino';
import type { StatsRegistry } from '../observability/stats.ts';
import type { ProxyEngine } from './types.ts';

export type EngineFactory = (opts: { stats: StatsRegistry; logger: Logger }) => ProxyEngine;

/** `createProxyEngine` of src/server/proxy-engine.ts, or of `specifier` (an absolute file URL) when given. */
export async function loadEngineFactory(specifier?: string): Promise<EngineFactory> {
  const mod = (specifier ? await import(specifier) : await import('./proxy-engine.ts')) as { createProxyEngine: EngineFactory };
  return mod.createProxyEngine;
}
