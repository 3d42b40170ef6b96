// Options threaded through route compilation, set by the RouteConfiguration (or the resource kind) that contains it.

export interface RouteCompileOptions {
  /** Record cluster references for the bootstrap's unknown-cluster check (RouteConfiguration.validate_clusters). */
  readonly validateClusters: boolean;
  /** RouteConfiguration.max_direct_response_body_size_bytes (default 4096). */
  readonly maxDirectResponseBodyBytes: number;
}

export const DEFAULT_MAX_DIRECT_RESPONSE_BODY_BYTES = 4096;
