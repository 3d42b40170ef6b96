// Reads the API server's version (GET /version) so the injection webhook can tell whether native sidecars are supported.
import { VersionApi, type KubeConfig } from '@kubernetes/client-node';

export interface KubeVersion {
  readonly major: number;
  readonly minor: number;
  /** As the server reports it, e.g. "v1.28.9-gke.1000"; for logs. */
  readonly gitVersion: string;
}

/**
 * major/minor as the server reports them; managed clusters append a "+" ("29+"), some leave them empty, so gitVersion
 * ("v1.29.3-eks-…") is the fallback. Null when neither says which version it is.
 */
export function parseKubeVersion(info: { major?: string; minor?: string; gitVersion?: string }): KubeVersion | null {
  const gitVersion = info.gitVersion ?? '';
  const major = Number.parseInt(info.major ?? '', 10);
  const minor = Number.parseInt(info.minor ?? '', 10);
  if (Number.isInteger(major) && Number.isInteger(minor)) return { major, minor, gitVersion };
  const m = /^v?(\d+)\.(\d+)/.exec(gitVersion);
  return m ? { major: Number(m[1]), minor: Number(m[2]), gitVersion } : null;
}

/** GET /version with the kubeconfig's credentials (readable by every authenticated client: system:public-info-viewer). */
export async function kubeServerVersion(kc: KubeConfig): Promise<KubeVersion> {
  const info = await kc.makeApiClient(VersionApi).getCode();
  const v = parseKubeVersion(info);
  if (v === null) throw new Error(`the API server's /version names no version: ${JSON.stringify(info).slice(0, 200)}`);
  return v;
}

/** Native sidecars (init containers with restartPolicy: Always) are on by default from Kubernetes 1.29. */
export function supportsNativeSidecars(v: KubeVersion): boolean {
  return v.major > 1 || (v.major === 1 && v.minor >= 29);
}
