// Reads and compiles the input paths in one step, giving the model a content version (what /debug/config reports).
import { portProtocol } from '../translate/names.ts';
import { contentHash } from '../translate/resource.ts';
import { loadInputs } from './load-files.ts';
import { compileMesh } from './mesh.ts';
import { writeAuthnSecrets } from './authn-secrets.ts';
import type { InputError, MeshModel } from './types.ts';

export type InputResult =
  | { readonly ok: true; readonly model: MeshModel; readonly version: string; readonly files: string[]; readonly ignored: readonly string[] }
  | { readonly ok: false; readonly errors: readonly InputError[]; readonly files: string[] };

export async function compileInputs(paths: readonly string[]): Promise<InputResult> {
  const loaded = await loadInputs(paths);
  const result = compileMesh(loaded.docs, loaded.errors);
  if (!result.ok) return { ok: false, errors: result.errors, files: loaded.files };
  const version = contentHash(JSON.stringify(loaded.docs.map((d) => d.value)));
  // The oauth2 filters read their secrets from SDS files: write the ones the control plane holds before serving.
  const problems = writeAuthnSecrets(result.model);
  return { ok: true, model: result.model, version, files: loaded.files, ignored: [...result.ignored, ...problems] };
}

/** Counts of each kind, for status. */
export function modelCounts(m: MeshModel): Record<string, number> {
  let slices = 0;
  for (const l of m.endpointSlices.values()) slices += l.length;
  return {
    services: m.services.size,
    endpointSlices: slices,
    gateways: m.gateways.size,
    httpRoutes: m.routes.filter((r) => r.kind === 'HTTPRoute').length,
    grpcRoutes: m.routes.filter((r) => r.kind === 'GRPCRoute').length,
    trafficPolicies: m.policies.size,
    secrets: m.secrets.size,
  };
}

/**
 * Policy fields that are validated and stored but not translated into xDS: `mtls` while the mesh runs without mTLS
 * (no certificate authority), and `authorization` on TCP ports (only HTTP ports get RBAC filters).
 */
export function untranslated(m: MeshModel, mtlsOn = false): string[] {
  const out: string[] = [];
  for (const p of m.policies.values()) {
    const name = `TrafficPolicy ${p.namespace}/${p.name}`;
    if (p.mtls && !mtlsOn) out.push(`${name}: spec.mtls is not applied: the control plane runs without a certificate authority, the mesh is plaintext`);
    const svc = m.services.get(`${p.target.namespace}/${p.target.name}`);
    const tcp = svc?.ports.filter((sp) => portProtocol(sp) === 'tcp').map((sp) => sp.port) ?? [];
    if (p.authorization && tcp.length > 0) out.push(`${name}: spec.authorization does not apply to TCP port(s) ${tcp.join(', ')} (HTTP ports only)`);
  }
  return out;
}
