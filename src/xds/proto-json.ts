// Converts between proto3 JSON (Envoy's YAML/JSON shape) and protobufjs plain objects, walking well-known types and Any.
import protobuf from 'protobufjs';

type Json = Record<string, unknown>;

const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue']);
const TO_OBJECT: protobuf.IConversionOptions = { enums: String, longs: Number, bytes: String, defaults: false };

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The well-known type name ("Duration") of a google.protobuf message, else null. */
const wellKnownCache = new WeakMap<protobuf.Type, string | null>();

function wellKnown(type: protobuf.Type): string | null {
  // protobufjs computes fullName by walking parents on every read: cache per type (it is hot for big responses).
  let wk = wellKnownCache.get(type);
  if (wk === undefined) {
    const full = type.fullName;
    wk = full.startsWith('.google.protobuf.') ? full.slice('.google.protobuf.'.length) : null;
    wellKnownCache.set(type, wk);
  }
  return wk;
}

function parseSecondsNanos(v: string, what: string): { seconds: number; nanos: number } {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(v.trim());
  if (!m) throw new Error(`invalid ${what} ${JSON.stringify(v)}`);
  const sign = m[1] ? -1 : 1;
  return { seconds: sign * Number(m[2]), nanos: sign * (m[3] ? Number(m[3].padEnd(9, '0')) : 0) };
}

/** google.protobuf.Value field names: protobufjs' bundled struct.proto spells them in camelCase, a loaded file in snake_case. */
type ValueKeys = Record<'null' | 'number' | 'string' | 'bool' | 'struct' | 'list', string>;
const valueKeysCache = new WeakMap<protobuf.Root, ValueKeys>();

function valueKeys(root: protobuf.Root): ValueKeys {
  let keys = valueKeysCache.get(root);
  if (!keys) {
    const fields = root.lookupType('google.protobuf.Value').fields;
    const pick = (snake: string): string => (snake in fields ? snake : snake.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase()));
    keys = { null: pick('null_value'), number: pick('number_value'), string: pick('string_value'), bool: pick('bool_value'), struct: pick('struct_value'), list: pick('list_value') };
    valueKeysCache.set(root, keys);
  }
  return keys;
}

function valueToProto(root: protobuf.Root, v: unknown): Json {
  const k = valueKeys(root);
  if (v === null || v === undefined) return { [k.null]: 'NULL_VALUE' };
  if (typeof v === 'number') return { [k.number]: v };
  if (typeof v === 'string') return { [k.string]: v };
  if (typeof v === 'boolean') return { [k.bool]: v };
  if (Array.isArray(v)) return { [k.list]: { values: v.map((x) => valueToProto(root, x)) } };
  return { [k.struct]: structToProto(root, v) };
}

function structToProto(root: protobuf.Root, v: unknown): Json {
  if (!isObject(v)) throw new Error(`expected an object for google.protobuf.Struct, got ${JSON.stringify(v)}`);
  const fields: Json = {};
  for (const [k, x] of Object.entries(v)) fields[k] = valueToProto(root, x);
  return { fields };
}

/** proto3 JSON → the object shape protobufjs `fromObject` accepts (Any values encoded to bytes). */
export function jsonToProto(root: protobuf.Root, type: protobuf.Type, json: unknown): unknown {
  const wk = wellKnown(type);
  if (wk === 'Duration' && typeof json === 'string') return parseSecondsNanos(json, 'duration');
  if (wk === 'Timestamp' && typeof json === 'string') {
    const ms = Date.parse(json);
    if (Number.isNaN(ms)) throw new Error(`invalid timestamp ${JSON.stringify(json)}`);
    return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
  }
  if (wk === 'Struct') return structToProto(root, json);
  if (wk === 'Value') return valueToProto(root, json);
  if (wk === 'ListValue' && Array.isArray(json)) return { values: json.map((x) => valueToProto(root, x)) };
  if (wk !== null && WRAPPERS.has(wk) && !isObject(json)) return { value: json };
  if (wk === 'Any' && isObject(json) && typeof json['@type'] === 'string') return encodeAnyJson(root, json);
  if (!isObject(json)) return json;
  const out: Json = {};
  for (const [k, v] of Object.entries(json)) {
    const field = type.fields[k];
    if (!field) throw new Error(`${type.fullName.slice(1)}: unknown field "${k}"`);
    const sub = field.resolve().resolvedType;
    if (!(sub instanceof protobuf.Type)) { out[k] = v; continue; }
    if (field instanceof protobuf.MapField && isObject(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([mk, mv]) => [mk, jsonToProto(root, sub, mv)]));
    } else if (field.repeated && Array.isArray(v)) {
      out[k] = v.map((x) => jsonToProto(root, sub, x));
    } else {
      out[k] = jsonToProto(root, sub, v);
    }
  }
  return out;
}

