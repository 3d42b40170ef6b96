// Compiles an HCM's http_filters: known filters by type URL, optional unknown ones skipped, router required last.
import { EMPTY_CONFIG } from './fields-listener.ts';
import { HTTP_FILTER, ROUTER } from './fields-hcm.ts';
import { Msg, type MessageTable } from './proto-message.ts';
import { TYPE_URL_PREFIX, anyBody, messageNameOf, typeUrlOf } from './typed-config.ts';
import type { HttpFilterConfig } from './types.ts';

/** An HTTP filter the proxy implements. Add an entry here when a new filter lands (its config table validates fields). */
export interface KnownHttpFilter {
  /** Proto message of the typed_config. */
  readonly message: string;
  /** Well-known filter names, used when typed_config is absent. */
  readonly names: readonly string[];
  readonly table: MessageTable;
  /** Terminal filters must be last (the router). */
  readonly terminal: boolean;
}

export const ROUTER_FILTER_NAME = 'envoy.filters.http.router';

export const KNOWN_HTTP_FILTERS: readonly KnownHttpFilter[] = [
  { message: ROUTER.message, names: [ROUTER_FILTER_NAME, 'envoy.router'], table: ROUTER, terminal: true },
];

function lookup(name: string, typeUrl: string | null): KnownHttpFilter | undefined {
  if (typeUrl !== null) {
    const message = messageNameOf(typeUrl);
    return KNOWN_HTTP_FILTERS.find((f) => f.message === message);
  }
  return KNOWN_HTTP_FILTERS.find((f) => f.names.includes(name));
}

export function compileHttpFilters(hcm: Msg): HttpFilterConfig[] {
  const out: HttpFilterConfig[] = [];
  const items = hcm.list('http_filters');
  let sawTerminal = false;
  items.forEach((item, i) => {
    const f = Msg.open(hcm.ctx, item.path, item.value, HTTP_FILTER);
    if (!f) return;
    const name = f.requiredStr('name');
    const typed = f.get('typed_config');
    const url = typeUrlOf(typed);
    const isOptional = f.bool('is_optional', false);
    const disabled = f.bool('disabled', false);
    const known = lookup(name, url);
    if (!known) {
      const what = `HTTP filter ${name}${url ? ` (${url})` : ''}`;
      if (isOptional) f.ctx.warn(f.path, `unsupported optional ${what} is skipped`);
      else f.ctx.error(f.path, `unsupported ${what}`);
      return;
    }
    if (typed !== undefined) Msg.open(f.ctx, f.at('typed_config'), typed, url === null ? EMPTY_CONFIG : known.table);
    if (known.terminal) {
      sawTerminal = true;
      if (i !== items.length - 1) f.ctx.error(f.path, `${name} is a terminal filter and must be the last HTTP filter`);
      if (disabled) f.error('disabled', `${name} cannot be disabled`);
    }
    out.push({ name, typeUrl: url ?? TYPE_URL_PREFIX + known.message, config: anyBody(typed), isOptional, disabled });
  });
  if (!sawTerminal) {
    hcm.error('http_filters', `the router filter (${ROUTER_FILTER_NAME}) is required as the last HTTP filter`);
  }
  return out;
}
