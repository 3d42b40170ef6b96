// Renders Envoy's /stats page: "name: value" text lines (histograms as quantiles) and ?format=json.
import type { StatsRegistry } from '../observability/stats.ts';

function select(reg: StatsRegistry, filter: RegExp | null, usedOnly: boolean): ReturnType<StatsRegistry['entries']> {
  return reg.entries().filter((e) => (!filter || filter.test(e.name)) && (!usedOnly || e.value !== 0));
}

export function renderStatsText(reg: StatsRegistry, filter: RegExp | null, usedOnly: boolean): string {
  return select(reg, filter, usedOnly)
    .map((e) => `${e.name}: ${e.type === 'histogram' ? e.quantiles : e.value}\n`)
    .join('');
}

export function renderStatsJson(reg: StatsRegistry, filter: RegExp | null, usedOnly: boolean): unknown {
  const entries = select(reg, filter, usedOnly);
  return {
    stats: entries.filter((e) => e.type !== 'histogram').map((e) => ({ name: e.name, value: e.value })),
  };
}
