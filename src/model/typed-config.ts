// Opens an Envoy `typed_config` (google.protobuf.Any in proto3 JSON: "@type" plus the message's fields).
import type { CompileContext } from './compile-context.ts';
import { Msg, type MessageTable, describe, isPlainObject } from './proto-message.ts';

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

export function typeUrlFor(table: MessageTable): string {
  return TYPE_URL_PREFIX + table.message;
}

/** The "@type" of an Any value, or null when absent / not an object. */
export function typeUrlOf(value: unknown): string | null {
  if (!isPlainObject(value)) return null;
  const t = value['@type'];
  return typeof t === 'string' ? t : null;
}

/** The message name of a type URL ("type.googleapis.com/a.b.C" → "a.b.C"). */
export function messageNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/**
 * Opens `value` as an Any that must hold `table`'s message. A missing "@type" is accepted when `allowMissingType`
 * (older configs wrote router/empty configs without it).
 */
export function openTyped(
  ctx: CompileContext,
  path: string,
  value: unknown,
  table: MessageTable,
  allowMissingType = false,
): Msg | null {
  if (!isPlainObject(value)) {
    ctx.error(path, `expected an object (google.protobuf.Any), got ${describe(value)}`);
    return null;
  }
  const url = typeUrlOf(value);
  if (url === null) {
    if (!allowMissingType) {
      ctx.error(`${path}.@type`, `is required (expected ${typeUrlFor(table)})`);
      return null;
    }
  } else if (messageNameOf(url) !== table.message) {
    ctx.error(`${path}.@type`, `expected ${typeUrlFor(table)}, got ${url}`);
    return null;
  }
  return Msg.open(ctx, path, value, table);
}

/** A copy of an Any's fields without "@type", for configs kept raw (filters compile them themselves). */
export function anyBody(value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) return {};
  const { ['@type']: _drop, ...rest } = value;
  return structuredClone(rest);
}
