// Loads the xDS client (src/xds/xds-source.ts) only for a bootstrap with dynamic_resources, since it pulls in gRPC and the protos.

export type XdsModule = typeof import('../xds/xds-source.ts');

/** The xDS client module when the bootstrap has dynamic_resources, else null (static-only configs never load it). */
export async function loadXdsModule(doc: unknown): Promise<XdsModule | null> {
  // `dynamic_resources:` left empty in YAML is null: as absent (proto3 JSON null means the default).
  if (doc === null || typeof doc !== 'object' || (doc as { dynamic_resources?: unknown }).dynamic_resources == null) return null;
  const xds = await import('../xds/xds-source.ts');
  return xds.hasDynamicResources(doc) ? xds : null;
}
