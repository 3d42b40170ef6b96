// Chooses the webhook's lifecycle mode from the API server's version: native sidecars from Kubernetes 1.29, else a regular first container.
import type { Logger } from 'pino';
import { supportsNativeSidecars, type KubeVersion } from '../kube/server-version.ts';

/**
 * Below 1.29 an init container with `restartPolicy: Always` (and probes) fails validation, so a native sidecar would
 * get every pod of a labelled namespace rejected. The version is read once at start; while it cannot be read the mode
 * is regular-container (valid on every version) and the read is retried with back-off (1 s doubling to 60 s).
 */
export class NativeSidecarMode {
  /** The mode injected now. */
  native = false;
  version: KubeVersion | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly detect: () => Promise<KubeVersion>;
  private readonly logger: Logger;
  private readonly retryMs: number;

  constructor(detect: () => Promise<KubeVersion>, logger: Logger, retryMs = 1000) {
    this.detect = detect;
    this.logger = logger;
    this.retryMs = retryMs;
  }

  /** Resolves after the first attempt (successful or not); a failed one keeps retrying in the background. */
  async start(): Promise<void> {
    await this.attempt(this.retryMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async attempt(nextDelayMs: number): Promise<void> {
    let deadline: NodeJS.Timeout | undefined;
    try {
      // A hanging API server must not hold up the control plane's start: after 10 s this attempt counts as failed.
      const v = await Promise.race([
        this.detect(),
        new Promise<never>((_, reject) => { deadline = setTimeout(() => reject(new Error('no answer from GET /version within 10s')), 10_000); }),
      ]);
      if (this.stopped) return;
      this.version = v;
      this.native = supportsNativeSidecars(v);
      if (this.native) this.logger.info({ kubernetes: v.gitVersion }, 'injection webhook: native sidecars (Kubernetes >= 1.29)');
      else {
        this.logger.warn({ kubernetes: v.gitVersion },
          `injection webhook: Kubernetes ${v.major}.${v.minor} has no native sidecars (1.29+); injecting the proxy as a regular first container with lifecycle hooks (--inject-native-sidecar overrides)`);
      }
    } catch (err) {
      if (this.stopped) return;
      this.logger.warn({ err: (err as Error).message, retryInMs: nextDelayMs },
        'injection webhook: cannot read the Kubernetes version; injecting regular-container sidecars (valid on every version) until it can be read (--inject-native-sidecar overrides)');
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.attempt(Math.min(nextDelayMs * 2, 60_000));
      }, nextDelayMs);
      this.timer.unref();
    } finally {
      clearTimeout(deadline);
    }
  }
}
