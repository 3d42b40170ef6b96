// A strict parser for the Prometheus text exposition format (0.0.4): throws on any malformed line, checks histogram consistency.
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string | null;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(s: string, line: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad sample value "${s}" in: ${line}`);
  return Number(s);
}

/** Parses `{a="x",b="y\"z"}` starting at `i` (the "{"); returns the labels and the index after "}". */
function parseLabels(line: string, i: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++;
  while (line[i] !== '}') {
    const eq = line.indexOf('=', i);
    if (eq === -1) throw new Error(`bad labels in: ${line}`);
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name "${name}" in: ${line}`);
    if (name in labels) throw new Error(`duplicate label "${name}" in: ${line}`);
    if (line[eq + 1] !== '"') throw new Error(`label value must be quoted in: ${line}`);
    let j = eq + 2;
    let v = '';
    for (;;) {
      const c = line[j];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '"') break;
      if (c === '\\') {
        const n = line[j + 1];
        if (n === 'n') v += '\n'; else if (n === '\\' || n === '"') v += n; else throw new Error(`bad escape \\${n} in: ${line}`);
        j += 2;
        continue;
      }
      v += c;
      j++;
    }
    labels[name] = v;
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`expected , or } in: ${line}`);
  }
  return { labels, end: i + 1 };
}

/** The family a sample belongs to: histograms own <name>_bucket, _sum and _count. */
function familyOf(families: Map<string, Family>, sample: string): Family | undefined {
  const direct = families.get(sample);
  if (direct !== undefined) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const f = families.get(sample.slice(0, -suffix.length));
    if (f !== undefined && (f.type === 'histogram' || f.type === 'summary')) return f;
  }
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) continue; // a plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      let f = families.get(name);
      if (f === undefined) { f = { name, type: 'untyped', help: null, samples: [] }; families.set(name, f); }
      if (kind === 'TYPE') {
        if (f.samples.length > 0) throw new Error(`TYPE after samples of ${name}`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type in: ${line}`);
        f.type = rest as Family['type'];
      } else {
        f.help = rest;
      }
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`bad sample line: ${line}`);
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i));
    if (line[i] !== ' ') throw new Error(`expected a space before the value in: ${line}`);
    const parts = line.slice(i + 1).split(' ');
    if (parts.length > 2) throw new Error(`trailing garbage in: ${line}`);
    const value = parseValue(parts[0], line);
    const family = familyOf(families, name);
    if (family === undefined) throw new Error(`sample ${name} has no # TYPE line`);
    family.samples.push({ name, labels, value });
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function seriesKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort());
}

/** Buckets cumulative and ascending, +Inf present and equal to _count, for every series. */
function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const k = seriesKey(s.labels);
    let e = series.get(k);
    if (e === undefined) { e = { buckets: [] }; series.set(k, e); }
    if (s.name.endsWith('_bucket')) e.buckets.push([parseValue(s.labels.le ?? '', `le of ${s.name}`), s.value]);
    else if (s.name.endsWith('_count')) e.count = s.value;
    else if (s.name.endsWith('_sum')) e.sum = s.value;
  }
  for (const [k, e] of series) {
    for (let i = 1; i < e.buckets.length; i++) {
      if (!(e.buckets[i][0] > e.buckets[i - 1][0])) throw new Error(`${f.name}${k}: bucket bounds not ascending`);
      if (e.buckets[i][1] < e.buckets[i - 1][1]) throw new Error(`${f.name}${k}: buckets not cumulative`);
    }
    const last = e.buckets.at(-1);
    if (last === undefined || last[0] !== Infinity) throw new Error(`${f.name}${k}: no +Inf bucket`);
    if (e.count !== last[1]) throw new Error(`${f.name}${k}: _count ${e.count} != +Inf bucket ${last[1]}`);
    if (e.sum === undefined) throw new Error(`${f.name}${k}: no _sum`);
  }
}

/** The value of the one sample of `name` whose labels include `match` (0 when none; throws when several match). */
export function sampleValue(families: Map<string, Family>, name: string, match: Readonly<Record<string, string>>): number {
  const f = familyOf(families, name);
  const found = (f?.samples ?? []).filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(match)} matches ${found.length} series`);
  return found[0]?.value ?? 0;
}

/** Sum over every sample of `name` whose labels include `match`. */
export function sampleSum(families: Map<string, Family>, name: string, match: Readonly<Record<string, string>> = {}): number {
  const f = familyOf(families, name);
  return (f?.samples ?? []).filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}
