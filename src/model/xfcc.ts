// Compiles the HTTP connection manager's x-forwarded-client-cert settings (forward_client_cert_details, set_current_client_cert_details).
import type { MessageTable, Msg } from './proto-message.ts';
import type { ForwardClientCertConfig } from './types.ts';

const MODES = ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'] as const;

export const SET_CURRENT_CLIENT_CERT_DETAILS: MessageTable = {
  message: 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.SetCurrentClientCertDetails',
  fields: { subject: 'ok', cert: 'ok', chain: 'ok', dns: 'ok', uri: 'ok' },
};

/** `{ forwardClientCert }` when either field is set; {} for Envoy's default (SANITIZE: the header is removed). */
export function compileForwardClientCert(h: Msg): { forwardClientCert?: ForwardClientCertConfig } {
  const mode = h.enumOf('forward_client_cert_details', MODES, 'SANITIZE');
  const d = h.msg('set_current_client_cert_details', SET_CURRENT_CLIENT_CERT_DETAILS);
  const details: ForwardClientCertConfig['details'][number][] = [];
  if (d?.bool('subject', false)) details.push('Subject');
  if (d?.bool('uri', false)) details.push('URI');
  if (d?.bool('cert', false)) details.push('Cert');
  if (d?.bool('chain', false)) details.push('Chain');
  if (d?.bool('dns', false)) details.push('DNS');
  if (details.length > 0 && mode !== 'APPEND_FORWARD' && mode !== 'SANITIZE_SET') {
    h.ctx.warn(h.at('set_current_client_cert_details'), `has no effect unless forward_client_cert_details is APPEND_FORWARD or SANITIZE_SET (it is ${mode})`);
  }
  return mode === 'SANITIZE' && details.length === 0 ? {} : { forwardClientCert: { mode, details } };
}
