// Parses bootstrap/resource text (YAML or JSON, via the `yaml` package) into a plain value, with line-numbered errors.
import { parseAllDocuments } from 'yaml';

export type ParseResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

function lineColOf(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

const JSON_SCALAR = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

/** Offset of the first syntax error in invalid JSON text (V8's messages do not always give one). */
function jsonErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw new RangeError(String(i));
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const str = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] < ' ') fail();
      i += text[i] === '\\' ? 2 : 1;
    }
    if (i >= text.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const open = text[i];
    if (open === '{' || open === '[') {
      const close = open === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (open === '{') {
          ws();
          if (text[i] !== '"') fail();
          str();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === close) {
          i++;
          return;
        }
        if (text[i] !== ',') fail();
        i++;
      }
    }
    if (open === '"') return str();
    JSON_SCALAR.lastIndex = i;
    const m = JSON_SCALAR.exec(text);
    if (!m) fail();
    i += m![0].length;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (err) {
    if (err instanceof RangeError) return Number(err.message);
    throw err;
  }
  return text.length;
}

function parseJson(text: string, fileName: string): ParseResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    const { line, col } = lineColOf(text, jsonErrorOffset(text));
    return { ok: false, error: `${fileName}:${line}:${col}: invalid JSON: ${message}` };
  }
}

/** `.json` files are parsed as JSON; everything else as YAML (a JSON superset), as Envoy does. */
export function parseConfigText(input: string, fileName: string): ParseResult {
  const text = input.replace(/^\uFEFF/, '');
  if (fileName.toLowerCase().endsWith('.json')) return parseJson(text, fileName);
  const docs = parseAllDocuments(text, { merge: true, uniqueKeys: true });
  if (!Array.isArray(docs) || docs.length === 0) return { ok: true, value: null }; // empty stream
  if (docs.length > 1) {
    const { line, col } = lineColOf(text, docs[1].range[0]);
    return { ok: false, error: `${fileName}:${line}:${col}: expected a single YAML document, found ${docs.length}` };
  }
  const doc = docs[0];
  const e = doc.errors[0];
  if (e !== undefined) {
    const { line, col } = e.linePos?.[0] ?? lineColOf(text, e.pos[0]);
    const message = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    return { ok: false, error: `${fileName}:${line}:${col}: invalid YAML: ${message}` };
  }
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: 1000 }) };
  } catch (err) {
    return { ok: false, error: `${fileName}: invalid YAML: ${err instanceof Error ? err.message : String(err)}` };
  }
}
