// Reads the capture listeners and clusters of a control-plane snapshot as a sidecar would get them: through the xDS protos and the sidecar's own model, then by filter chain.
import assert from 'node:assert/strict';
import type protobuf from 'protobufjs';
import { formatConfigError } from '../../src/model/compile-context.ts';
import { compileCluster, compileListener } from '../../src/model/compile-resources.ts';
import { decodeAny, encodeAny } from '../../src/xds/protos.ts';
import { TYPE_URLS, type Json, type Resource } from '../../xds/translate/resource.ts';
import { assertKnownFields } from '../xds-server/fixtures.ts';

/** Service b's TrafficPolicy (3s timeout, 2 retries on 5xx), as `---`-terminated YAML. */
export const B_RETRY_POLICY = `apiVersion: pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: b}
spec:
  targetRef: {kind: Service, name: b}
  timeout: 3s
  retry: {attempts: 2, retryOn: [5xx]}
---
`;

/** Decodes `r` (an LDS or CDS resource) through the protos (unknown fields fail) and compiles it with the sidecar's own model (errors fail); returns its body. */
export function compiled(root: protobuf.Root, r: Resource): Json {
  assertKnownFields(root, TYPE_URLS[r.type].split('/')[1], r.body);
  const json = decodeAny(root, TYPE_URLS[r.type], encodeAny(root, TYPE_URLS[r.type], r.body).value);
  const io = { readFile: () => { throw new Error('no files'); } };
  const out = r.type === 'LDS' ? compileListener(json, io) : compileCluster(json, io);
  if (!out.ok) assert.fail(`${r.type} ${r.name} rejected by the sidecar model:\n${out.errors.map(formatConfigError).join('\n')}`);
  return r.body;
}

/** A listener's filter chains (none: []). */
export const chains = (l: Json): Json[] => (l.filter_chains as Json[] | undefined) ?? [];

/** A filter chain's first (network) filter. */
export const filterOf = (c: Json): Json => (c.filters as Json[])[0];
