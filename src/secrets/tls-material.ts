// Resolves a TLS context's certificate, trusted CAs and SAN matchers from its static fields and its SDS secrets.
import type { SubjectAltNameMatcher, TlsCertificate, TlsSdsRefs } from '../model/types.ts';
import type { SecretStore } from './secret-store.ts';

/** What one handshake uses. */
export interface TlsMaterial {
  readonly certificate: TlsCertificate | null;
  readonly trustedCa: string | null;
  readonly sans: readonly SubjectAltNameMatcher[];
  /** Changes whenever a secret used here changes ("static" without SDS); caches of secure contexts key on it. */
  readonly key: string;
}

export type MaterialResult = { readonly ok: true; readonly material: TlsMaterial } | { readonly ok: false; readonly reason: string };

/** The static parts of a TLS context, as both DownstreamTlsConfig and UpstreamTlsConfig carry them. */
export interface TlsStaticParts {
  readonly certificate: TlsCertificate | null;
  readonly trustedCa: string | null;
  readonly sans: readonly SubjectAltNameMatcher[];
  readonly sds?: TlsSdsRefs | null;
}

/**
 * Looks the context's SDS secrets up in `store`. A referenced secret that is absent (or of the wrong kind) fails,
 * naming it: Envoy would keep such a listener or cluster warming; we refuse the handshake instead.
 */
export function resolveTlsMaterial(parts: TlsStaticParts, store: SecretStore | null): MaterialResult {
  const sds = parts.sds;
  if (!sds) return { ok: true, material: { certificate: parts.certificate, trustedCa: parts.trustedCa, sans: parts.sans, key: 'static' } };
  const key: string[] = [];
  let certificate = parts.certificate;
  if (sds.certificates.length > 0 && certificate === null) {
    for (const ref of sds.certificates) {
      const e = store?.get(ref.name);
      if (e?.tlsCertificate) { certificate = e.tlsCertificate; key.push(`${ref.name}@${e.generation}`); break; }
    }
    if (certificate === null) return { ok: false, reason: `secret ${sds.certificates.map((r) => JSON.stringify(r.name)).join(', ')} (certificate) is not available yet` };
  }
  let trustedCa = parts.trustedCa;
  let sans = parts.sans;
  if (sds.validation) {
    const e = store?.get(sds.validation.name);
    if (!e?.validationContext) return { ok: false, reason: `secret ${JSON.stringify(sds.validation.name)} (validation context) is not available yet` };
    trustedCa = e.validationContext.trustedCa;
    if (e.validationContext.subjectAltNameMatchers.length > 0) sans = [...sans, ...e.validationContext.subjectAltNameMatchers];
    key.push(`${sds.validation.name}@${e.generation}`);
  }
  return { ok: true, material: { certificate, trustedCa, sans, key: key.join(',') || 'static' } };
}
