// Talks to the demo's control plane child over its status port: waits for /ready, summarizes /debug/syncz and reports input changes from /debug/config.
import { setTimeout as delay } from 'node:timers/promises';
import type { Child } from './children.ts';

const POLL_MS = 50;

async function getJson(url: string): Promise<{ status: number; json: unknown } | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    const text = await res.text();
    let json: unknown = null;
    try { json = JSON.parse(text); } catch { /* /ready answers text */ }
    return { status: res.status, json };
  } catch {
    return null;
  }
}

/** Resolves once the control plane's /ready answers 200 (its inputs compiled and it serves xDS); rejects when it exits or timeoutMs passes. */
export async function waitControlPlaneReady(child: Child, statusUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: number | null = null;
  while (Date.now() < deadline) {
    if (child.exitedAlready) throw new Error(`${child.name} exited before it was ready (${child.exitStatus ?? 'unknown status'})`);
    last = (await getJson(`${statusUrl}/ready`))?.status ?? null;
    if (last === 200) return;
    await delay(POLL_MS);
  }
  throw new Error(`${child.name} not ready after ${timeoutMs} ms (${statusUrl}/ready last answered ${last ?? 'nothing'})`);
}

interface SyncConnection {
  nodeId: string | null;
  metadataProblems?: string[];
  types: Record<string, { state: string; nackError: string | null }>;
}

/** One line per connected node from /debug/syncz: "frontend-sidecar LDS SYNCED, RDS SYNCED, …", NACK errors and metadata problems included. */
export async function syncSummary(statusUrl: string): Promise<{ nodes: number; allSynced: boolean; lines: string[] } | null> {
  const r = await getJson(`${statusUrl}/debug/syncz`);
  const conns = (r?.json as { connections?: SyncConnection[] } | null)?.connections;
  if (!conns) return null;
  let allSynced = true;
  const lines = [...conns].sort((a, b) => String(a.nodeId).localeCompare(String(b.nodeId))).map((c) => {
    const types = Object.entries(c.types).map(([t, s]) => {
      if (s.state !== 'SYNCED') allSynced = false;
      return s.nackError ? `${t} ${s.state} (${s.nackError})` : `${t} ${s.state}`;
    });
    const problems = c.metadataProblems?.length ? `; metadata problems: ${c.metadataProblems.join('; ')}` : '';
    return `${c.nodeId ?? '(no node)'}: ${types.join(', ')}${problems}`;
  });
  return { nodes: conns.length, allSynced, lines };
}

interface ConfigStatus {
  status: 'OK' | 'ERROR';
  version: string;
  generation: number;
  errors: { text: string }[];
}

/**
 * Follows /debug/config: `poll()` returns lines to print when the served input version changed (an edit was applied)
 * or an edit was refused (with the control plane's error lines), and nothing otherwise.
 */
export class InputWatcher {
  readonly #url: string;
  #version: string | null = null;
  #errors = '';

  constructor(statusUrl: string) {
    this.#url = `${statusUrl}/debug/config`;
  }

  async poll(): Promise<string[]> {
    const c = (await getJson(this.#url))?.json as ConfigStatus | null | undefined;
    if (!c || typeof c.version !== 'string') return [];
    const out: string[] = [];
    if (this.#version !== null && c.version !== this.#version) {
      out.push(`control plane: input change applied (version ${c.version}), pushing it to the sidecars.`);
    }
    this.#version = c.version;
    const errors = c.status === 'ERROR' ? c.errors.map((e) => e.text).join('\n') : '';
    if (errors !== '' && errors !== this.#errors) {
      out.push('control plane: input change refused, still serving the last good config:', ...errors.split('\n').map((l) => `  ${l}`));
    }
    if (errors === '' && this.#errors !== '' && out.length === 0) out.push(`control plane: inputs valid again (serving version ${c.version}).`);
    this.#errors = errors;
    return out;
  }
}
