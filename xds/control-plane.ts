// `pilotfish control-plane`: compiles the YAML inputs, serves them over ADS to sidecars, runs the certificate authority, watches for changes and reports status.
import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import { xdsProtoRoot } from '../src/xds/protos.ts';
import { compileInputs, modelCounts, untranslated, type InputResult } from './input/compile-inputs.ts';
import { formatInputError } from './input/mesh.ts';
import type { InputError, MtlsMode } from './input/types.ts';
import { OUTBOUND_TRAFFIC_POLICIES, type MeshSecurity, type OutboundTrafficPolicy } from './translate/mesh-view.ts';
import { MeshState } from './server/mesh-state.ts';
import { XdsServer } from './server/xds-server.ts';
import { startStatusServer, type StatusServer } from './status.ts';
import { watchInputs, type InputWatcher } from './watch.ts';
import { CONTROL_PLANE_USAGE, MTLS_MODES, parseControlPlaneArgs } from './cli.ts';
import type { CertificateAuthority } from './ca/authority.ts';
import { caOptionsFromArgs } from './ca/ca-args.ts';
import { startCa, type CaOptions } from './ca/start-ca.ts';
import { startWebhook, webhookOptionsFromArgs, type WebhookOptions } from './webhook/webhook-args.ts';
import type { WebhookServer } from './webhook/webhook-server.ts';
import { KubeConfigApi, loadKubeConfig } from './kube/api-client.ts';
import { KubeSource } from './kube/source.ts';
import { kubeServerVersion } from './kube/server-version.ts';
import { ServingCertManager, type SecureXdsOptions } from './secure/secure-xds.ts';
import { coreV1ConfigMaps, RootCertPublisher, type ConfigMapClient } from './secure/root-configmap.ts';
import type { KubeApi } from './kube/api-client.ts';

export const DEFAULT_XDS_ADDRESS = '127.0.0.1:15010';
export const DEFAULT_STATUS_ADDRESS = '127.0.0.1:15014';

export interface ControlPlaneOptions {
  inputs: string[];
  xdsAddress?: string;
  statusAddress?: string;
  logger?: Logger;
  /** Watch the inputs for changes (default true). */
  watch?: boolean;
  /** Run the certificate authority on the xDS gRPC server (absent or null: no CA; the command passes it by default). */
  ca?: CaOptions | null;
  /**
   * Mesh mTLS (xds/POLICY.md "mTLS"). With the CA it is on by default: `defaultMode` (default PERMISSIVE) applies to
   * workloads without TrafficPolicy.mtls, in the CA's trust domain. Without the CA it is off unless a `trustDomain` is
   * given (certificates from another CA). `false`: off.
   */
  mtls?: { defaultMode?: MtlsMode; trustDomain?: string } | false;
  /** Captured workloads' traffic to destinations outside the registry: ALLOW_ANY (default, passthrough) or REGISTRY_ONLY (refused). */
  outboundTrafficPolicy?: OutboundTrafficPolicy;
  /** Inputs from elsewhere than `inputs` files, e.g. the Kubernetes API (xds/kube/source.ts); closed with the control plane. */
  source?: InputSource;
  /** The sidecar-injection admission webhook (HTTPS); absent: off. */
  webhook?: WebhookOptions;
  /** A second, TLS port serving ADS and the CA (Istio's 15012; needs the CA); absent: off. */
  secureXds?: SecureXdsOptions;
  /** Publish the CA's roots as ConfigMap pilotfish-ca-root-cert in namespaces labelled pilotfish-injection=enabled (needs the CA). */
  rootConfigMaps?: { readonly api: KubeApi; readonly configMaps: ConfigMapClient; readonly resyncMs?: number };
}

/** A source of input documents other than files: compiled on demand; calls back (debounced) when a recompile is due. */
export interface InputSource {
  compile(): Promise<InputResult>;
  watch(onChange: () => void): { close(): void };
  /** Shown by /debug/config under `kubernetes`. */
  status(): Record<string, unknown>;
  close(): void;
}

