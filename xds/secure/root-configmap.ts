// Istio's istio-ca-root-cert for Pilotfish: writes the CA's roots into ConfigMap pilotfish-ca-root-cert of every namespace labelled for injection, and keeps it current.
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeApi } from '../kube/api-client.ts';
import type { KubeObject } from '../kube/documents.ts';
import { Reflector } from '../kube/reflector.ts';
import type { WatchedKind } from '../kube/kinds.ts';
import type { CertificateAuthority } from '../ca/authority.ts';

export const ROOT_CONFIGMAP_NAME = 'pilotfish-ca-root-cert';
export const ROOT_CONFIGMAP_KEY = 'root-cert.pem';
/** The injector's namespace label (src/inject/names.ts NAMESPACE_LABEL) and its opt-in value. */
export const INJECTION_LABEL = 'pilotfish-injection';
export const INJECTION_ENABLED = 'enabled';

const NAMESPACE_KIND: WatchedKind = { kind: 'Namespace', apiVersion: 'v1', path: '/api/v1/namespaces', optional: false, compiled: false };

/** The ConfigMap calls the publisher makes (CoreV1Api in a cluster; a stand-in is possible). */
export interface ConfigMapClient {
  /** The ConfigMap, or null when it does not exist (404). */
  read(namespace: string, name: string): Promise<V1ConfigMap | null>;
  create(namespace: string, body: V1ConfigMap): Promise<void>;
  replace(namespace: string, name: string, body: V1ConfigMap): Promise<void>;
}

/** ConfigMap calls through @kubernetes/client-node's CoreV1Api. */
export function coreV1ConfigMaps(kc: KubeConfig): ConfigMapClient {
  const api = kc.makeApiClient(CoreV1Api);
  const status = (err: unknown): number | undefined => (err as { code?: number }).code;
  return {
    async read(namespace, name) {
      try {
        return await api.readNamespacedConfigMap({ namespace, name });
      } catch (err) {
        if (status(err) === 404) return null;
        throw err;
      }
    },
    async create(namespace, body) {
      await api.createNamespacedConfigMap({ namespace, body });
    },
    async replace(namespace, name, body) {
      await api.replaceNamespacedConfigMap({ namespace, name, body });
    },
  };
}

export interface RootPublisherOptions {
  /** Namespace list/watch (the discovery's KubeApi). */
  readonly api: KubeApi;
  readonly configMaps: ConfigMapClient;
  readonly ca: CertificateAuthority;
  readonly logger: Logger;
  /** Every namespace is checked again this often, repairing edits and deletions of the ConfigMap (default 5 min). */
  readonly resyncMs?: number;
  /** First retry delay after a failed write (doubles up to 60 s). */
  readonly retryMs?: number;
}

export interface NamespaceStatus {
  readonly namespace: string;
  readonly state: 'current' | 'failed' | 'pending';
  readonly error: string | null;
  readonly updatedAt: string | null;
}

function labelled(ns: KubeObject): boolean {
  const labels = (ns.metadata?.labels ?? {}) as Record<string, unknown>;
  return labels[INJECTION_LABEL] === INJECTION_ENABLED;
}

function errorText(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  if (typeof e.code === 'number') {
    let msg = '';
    try { msg = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body as { message?: string })?.message ?? ''; } catch { msg = String(e.body ?? ''); }
    return `HTTP ${e.code}${msg ? `: ${msg}` : ''}`;
  }
  return e.message ?? String(err);
}

/**
 * Watches Namespaces; for each one labelled `pilotfish-injection: enabled` it creates or replaces ConfigMap
 * `pilotfish-ca-root-cert` (key `root-cert.pem`: every root the CA trusts now, the signing root first) when its
 * content differs. Root changes (rotate, activate, remove) and newly labelled namespaces are written at once.
 */
export class RootCertPublisher {
  private readonly o: RootPublisherOptions;
  private readonly reflector: Reflector;
  private readonly status = new Map<string, NamespaceStatus>();
  /** What was last written (or found) per namespace, so unchanged namespaces cost no API call. */
  private readonly written = new Map<string, string>();
  private readonly retries = new Map<string, { timer: NodeJS.Timeout; delay: number }>();
  private running: Promise<void> | null = null;
  private again = false;
  private resync: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly onRoots = () => {
    this.written.clear();
    this.kick();
  };
  /** Called after each complete reconcile pass. */
  private waiters: (() => void)[] = [];

