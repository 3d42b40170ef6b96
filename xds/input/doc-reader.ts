// Reads one YAML document field by field, collecting errors that name file, document, resource and field path.
import type { DocSource, InputError } from './types.ts';
import { parseGatewayDuration } from './duration.ts';

/** Error sink for one document. */
export class DocContext {
  readonly src: DocSource;
  readonly kind: string;
  name: string;
  readonly errors: InputError[];

  constructor(src: DocSource, kind: string, name: string, errors: InputError[]) {
    this.src = src;
    this.kind = kind;
    this.name = name;
    this.errors = errors;
  }

  error(field: string, message: string): void {
    this.errors.push({ file: this.src.file, doc: this.src.doc, kind: this.kind, name: this.name, field, message });
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** A mapping at `path` inside a document. Every accessor reports a wrong type or value as an error and returns undefined. */
export class Fields {
  readonly ctx: DocContext;
  readonly path: string;
  readonly value: Obj;

  constructor(ctx: DocContext, path: string, value: Obj) {
    this.ctx = ctx;
    this.path = path;
    this.value = value;
  }

  /** Wraps `v` as a mapping, reporting an error if it is not one. */
  static of(ctx: DocContext, path: string, v: unknown): Fields | undefined {
    if (!isObj(v)) {
      ctx.error(path, `expected a mapping, got ${describe(v)}`);
      return undefined;
    }
    return new Fields(ctx, path, v);
  }

  at(k: string): string {
    return this.path ? `${this.path}.${k}` : k;
  }

  error(k: string, message: string): void {
    this.ctx.error(k === '' ? this.path : this.at(k), message);
  }

  has(k: string): boolean {
    return this.value[k] !== undefined && this.value[k] !== null;
  }

  /** Reports keys not listed in `known` (keys in `ignored` are accepted silently). */
  only(known: readonly string[], ignored: readonly string[] = []): void {
    for (const k of Object.keys(this.value)) {
      if (!known.includes(k) && !ignored.includes(k)) this.error(k, `unknown or unsupported field "${k}" (known: ${known.join(', ')})`);
    }
  }

  str(k: string, required = false): string | undefined {
    const v = this.value[k];
    if (v === undefined || v === null) {
      if (required) this.error(k, 'required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.error(k, `expected a string, got ${describe(v)}`);
      return undefined;
    }
    if (required && v === '') {
      this.error(k, 'must not be empty');
      return undefined;
    }
    return v;
  }

  int(k: string, opts: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
    const v = this.value[k];
    if (v === undefined || v === null) {
      if (opts.required) this.error(k, 'required');
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.error(k, `expected an integer, got ${describe(v)}`);
      return undefined;
    }
    const min = opts.min ?? 0;
    const max = opts.max ?? 4294967295;
    if (v < min || v > max) {
      this.error(k, `${v} is out of range [${min}, ${max}]`);
      return undefined;
    }
    return v;
  }

  port(k: string, required = false): number | undefined {
    return this.int(k, { required, min: 1, max: 65535 });
  }

  bool(k: string): boolean | undefined {
    const v = this.value[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.error(k, `expected true or false, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(k: string, allowed: readonly T[], required = false): T | undefined {
    const s = this.str(k, required);
    if (s === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(s)) {
      this.error(k, `must be one of ${allowed.join(', ')}, got "${s}"`);
      return undefined;
    }
    return s as T;
  }

  /** A Gateway API duration ("1h2m3s", "500ms") in milliseconds. */
  duration(k: string, required = false): number | undefined {
    const s = this.str(k, required);
    if (s === undefined) return undefined;
    const ms = parseGatewayDuration(s);
    if (typeof ms === 'string') {
      this.error(k, ms);
      return undefined;
    }
    return ms;
  }

  obj(k: string, required = false): Fields | undefined {
    const v = this.value[k];
    if (v === undefined || v === null) {
      if (required) this.error(k, 'required');
      return undefined;
    }
    return Fields.of(this.ctx, this.at(k), v);
  }

  /** A list of mappings; wrong items are reported and skipped. */
  objList(k: string, required = false): Fields[] {
    const v = this.value[k];
    if (v === undefined || v === null) {
      if (required) this.error(k, 'required');
      return [];
    }
    if (!Array.isArray(v)) {
      this.error(k, `expected a list, got ${describe(v)}`);
      return [];
    }
    if (required && v.length === 0) this.error(k, 'must not be empty');
    const out: Fields[] = [];
    v.forEach((item, i) => {
      const f = Fields.of(this.ctx, `${this.at(k)}[${i}]`, item);
      if (f) out.push(f);
    });
    return out;
  }

  strList(k: string): string[] {
    const v = this.value[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.error(k, `expected a list of strings, got ${describe(v)}`);
      return [];
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item === 'string') out.push(item);
      else this.ctx.error(`${this.at(k)}[${i}]`, `expected a string, got ${describe(item)}`);
    });
    return out;
  }

  intList(k: string, min: number, max: number): number[] {
    const v = this.value[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.error(k, `expected a list of integers, got ${describe(v)}`);
      return [];
    }
    const out: number[] = [];
    v.forEach((item, i) => {
      if (typeof item === 'number' && Number.isInteger(item) && item >= min && item <= max) out.push(item);
      else this.ctx.error(`${this.at(k)}[${i}]`, `expected an integer in [${min}, ${max}], got ${describe(item)}`);
    });
    return out;
  }

  /** A mapping of string to string (labels, selectors). */
  stringMap(k: string): Record<string, string> {
    const f = this.obj(k);
    const out: Record<string, string> = {};
    if (!f) return out;
    for (const [name, v] of Object.entries(f.value)) {
      if (typeof v === 'string') out[name] = v;
      else f.error(name, `expected a string, got ${describe(v)}`);
    }
    return out;
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks a Kubernetes object name (RFC 1123 label for Services, subdomain otherwise). */
export function checkName(f: Fields, k: string, value: string | undefined, label: boolean): void {
  if (value === undefined) return;
  const re = label ? DNS_LABEL : DNS_SUBDOMAIN;
  const max = label ? 63 : 253;
  if (!re.test(value) || value.length > max) {
    f.error(k, `"${value}" is not a valid ${label ? 'DNS label (RFC 1123)' : 'DNS subdomain (RFC 1123)'} name`);
  }
}