/** The mesh's mTLS settings from the options and the running CA; throws when the trust domains disagree. */
export function meshSecurity(mtls: ControlPlaneOptions['mtls'], caTrustDomain: string | null): MeshSecurity | null {
  if (mtls === false) return null;
  const td = mtls?.trustDomain;
  if (td !== undefined && caTrustDomain !== null && td !== caTrustDomain) {
    throw new Error(`mTLS trust domain "${td}" differs from the certificate authority's "${caTrustDomain}"`);
  }
  const trustDomain = caTrustDomain ?? td;
  if (trustDomain === undefined) return null;
  return { trustDomain, defaultMode: mtls?.defaultMode ?? 'PERMISSIVE' };
}

export interface ReloadOutcome {
  readonly applied: boolean;
  readonly changed: boolean;
  readonly errors: readonly InputError[];
  /** Read + compile + translate + push to every stream, in milliseconds. */
  readonly ms: number;
}

export interface ControlPlane {
  readonly xdsPort: number;
  readonly statusPort: number;
  /** The injection webhook's HTTPS port, or null when it is off. */
  readonly webhookPort: number | null;
  /** The TLS xDS port (--secure-xds-address), or null when it is off. */
  readonly secureXdsPort: number | null;
  /** The TLS port's serving certificate (state(), renew()), or null when it is off. */
  readonly servingCert: ServingCertManager | null;
  /** The root ConfigMap publisher, or null when it is off. */
  readonly rootPublisher: RootCertPublisher | null;
  /** 'sent' | 'ack' | 'nack' (SyncEvent), 'pushed' ({generation, streams, ms}) after each rebuild, 'reload' (ReloadOutcome). */
  readonly events: EventEmitter;
  reload(): Promise<ReloadOutcome>;
  /** The certificate authority (rotateRoot(), trustBundle(), status()), or null when not started. */
  readonly ca: CertificateAuthority | null;
  close(): Promise<void>;
}

export class InvalidInputError extends Error {
  readonly errors: readonly InputError[];
  constructor(errors: readonly InputError[]) {
    super(`invalid input:\n${errors.map((e) => `  ${formatInputError(e)}`).join('\n')}`);
    this.errors = errors;
  }
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const logger = opts.logger ?? pino({ level: 'info' });
  const source = opts.source;
  const compile = (): Promise<InputResult> => (source ? source.compile() : compileInputs(opts.inputs));
  let first: InputResult;
  try {
    first = await compile();
  } catch (err) {
    source?.close();
    throw err;
  }
  if (!first.ok) source?.close();
  if (!first.ok) throw new InvalidInputError(first.errors);
  const ca = opts.ca ? await startCa(opts.ca, first.model, logger) : null;
  const security = meshSecurity(opts.mtls, ca?.authority.trustDomain ?? null);
  const root = await xdsProtoRoot();
  const otp = opts.outboundTrafficPolicy ?? 'ALLOW_ANY';
  if (!OUTBOUND_TRAFFIC_POLICIES.includes(otp)) throw new Error(`outbound traffic policy must be one of ${OUTBOUND_TRAFFIC_POLICIES.join(', ')}, got "${otp}"`);
  const state = new MeshState(20, security, otp);
  state.setModel(first.model, first.version);
  let files = first.files;
  let ignored = first.ignored;
  let appliedAt = new Date().toISOString();
  let lastAttempt: { at: string; result: InputResult } = { at: appliedAt, result: first };
  const server = new XdsServer(state, root, logger);
  const events = server.events;
  if (ca) server.addService(ca.definition, ca.handlers);

