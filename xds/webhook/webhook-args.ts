// The injection-webhook flags of `pilotfish control-plane`: parsing, usage text, and starting the webhook from them.
import type { Logger } from 'pino';
import { packageVersion } from '../../src/cli/version.ts';
import { DEFAULT_TOKEN_AUDIENCE, DEFAULT_XDS_ADDRESS } from '../../src/inject/names.ts';
import type { InjectOptions } from '../../src/inject/templates.ts';
import type { CertificateAuthority } from '../ca/authority.ts';
import type { KubeVersion } from '../kube/server-version.ts';
import { NativeSidecarMode } from './native-mode.ts';
import { issueServingCert, servingCertFromFiles } from './serving-cert.ts';
import { startWebhookServer, type WebhookServer } from './webhook-server.ts';

export const DEFAULT_WEBHOOK_DNS_NAMES = ['pilotfish-control-plane.pilotfish-system.svc'];

export interface WebhookArgs {
  address?: string;
  certFile?: string;
  keyFile?: string;
  dnsNames?: string[];
  image?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  xdsAddress?: string;
  caAddress?: string;
  nativeSidecar?: boolean;
  tokenAudience?: string;
}

/** What startControlPlane needs to run the webhook. */
export interface WebhookOptions {
  readonly address: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly dnsNames?: readonly string[];
  readonly inject: InjectOptions;
  /**
   * With --kubernetes and no --inject-native-sidecar: reads the API server's version; below 1.29 the webhook injects
   * regular-container sidecars (inject.nativeSidecar is then ignored).
   */
  readonly serverVersion?: () => Promise<KubeVersion>;
  /** First retry delay when the version cannot be read (default 1 s, doubling to 60 s). */
  readonly versionRetryMs?: number;
}

export const WEBHOOK_USAGE = `Sidecar injection webhook (AdmissionReview v1 at https://ADDR/inject; off unless --webhook-address):
      --webhook-address ADDR     HTTPS listen address, e.g. 0.0.0.0:15017
      --webhook-cert FILE        serving certificate (PEM, chain allowed), with --webhook-key; default: issued by
                                 the certificate authority for --webhook-dns-name
      --webhook-key FILE         its private key (PEM)
      --webhook-dns-name NAME    name (or IP) in the CA-issued certificate (repeatable; default
                                 ${DEFAULT_WEBHOOK_DNS_NAMES.join(', ')})
      --inject-image IMAGE       image of the injected containers (default pilotfish:${packageVersion()})
      --inject-image-pull-policy Always|IfNotPresent|Never
      --inject-xds-address H:P   control plane address the sidecars use (default ${DEFAULT_XDS_ADDRESS})
      --inject-ca-address H:P    certificate authority address when it differs from the xDS address
      --inject-native-sidecar B  true: native sidecars (Kubernetes >= 1.29); false: regular first container;
                                 default: with --kubernetes from the API server's version, else true
      --inject-token-audience A  audience of the projected token (default ${DEFAULT_TOKEN_AUDIENCE})
`;

/** host:port or [v6]:port, as the address flags take it. */
export const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/;

/** Applies one webhook flag to `into`: false when `flag` is not a webhook flag, true when applied, else the error. */
export function parseWebhookFlag(flag: string, take: () => string | null, into: WebhookArgs): boolean | string {
  const known = ['--webhook-address', '--webhook-cert', '--webhook-key', '--webhook-dns-name', '--inject-image', '--inject-image-pull-policy',
    '--inject-xds-address', '--inject-ca-address', '--inject-native-sidecar', '--inject-token-audience'];
  if (!known.includes(flag)) return false;
  const v = take();
  if (v === null || v === '') return `${flag} needs a value`;
  switch (flag) {
    case '--webhook-address': case '--inject-xds-address': case '--inject-ca-address':
      if (!HOST_PORT.test(v)) return `${flag} expects host:port, got "${v}"`;
      if (flag === '--webhook-address') into.address = v;
      else if (flag === '--inject-xds-address') into.xdsAddress = v;
      else into.caAddress = v;
      return true;
    case '--webhook-cert': into.certFile = v; return true;
    case '--webhook-key': into.keyFile = v; return true;
    case '--webhook-dns-name': (into.dnsNames ??= []).push(v); return true;
    case '--inject-image': into.image = v; return true;
    case '--inject-image-pull-policy':
      if (v !== 'Always' && v !== 'IfNotPresent' && v !== 'Never') return `${flag} must be Always, IfNotPresent or Never`;
      into.imagePullPolicy = v;
      return true;
    case '--inject-native-sidecar':
      if (v !== 'true' && v !== 'false') return `${flag} must be true or false`;
      into.nativeSidecar = v === 'true';
      return true;
    case '--inject-token-audience': into.tokenAudience = v; return true;
    default: return false;
  }
}

