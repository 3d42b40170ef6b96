// Scale-bench helper: runs the control plane in its own process so its memory can be measured apart from the 200 bench clients.
import pino from 'pino';
import { startControlPlane } from '../control-plane.ts';

const inputDir = process.argv[2];
const cp = await startControlPlane({
  inputs: [inputDir], xdsAddress: '127.0.0.1:0', statusAddress: '127.0.0.1:0', logger: pino({ level: process.env.CP_LOG_LEVEL ?? 'warn' }),
});
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);
cp.events.on('pushed', (e: { generation: number; streams: number; ms: number }) => process.send?.({ kind: 'pushed', ...e }));
cp.events.on('reload', (e: { applied: boolean; changed: boolean; ms: number }) => process.send?.({ kind: 'reload', applied: e.applied, changed: e.changed, ms: e.ms }));
process.on('message', async (m: { kind: string }) => {
  if (m.kind === 'mem') {
    const mu = process.memoryUsage();
    peakRss = Math.max(peakRss, mu.rss);
    process.send?.({ kind: 'mem', rss: mu.rss, heapUsed: mu.heapUsed, peakRss });
  } else if (m.kind === 'gc') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ kind: 'gc' });
  } else if (m.kind === 'stop') {
    clearInterval(sampler);
    await cp.close();
    process.exit(0);
  }
});
process.send?.({ kind: 'ready', xdsPort: cp.xdsPort, statusPort: cp.statusPort });
