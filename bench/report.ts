// Renders the bench results as a markdown table with ratios to the direct, nginx and bare-forwarder rows.

export type RowKey = 'direct' | 'nginx' | 'bare' | 'sidecar' | 'jwt' | 'trace100' | 'trace1' | 'pair' | 'pair-mtls';

export interface RowResult {
  readonly key: RowKey;
  readonly label: string;
  /** Set when the row was not measured (missing tool, proxy failed); the reason is printed instead of numbers. */
  readonly skipped: string | null;
  readonly rps: number;
  /** Latency at the fixed rate, microseconds. */
  readonly p50: number;
  readonly p99: number;
  /** p90 / p99.9 / max and request counts of the latency run, printed under the table. */
  readonly latencyDetail: string | null;
  /** KiB over the process tree under test; null for the direct row. */
  readonly rssIdle: number | null;
  readonly rssLoad: number | null;
  readonly rssPeak: number | null;
  readonly notes: readonly string[];
}

const ms = (us: number) => `${(us / 1000).toFixed(2)} ms`;
const mib = (kib: number | null) => (kib === null ? '—' : `${(kib / 1024).toFixed(1)} MiB`);
const int = (n: number) => Math.round(n).toLocaleString('en-US');

function ratio(row: RowResult, base: RowResult | undefined): string {
  if (!base || base.skipped || row.skipped || base.rps <= 0) return '—';
  return `${(row.rps / base.rps).toFixed(2)}×`;
}

/** The markdown report: header lines, table, then per-row notes. */
export function renderReport(header: readonly string[], rows: readonly RowResult[], rate: number): string {
  const by = (k: RowKey) => rows.find((r) => r.key === k);
  const direct = by('direct');
  const lines = [...header, ''];
  lines.push(`| row | req/s | vs direct | vs nginx | vs bare forwarder | p50 @${rate}/s | p99 @${rate}/s | added p99 vs direct | RSS idle | RSS load / peak |`);
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    if (r.skipped) {
      lines.push(`| ${r.label} | skipped: ${r.skipped} | | | | | | | | |`);
      continue;
    }
    const delta = direct && !direct.skipped ? r.p99 - direct.p99 : 0;
    const added = direct && !direct.skipped && r.key !== 'direct' ? `${delta < 0 ? '−' : '+'}${ms(Math.abs(delta))}` : '—';
    const load = r.rssLoad === null ? '—' : `${mib(r.rssLoad)} / ${mib(r.rssPeak)}`;
    lines.push(`| ${r.label} | ${int(r.rps)} | ${ratio(r, direct)} | ${ratio(r, by('nginx'))} | ${ratio(r, by('bare'))} | ${ms(r.p50)} | ${ms(r.p99)} | ${added} | ${mib(r.rssIdle)} | ${load} |`);
  }
  const details = rows.filter((r) => r.latencyDetail).map((r) => `- ${r.label}: ${r.latencyDetail}`);
  if (details.length > 0) lines.push('', 'Latency detail at the fixed rate:', '', ...details);
  const notes = rows.flatMap((r) => r.notes.map((n) => `- ${r.label}: ${n}`));
  if (notes.length > 0) lines.push('', 'Notes:', '', ...notes);
  return lines.join('\n') + '\n';
}

/** One row of the xDS scale table; `ok` is null for a measure without a target. */
export interface XdsRow { readonly measure: string; readonly value: string; readonly target: string; readonly ok: boolean | null }

/** The "xDS scale" section: a measure | value | target table, then notes (skips, per-type detail). */
export function renderXdsSection(rows: readonly XdsRow[], notes: readonly string[]): string {
  const lines = ['## xDS scale', '', '| measure | value | target |', '|---|---:|---|'];
  for (const r of rows) lines.push(`| ${r.measure} | ${r.value} | ${r.target}${r.ok === null ? '' : r.ok ? ' — met' : ' — **missed**'} |`);
  if (notes.length > 0) lines.push('', ...notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n';
}
