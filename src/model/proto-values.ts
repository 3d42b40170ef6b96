// Parses proto3-JSON scalar encodings used by Envoy: Duration, wrapper types (UInt32Value, BoolValue), integers and enums.

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const MAX_DURATION_SECONDS = 315_576_000_000;

function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}
function fail<T>(error: string): Parsed<T> {
  return { ok: false, error };
}

/** Strips a wrapper message (`{value: x}`) to its value. */
export function unwrap(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === 'value') return (v as { value: unknown }).value;
    if (keys.length === 0) return undefined; // `{}` is the wrapper's default value
  }
  return v;
}

/**
 * A proto3 Duration: the JSON string form ("1.5s", "0s", "0.000000001s") or the object form {seconds, nanos}.
 * Returns milliseconds; a non-zero duration shorter than 1ms is rounded up to 1ms so it never reads as "disabled".
 */
export function parseDurationMs(v: unknown): Parsed<number> {
  let seconds: number;
  let nanos: number;
  if (typeof v === 'string') {
    const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(v.trim());
    if (!m) return fail(`invalid duration ${JSON.stringify(v)} (expected a string like "1.5s")`);
    if (m[1]) return fail(`duration must not be negative (${v})`);
    seconds = Number(m[2]);
    nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (k !== 'seconds' && k !== 'nanos') return fail(`invalid duration: unknown field "${k}"`);
    }
    const s = parseInteger(o.seconds ?? 0);
    const n = parseInteger(o.nanos ?? 0);
    if (!s.ok) return fail(`invalid duration seconds: ${s.error}`);
    if (!n.ok) return fail(`invalid duration nanos: ${n.error}`);
    if (s.value < 0 || n.value < 0) return fail('duration must not be negative');
    if (n.value > 999_999_999) return fail('duration nanos must be below 1e9');
    seconds = s.value;
    nanos = n.value;
  } else {
    return fail(`invalid duration ${JSON.stringify(v)} (expected a string like "1.5s")`);
  }
  if (seconds > MAX_DURATION_SECONDS) return fail(`duration ${JSON.stringify(v)} is too large`);
  const ms = seconds * 1000 + nanos / 1e6;
  return ok(ms > 0 && ms < 1 ? 1 : Math.round(ms));
}

/** An integer given as a JSON number or a decimal string (proto3 JSON encodes 64-bit ints as strings). */
export function parseInteger(v: unknown): Parsed<number> {
  if (typeof v === 'number') {
    return Number.isInteger(v) ? ok(v) : fail(`expected an integer, got ${v}`);
  }
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) {
    const n = Number(v.trim());
    return Number.isSafeInteger(n) ? ok(n) : fail(`integer ${v} is out of range`);
  }
  return fail(`expected an integer, got ${JSON.stringify(v)}`);
}

/** A UInt32Value / uint32: number, decimal string, or `{value}`; checked against [min, max]. */
export function parseUInt(v: unknown, min = 0, max = 4294967295): Parsed<number> {
  const n = parseInteger(unwrap(v));
  if (!n.ok) return n;
  if (n.value < min || n.value > max) return fail(`${n.value} is out of range [${min}, ${max}]`);
  return n;
}

/** A bool or BoolValue (`{value: true}`). */
export function parseBool(v: unknown): Parsed<boolean> {
  const u = unwrap(v);
  if (u === undefined) return ok(false);
  if (typeof u === 'boolean') return ok(u);
  return fail(`expected a boolean, got ${JSON.stringify(v)}`);
}

/**
 * An enum given by name (case-insensitive, as Envoy accepts) or by number.
 * `values[i]` is the name of enum number i (holes for unused numbers).
 */
export function parseEnum<T extends string>(v: unknown, values: readonly (T | undefined)[]): Parsed<T> {
  if (typeof v === 'number') {
    const name = values[v];
    if (Number.isInteger(v) && name !== undefined) return ok(name);
  } else if (typeof v === 'string') {
    const upper = v.toUpperCase();
    const name = values.find((x) => x !== undefined && x.toUpperCase() === upper);
    if (name !== undefined) return ok(name);
  }
  const allowed = values.filter((x) => x !== undefined).join(', ');
  return fail(`invalid value ${JSON.stringify(v)} (expected one of ${allowed})`);
}
