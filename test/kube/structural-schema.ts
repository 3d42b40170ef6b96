// Checks an object against a CRD's openAPIV3Schema (the structural subset the API server enforces), naming each wrong field.
type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minProperties?: number;
  maxProperties?: number;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/**
 * Every problem as "path: message". Unknown fields are reported too: the API server would prune them silently, so a
 * sample relying on one would lose it.
 */
export function validateStructural(schema: Schema, value: unknown, path = ''): string[] {
  const out: string[] = [];
  const at = (k: string) => (path ? `${path}.${k}` : k);
  const t = typeOf(value);
  if (schema['x-kubernetes-int-or-string']) {
    if (t !== 'integer' && t !== 'string') out.push(`${path}: expected an integer or a string, got ${t}`);
    return out;
  }
  if (schema.type) {
    const ok = schema.type === t || (schema.type === 'number' && t === 'integer');
    if (!ok) return [`${path || '<root>'}: expected ${schema.type}, got ${t}`];
  } else if (!schema['x-kubernetes-preserve-unknown-fields']) {
    out.push(`${path}: schema node without a type (not structural)`);
  }
  if (schema.enum && !schema.enum.includes(value)) out.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) out.push(`${path}: "${value}" does not match ${schema.pattern}`);
    if (schema.minLength !== undefined && value.length < schema.minLength) out.push(`${path}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) out.push(`${path}: longer than ${schema.maxLength}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) out.push(`${path}: ${value} < ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) out.push(`${path}: ${value} > ${schema.maximum}`);
  }
  if (t === 'array' && schema.items) (value as unknown[]).forEach((v, i) => out.push(...validateStructural(schema.items!, v, `${path}[${i}]`)));
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (schema.minProperties !== undefined && keys.length < schema.minProperties) out.push(`${path}: fewer than ${schema.minProperties} fields`);
    if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) out.push(`${path}: more than ${schema.maxProperties} fields`);
    for (const r of schema.required ?? []) if (obj[r] === undefined) out.push(`${at(r)}: required`);
    for (const k of keys) {
      const sub = schema.properties?.[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (sub) out.push(...validateStructural(sub, obj[k], at(k)));
      else if (!schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties !== true && schema.type === 'object' && schema.properties) {
        out.push(`${at(k)}: unknown field (the API server would prune it)`);
      }
    }
  }
  return out;
}
