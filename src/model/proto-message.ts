// Reads one proto3-JSON message against its field table: unknown fields and unsupported fields become errors, with paths.
import { type CompileContext, joinPath } from './compile-context.ts';
import { parseBool, parseDurationMs, parseEnum, parseInteger, parseUInt, unwrap } from './proto-values.ts';


/**
 * What we do with one field of an Envoy message:
 * - 'ok': implemented;
 * - 'ignore': accepted without effect (stats names, metadata, tuning that does not change behaviour);
 * - 'warn': accepted without effect, with a warning;
 * - 'unsupported': changes behaviour and is not implemented: an error when set to a non-default value;
 * - { unsupportedUnless }: like 'unsupported', but these values are accepted (they mean what we already do).
 */
export type FieldRule = 'ok' | 'ignore' | 'warn' | 'unsupported' | { readonly unsupportedUnless: readonly unknown[] };

export interface MessageTable {
  /** The proto message name, for messages ("envoy.config.listener.v3.Listener"). */
  readonly message: string;
  /** Keyed by proto field name (snake_case); camelCase JSON names are accepted too. */
  readonly fields: Readonly<Record<string, FieldRule>>;
}

/** proto3 JSON name of a field: lowerCamelCase of the proto name ("accept_http_10" → "acceptHttp10"). */
function toCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

const camelNames = new WeakMap<MessageTable, ReadonlyMap<string, string>>();

/** The proto field name for a JSON key given as the proto name or its camelCase JSON name. */
function protoName(table: MessageTable, key: string): string {
  if (Object.hasOwn(table.fields, key)) return key;
  let names = camelNames.get(table);
  if (names === undefined) {
    names = new Map(Object.keys(table.fields).map((n) => [toCamel(n), n]));
    camelNames.set(table, names);
  }
  return names.get(key) ?? key;
}

/** proto3 default scalars and empty lists mean "not set". */
function isUnset(v: unknown): boolean {
  const u = isPlainObject(v) && Object.keys(v).length === 1 && 'value' in v ? v.value : v;
  return u === undefined || u === null || u === false || u === 0 || u === '' || (Array.isArray(u) && u.length === 0);
}