/** An Any in JSON form ({"@type": url, ...fields}) → {type_url, value: bytes}. */
export function encodeAnyJson(root: protobuf.Root, json: Json): { type_url: string; value: Uint8Array } {
  const typeUrl = String(json['@type']);
  const type = root.lookupType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
  const { '@type': _drop, ...fields } = json;
  const wk = wellKnown(type);
  // Well-known types inside an Any carry their JSON form in "value" (e.g. {"@type": ".../google.protobuf.Struct", "value": {...}}).
  const body = wk !== null && 'value' in fields && Object.keys(fields).length === 1 ? fields.value : fields;
  const obj = jsonToProto(root, type, body) as Json;
  return { type_url: typeUrl, value: type.encode(type.fromObject(obj)).finish() };
}

function formatSecondsNanos(o: Json): string {
  const seconds = Number(o.seconds ?? 0);
  const nanos = Number(o.nanos ?? 0);
  const neg = seconds < 0 || nanos < 0;
  const frac = Math.abs(nanos) === 0 ? '' : `.${String(Math.abs(nanos)).padStart(9, '0').replace(/0+$/, '')}`;
  return `${neg ? '-' : ''}${Math.abs(seconds)}${frac}s`;
}

function valueToJson(root: protobuf.Root, o: Json): unknown {
  const k = valueKeys(root);
  if (k.number in o) return o[k.number];
  if (k.string in o) return o[k.string];
  if (k.bool in o) return o[k.bool];
  if (k.struct in o) return structToJson(root, o[k.struct] as Json);
  if (k.list in o) return (((o[k.list] as Json).values as Json[] | undefined) ?? []).map((x) => valueToJson(root, x));
  return null;
}

function structToJson(root: protobuf.Root, o: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries((o.fields as Json | undefined) ?? {})) out[k] = valueToJson(root, v as Json);
  return out;
}

/** A protobufjs plain object (from `toObject` with TO_OBJECT options) → proto3 JSON, decoding nested Any values. */
export function protoToJson(root: protobuf.Root, type: protobuf.Type, obj: unknown): unknown {
  if (!isObject(obj)) return obj;
  const wk = wellKnown(type);
  if (wk === 'Duration') return formatSecondsNanos(obj);
  if (wk === 'Timestamp') return new Date(Number(obj.seconds ?? 0) * 1000 + Math.floor(Number(obj.nanos ?? 0) / 1e6)).toISOString();
  if (wk === 'Struct') return structToJson(root, obj);
  if (wk === 'Value') return valueToJson(root, obj);
  if (wk === 'ListValue') return ((obj.values as Json[] | undefined) ?? []).map((x) => valueToJson(root, x));
  if (wk !== null && WRAPPERS.has(wk)) return obj.value ?? (wk === 'BoolValue' ? false : wk === 'StringValue' || wk === 'BytesValue' ? '' : 0);
  if (wk === 'Any') return decodeAnyJson(root, String(obj.type_url ?? ''), Buffer.from(String(obj.value ?? ''), 'base64'));
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) {
    const field = type.fields[k];
    const sub = field?.resolve().resolvedType;
    if (!(sub instanceof protobuf.Type)) { out[k] = v; continue; }
    if (field instanceof protobuf.MapField && isObject(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([mk, mv]) => [mk, protoToJson(root, sub, mv)]));
    } else if (Array.isArray(v)) {
      out[k] = v.map((x) => protoToJson(root, sub, x));
    } else {
      out[k] = protoToJson(root, sub, v);
    }
  }
  return out;
}

/** Any bytes → proto3 JSON with "@type" (well-known types keep their JSON form under "value"). */
export function decodeAnyJson(root: protobuf.Root, typeUrl: string, value: Uint8Array): Json {
  const type = root.lookupType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
  const json = protoToJson(root, type, type.toObject(type.decode(value), TO_OBJECT));
  return wellKnown(type) !== null ? { '@type': typeUrl, value: json } : { '@type': typeUrl, ...(json as Json) };
}