  let xdsPort: number;
  let secureXdsPort: number | null = null;
  let servingCert: ServingCertManager | null = null;
  let rootPublisher: RootCertPublisher | null = null;
  let status: StatusServer | null = null;
  let webhook: WebhookServer | null = null;
  let watcher: InputWatcher | null = null;
  /** Stops whatever has been started so far: on close(), and when a later step of the start fails. */
  const stopAll = async (): Promise<void> => {
    watcher?.close();
    source?.close();
    rootPublisher?.stop();
    servingCert?.close();
    state.close();
    await server.close();
    await status?.close();
    await webhook?.close();
  };
  try {
    xdsPort = await server.listen(opts.xdsAddress ?? DEFAULT_XDS_ADDRESS);
    if (opts.secureXds) {
      if (!ca) throw new Error('the secure xDS port (--secure-xds-address) needs the certificate authority for its certificate (drop --no-ca)');
      servingCert = new ServingCertManager(ca.authority, opts.secureXds, logger);
      secureXdsPort = await server.listenSecure(opts.secureXds.address, servingCert.credentials, [[ca.definition, ca.tlsHandlers]]);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  if (opts.rootConfigMaps) {
    if (!ca) {
      await stopAll();
      throw new Error('publishing the root ConfigMaps needs the certificate authority');
    }
    rootPublisher = new RootCertPublisher({ ...opts.rootConfigMaps, ca: ca.authority, logger: logger.child({ component: 'root-configmaps' }) });
    rootPublisher.start();
  }
  let running: Promise<ReloadOutcome> | null = null;
  let again = false;

  const doReload = async (): Promise<ReloadOutcome> => {
    const started = performance.now();
    const r = await compile();
    lastAttempt = { at: new Date().toISOString(), result: r };
    files = r.files;
    let outcome: ReloadOutcome;
    if (!r.ok) {
      for (const e of r.errors) logger.error({ file: e.file, doc: e.doc, kind: e.kind, name: e.name, field: e.field }, `input rejected: ${formatInputError(e)}`);
      logger.error({ errors: r.errors.length, version: state.version }, 'invalid input change refused; still serving the last good config');
      outcome = { applied: false, changed: false, errors: r.errors, ms: performance.now() - started };
    } else if (r.version === state.version) {
      outcome = { applied: true, changed: false, errors: [], ms: performance.now() - started };
    } else {
      ignored = r.ignored;
      appliedAt = lastAttempt.at;
      state.setModel(r.model, r.version);
      const ms = performance.now() - started;
      logger.info({ version: r.version, generation: state.generation, ms: Math.round(ms), ...modelCounts(r.model) }, 'input change applied');
      outcome = { applied: true, changed: true, errors: [], ms };
    }
    events.emit('reload', outcome);
    return outcome;
  };

  const reload = (): Promise<ReloadOutcome> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let out: ReloadOutcome;
      do {
        again = false;
        out = await doReload();
      } while (again);
      running = null;
      return out;
    })();
    return running;
  };

  status = await startStatusServer(opts.statusAddress ?? DEFAULT_STATUS_ADDRESS, {
    ready: () => state.version !== '',
    syncz: (node) => ({
      version: state.version,
      generation: state.generation,
      connections: server.connections().filter((c) => node === null || c.node?.id === node).map((c) => c.toJSON(node !== null)),
    }),
    config: () => ({
      status: lastAttempt.result.ok ? 'OK' : 'ERROR',
      version: state.version,
      generation: state.generation,
      appliedAt,
      lastAttemptAt: lastAttempt.at,
      errors: lastAttempt.result.ok ? [] : lastAttempt.result.errors.map((e) => ({ ...e, text: formatInputError(e) })),
      inputs: opts.inputs,
      files,
      resources: modelCounts(state.model),
      announcedEndpoints: state.announced(),
      mtls: security ?? { off: 'no certificate authority: the mesh runs plaintext' },
      notTranslated: untranslated(state.model, security !== null),
      ignoredDocuments: ignored,
      ...(source ? { kubernetes: source.status() } : {}),
      ...(servingCert ? { secureXds: { port: secureXdsPort, certificate: servingCert.state() } } : {}),
      ...(rootPublisher ? { rootConfigMaps: rootPublisher.namespaces() } : {}),
    }),
    certs: ca ? () => ca.status() : undefined,
    caAction: ca ? (action, params) => ca.action(action, params) : undefined,
  }).catch(async (err: unknown) => {
    await stopAll();
    throw err;
  });

  if (opts.webhook) {
    try {
      webhook = await startWebhook(opts.webhook, ca?.authority ?? null, logger);
    } catch (err) {
      await stopAll();
      throw err;
    }
  }
  if (opts.watch !== false) watcher = source ? source.watch(() => void reload()) : await watchInputs(opts.inputs, () => void reload(), logger);
  logger.info({
    xds: `${opts.xdsAddress ?? DEFAULT_XDS_ADDRESS}`, xdsPort, ...(servingCert ? { secureXds: opts.secureXds?.address, secureXdsPort, secureXdsNames: servingCert.names } : {}), statusPort: status.port, version: state.version, ...modelCounts(state.model),
    ...(ca ? { caTrustDomain: ca.authority.trustDomain } : {}), mtls: security ? `${security.defaultMode} (default), trust domain ${security.trustDomain}` : 'off',
    outboundTrafficPolicy: otp,
  }, 'control plane serving');

  return {
    xdsPort,
    statusPort: status.port,
    webhookPort: webhook?.port ?? null,
    secureXdsPort,
    servingCert,
    rootPublisher,
    events,
    reload,
    ca: ca?.authority ?? null,
    close: stopAll,
  };
}

