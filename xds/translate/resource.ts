// A named xDS resource in proto-JSON with its content hash, the unit of diffing and of per-resource versions.
import { createHash } from 'node:crypto';
import { TYPE_URL } from '../../src/xds/protos.ts';

export type ResourceType = 'LDS' | 'RDS' | 'CDS' | 'EDS';

export const RESOURCE_TYPES: readonly ResourceType[] = ['CDS', 'EDS', 'LDS', 'RDS'];

export const TYPE_URLS: Record<ResourceType, string> = {
  LDS: TYPE_URL.listener,
  RDS: TYPE_URL.routeConfiguration,
  CDS: TYPE_URL.cluster,
  EDS: TYPE_URL.clusterLoadAssignment,
};

export function typeOfUrl(url: string): ResourceType | null {
  for (const t of RESOURCE_TYPES) if (TYPE_URLS[t] === url) return t;
  return null;
}

export type Json = Record<string, unknown>;

export interface Resource {
  readonly type: ResourceType;
  readonly name: string;
  readonly body: Json;
  /** 16 hex digits of SHA-256 over the JSON: equal content, equal hash (our builders emit keys in a fixed order). */
  readonly hash: string;
}

export function contentHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

export function makeResource(type: ResourceType, name: string, body: Json): Resource {
  return { type, name, body, hash: contentHash(JSON.stringify(body)) };
}

/** A version string for a set of resources: hash over sorted "name=hash" pairs. */
export function setVersion(resources: Iterable<Resource>): string {
  const parts: string[] = [];
  for (const r of resources) parts.push(`${r.name}=${r.hash}`);
  parts.sort();
  return contentHash(parts.join('\n'));
}
