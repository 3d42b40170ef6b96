// Applies request/response header additions and removals (Envoy HeaderValueOption semantics, %COMMAND% values).
import { hostname } from 'node:os';
import type { HeaderMutations, HeaderValueOption } from '../model/types.ts';
import type { DownstreamConnectionInfo, HeaderRecord, RequestHead } from './exchange.ts';

export interface HeaderFormatContext {
  readonly head: RequestHead;
  readonly connection: DownstreamConnectionInfo;
  readonly upstreamHost: string | null;
  readonly upstreamCluster: string | null;
  readonly startTime: number;
}

type Part = string | ((ctx: HeaderFormatContext) => string);
const compiled = new Map<string, Part[]>();
const HOST = hostname();

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function command(cmd: string): Part {
  const req = /^REQ\(([^)]+)\)$/.exec(cmd);
  if (req) {
    const name = req[1].toLowerCase();
    return (c) => {
      if (name === ':authority' || name === 'host') return c.head.authority;
      if (name === ':path') return c.head.path;
      if (name === ':method') return c.head.method;
      const v = c.head.headers[name];
      return v === undefined ? '' : Array.isArray(v) ? v.join(',') : v;
    };
  }
  switch (cmd) {
    case 'DOWNSTREAM_REMOTE_ADDRESS': return (c) => hostPort(c.connection.remoteAddress, c.connection.remotePort);
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT': return (c) => c.connection.remoteAddress;
    case 'DOWNSTREAM_LOCAL_ADDRESS': return (c) => hostPort(c.connection.localAddress, c.connection.localPort);
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT': return (c) => c.connection.localAddress;
    case 'DOWNSTREAM_LOCAL_PORT': return (c) => String(c.connection.localPort);
    case 'DOWNSTREAM_PEER_URI_SAN': return (c) => c.connection.peerUriSans.join(',');
    case 'REQUESTED_SERVER_NAME': return (c) => c.connection.serverName ?? '';
    case 'UPSTREAM_REMOTE_ADDRESS': return (c) => c.upstreamHost ?? '';
    case 'UPSTREAM_CLUSTER': return (c) => c.upstreamCluster ?? '';
    case 'HOSTNAME': return HOST;
    case 'PROTOCOL': return (c) => c.head.protocol;
    case 'START_TIME': return (c) => new Date(c.startTime).toISOString();
    default: return `%${cmd}%`; // unknown commands are left as written (the model rejects them where it can)
  }
}

function compile(value: string): Part[] {
  let parts = compiled.get(value);
  if (parts !== undefined) return parts;
  parts = [];
  const re = /%([A-Z_]+(?:\([^)]*\))?)%|%%/g;
  let last = 0;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    if (m.index > last) parts.push(value.slice(last, m.index));
    parts.push(m[0] === '%%' ? '%' : command(m[1]));
    last = re.lastIndex;
  }
  if (last < value.length) parts.push(value.slice(last));
  compiled.set(value, parts);
  return parts;
}

function format(opt: HeaderValueOption, ctx: HeaderFormatContext): string {
  if (!opt.dynamic) return opt.value;
  let out = '';
  for (const p of compile(opt.value)) out += typeof p === 'string' ? p : p(ctx);
  return out;
}

function apply(target: HeaderRecord, adds: readonly HeaderValueOption[], removes: readonly string[], ctx: HeaderFormatContext): void {
  for (const name of removes) delete target[name];
  for (const opt of adds) {
    const value = format(opt, ctx);
    if (value === '' && !opt.keepEmptyValue) continue;
    const existing = target[opt.key];
    switch (opt.appendAction) {
      case 'APPEND_IF_EXISTS_OR_ADD':
        if (existing === undefined) target[opt.key] = value;
        else target[opt.key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
        break;
      case 'ADD_IF_ABSENT':
        if (existing === undefined) target[opt.key] = value;
        break;
      case 'OVERWRITE_IF_EXISTS_OR_ADD':
        target[opt.key] = value;
        break;
      case 'OVERWRITE_IF_EXISTS':
        if (existing !== undefined) target[opt.key] = value;
        break;
    }
  }
}

export function applyRequestMutations(target: HeaderRecord, m: HeaderMutations, ctx: HeaderFormatContext): void {
  if (m.requestHeadersToAdd.length === 0 && m.requestHeadersToRemove.length === 0) return;
  apply(target, m.requestHeadersToAdd, m.requestHeadersToRemove, ctx);
}

export function applyResponseMutations(target: HeaderRecord, m: HeaderMutations, ctx: HeaderFormatContext): void {
  if (m.responseHeadersToAdd.length === 0 && m.responseHeadersToRemove.length === 0) return;
  apply(target, m.responseHeadersToAdd, m.responseHeadersToRemove, ctx);
}
