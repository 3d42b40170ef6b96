// Compiles Secret resources (bootstrap static_resources.secrets and SDS): a tls_certificate or a validation_context.
import { CompileContext, type DataSourceReader, resourceLabel } from './compile-context.ts';
import { finish, rawString } from './compile-resources.ts';
import { readDataSource } from './data-source.ts';
import { CERTIFICATE_VALIDATION_CONTEXT, GENERIC_SECRET, SECRET, TLS_CERTIFICATE } from './fields-common.ts';
import { Msg } from './proto-message.ts';
import { compileCertificate, compileSans } from './tls.ts';
import type { ClusterConfig, CompileResult, FilterChain, ListenerConfig, SecretConfig, SecretValidationContext, TlsSdsRefs } from './types.ts';

/** One Secret message; errors go to `ctx`. */
export function compileSecretValue(ctx: CompileContext, json: unknown): SecretConfig | null {
  const s = Msg.open(ctx, '', json, SECRET);
  if (!s) return null;
  const name = s.str('name');
  if (name === '') s.error('name', 'is required');
  const kind = s.oneOf(['tls_certificate', 'validation_context', 'generic_secret'], true);
  const before = ctx.errors.length;
  const c = kind === 'tls_certificate' ? s.msg('tls_certificate', TLS_CERTIFICATE) : null;
  const tlsCertificate = c ? compileCertificate(c) : null;
  let validationContext: SecretValidationContext | null = null;
  const v = kind === 'validation_context' ? s.msg('validation_context', CERTIFICATE_VALIDATION_CONTEXT) : null;
  if (v) {
    if (!v.has('trusted_ca')) v.error('trusted_ca', 'is required in a validation_context secret');
    const trustedCa = readDataSource(v.ctx, v.at('trusted_ca'), v.get('trusted_ca'));
    const subjectAltNameMatchers = compileSans(v);
    if (trustedCa !== null) validationContext = { trustedCa, subjectAltNameMatchers };
  }
  let genericSecret: string | null = null;
  const g = kind === 'generic_secret' ? s.msg('generic_secret', GENERIC_SECRET) : null;
  if (g) {
    if (!g.has('secret')) g.error('secret', 'is required in a generic_secret');
    else genericSecret = readDataSource(g.ctx, g.at('secret'), g.get('secret'));
    if (genericSecret === '') g.error('secret', 'is empty');
  }
  if (ctx.errors.length > before || name === '') return null;
  return { name, tlsCertificate, validationContext, ...(genericSecret !== null ? { genericSecret } : {}) };
}

/** An SDS Secret resource as a standalone CompileResult. */
export function compileSecret(json: unknown, io: DataSourceReader): CompileResult<SecretConfig> {
  const ctx = new CompileContext(resourceLabel('secret', rawString(json, 'name')), io);
  return finish(ctx, compileSecretValue(ctx, json));
}

/** Names of the secrets a TLS context takes from static_resources.secrets (SdsSecretConfig without sds_config). */
function staticNames(sds: TlsSdsRefs | null | undefined): string[] {
  if (!sds) return [];
  return [...sds.certificates, ...(sds.validation ? [sds.validation] : [])].filter((r) => r.source === 'static').map((r) => r.name);
}

const OAUTH2_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.oauth2.v3.OAuth2';

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Static generic secrets (token_secret / hmac_secret without sds_config) an OAuth2 filter of the chain names. */
function oauth2StaticNames(fc: FilterChain): { path: string; name: string }[] {
  if (fc.network.kind !== 'http') return [];
  const out: { path: string; name: string }[] = [];
  fc.network.httpFilters.forEach((f, i) => {
    if (f.typeUrl !== OAUTH2_TYPE) return;
    const creds = isRecord(f.config.config) ? f.config.config.credentials : undefined;
    if (!isRecord(creds)) return;
    for (const field of ['token_secret', 'hmac_secret']) {
      const ref = creds[field];
      if (isRecord(ref) && ref.sds_config === undefined && typeof ref.name === 'string' && ref.name !== '') {
        out.push({ path: `http_filters[${i}].typed_config.config.credentials.${field}`, name: ref.name });
      }
    }
  });
  return out;
}

/**
 * Envoy's "Unknown static secret": a bootstrap listener or cluster names a static secret the bootstrap does not have,
 * or (OAuth2 token_secret / hmac_secret) one that is not a generic_secret.
 */
export function checkStaticSecretRefs(
  ctx: CompileContext,
  listeners: readonly { readonly value: ListenerConfig | null; readonly path: string }[],
  clusters: readonly { readonly value: ClusterConfig | null; readonly path: string }[],
  known: ReadonlySet<string>,
  generic: ReadonlySet<string> = new Set(),
): void {
  const report = (path: string, names: readonly string[]): void => {
    for (const n of names) if (!known.has(n)) ctx.error(path, `unknown static secret ${JSON.stringify(n)} (no sds_config, and static_resources.secrets has no such secret)`);
  };
  const reportGeneric = (path: string, fc: FilterChain): void => {
    for (const r of oauth2StaticNames(fc)) {
      if (!known.has(r.name)) ctx.error(`${path}.${r.path}`, `unknown static secret ${JSON.stringify(r.name)} (no sds_config, and static_resources.secrets has no such secret)`);
      else if (!generic.has(r.name)) ctx.error(`${path}.${r.path}`, `static secret ${JSON.stringify(r.name)} is not a generic_secret`);
    }
  };
  for (const l of listeners) {
    l.value?.filterChains.forEach((fc, i) => report(`${l.path}.filter_chains[${i}].transport_socket`, staticNames(fc.tls?.sds)));
    l.value?.filterChains.forEach((fc, i) => reportGeneric(`${l.path}.filter_chains[${i}].filters`, fc));
    if (l.value?.defaultFilterChain) reportGeneric(`${l.path}.default_filter_chain.filters`, l.value.defaultFilterChain);
    const d = l.value?.defaultFilterChain;
    if (d) report(`${l.path}.default_filter_chain.transport_socket`, staticNames(d.tls?.sds));
  }
  for (const c of clusters) report(`${c.path}.transport_socket`, staticNames(c.value?.tls?.sds));
}
