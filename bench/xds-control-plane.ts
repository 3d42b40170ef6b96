// xDS scale, control-plane side: runs xds/bench/scale.ts (1,000 services, 200 ADS streams) as a child process and turns its printout into table rows.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { XdsRow } from './report.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const SCRIPT = 'xds/bench/scale.ts';
const SERVICES = 1000;
const STREAMS = 200;

export interface ControlPlaneScale { readonly rows: XdsRow[]; readonly notes: string[]; readonly skipped: string | null }

function run(timeoutMs: number): Promise<{ code: number | null; out: string; err: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, '--services', String(SERVICES), '--streams', String(STREAMS)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err = (err + d).slice(-4000); });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => { err += e.message; });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out, err, timedOut }); });
  });
}

/** The markdown table rows scale.ts prints, as cells keyed by header text. */
function tableRows(out: string): Record<string, string>[] {
  const lines = out.split('\n').filter((l) => l.trim().startsWith('|'));
  const cells = (l: string) => l.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
  const header = lines.length > 0 ? cells(lines[0]) : [];
  return lines.slice(2).map((l) => Object.fromEntries(cells(l).map((c, i) => [header[i] ?? String(i), c])));
}

const skip = (reason: string): ControlPlaneScale => ({ rows: [], notes: [`control-plane scale: skipped (${reason})`], skipped: reason });

export async function measureControlPlaneScale(timeoutMs = 90_000): Promise<ControlPlaneScale> {
  const r = await run(timeoutMs);
  const lastErr = r.err.trim().split('\n').slice(-3).join(' / ');
  if (r.timedOut) return skip(`${SCRIPT} did not finish in ${timeoutMs / 1000} s; last stderr: ${lastErr}`);
  if (r.code !== 0) return skip(`${SCRIPT} exited ${r.code}: ${lastErr}`);
  const table = tableRows(r.out);
  const changeCol = Object.keys(table[0] ?? {})[0];
  if (table.length === 0 || !table.every((row) => 'all sidecars ACKed' in row)) return skip(`no "all sidecars ACKed" column in the output of ${SCRIPT}`);
  const rows: XdsRow[] = table.map((row) => {
    const v = Number(/(\d+)\s*ms/.exec(row['all sidecars ACKed'])?.[1] ?? NaN);
    return { measure: `control plane: ${row[changeCol]} → all ${STREAMS} sidecars ACKed`, value: row['all sidecars ACKed'], target: '< 2 s', ok: Number.isFinite(v) ? v < 2000 : null };
  });
  const sync = /initial sync of (\d+) streams[^)]*\)\s*(\d+) ms/.exec(r.out);
  if (sync) rows.push({ measure: `control plane: initial sync of ${sync[1]} streams (connect → all 4 types ACKed)`, value: `${sync[2]} ms`, target: '', ok: null });
  const rss = /control-plane RSS:\s*(.+)/.exec(r.out)?.[1] ?? '';
  const synced = /synced \(after GC\) (\d+ MiB)/.exec(rss)?.[1];
  const peak = /peak (\d+ MiB)/.exec(rss)?.[1];
  if (synced) rows.push({ measure: `control-plane RSS, ${STREAMS} streams synced (after GC)`, value: synced, target: '', ok: null });
  if (peak) rows.push({ measure: 'control-plane RSS peak', value: peak, target: '', ok: null });
  const setup = /^Scale bench: (.+)$/m.exec(r.out)?.[1];
  const notes = [
    `control plane: ${SCRIPT} ${setup ?? ''}; time from an input file write to the last simulated sidecar's ACK`,
    ...table.map((row) => `control plane, ${row[changeCol]}: ${Object.entries(row).slice(1).map(([k, v]) => `${k} ${v}`).join(', ')}`),
    ...(rss ? [`control-plane RSS: ${rss}`] : []),
  ];
  return { rows, notes, skipped: null };
}