/** Equality for accepted values; enum names compare case-insensitively (as Envoy parses them). */
function sameValue(a: unknown, b: unknown): boolean {
  return typeof a === 'string' && typeof b === 'string' ? a.toUpperCase() === b.toUpperCase() : a === b;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

export interface ListItem {
  readonly value: unknown;
  readonly path: string;
}

/** An opened message: field access by proto name, with typed getters that report errors at the right path. */
export class Msg {
  readonly ctx: CompileContext;
  readonly path: string;
  /** Field values by proto (snake_case) name; null values are dropped (proto3 JSON null = default). */
  readonly fields: ReadonlyMap<string, unknown>;
  /** "@type" of an Any, when present. */
  readonly typeUrl: string | null;

  constructor(ctx: CompileContext, path: string, fields: ReadonlyMap<string, unknown>, typeUrl: string | null) {
    this.ctx = ctx;
    this.path = path;
    this.fields = fields;
    this.typeUrl = typeUrl;
  }

  /** Opens `value` as a message of `table`; reports a type error and returns null if it is not an object. */
  static open(ctx: CompileContext, path: string, value: unknown, table: MessageTable): Msg | null {
    if (!isPlainObject(value)) {
      ctx.error(path, `expected an object (${table.message}), got ${describe(value)}`);
      return null;
    }
    const fields = new Map<string, unknown>();
    let typeUrl: string | null = null;
    for (const [key, v] of Object.entries(value)) {
      if (key === '@type') {
        typeUrl = typeof v === 'string' ? v : null;
        continue;
      }
      const name = protoName(table, key);
      const fieldPath = joinPath(path, name);
      const rule = Object.hasOwn(table.fields, name) ? table.fields[name] : undefined;
      if (rule === undefined) {
        ctx.error(fieldPath, `unknown field "${key}" in ${table.message}`);
        continue;
      }
      if (fields.has(name)) {
        ctx.error(fieldPath, `field given twice (as "${name}" and in camelCase)`);
        continue;
      }
      if (v === null || v === undefined) continue;
      if (rule === 'unsupported' || typeof rule === 'object') {
        // 'unsupported': any non-default value is an error; unsupportedUnless: only the listed values are accepted.
        const accepted = rule === 'unsupported' ? isUnset(v) : rule.unsupportedUnless.some((a) => sameValue(a, unwrap(v)));
        if (!accepted) ctx.error(fieldPath, `${name} is not supported yet`);
        continue;
      } else if (rule === 'warn') {
        ctx.warn(fieldPath, 'is ignored (not supported yet)');
        continue;
      } else if (rule === 'ignore') {
        continue;
      }
      fields.set(name, v);
    }
    return new Msg(ctx, path, fields, typeUrl);
  }

  at(name: string): string {
    return joinPath(this.path, name);
  }

  has(name: string): boolean {
    return this.fields.has(name);
  }

  get(name: string): unknown {
    return this.fields.get(name);
  }

  error(name: string, message: string): void {
    this.ctx.error(this.at(name), message);
  }

  str(name: string, def = ''): string {
    const v = this.get(name);
    if (v === undefined) return def;
    if (typeof v !== 'string') {
      this.error(name, `expected a string, got ${describe(v)}`);
      return def;
    }
    return v;
  }

  /** A string field, or null when absent or empty. */
  optStr(name: string): string | null {
    const s = this.str(name);
    return s === '' ? null : s;
  }

  /** A string field that must be present and non-empty. */
  requiredStr(name: string): string {
    const s = this.str(name);
    if (s === '' && this.get(name) === undefined) this.error(name, 'is required');
    else if (s === '' && typeof this.get(name) === 'string') this.error(name, 'must not be empty');
    return s;
  }

  bool(name: string, def: boolean): boolean {
    const v = this.get(name);
    if (v === undefined || unwrap(v) === undefined) return def;
    const p = parseBool(v);
    if (!p.ok) {
      this.error(name, p.error);
      return def;
    }
    return p.value;
  }

  uint(name: string, def: number, min = 0, max = 4294967295): number {
    const v = this.get(name);
    if (v === undefined || unwrap(v) === undefined) return def;
    const p = parseUInt(v, min, max);
    if (!p.ok) {
      this.error(name, p.error);
      return def;
    }
    return p.value;
  }

  optUint(name: string, min = 0, max = 4294967295): number | null {
    const v = this.get(name);
    if (v === undefined || unwrap(v) === undefined) return null;
    const p = parseUInt(v, min, max);
    if (!p.ok) {
      this.error(name, p.error);
      return null;
    }
    return p.value;
  }

  int(name: string, def: number): number {
    const v = this.get(name);
    if (v === undefined) return def;
    const p = parseInteger(unwrap(v));
    if (!p.ok) {
      this.error(name, p.error);
      return def;
    }
    return p.value;
  }

  durationMs(name: string, def: number): number {
    return this.optDurationMs(name) ?? def;
  }

  optDurationMs(name: string): number | null {
    const v = this.get(name);
    if (v === undefined) return null;
    const p = parseDurationMs(v);
    if (!p.ok) {
      this.error(name, p.error);
      return null;
    }
    return p.value;
  }

  enumOf<T extends string>(name: string, values: readonly (T | undefined)[], def: T): T {
    const v = this.get(name);
    if (v === undefined) return def;
    const p = parseEnum(v, values);
    if (!p.ok) {
      this.error(name, p.error);
      return def;
    }
    return p.value;
  }

  /** A sub-message, or null when absent (or not an object: error). */
  msg(name: string, table: MessageTable): Msg | null {
    const v = this.get(name);
    if (v === undefined) return null;
    return Msg.open(this.ctx, this.at(name), v, table);
  }

  /** A repeated field's items with their paths (empty when absent; error if not a list). */
  list(name: string): ListItem[] {
    const v = this.get(name);
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.error(name, `expected a list, got ${describe(v)}`);
      return [];
    }
    return v.map((value, i) => ({ value, path: `${this.at(name)}[${i}]` }));
  }

  msgList(name: string, table: MessageTable): Msg[] {
    const out: Msg[] = [];
    for (const item of this.list(name)) {
      const m = Msg.open(this.ctx, item.path, item.value, table);
      if (m) out.push(m);
    }
    return out;
  }

  /**
   * A repeated message field with at least `min` items (the and / or sets of Envoy's matchers and filters), each
   * compiled by `compile`; null after an error (too few items, or an item that did not compile).
   */
  compiledList<T>(name: string, table: MessageTable, min: number, compile: (m: Msg) => T | null): T[] | null {
    const items = this.msgList(name, table);
    if (items.length < min) this.error(name, `needs at least ${min} items`);
    const out = items.map(compile);
    return items.length < min || out.some((x) => x === null) ? null : (out as T[]);
  }

  strList(name: string): string[] {
    const out: string[] = [];
    for (const item of this.list(name)) {
      if (typeof item.value === 'string') out.push(item.value);
      else this.ctx.error(item.path, `expected a string, got ${describe(item.value)}`);
    }
    return out;
  }

  /** A map<string, V> field (or google.protobuf.Struct) as a plain object; {} when absent. */
  map(name: string): Record<string, unknown> {
    const v = this.get(name);
    if (v === undefined) return {};
    if (!isPlainObject(v)) {
      this.error(name, `expected an object, got ${describe(v)}`);
      return {};
    }
    return v;
  }

  /** Checks that at most one (or, if required, exactly one) of a oneof's fields is set; returns the one set. */
  oneOf<T extends string>(names: readonly T[], required: boolean, what = names.join(', ')): T | null {
    const set = names.filter((n) => this.has(n));
    if (set.length > 1) {
      this.ctx.error(this.at(set[1]), `only one of ${what} may be set (also ${set[0]})`);
      return set[0];
    }
    if (set.length === 0) {
      if (required) this.ctx.error(this.path, `one of ${what} is required`);
      return null;
    }
    return set[0];
  }
}
