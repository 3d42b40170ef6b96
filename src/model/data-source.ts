// Resolves an Envoy DataSource (filename / inline_string / inline_bytes) to text via the injected reader.
import type { CompileContext } from './compile-context.ts';
import { DATA_SOURCE } from './fields-common.ts';
import { Msg, describe } from './proto-message.ts';

/** The DataSource's content, or null after reporting an error (or when `value` is absent). */
export function readDataSource(ctx: CompileContext, path: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const m = Msg.open(ctx, path, value, DATA_SOURCE);
  if (!m) return null;
  const which = m.oneOf(['filename', 'inline_string', 'inline_bytes'], true);
  switch (which) {
    case 'filename': {
      const file = m.requiredStr('filename');
      if (file === '') return null;
      if (ctx.io === null) {
        m.error('filename', 'files cannot be read here');
        return null;
      }
      try {
        return ctx.io.readFile(file);
      } catch (err) {
        m.error('filename', `cannot read ${JSON.stringify(file)}: ${err instanceof Error ? err.message : String(err)}`);
        return null;
      }
    }
    case 'inline_string':
      return m.str('inline_string');
    case 'inline_bytes': {
      const v = m.get('inline_bytes');
      if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v.replace(/\s+/g, ''))) {
        m.error('inline_bytes', `expected base64 text, got ${describe(v)}`);
        return null;
      }
      return Buffer.from(v, 'base64').toString('utf8');
    }
    default:
      return null;
  }
}
