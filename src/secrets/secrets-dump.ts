// Admin views of the secrets: Envoy's SecretsConfigDump (private keys redacted, with each certificate's serial, identity and expiry) and /certs.
import type { Snapshot, TlsCertificate } from '../model/types.ts';
import { chainInfo, type CertificateInfo } from './cert-info.ts';
import type { SecretEntry } from './secret-store.ts';

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
const SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
const DAY_MS = 86_400_000;

type Json = Record<string, unknown>;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The Secret resource as Envoy dumps it: certificates inline, the private key "[redacted]". */
function secretJson(e: SecretEntry): Json {
  const out: Json = { '@type': SECRET_TYPE, name: e.name };
  if (e.tlsCertificate) {
    out.tls_certificate = { certificate_chain: { inline_string: e.tlsCertificate.certificateChain }, private_key: { inline_string: '[redacted]' } };
  }
  if (e.validationContext) out.validation_context = { trusted_ca: { inline_string: e.validationContext.trustedCa } };
  if (e.genericSecret != null) out.generic_secret = { secret: { inline_string: '[redacted]' } };
  return out;
}

/** Serial, SPIFFE identity and validity of a certificate (Pilotfish's addition to each dumped secret). */
function certSummary(c: CertificateInfo, now: number): Json {
  return {
    serial_number: c.serialNumber,
    identity: c.spiffeId ?? c.uriSans[0] ?? c.subject,
    valid_from: iso(c.notBefore),
    expiration_time: iso(c.notAfter),
    seconds_until_expiration: Math.max(0, Math.floor((c.notAfter - now) / 1000)),
  };
}

/** The SecretsConfigDump section of /config_dump: static_secrets and dynamic_active_secrets (identity agent and SDS). */
export function secretsConfigDump(entries: readonly SecretEntry[], now = Date.now()): Json {
  const statics: Json[] = [];
  const dynamic: Json[] = [];
  for (const e of [...entries].sort((a, b) => a.name.localeCompare(b.name))) {
    const item: Json = { name: e.name, last_updated: iso(e.lastUpdated), secret: secretJson(e) };
    if (e.tlsCertificate) {
      const leaf = chainInfo(e.tlsCertificate.certificateChain)[0];
      if (leaf) item.certificate = certSummary(leaf, now);
    }
    if (e.validationContext) item.trusted_cas = chainInfo(e.validationContext.trustedCa).map((c) => certSummary(c, now));
    if (e.source === 'static') statics.push(item);
    else dynamic.push({ name: e.name, version_info: e.versionInfo, ...item, source: e.source === 'identity' ? 'identity_agent' : 'sds' });
  }
  const out: Json = { '@type': `${ADMIN}SecretsConfigDump` };
  if (statics.length > 0) out.static_secrets = statics;
  if (dynamic.length > 0) out.dynamic_active_secrets = dynamic;
  return out;
}

/** Envoy's CertificateDetails. */
function details(c: CertificateInfo, path: string, now: number): Json {
  return {
    path,
    serial_number: c.serialNumber,
    subject_alt_names: [...c.uriSans.map((uri) => ({ uri })), ...c.dnsSans.map((dns) => ({ dns }))],
    days_until_expiration: String(Math.max(0, Math.floor((c.notAfter - now) / DAY_MS))),
    valid_from: iso(c.notBefore),
    expiration_time: iso(c.notAfter),
  };
}

/** Inline/file certificates of the snapshot's TLS contexts (not SDS), deduplicated. */
function configCertificates(snapshot: Snapshot | null): { cert: TlsCertificate | null; ca: string | null }[] {
  const out = new Map<string, { cert: TlsCertificate | null; ca: string | null }>();
  const add = (cert: TlsCertificate | null, ca: string | null): void => {
    if (cert !== null || ca !== null) out.set(`${cert?.certificateChain ?? ''}\u0000${ca ?? ''}`, { cert, ca });
  };
  for (const l of snapshot?.listeners ?? []) {
    for (const fc of [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]) {
      if (fc.tls) add(fc.tls.certificates[0] ?? null, fc.tls.trustedCa);
    }
  }
  for (const c of snapshot?.clusters.values() ?? []) if (c.tls) add(c.tls.certificate, c.tls.trustedCa);
  return [...out.values()];
}

/** GET /certs: {certificates: [{ca_cert: [...], cert_chain: [...]}]} for the workload identity, each secret and each inline context. */
export function certsPage(entries: readonly SecretEntry[], snapshot: Snapshot | null, now = Date.now()): { certificates: Json[] } {
  const certificates: Json[] = [];
  const byName = new Map(entries.map((e) => [e.name, e]));
  const workload = byName.get('default');
  const root = byName.get('ROOTCA');
  const used = new Set<string>();
  if (workload?.tlsCertificate) {
    used.add('default');
    if (root?.validationContext) used.add('ROOTCA');
    certificates.push({
      ca_cert: chainInfo(root?.validationContext?.trustedCa ?? '').map((c) => details(c, 'secret:ROOTCA', now)),
      cert_chain: chainInfo(workload.tlsCertificate.certificateChain).map((c) => details(c, 'secret:default', now)),
    });
  }
  for (const e of entries) {
    if (used.has(e.name)) continue;
    certificates.push({
      ca_cert: chainInfo(e.validationContext?.trustedCa ?? '').map((c) => details(c, `secret:${e.name}`, now)),
      cert_chain: chainInfo(e.tlsCertificate?.certificateChain ?? '').map((c) => details(c, `secret:${e.name}`, now)),
    });
  }
  for (const { cert, ca } of configCertificates(snapshot)) {
    certificates.push({
      ca_cert: chainInfo(ca ?? '').map((c) => details(c, '<inline>', now)),
      cert_chain: chainInfo(cert?.certificateChain ?? '').map((c) => details(c, '<inline>', now)),
    });
  }
  return { certificates };
}
