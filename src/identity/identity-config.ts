// Where the identity agent's settings come from: proxy flags, then environment variables, then node metadata.
import { existsSync, readFileSync } from 'node:fs';
import { DEFAULT_VALIDITY_SECONDS } from './agent.ts';
import { DEFAULT_TRUST_DOMAIN, identityFromMetadata, spiffeId, type WorkloadIdentity } from './spiffe.ts';

/** The identity flags of `pilotfish proxy` (null: not given). */
export interface IdentityFlags {
  readonly caAddress: string | null;
  readonly caRootCert: string | null;
  readonly identityTokenFile: string | null;
  readonly trustDomain: string | null;
  readonly certValiditySeconds: number | null;
}

export interface IdentityConfig {
  readonly caAddress: string;
  readonly caRootCertPem: string | null;
  /** The file caRootCertPem was read from (re-read by the CA client), or null. */
  readonly caRootCertFile: string | null;
  readonly tokenFile: string | null;
  readonly identity: WorkloadIdentity;
  readonly spiffeId: string;
  readonly validitySeconds: number;
}

/** The Kubernetes service-account token, used when no token file is named and it exists. */
export const KUBERNETES_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * The agent's configuration, or null when no CA address is given (no identity agent: certificates come from the
 * config). Flags win over PILOTFISH_CA_ADDR, PILOTFISH_CA_ROOT_CERT, PILOTFISH_TOKEN_FILE, PILOTFISH_TRUST_DOMAIN and
 * PILOTFISH_CERT_VALIDITY_S. Throws an Error with one readable line on bad input.
 */
export function resolveIdentityConfig(
  flags: IdentityFlags, env: NodeJS.ProcessEnv, metadata: Readonly<Record<string, unknown>>,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): IdentityConfig | null {
  const caAddress = flags.caAddress ?? env.PILOTFISH_CA_ADDR ?? null;
  if (caAddress === null || caAddress === '') return null;
  const rootFile = flags.caRootCert ?? env.PILOTFISH_CA_ROOT_CERT ?? null;
  let caRootCertPem: string | null = null;
  if (rootFile) {
    try { caRootCertPem = readFile(rootFile); } catch (err) { throw new Error(`--ca-root-cert ${rootFile}: ${(err as Error).message}`); }
  }
  const tokenFile = flags.identityTokenFile ?? (env.PILOTFISH_TOKEN_FILE || null) ?? (existsSync(KUBERNETES_TOKEN) ? KUBERNETES_TOKEN : null);
  const trustDomain = flags.trustDomain ?? (env.PILOTFISH_TRUST_DOMAIN || DEFAULT_TRUST_DOMAIN);
  const identity = identityFromMetadata(metadata, trustDomain);
  if (typeof identity === 'string') throw new Error(identity);
  let validitySeconds = flags.certValiditySeconds ?? DEFAULT_VALIDITY_SECONDS;
  if (flags.certValiditySeconds === null && env.PILOTFISH_CERT_VALIDITY_S) {
    validitySeconds = Number(env.PILOTFISH_CERT_VALIDITY_S);
    if (!Number.isInteger(validitySeconds) || validitySeconds < 1) throw new Error(`PILOTFISH_CERT_VALIDITY_S must be a whole number of seconds >= 1, got "${env.PILOTFISH_CERT_VALIDITY_S}"`);
  }
  return { caAddress, caRootCertPem, caRootCertFile: rootFile || null, tokenFile, identity, spiffeId: spiffeId(identity), validitySeconds };
}
