// The certificate-authority flags of `pilotfish control-plane`: parsing, cross-checks, usage text, and their CaOptions.
import type { CaOptions } from './start-ca.ts';
import { trustDomainError } from './spiffe.ts';

export interface CaArgs {
  disabled?: true;
  dir?: string;
  caCert?: string;
  caKey?: string;
  extraRoots?: string[];
  trustDomain?: string;
  certMaxTtlSeconds?: number;
  tokenFile?: string;
  k8sApiServer?: string;
  k8sTokenFile?: string;
  k8sCaFile?: string;
  tokenAudiences?: string[];
}

export const CA_USAGE = `Certificate authority (pilotfish.ca.v1.CertificateService, served with ADS on --xds-address and --secure-xds-address):
      --no-ca               do not run the certificate authority
      --trust-domain NAME   SPIFFE trust domain (default cluster.local)
      --ca-dir DIR          state of the self-generated root, created on first start (default ~/.pilotfish/ca)
      --ca-cert FILE        operator-supplied CA certificate (optionally followed by its chain), with --ca-key
      --ca-key FILE         the operator-supplied CA's RSA private key (PEM)
      --ca-extra-root FILE  also trust the roots in FILE (repeatable), e.g. the previous root during a rotation
      --cert-max-ttl DUR    longest workload certificate lifetime: 24h (default), 90m, 3600s or seconds
      --token-file FILE     local credentials: token -> {namespace, serviceAccount} (default <ca-dir>/tokens.yaml,
                            written with a token per Service of the inputs when missing)
      --k8s-api-server URL  check tokens with the Kubernetes TokenReview API instead (e.g. https://kubernetes.default.svc)
      --k8s-token-file FILE the control plane's own service-account token (default the in-cluster one)
      --k8s-ca-file FILE    CA bundle of the API server (default the in-cluster one)
      --token-audience AUD  audience the workloads' tokens must carry (repeatable; default the API server's)
`;

/** Seconds from "24h", "90m", "3600s", "1h30m" or a plain number of seconds; null when malformed or zero. */
export function parseDuration(v: string): number | null {
  if (/^\d+$/.test(v)) return Number(v) > 0 ? Number(v) : null;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v);
  if (!m || v === '') return null;
  const s = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return s > 0 ? s : null;
}

/** Applies one CA flag to `into`: false when `flag` is not a CA flag, true when applied, else the error. */
export function parseCaFlag(flag: string, take: () => string | null, into: CaArgs): boolean | string {
  const value = (): string | null => {
    const v = take();
    return v === null || v === '' ? null : v;
  };
  const files: Record<string, 'dir' | 'caCert' | 'caKey' | 'tokenFile' | 'k8sTokenFile' | 'k8sCaFile'> = {
    '--ca-dir': 'dir', '--ca-cert': 'caCert', '--ca-key': 'caKey', '--token-file': 'tokenFile', '--k8s-token-file': 'k8sTokenFile', '--k8s-ca-file': 'k8sCaFile',
  };
  if (flag === '--no-ca') {
    into.disabled = true;
    return true;
  }
  if (flag in files) {
    const v = value();
    if (v === null) return `${flag} needs a path`;
    into[files[flag]] = v;
    return true;
  }
  switch (flag) {
    case '--ca-extra-root':
    case '--token-audience': {
      const v = value();
      if (v === null) return `${flag} needs a value`;
      if (flag === '--ca-extra-root') (into.extraRoots ??= []).push(v);
      else (into.tokenAudiences ??= []).push(v);
      return true;
    }
    case '--trust-domain': {
      const v = take() ?? '';
      const err = trustDomainError(v);
      if (err) return `--trust-domain: ${err}`;
      into.trustDomain = v;
      return true;
    }
    case '--cert-max-ttl': {
      const v = take() ?? '';
      const s = parseDuration(v);
      if (s === null) return `--cert-max-ttl expects a duration like 24h, 90m or 3600s, got "${v}"`;
      into.certMaxTtlSeconds = s;
      return true;
    }
    case '--k8s-api-server': {
      const v = take() ?? '';
      if (!/^https?:\/\/[^\s/]+/.test(v)) return `--k8s-api-server expects an http(s) URL, got "${v}"`;
      into.k8sApiServer = v;
      return true;
    }
    default:
      return false;
  }
}

/** Cross-flag problems, or null. */
export function caArgsError(a: CaArgs): string | null {
  if (a.disabled && Object.keys(a).length > 1) return '--no-ca cannot be combined with other certificate-authority flags';
  if (!a.caCert !== !a.caKey) return '--ca-cert and --ca-key go together';
  if (a.tokenFile && a.k8sApiServer) return '--token-file and --k8s-api-server are alternatives; pass one';
  if (!a.k8sApiServer && (a.k8sTokenFile || a.k8sCaFile || a.tokenAudiences)) return '--k8s-token-file, --k8s-ca-file and --token-audience need --k8s-api-server';
  return null;
}

/** The CA options for startControlPlane (null with --no-ca). */
export function caOptionsFromArgs(a: CaArgs = {}): CaOptions | null {
  if (a.disabled) return null;
  return {
    trustDomain: a.trustDomain,
    dir: a.dir,
    caCertFile: a.caCert,
    caKeyFile: a.caKey,
    extraRootFiles: a.extraRoots,
    maxTtlSeconds: a.certMaxTtlSeconds,
    tokenFile: a.tokenFile,
    kubernetes: a.k8sApiServer ? { apiServer: a.k8sApiServer, tokenFile: a.k8sTokenFile, caFile: a.k8sCaFile, audiences: a.tokenAudiences } : undefined,
  };
}
