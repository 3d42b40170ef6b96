// Compiles an HCM's http_filters and per-route filter configs: known filters (src/http/filters/registry.ts) validated, optional unknown ones skipped.
import { EMPTY_CONFIG } from './fields-listener.ts';
import { HTTP_FILTER } from './fields-hcm.ts';
import { Msg, describe, isPlainObject, type MessageTable } from './proto-message.ts';
import { TYPE_URL_PREFIX, anyBody, messageNameOf, typeUrlOf } from './typed-config.ts';
import type { HttpFilterConfig } from './types.ts';
import {
  FILTER_CONFIG_MESSAGE,
  HTTP_FILTER_FACTORIES,
  checkHttpFilterConfig,
  findHttpFilterFactory,
} from '../http/filters/registry.ts';
import { ROUTER_FILTER_NAME } from '../http/filters/router-filter.ts';

export { ROUTER_FILTER_NAME };

/** An HTTP filter the proxy implements (derived from the filter registry). */
export interface KnownHttpFilter {
  /** Proto message of the typed_config. */
  readonly message: string;
  /** Well-known filter names, used when typed_config is absent. */
  readonly names: readonly string[];
  readonly table: MessageTable;
  /** Terminal filters must be last (the router). */
  readonly terminal: boolean;
}

export const KNOWN_HTTP_FILTERS: readonly KnownHttpFilter[] = HTTP_FILTER_FACTORIES.map((f) => ({
  message: f.message, names: f.names, table: f.table, terminal: f.terminal,
}));

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
    const known = findHttpFilterFactory(name, url);
    if (!known) {
      const what = `HTTP filter ${name}${url ? ` (${url})` : ''}`;
      if (isOptional) f.ctx.warn(f.path, `unsupported optional ${what} is skipped`);
      else f.ctx.error(f.path, `unsupported ${what}`);
      return;
    }
    // typed_config without "@type" (old router examples) must be empty; otherwise the filter validates its fields.
    if (typed !== undefined && url === null) Msg.open(f.ctx, f.at('typed_config'), typed, EMPTY_CONFIG);
    else checkHttpFilterConfig(f.ctx, f.at('typed_config'), known, typed ?? {}, false);
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

const FILTER_CONFIG: MessageTable = {
  message: FILTER_CONFIG_MESSAGE,
  fields: { config: 'ok', is_optional: 'ok', disabled: 'ok' },
};

/**
 * Validates a route's or virtual host's typed_per_filter_config: entries whose "@type" is a filter we implement (directly
 * or inside an envoy.config.route.v3.FilterConfig) are checked as per-route configs; other entries are kept as given.
 */
export function validateTypedPerFilterConfig(m: Msg): void {
  const base = m.at('typed_per_filter_config');
  for (const [name, value] of Object.entries(m.map('typed_per_filter_config'))) {
    const path = `${base}.${name}`;
    if (!isPlainObject(value)) {
      m.ctx.error(path, `expected an object (google.protobuf.Any), got ${describe(value)}`);
      continue;
    }
    const url = typeUrlOf(value);
    if (url === null) continue;
    if (messageNameOf(url) === FILTER_CONFIG_MESSAGE) {
      const w = Msg.open(m.ctx, path, value, FILTER_CONFIG);
      const inner = w?.get('config');
      const innerUrl = typeUrlOf(inner);
      const factory = innerUrl === null ? undefined : findHttpFilterFactory(name, innerUrl);
      if (w && factory) checkHttpFilterConfig(m.ctx, w.at('config'), factory, inner, true);
      continue;
    }
    const factory = findHttpFilterFactory(name, url);
    if (factory) checkHttpFilterConfig(m.ctx, path, factory, value, true);
  }
}
