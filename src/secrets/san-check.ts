// Matches a peer certificate's subject alternative names against typed SAN matchers (match_typed_subject_alt_names).
import type { PeerCertificate } from 'node:tls';
import { matchString } from '../matching/string-matcher.ts';
import type { SubjectAltNameMatcher } from '../model/types.ts';

const PREFIX: Readonly<Record<Exclude<SubjectAltNameMatcher['sanType'], 'ANY'>, string>> = {
  DNS: 'DNS:',
  URI: 'URI:',
  EMAIL: 'email:',
  IP_ADDRESS: 'IP Address:',
};

/** SAN entries of a certificate as Node formats them ("DNS:a", "URI:spiffe://x", "IP Address:1.2.3.4"). */
export function sanEntries(subjectaltname: string | undefined): string[] {
  return subjectaltname ? subjectaltname.split(', ') : [];
}

/** Values of one SAN type ("URI:" → the URIs). */
export function sansOfType(subjectaltname: string | undefined, prefix: string): string[] {
  return sanEntries(subjectaltname).filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length));
}

function candidates(entries: readonly string[], type: SubjectAltNameMatcher['sanType']): string[] {
  if (type === 'ANY') return entries.map((e) => e.slice(e.indexOf(':') + 1));
  const p = PREFIX[type];
  return entries.filter((e) => e.startsWith(p)).map((e) => e.slice(p.length));
}

/** null when no matchers are configured or one matches; otherwise why not (naming the SANs the certificate has). */
export function sanMismatch(matchers: readonly SubjectAltNameMatcher[], cert: Pick<PeerCertificate, 'subjectaltname'>): string | null {
  if (matchers.length === 0) return null;
  const entries = sanEntries(cert.subjectaltname);
  if (matchers.some((m) => candidates(entries, m.sanType).some((v) => matchString(m.matcher, v)))) return null;
  const have = entries.length > 0 ? entries.join(', ') : 'none';
  return `SAN mismatch: certificate SANs [${have}] match none of match_typed_subject_alt_names`;
}
