// Compiles request/response_headers_to_add/remove (HeaderValueOption lists) at route config, vhost, route and cluster-weight level.
import { HEADER_VALUE, HEADER_VALUE_OPTION } from './fields-route.ts';
import type { Msg } from './proto-message.ts';
import type { HeaderMutations, HeaderValueOption } from './types.ts';

const APPEND_ACTIONS = ['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'] as const;

/** A %COMMAND% or %COMMAND(arg)% substitution (a literal percent is written "%%"). */
const SUBSTITUTION = /%[A-Z][A-Z0-9_]*(\([^)]*\))?(:\d+)?%/;

export const NO_HEADER_MUTATIONS: HeaderMutations = {
  requestHeadersToAdd: [],
  requestHeadersToRemove: [],
  responseHeadersToAdd: [],
  responseHeadersToRemove: [],
};

function compileHeaderValueOption(o: Msg): HeaderValueOption | null {
  if (!o.has('header')) {
    o.error('header', 'is required');
    return null;
  }
  const h = o.msg('header', HEADER_VALUE);
  if (!h) return null;
  const key = h.requiredStr('key').toLowerCase();
  if (key === '') return null;
  if (key.startsWith(':')) {
    h.error('key', `pseudo-header ${key} cannot be added`);
    return null;
  }
  const which = h.oneOf(['value', 'raw_value'], false);
  let value = h.str('value');
  if (which === 'raw_value') {
    const raw = h.str('raw_value');
    value = Buffer.from(raw, 'base64').toString('latin1');
  }
  if (o.has('append') && o.has('append_action')) {
    o.error('append_action', 'append and append_action cannot both be set');
  }
  let appendAction: HeaderValueOption['appendAction'] = 'APPEND_IF_EXISTS_OR_ADD';
  if (o.has('append')) {
    appendAction = o.bool('append', true) ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD';
  } else {
    appendAction = o.enumOf('append_action', APPEND_ACTIONS, 'APPEND_IF_EXISTS_OR_ADD');
  }
  return { key, value, dynamic: SUBSTITUTION.test(value), appendAction, keepEmptyValue: o.bool('keep_empty_value', false) };
}

/** The HeaderValueOption list `name` of `m` (also used for health check headers and gRPC metadata). */
export function compileAdds(m: Msg, name: string): HeaderValueOption[] {
  const out: HeaderValueOption[] = [];
  for (const o of m.msgList(name, HEADER_VALUE_OPTION)) {
    const c = compileHeaderValueOption(o);
    if (c) out.push(c);
  }
  return out;
}

function compileRemoves(m: Msg, name: string): string[] {
  const out: string[] = [];
  m.strList(name).forEach((raw, i) => {
    const key = raw.toLowerCase();
    if (key === '' || key.startsWith(':') || key === 'host') {
      m.ctx.error(`${m.at(name)}[${i}]`, `${JSON.stringify(raw)} cannot be removed`);
    } else {
      out.push(key);
    }
  });
  return out;
}

const MUTATION_FIELDS = ['request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove'];

/** The four *_headers_to_add/remove fields of `m`. */
export function compileHeaderMutations(m: Msg): HeaderMutations {
  if (!MUTATION_FIELDS.some((f) => m.has(f))) {
    return NO_HEADER_MUTATIONS;
  }
  return {
    requestHeadersToAdd: compileAdds(m, 'request_headers_to_add'),
    requestHeadersToRemove: compileRemoves(m, 'request_headers_to_remove'),
    responseHeadersToAdd: compileAdds(m, 'response_headers_to_add'),
    responseHeadersToRemove: compileRemoves(m, 'response_headers_to_remove'),
  };
}
