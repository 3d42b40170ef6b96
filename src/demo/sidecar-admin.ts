// Finds a sidecar's admin address (from --admin-address-path) and waits for its admin /ready to answer 200.
import fs from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { Child } from './children.ts';

const POLL_MS = 50;

/** Reads "host:port" from the admin address file once the sidecar has written it. */
async function readAdminAddress(path: string): Promise<string | null> {
  try {
    const text = (await fs.readFile(path, 'utf8')).trim();
    return /^.+:\d+$/.test(text) ? text : null;
  } catch {
    return null;
  }
}

async function readyStatus(admin: string): Promise<number | null> {
  try {
    const res = await fetch(`http://${admin}/ready`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return null;
  }
}

/** Resolves with the admin "host:port" once /ready is 200; rejects when the sidecar exits or timeoutMs passes. */
export async function waitSidecarReady(child: Child, addressPath: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let admin: string | null = null;
  let lastStatus: number | null = null;
  while (Date.now() < deadline) {
    if (child.exitedAlready) throw new Error(`${child.name} exited before it was ready (${child.exitStatus ?? 'unknown status'})`);
    admin ??= await readAdminAddress(addressPath);
    if (admin) {
      lastStatus = await readyStatus(admin);
      if (lastStatus === 200) return admin;
    }
    await delay(POLL_MS);
  }
  const why = admin ? `admin ${admin}/ready last answered ${lastStatus ?? 'nothing'}` : `no admin address written to ${addressPath}`;
  throw new Error(`${child.name} not ready after ${timeoutMs} ms (${why})`);
}

interface ClusterStatuses {
  cluster_statuses?: { name: string; host_statuses?: { address?: { socket_address?: { address: string; port_value: number } } }[] }[];
}

/** "host:port" of every host of the first cluster whose name matches, or [] (no such cluster, or no endpoints yet). */
async function clusterHosts(admin: string, pattern: RegExp): Promise<string[]> {
  try {
    const res = await fetch(`http://${admin}/clusters?format=json`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as ClusterStatuses;
    const c = body.cluster_statuses?.find((x) => pattern.test(x.name));
    return (c?.host_statuses ?? []).map((h) => `${h.address?.socket_address?.address}:${h.address?.socket_address?.port_value}`);
  } catch {
    return [];
  }
}

/**
 * Waits until the sidecar has at least one endpoint in a cluster matching each pattern (EDS from the control plane: a
 * sidecar is ready as soon as its first config arrives, which may be before the other sidecars announced themselves).
 * Resolves with the hosts per pattern; rejects after timeoutMs naming what is still empty.
 */
export async function waitClusterEndpoints(admin: string, patterns: ReadonlyMap<string, RegExp>, timeoutMs: number): Promise<Map<string, string[]>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = new Map<string, string[]>();
    for (const [what, re] of patterns) found.set(what, await clusterHosts(admin, re));
    const empty = [...found].filter(([, hosts]) => hosts.length === 0).map(([what]) => what);
    if (empty.length === 0) return found;
    if (Date.now() >= deadline) throw new Error(`sidecar ${admin} has no endpoints for ${empty.join(', ')} after ${timeoutMs} ms (see http://${admin}/clusters)`);
    await delay(POLL_MS);
  }
}

type Json = Record<string, unknown>;

/** What a sidecar's /config_dump says came over xDS: dynamic listener, route configuration and cluster names, and static listeners. */
export interface XdsConfigSummary {
  dynamicListeners: string[];
  staticListeners: string[];
  dynamicRoutes: string[];
  dynamicClusters: string[];
  staticClusters: string[];
}

export async function xdsConfigSummary(admin: string): Promise<XdsConfigSummary> {
  const res = await fetch(`http://${admin}/config_dump`, { signal: AbortSignal.timeout(2000) });
  const dump = (await res.json()) as { configs?: Json[] };
  const section = (type: string): Json => dump.configs?.find((c) => c['@type'] === `type.googleapis.com/envoy.admin.v3.${type}`) ?? {};
  /** `name` of each entry of s[field], read from e[inner] when the entry wraps the resource (e.g. {cluster: {name}}). */
  const list = (s: Json, field: string, inner: string | null): string[] =>
    ((s[field] as Json[] | undefined) ?? []).map((e) => String((inner === null ? e : (e[inner] as Json | undefined))?.name));
  const listeners = section('ListenersConfigDump');
  const routes = section('RoutesConfigDump');
  const clusters = section('ClustersConfigDump');
  return {
    dynamicListeners: list(listeners, 'dynamic_listeners', null),
    staticListeners: list(listeners, 'static_listeners', 'listener'),
    dynamicRoutes: list(routes, 'dynamic_route_configs', 'route_config'),
    dynamicClusters: list(clusters, 'dynamic_active_clusters', 'cluster'),
    staticClusters: list(clusters, 'static_clusters', 'cluster'),
  };
}
