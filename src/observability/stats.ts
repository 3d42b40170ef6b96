// The process stats registry: cached counter/gauge/histogram handles, Prometheus/text rendering, and JSON merge across workers.
import type { Counter, Gauge, Histogram, Labels } from './types.ts';
import { STAT_CATALOG, STAT_HELP } from './stat-names.ts';

/** Envoy's default histogram bucket bounds (milliseconds). */
export const DEFAULT_BUCKETS_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

export type StatType = 'counter' | 'gauge' | 'histogram';
/** How a gauge combines across workers in mergeFrom: summed (connections, requests) or the maximum (uptime, flags). */
export type GaugeMerge = 'sum' | 'max';

class CounterHandle implements Counter {
  value = 0;
  inc(n = 1): void { this.value += n; }
}

class GaugeHandle implements Gauge {
  value = 0;
  set(v: number): void { this.value = v; }
  inc(n = 1): void { this.value += n; }
  dec(n = 1): void { this.value -= n; }
}

class HistogramHandle implements Histogram {
  readonly bounds: readonly number[];
  /** Non-cumulative count per bucket; the last slot is the +Inf overflow. */
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }
  record(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

type Handle = CounterHandle | GaugeHandle | HistogramHandle;

interface Series { readonly labels: Labels; readonly handle: Handle }

interface Family {
  readonly name: string;
  readonly type: StatType;
  help: string | null;
  merge: GaugeMerge;
  readonly series: Map<string, Series>;
}

/** Serializable form of a registry (sent over IPC from workers to the primary). */
export interface StatsJSON {
  readonly families: readonly {
    readonly name: string;
    readonly type: StatType;
    readonly help: string | null;
    readonly merge: GaugeMerge;
    readonly series: readonly {
      readonly labels: Labels;
      readonly value?: number;
      readonly bounds?: readonly number[];
      readonly counts?: readonly number[];
      readonly sum?: number;
      readonly count?: number;
    }[];
  }[];
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Makes a string a valid Prometheus metric / label name. */
export function sanitizeName(name: string): string {
  if (NAME_RE.test(name)) return name;
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

function labelKey(labels: Labels | undefined): string {
  if (!labels) return '';
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  keys.sort();
  let k = '';
  for (const key of keys) k += `${key}\u0000${labels[key]}\u0001`;
  return k;
}

/** Escapes a label value per the text exposition format (backslash, double quote, newline). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Formats a sample value the way Prometheus clients do (+Inf, -Inf, NaN). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function renderLabels(labels: Labels, extra?: string): string {
  const parts: string[] = [];
  for (const k of Object.keys(labels).sort()) parts.push(`${sanitizeName(k)}="${escapeLabelValue(labels[k])}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/**
 * Holds every stat of one process. Handles are cached by (name, labels): fetch once, keep, call inc()/record() on the hot path.
 * Names are Prometheus-style Envoy names (see stat-names.ts); labels carry Envoy's extracted tags.
 */
export class StatsRegistry {
  private readonly families = new Map<string, Family>();

  counter(name: string, labels?: Labels): Counter {
    return this.get(name, 'counter', labels, () => new CounterHandle()) as CounterHandle;
  }

  gauge(name: string, labels?: Labels, merge: GaugeMerge = 'sum'): Gauge {
    const g = this.get(name, 'gauge', labels, () => new GaugeHandle()) as GaugeHandle;
    if (merge !== 'sum') this.families.get(name)!.merge = merge;
    return g;
  }

  histogram(name: string, labels?: Labels, bucketsMs: readonly number[] = DEFAULT_BUCKETS_MS): Histogram {
    return this.get(name, 'histogram', labels, () => new HistogramHandle([...bucketsMs].sort((a, b) => a - b))) as HistogramHandle;
  }

  /** Sets the HELP text of a family (defaults come from stat-names.ts). */
  describe(name: string, help: string): void {
    const f = this.families.get(name);
    if (f) f.help = help;
  }

  private family(name: string, type: StatType): Family {
    let f = this.families.get(name);
    if (!f) {
      if (!NAME_RE.test(name)) throw new Error(`invalid stat name "${name}"`);
      f = { name, type, help: null, merge: STAT_CATALOG[name]?.merge ?? 'sum', series: new Map() };
      this.families.set(name, f);
    } else if (f.type !== type) {
      throw new Error(`stat "${name}" is a ${f.type}, not a ${type}`);
    }
    return f;
  }

  private get(name: string, type: StatType, labels: Labels | undefined, make: () => Handle): Handle {
    const f = this.family(name, type);
    const key = labelKey(labels);
    let s = f.series.get(key);
    if (!s) {
      s = { labels: Object.freeze({ ...labels }), handle: make() };
      f.series.set(key, s);
    }
    return s.handle;
  }

  private sortedFamilies(): Family[] {
    return [...this.families.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Prometheus text exposition format 0.0.4. */
  renderPrometheus(): string {
    const out: string[] = [];
    for (const f of this.sortedFamilies()) {
      if (f.series.size === 0) continue;
      const help = f.help ?? STAT_HELP[f.name] ?? f.name.replace(/^envoy_/, '').replace(/_/g, ' ');
      out.push(`# HELP ${f.name} ${escapeHelp(help)}`);
      out.push(`# TYPE ${f.name} ${f.type}`);
      for (const s of f.series.values()) {
        const h = s.handle;
        if (h instanceof HistogramHandle) {
          let cum = 0;
          for (let i = 0; i < h.bounds.length; i++) {
            cum += h.counts[i];
            out.push(`${f.name}_bucket${renderLabels(s.labels, `le="${formatValue(h.bounds[i])}"`)} ${cum}`);
          }
          out.push(`${f.name}_bucket${renderLabels(s.labels, 'le="+Inf"')} ${h.count}`);
          out.push(`${f.name}_sum${renderLabels(s.labels)} ${formatValue(h.sum)}`);
          out.push(`${f.name}_count${renderLabels(s.labels)} ${h.count}`);
        } else {
          out.push(`${f.name}${renderLabels(s.labels)} ${formatValue(h.value)}`);
        }
      }
    }
    return out.length ? `${out.join('\n')}\n` : '';
  }

  /** Flat list of every series with its Envoy-style dotted name (for /stats text and JSON). */
  entries(): { name: string; type: StatType; value: number; quantiles: string | null }[] {
    const res: { name: string; type: StatType; value: number; quantiles: string | null }[] = [];
    for (const f of this.families.values()) {
      for (const s of f.series.values()) {
        const h = s.handle;
        const name = envoyDottedName(f.name, s.labels);
        if (h instanceof HistogramHandle) res.push({ name, type: 'histogram', value: h.count, quantiles: quantileSummary(h) });
        else res.push({ name, type: f.type, value: h.value, quantiles: null });
      }
    }
    return res.sort((a, b) => (a.type === 'histogram' ? 1 : 0) - (b.type === 'histogram' ? 1 : 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  toJSON(): StatsJSON {
    return {
      families: [...this.families.values()].map((f) => ({
        name: f.name,
        type: f.type,
        help: f.help,
        merge: f.merge,
        series: [...f.series.values()].map((s) => {
          const h = s.handle;
          if (h instanceof HistogramHandle) return { labels: s.labels, bounds: h.bounds, counts: h.counts, sum: h.sum, count: h.count };
          return { labels: s.labels, value: h.value };
        }),
      })),
    };
  }

  /** Adds another registry's values into this one (counters and histograms summed, gauges summed or max'ed). */
  mergeFrom(json: StatsJSON): void {
    for (const f of json.families) {
      if (f.help && !this.families.get(f.name)?.help) {
        this.family(f.name, f.type).help = f.help;
      }
      for (const s of f.series) {
        if (f.type === 'counter') {
          (this.counter(f.name, s.labels) as CounterHandle).value += s.value ?? 0;
        } else if (f.type === 'gauge') {
          const g = this.gauge(f.name, s.labels, f.merge) as GaugeHandle;
          g.value = f.merge === 'max' ? Math.max(g.value, s.value ?? 0) : g.value + (s.value ?? 0);
        } else {
          const h = this.histogram(f.name, s.labels, s.bounds ?? DEFAULT_BUCKETS_MS) as HistogramHandle;
          const counts = s.counts ?? [];
          const sameBounds = h.bounds.length === (s.bounds?.length ?? -1) && h.bounds.every((b, i) => b === s.bounds![i]);
          if (sameBounds) for (let i = 0; i < h.counts.length; i++) h.counts[i] += counts[i] ?? 0;
          else h.counts[h.counts.length - 1] += s.count ?? 0; // incompatible buckets: keep totals right at least
          h.sum += s.sum ?? 0;
          h.count += s.count ?? 0;
        }
      }
    }
  }
}

/** Tag label → where Envoy puts the tag value in the dotted stat name. */
const SCOPE_TAGS: Readonly<Record<string, string>> = {
  envoy_cluster_name: 'cluster',
  envoy_http_conn_manager_prefix: 'http',
  envoy_listener_address: 'listener',
  envoy_tcp_prefix: 'tcp',
};
const MULTIWORD_SCOPES = ['cluster_manager', 'listener_manager', 'http1', 'http2', 'server', 'runtime', 'control_plane'];

/** Rebuilds Envoy's dotted stat name ("cluster.backend.upstream_rq_2xx") from a Prometheus name and its tags. */
export function envoyDottedName(name: string, labels: Labels): string {
  let rest = name.replace(/^envoy_/, '');
  let scope = '';
  const extra: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    const sc = SCOPE_TAGS[k];
    if (sc && rest.startsWith(`${sc}_`)) {
      scope = `${sc}.${v}`;
      rest = rest.slice(sc.length + 1);
    } else if (k === 'envoy_response_code_class' && rest.endsWith('_xx')) {
      rest = `${rest.slice(0, -3)}_${v}xx`;
    } else if (k === 'envoy_response_code') {
      rest = `${rest}_${v}`;
    } else {
      extra.push(`${k}.${v}`);
    }
  }
  if (!scope) {
    const multi = MULTIWORD_SCOPES.find((m) => rest.startsWith(`${m}_`));
    const i = multi ? multi.length : rest.indexOf('_');
    if (i > 0) { scope = rest.slice(0, i); rest = rest.slice(i + 1); }
  }
  // Envoy's cluster sub-scopes: cluster.<name>.outlier_detection.ejections_active, cluster.<name>.health_check.attempt.
  rest = rest.replace(/^(outlier_detection|health_check)_/, '$1.');
  return [scope, ...extra, rest].filter(Boolean).join('.');
}

const QUANTILES = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1];

/** Envoy's /stats histogram line: "P0(nan,v) P25(nan,v) ..." estimated from the buckets. */
function quantileSummary(h: HistogramHandle): string {
  if (h.count === 0) return 'No recorded values';
  return QUANTILES.map((q) => `P${+(q * 100).toFixed(1)}(nan,${+estimateQuantile(h, q).toPrecision(4)})`).join(' ');
}

function estimateQuantile(h: HistogramHandle, q: number): number {
  const rank = q * h.count;
  let cum = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i];
    if (c > 0 && cum + c >= rank) {
      const lo = i === 0 ? 0 : h.bounds[i - 1];
      const hi = i < h.bounds.length ? h.bounds[i] : lo;
      return lo + (hi - lo) * Math.max(0, Math.min(1, (rank - cum) / c));
    }
    cum += c;
  }
  return h.bounds[h.bounds.length - 1] ?? 0;
}