  constructor(o: RootPublisherOptions) {
    this.o = o;
    this.reflector = new Reflector(NAMESPACE_KIND, o.api, o.logger, () => this.kick());
  }

  start(): void {
    this.o.ca.events.on('roots', this.onRoots);
    this.reflector.start();
    this.resync = setInterval(() => {
      this.written.clear();
      this.kick();
    }, this.o.resyncMs ?? 300_000);
    this.resync.unref();
  }

  stop(): void {
    this.stopped = true;
    this.reflector.stop();
    this.o.ca.events.off('roots', this.onRoots);
    if (this.resync) clearInterval(this.resync);
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
  }

  /** The PEM the ConfigMaps carry now. */
  bundle(): string {
    return this.o.ca.trustBundle().join('');
  }

  namespaces(): NamespaceStatus[] {
    return [...this.status.values()].sort((a, b) => a.namespace.localeCompare(b.namespace));
  }

  /** Resolves after the next complete reconcile pass. */
  nextPass(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private kick(): void {
    if (this.stopped || !this.reflector.synced) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.reconcile();
      } while (this.again && !this.stopped);
      this.running = null;
      for (const w of this.waiters.splice(0)) w();
    })();
  }

  private async reconcile(): Promise<void> {
    const targets = [...this.reflector.objects.values()].filter(labelled).map((ns) => String(ns.metadata?.name));
    for (const gone of [...this.status.keys()]) {
      if (!targets.includes(gone)) {
        this.status.delete(gone);
        this.written.delete(gone);
      }
    }
    const pem = this.bundle();
    await Promise.all(targets.map((ns) => (this.written.get(ns) === pem ? undefined : this.publish(ns, pem))));
  }

  private async publish(namespace: string, pem: string): Promise<void> {
    const { configMaps, logger } = this.o;
    const prev = this.retries.get(namespace);
    if (prev) clearTimeout(prev.timer);
    try {
      const existing = await configMaps.read(namespace, ROOT_CONFIGMAP_NAME);
      const body: V1ConfigMap = {
        apiVersion: 'v1', kind: 'ConfigMap',
        metadata: {
          ...(existing?.metadata ?? {}), name: ROOT_CONFIGMAP_NAME, namespace,
          labels: { ...(existing?.metadata?.labels ?? {}), 'app.kubernetes.io/managed-by': 'pilotfish-control-plane' },
        },
        data: { ...(existing?.data ?? {}), [ROOT_CONFIGMAP_KEY]: pem },
      };
      if (existing === null) {
        await configMaps.create(namespace, body);
        logger.info({ namespace, configMap: ROOT_CONFIGMAP_NAME }, 'root ConfigMap created');
      } else if (existing.data?.[ROOT_CONFIGMAP_KEY] !== pem) {
        await configMaps.replace(namespace, ROOT_CONFIGMAP_NAME, body);
        logger.info({ namespace, configMap: ROOT_CONFIGMAP_NAME }, 'root ConfigMap updated');
      }
      this.written.set(namespace, pem);
      this.retries.delete(namespace);
      this.status.set(namespace, { namespace, state: 'current', error: null, updatedAt: new Date().toISOString() });
    } catch (err) {
      // A 409 (someone else created or changed it meanwhile) just needs another read; everything else backs off.
      const delay = Math.min(60_000, prev ? prev.delay * 2 : (this.o.retryMs ?? 1000));
      const error = errorText(err);
      this.status.set(namespace, { namespace, state: 'failed', error, updatedAt: this.status.get(namespace)?.updatedAt ?? null });
      logger.warn({ namespace, configMap: ROOT_CONFIGMAP_NAME, error, retryInMs: delay }, 'root ConfigMap write failed; retrying');
      const timer = setTimeout(() => {
        this.written.delete(namespace);
        this.kick();
      }, delay);
      timer.unref();
      this.retries.set(namespace, { timer, delay });
    }
  }
}
