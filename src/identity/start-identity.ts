// Starts the identity agent for `pilotfish proxy` when a CA is configured (flags or environment), feeding the process's SecretStore.
import type { Logger } from 'pino';
import { processSecretStore } from '../secrets/process-secrets.ts';
import { IdentityAgent } from './agent.ts';
import { CaClient } from './ca-client.ts';
import { resolveIdentityConfig, type IdentityFlags } from './identity-config.ts';

export interface IdentityStartOptions {
  readonly flags: Partial<IdentityFlags>;
  /** The bootstrap node's metadata (`pilotfish.{namespace, serviceAccount}`). */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly logger: Logger;
  readonly env?: NodeJS.ProcessEnv;
}

/** The running agent, or null when no CA address is configured. Throws an Error (one line) on a bad configuration. */
export function startIdentityAgent(o: IdentityStartOptions): IdentityAgent | null {
  const f = o.flags;
  const config = resolveIdentityConfig({
    caAddress: f.caAddress ?? null, caRootCert: f.caRootCert ?? null, identityTokenFile: f.identityTokenFile ?? null,
    trustDomain: f.trustDomain ?? null, certValiditySeconds: f.certValiditySeconds ?? null,
  }, o.env ?? process.env, o.metadata);
  if (config === null) return null;
  const ca = new CaClient({ address: config.caAddress, rootCertPem: config.caRootCertPem, rootCertFile: config.caRootCertFile, tokenFile: config.tokenFile });
  const logger = o.logger.child({ component: 'identity' });
  const agent = new IdentityAgent({
    spiffeId: config.spiffeId, trustDomain: config.identity.trustDomain, ca, store: processSecretStore(), logger,
    validitySeconds: config.validitySeconds,
  });
  logger.info({ spiffeId: config.spiffeId, ca: config.caAddress, tls: config.caRootCertPem !== null, validitySeconds: config.validitySeconds }, 'identity agent starting');
  agent.start();
  return agent;
}
