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
  /** The hash's two 32-bit halves, for setVersion. */
  readonly h1: number;
  readonly h2: number;
}

export function contentHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

export function makeResource(type: ResourceType, name: string, body: Json): Resource {
  const hash = contentHash(JSON.stringify(body));
  return { type, name, body, hash, h1: parseInt(hash.slice(0, 8), 16), h2: parseInt(hash.slice(8, 16), 16) };
}

/**
 * A version string for a set of resources, independent of order and cheap for large sets: the count plus a sum and an
 * XOR of each resource's content hash (bodies include the resource name, so equal sets give equal versions).
 */
export function setVersion(resources: Iterable<Resource>): string {
  let n = 0;
  let sum = 0;
  let xor = 0;
  for (const r of resources) {
    n += 1;
    sum = (sum + r.h1) >>> 0;
    xor = (xor ^ r.h2) >>> 0;
  }
  return `${n.toString(16)}-${sum.toString(16).padStart(8, '0')}${xor.toString(16).padStart(8, '0')}`;
}