/** Cross-checks; null when fine. */
export function webhookArgsError(a: WebhookArgs, caDisabled: boolean): string | null {
  const any = Object.keys(a).length > 0;
  if (any && !a.address) return 'the --webhook-* / --inject-* flags need --webhook-address';
  if (!a.address) return null;
  if ((a.certFile === undefined) !== (a.keyFile === undefined)) return '--webhook-cert and --webhook-key go together';
  if (!a.certFile && caDisabled) return 'the webhook needs --webhook-cert/--webhook-key when the certificate authority is off (--no-ca)';
  return null;
}

/** `serverVersion`: how to read the cluster's version (--kubernetes); used only when --inject-native-sidecar is not given. */
export function webhookOptionsFromArgs(a: WebhookArgs | undefined, serverVersion?: () => Promise<KubeVersion>): WebhookOptions | undefined {
  if (!a?.address) return undefined;
  return {
    ...(serverVersion && a.nativeSidecar === undefined ? { serverVersion } : {}),
    address: a.address,
    ...(a.certFile ? { certFile: a.certFile, keyFile: a.keyFile } : {}),
    dnsNames: a.dnsNames ?? DEFAULT_WEBHOOK_DNS_NAMES,
    inject: {
      image: a.image ?? `pilotfish:${packageVersion()}`,
      xdsAddress: a.xdsAddress ?? DEFAULT_XDS_ADDRESS,
      nativeSidecar: a.nativeSidecar ?? true,
      tokenAudience: a.tokenAudience ?? DEFAULT_TOKEN_AUDIENCE,
      version: packageVersion(),
      ...(a.imagePullPolicy ? { imagePullPolicy: a.imagePullPolicy } : {}),
      ...(a.caAddress ? { caAddress: a.caAddress } : {}),
    },
  };
}

/** Starts the webhook with its certificate from files or from the CA. */
export async function startWebhook(o: WebhookOptions, ca: CertificateAuthority | null, logger: Logger): Promise<WebhookServer> {
  let cert;
  if (o.certFile && o.keyFile) cert = servingCertFromFiles(o.certFile, o.keyFile);
  else if (ca) cert = issueServingCert(ca, o.dnsNames ?? DEFAULT_WEBHOOK_DNS_NAMES);
  else throw new Error('the injection webhook needs --webhook-cert/--webhook-key or the certificate authority');
  let mode: NativeSidecarMode | null = null;
  let inject: InjectOptions | (() => InjectOptions) = o.inject;
  if (o.serverVersion) {
    const m = new NativeSidecarMode(o.serverVersion, logger, o.versionRetryMs);
    await m.start();
    mode = m;
    inject = () => ({ ...o.inject, nativeSidecar: m.native });
  }
  let server: WebhookServer;
  try {
    server = await startWebhookServer(o.address, cert, inject, logger);
  } catch (err) {
    mode?.stop();
    throw err;
  }
  logger.info({
    webhook: o.address, port: server.port, certificate: o.certFile ?? `issued by the CA for ${(o.dnsNames ?? DEFAULT_WEBHOOK_DNS_NAMES).join(', ')}`,
    notAfter: cert.notAfter, caBundle: cert.caBundle ? Buffer.from(cert.caBundle).toString('base64') : null,
    nativeSidecar: mode ? `${mode.native} (Kubernetes ${mode.version ? `${mode.version.major}.${mode.version.minor}` : 'version unknown'})` : o.inject.nativeSidecar,
  }, 'injection webhook serving');
  if (!mode) return server;
  const s = server;
  return { port: s.port, cert: s.cert, close: async () => { mode.stop(); await s.close(); } };
}