/** Runs `pilotfish control-plane [flags]` until SIGINT/SIGTERM. Returns the process exit code. */
export async function runControlPlaneCommand(argv: string[]): Promise<number> {
  const parsed = parseControlPlaneArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`pilotfish control-plane: ${parsed.error}\n\n${CONTROL_PLANE_USAGE}`);
    return 2;
  }
  const o = parsed.options;
  if (o.help) {
    process.stdout.write(CONTROL_PLANE_USAGE);
    return 0;
  }
  const logger = pino({ level: o.logLevel, base: { component: 'control-plane' } });
  let cp: ControlPlane;
  try {
    const mode = o.mtlsMode ?? (process.env.PILOTFISH_MTLS_MODE || undefined);
    if (mode !== undefined && !MTLS_MODES.includes(mode as MtlsMode)) throw new Error(`PILOTFISH_MTLS_MODE must be one of ${MTLS_MODES.join(', ')}, got "${mode}"`);
    const otp = o.outboundTrafficPolicy ?? (process.env.PILOTFISH_OUTBOUND_TRAFFIC_POLICY || undefined);
    if (otp !== undefined && !OUTBOUND_TRAFFIC_POLICIES.includes(otp as OutboundTrafficPolicy)) {
      throw new Error(`PILOTFISH_OUTBOUND_TRAFFIC_POLICY must be one of ${OUTBOUND_TRAFFIC_POLICIES.join(', ')}, got "${otp}"`);
    }
    // --kubernetes: the cluster's objects instead of files (xds/kube); startup waits until every kind is listed.
    const kc = o.kubernetes ? loadKubeConfig(o.kubeconfig) : null;
    const source = kc ? new KubeSource({ api: new KubeConfigApi(kc), logger }) : undefined;
    const ca = caOptionsFromArgs(o.ca);
    // With the CA in a cluster: the roots go to every injection-enabled namespace as ConfigMap pilotfish-ca-root-cert.
    const rootConfigMaps = kc && ca ? { api: new KubeConfigApi(kc), configMaps: coreV1ConfigMaps(kc) } : undefined;
    cp = await startControlPlane({
      inputs: o.inputs, xdsAddress: o.xdsAddress, statusAddress: o.statusAddress, logger, ca, webhook: webhookOptionsFromArgs(o.webhook, kc ? () => kubeServerVersion(kc) : undefined), source,
      mtls: { defaultMode: mode as MtlsMode | undefined }, outboundTrafficPolicy: otp as OutboundTrafficPolicy | undefined,
      ...(o.secureXdsAddress ? { secureXds: { address: o.secureXdsAddress, dnsNames: o.secureXdsDnsNames } } : {}), rootConfigMaps,
    });
  } catch (err) {
    process.stderr.write(`pilotfish control-plane: ${(err as Error).message}\n`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  logger.info('control plane shutting down');
  await cp.close();
  return 0;
}
