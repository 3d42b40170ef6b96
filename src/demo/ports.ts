// Picks the demo's port range: PILOTFISH_DEMO_BASE_PORT if set (fails clearly when busy), else 15000 and up until a free range is found.
import net from 'node:net';
import { PORT_SPAN, planPorts, portList, type MeshPorts } from './mesh-config.ts';

export const DEFAULT_BASE_PORT = 15000;
const FALLBACK_TRIES = 10;

/** True when nothing listens on 127.0.0.1:port and we may bind it. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function busyPorts(p: MeshPorts): Promise<{ port: number; use: string }[]> {
  const busy: { port: number; use: string }[] = [];
  for (const entry of portList(p)) if (!(await isPortFree(entry.port))) busy.push(entry);
  return busy;
}

export type PortChoice = { ok: true; ports: MeshPorts; notes: string[] } | { ok: false; message: string };

/** Chooses the base port; `envBase` is the raw PILOTFISH_DEMO_BASE_PORT value (undefined when unset). */
export async function choosePorts(envBase: string | undefined): Promise<PortChoice> {
  if (envBase !== undefined && envBase !== '') {
    const base = Number(envBase);
    if (!Number.isInteger(base) || base < 1024 || base + PORT_SPAN > 65536) {
      return { ok: false, message: `PILOTFISH_DEMO_BASE_PORT=${envBase} is not usable: pick an integer from 1024 to ${65536 - PORT_SPAN}.` };
    }
    const ports = planPorts(base);
    const busy = await busyPorts(ports);
    if (busy.length > 0) {
      const list = busy.map((b) => `${b.port} (${b.use})`).join(', ');
      return { ok: false, message: `PILOTFISH_DEMO_BASE_PORT=${base}: port(s) already in use: ${list}. Stop whatever holds them or choose another base, e.g. PILOTFISH_DEMO_BASE_PORT=${base + PORT_SPAN}.` };
    }
    return { ok: true, ports, notes: [] };
  }
  const notes: string[] = [];
  for (let i = 0; i < FALLBACK_TRIES; i++) {
    const base = DEFAULT_BASE_PORT + i * PORT_SPAN;
    const ports = planPorts(base);
    const busy = await busyPorts(ports);
    if (busy.length === 0) return { ok: true, ports, notes };
    notes.push(`ports ${base}-${base + PORT_SPAN - 1} are busy (${busy.map((b) => b.port).join(', ')} in use); trying ${base + PORT_SPAN}-${base + 2 * PORT_SPAN - 1}`);
  }
  const last = DEFAULT_BASE_PORT + FALLBACK_TRIES * PORT_SPAN - 1;
  return { ok: false, message: `no free port range between ${DEFAULT_BASE_PORT} and ${last}; set PILOTFISH_DEMO_BASE_PORT to a free range of ${PORT_SPAN} ports.` };
}
