// Compiles Envoy access_log entries (stdout, stderr and file loggers with their log formats).
import { readDataSource } from './data-source.ts';
import {
  ACCESS_LOG, ACCESS_LOG_FILTER, COMPARISON_FILTER, DURATION_FILTER, FILE_ACCESS_LOG, FILTER_LIST, RESPONSE_FLAG_FILTER, RUNTIME_UINT32,
  STATUS_CODE_FILTER, STREAM_ACCESS_LOG, SUBSTITUTION_FORMAT_STRING,
} from './fields-common.ts';
import { Msg, isPlainObject } from './proto-message.ts';
import { messageNameOf, typeUrlOf } from './typed-config.ts';
import type { AccessLogConfig, AccessLogFilter } from './types.ts';

const STDOUT = 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const STDERR = 'envoy.extensions.access_loggers.stream.v3.StderrAccessLog';
const FILE = 'envoy.extensions.access_loggers.file.v3.FileAccessLog';

const SINK_BY_NAME: Readonly<Record<string, AccessLogConfig['sink']>> = {
  'envoy.access_loggers.stdout': 'stdout',
  'envoy.access_loggers.stderr': 'stderr',
  'envoy.access_loggers.file': 'file',
};

interface Format {
  readonly textFormat: string | null;
  readonly jsonFormat: Readonly<Record<string, unknown>> | null;
}

const DEFAULT_FORMAT: Format = { textFormat: null, jsonFormat: null };

function jsonFormatOf(m: Msg, name: string): Record<string, unknown> | null {
  const v = m.get(name);
  if (!isPlainObject(v)) {
    m.error(name, 'expected an object mapping field names to format strings');
    return null;
  }
  return structuredClone(v);
}

/** A SubstitutionFormatString (log_format); absent → the default format. */
function compileLogFormat(parent: Msg, name: string): Format {
  const f = parent.msg(name, SUBSTITUTION_FORMAT_STRING);
  if (!f) return DEFAULT_FORMAT;
  switch (f.oneOf(['text_format', 'json_format', 'text_format_source'], false)) {
    case 'text_format':
      return { textFormat: f.str('text_format'), jsonFormat: null };
    case 'text_format_source':
      return { textFormat: readDataSource(f.ctx, f.at('text_format_source'), f.get('text_format_source')), jsonFormat: null };
    case 'json_format':
      return { textFormat: null, jsonFormat: jsonFormatOf(f, 'json_format') };
    default:
      return DEFAULT_FORMAT;
  }
}

function compileFileLogger(t: Msg): { path: string; format: Format } {
  const path = t.requiredStr('path');
  switch (t.oneOf(['format', 'json_format', 'typed_json_format', 'log_format'], false)) {
    case 'format':
      return { path, format: { textFormat: t.str('format'), jsonFormat: null } };
    case 'json_format':
    case 'typed_json_format': {
      const name = t.has('json_format') ? 'json_format' : 'typed_json_format';
      return { path, format: { textFormat: null, jsonFormat: jsonFormatOf(t, name) } };
    }
    case 'log_format':
      return { path, format: compileLogFormat(t, 'log_format') };
    default:
      return { path, format: DEFAULT_FORMAT };
  }
}

/** The logger kind, by typed_config message (or by name when typed_config is absent). */
function sinkOf(name: string, message: string | null): AccessLogConfig['sink'] | undefined {
  if (message === STDOUT) return 'stdout';
  if (message === STDERR) return 'stderr';
  if (message === FILE) return 'file';
  return message === null && Object.hasOwn(SINK_BY_NAME, name) ? SINK_BY_NAME[name] : undefined;
}

/** Envoy's response flags (short names) a response_flag_filter may list. */
const RESPONSE_FLAGS = new Set([
  'LH', 'UH', 'UT', 'LR', 'UR', 'UF', 'UC', 'UO', 'NR', 'DI', 'FI', 'RL', 'UAEX', 'RLSE', 'DC', 'URX', 'SI', 'IH', 'DPE',
  'UMSDR', 'RFCF', 'NFCF', 'DT', 'UPE', 'NC', 'OM', 'DF', 'DO', 'DR',
]);
const OPS = ['EQ', 'GE', 'LE'] as const;

function compileComparison(m: Msg): { op: 'EQ' | 'GE' | 'LE'; value: number } | null {
  const c = m.msg('comparison', COMPARISON_FILTER);
  if (c === null) { m.error('comparison', 'is required'); return null; }
  const op = c.enumOf('op', OPS, 'EQ');
  const v = c.msg('value', RUNTIME_UINT32);
  if (v === null) { c.error('value', 'is required'); return null; }
  return { op, value: v.uint('default_value', 0) };
}

function compileFilter(f: Msg): AccessLogFilter | null {
  switch (f.oneOf(['status_code_filter', 'duration_filter', 'response_flag_filter', 'and_filter', 'or_filter'], true)) {
    case 'status_code_filter':
    case 'duration_filter': {
      const name = f.has('status_code_filter') ? 'status_code_filter' : 'duration_filter';
      const m = f.msg(name, name === 'status_code_filter' ? STATUS_CODE_FILTER : DURATION_FILTER);
      const c = m === null ? null : compileComparison(m);
      return c === null ? null : { kind: name === 'status_code_filter' ? 'status_code' : 'duration', ...c };
    }
    case 'response_flag_filter': {
      const m = f.msg('response_flag_filter', RESPONSE_FLAG_FILTER);
      if (m === null) return null;
      const flags = m.strList('flags');
      flags.forEach((fl, i) => { if (!RESPONSE_FLAGS.has(fl)) m.ctx.warn(m.at(`flags[${i}]`), `${JSON.stringify(fl)} is not a response flag Pilotfish sets: it never matches`); });
      return { kind: 'response_flag', flags };
    }
    case 'and_filter':
    case 'or_filter': {
      const name = f.has('and_filter') ? 'and_filter' : 'or_filter';
      const m = f.msg(name, FILTER_LIST);
      if (m === null) return null;
      const filters = m.compiledList('filters', ACCESS_LOG_FILTER, 2, compileFilter);
      return filters === null ? null : { kind: name === 'and_filter' ? 'and' : 'or', filters };
    }
    default:
      return null;
  }
}

function compileAccessLog(m: Msg): AccessLogConfig | null {
  const fm = m.msg('filter', ACCESS_LOG_FILTER);
  const filter = fm === null ? null : compileFilter(fm);
  if (fm !== null && filter === null) return null;
  const log = compileAccessLogSink(m);
  return log === null || filter === null ? log : { ...log, filter };
}

function compileAccessLogSink(m: Msg): AccessLogConfig | null {
  const name = m.str('name');
  const typed = m.get('typed_config');
  const url = typeUrlOf(typed);
  const message = url === null ? null : messageNameOf(url);
  const sink = sinkOf(name, message);
  if (sink === undefined) {
    const what = `access logger ${name || '(unnamed)'}${url ? ` (${url})` : ''}`;
    m.error(url === null ? 'name' : 'typed_config.@type', `${what} is not supported yet`);
    return null;
  }
  if (sink === 'file') {
    if (typed === undefined) {
      m.error('typed_config', 'is required for a file access logger (path)');
      return null;
    }
    const t = Msg.open(m.ctx, m.at('typed_config'), typed, FILE_ACCESS_LOG);
    if (!t) return null;
    const { path, format } = compileFileLogger(t);
    return path === '' ? null : { sink, path, ...format };
  }
  if (typed === undefined) return { sink, path: null, ...DEFAULT_FORMAT };
  const t = Msg.open(m.ctx, m.at('typed_config'), typed, STREAM_ACCESS_LOG);
  if (!t) return null;
  return { sink, path: null, ...compileLogFormat(t, 'log_format') };
}

/** The repeated AccessLog field `parent.<name>`. */
export function compileAccessLogs(parent: Msg, name = 'access_log'): AccessLogConfig[] {
  const out: AccessLogConfig[] = [];
  for (const m of parent.msgList(name, ACCESS_LOG)) {
    const log = compileAccessLog(m);
    if (log) out.push(log);
  }
  return out;
}
